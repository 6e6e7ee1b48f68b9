"""``agent launch``: the interactive shell, or one scripted run with -p / stdin; both are clients of
:class:`agentshell.api.Agent` (cli/repl.py, cli/scripting.py, cli/stream_input.py).

Only Typer is imported here; the API, the loop, the backends and rich are imported in
the command body, so ``agent launch --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from agentshell.cli import options as opt
from agentshell.cli.formats import InputFormat, OutputFormat

app = typer.Typer(add_completion=False)  # boxed help like every command: rich is imported for --help only


class LaunchCommand(TyperCommand):
    """``--resume`` may come without an id: then the REPL shows the sessions to pick from."""

    OPTIONAL_VALUE = ("--resume", "-r")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value = {
            o for p in self.params if p.param_type_name == "option" and not getattr(p, "is_flag", 0) for o in p.opts
        }
        given: list[str] = []
        rest = iter(args)
        for arg in rest:
            given.append(arg)
            if arg == "--":
                given.extend(rest)
            elif arg in self.OPTIONAL_VALUE:
                following = next(rest, None)
                if following is None or following.startswith("-"):
                    given.append("")  # "" = choose interactively (LaunchOptions.resume, api/assembly.py)
                given.extend([following] if following is not None else [])
            elif arg in takes_value:
                given.extend(v for v in [next(rest, None)] if v is not None)  # "-p -r" asks about "-r"
        return super().parse_args(ctx, given)


@app.command(cls=LaunchCommand, no_args_is_help=False)
def launch(
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="Model to use: builtin, qwen3, ollama:NAME, gguf:PATH, openai:NAME, scripted:FILE."
        ),
    ] = None,
    backend: opt.Backend = None,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", "-p", help="Run once with this prompt and exit (stdin, if piped, comes before it)."),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--output-format",
            help="Scripting output: text (the answer), json (one object), stream-json (one event per line).",
        ),
    ] = "text",
    input_format: Annotated[
        InputFormat,
        typer.Option(
            "--input-format",
            help="Scripting input: text (the prompt), or stream-json (user messages as JSON lines on stdin, "
            "answered in turn in one session until stdin closes; needs --output-format stream-json).",
        ),
    ] = "text",
    max_turns: opt.MaxTurns = None,
    permission_mode: opt.Mode = None,
    allow: opt.Allow = None,
    deny: opt.Deny = None,
    continue_session: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the latest session of this directory.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            "-r",
            help="Resume the session with this id (a unique prefix is enough); without an id, choose from a list.",
        ),
    ] = None,
    host: opt.Host = None,
    base_url: opt.BaseUrl = None,
    gpu_layers: opt.GpuLayers = None,
    think: opt.Think = None,
    temperature: opt.Temperature = None,
    seed: opt.Seed = None,
    debug: opt.Debug = False,
    sandbox: opt.Sandbox = None,
    sandbox_allow_net: opt.SandboxAllowNet = None,
) -> None:
    """Start the agent in this directory: interactive on a terminal, one run with -p or piped stdin.

    Exit codes: 0 ok, 1 backend or runtime failure, 2 usage error, 3 turn limit reached, 130 interrupted.
    """
    from agentshell.cli.assemble import launch_options
    from agentshell.cli.failures import user_errors

    opts = launch_options(
        model=model,
        backend=backend,
        max_turns=max_turns,
        permission_mode=permission_mode,
        allow=allow,
        deny=deny,
        host=host,
        base_url=base_url,
        gpu_layers=gpu_layers,
        think=think,
        temperature=temperature,
        seed=seed,
        debug=debug,
        sandbox=sandbox,
        sandbox_allow_net=sandbox_allow_net,
        continue_session=continue_session,
        resume=resume,
    )
    with user_errors(debug):
        if input_format == "stream-json":
            from agentshell.cli.stream_input import run_stream_input

            code = run_stream_input(opts, prompt, output_format)
        elif prompt is None and sys.stdin.isatty():
            if output_format != "text":
                from agentshell.errors import UsageError

                raise UsageError(f"--output-format {output_format} is for scripts: give a prompt with -p or on stdin")
            from agentshell.cli.repl import run_interactive

            code = run_interactive(opts)
        else:
            from agentshell.cli.scripting import run_script

            code = run_script(opts, prompt, output_format)
    raise typer.Exit(code)
