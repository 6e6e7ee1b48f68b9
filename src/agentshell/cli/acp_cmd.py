"""``agent acp``: serve the Agent Client Protocol on stdio, for editors such as Zed (docs/acp.md).

Only Typer is imported here; the SDK, the API, the loop and the backends load when the editor starts the server.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agentshell.cli import options as opt

app = typer.Typer(add_completion=False)


@app.command()
def acp(
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model of new sessions: any --model string (the editor may switch)."),
    ] = None,
    backend: opt.Backend = None,
    permission_mode: opt.Mode = None,
    allow: opt.Allow = None,
    deny: opt.Deny = None,
    max_turns: opt.MaxTurns = None,
    host: opt.Host = None,
    base_url: opt.BaseUrl = None,
    gpu_layers: opt.GpuLayers = None,
    think: opt.Think = None,
    temperature: opt.Temperature = None,
    seed: opt.Seed = None,
    sandbox: opt.Sandbox = None,
    sandbox_allow_net: opt.SandboxAllowNet = None,
    debug: opt.Debug = False,
) -> None:
    """Serve the Agent Client Protocol on stdin/stdout until the editor closes it.

    Each session is an agentshell session of its directory: agent launch --resume ID goes on with it.

    Diagnostics go to stderr, the editor's log. Set-up for Zed: docs/acp.md.
    """
    from agentshell.cli.assemble import launch_options
    from agentshell.cli.failures import user_errors

    template = launch_options(
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
    )
    with user_errors(debug):
        template.check()  # a bad flag fails now, not per session
        from agentshell.cli.acp_server import serve

        code = serve(template)
    raise typer.Exit(code)
