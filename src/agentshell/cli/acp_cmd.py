"""``agent acp``: serve the Agent Client Protocol on stdio, for editors such as Zed (docs/acp.md).

Only Typer is imported here; the SDK, the loop and the backends load when the editor starts the server.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agentshell.cli.launch import ThinkChoice
from agentshell.permissions.modes import PermissionMode

app = typer.Typer(add_completion=False)


@app.command()
def acp(
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model of new sessions: any --model string (the editor may switch)."),
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="Force a backend instead of resolving the model string.")
    ] = None,
    permission_mode: Annotated[
        PermissionMode | None,
        typer.Option("--permission-mode", help="Mode of new sessions: ask | accept-edits | read-only | yolo."),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option("--allow", help="Allow without asking, e.g. 'bash(git status*)', 'edit(src/**)'. Repeatable."),
    ] = None,
    deny: Annotated[
        list[str] | None, typer.Option("--deny", help="Always deny, e.g. 'bash(rm *)'. Repeatable.")
    ] = None,
    max_turns: Annotated[
        int | None, typer.Option("--max-turns", help="Model requests per prompt before it stops.")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Server URL, for the backends that take a host (Ollama).")
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="API root of an OpenAI-compatible server.")] = None,
    gpu_layers: Annotated[
        int | None, typer.Option("--gpu-layers", help="Layers to offload to the GPU, for in-process engines.")
    ] = None,
    think: Annotated[
        ThinkChoice | None, typer.Option("--think", help="Reasoning effort for models that think.")
    ] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed, for reproducible runs.")] = None,
    sandbox: Annotated[
        bool | None,
        typer.Option("--sandbox/--no-sandbox", help="Run every bash call in an OS sandbox (default: in yolo mode)."),
    ] = None,
    sandbox_allow_net: Annotated[
        list[str] | None,
        typer.Option("--sandbox-allow-net", metavar="HOST", help="Let sandboxed commands reach HOST. Repeatable."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks and backend debug output on stderr.")] = False,
) -> None:
    """Serve the Agent Client Protocol on stdin/stdout until the editor closes it.

    Each session is an agentshell session of its directory: agent launch --resume ID goes on with it.

    Diagnostics go to stderr, the editor's log. Set-up for Zed: docs/acp.md.
    """
    from agentshell.cli.assemble import LaunchOptions
    from agentshell.cli.failures import user_errors

    template = LaunchOptions(
        model=model,
        backend=backend,
        max_turns=max_turns,
        permission_mode=permission_mode,
        allow=tuple(allow or ()),
        deny=tuple(deny or ()),
        backend_flags={"host": host, "base_url": base_url, "gpu_layers": gpu_layers},
        think=think.value if think else None,
        temperature=temperature,
        seed=seed,
        debug=debug,
        sandbox=sandbox,
        sandbox_allow_net=tuple(sandbox_allow_net or ()),
    )
    with user_errors(debug):
        from agentshell.config import load_config
        from agentshell.permissions.gate import check_rules

        load_config(template.flags(), backend_flags=template.backend_flags)  # a bad flag fails now, not per session
        check_rules([*template.allow, *template.deny])
        from agentshell.cli.acp_server import serve

        code = serve(template)
    raise typer.Exit(code)
