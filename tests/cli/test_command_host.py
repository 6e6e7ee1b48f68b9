"""The CommandHost ``agent`` lends the commands backends add: options, one-line errors, progress.

A probe command built like a backend's (it imports only the protocol and takes a
``typer.Context``) is mounted the way ``agentshell.commands`` entry points are.
"""

from __future__ import annotations

from typing import Annotated

import click
import pytest
import typer
from click.testing import CliRunner

from agentshell.cli import app as cli_app
from agentshell.cli.host import AgentCommandHost
from agentshell.protocol import HOST_OPTION, BackendUnavailable, CommandHost, Host, command_host

probe_app = typer.Typer(add_completion=False)


@probe_app.command()
def probe(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host")] = None,
    fail: Annotated[bool, typer.Option("--fail")] = False,
) -> None:
    agent = command_host(ctx.obj)
    with agent.user_errors():
        options = agent.options("ollama", {"host": host})
        if fail:
            raise BackendUnavailable("the probe's server is down", hint="start it")
        with agent.progress() as display:
            display.status("downloading")
            display.transfer("layer-1", "pulling layer-1", 512, 2048)
    typer.echo(f"host={options['host']} agent={type(options[HOST_OPTION]).__name__}")


@pytest.fixture
def agent_with_probe(monkeypatch: pytest.MonkeyPatch) -> click.Command:
    monkeypatch.setitem(cli_app.CORE_COMMANDS, "probe", f"{__name__}:probe_app")
    command: click.Command = cli_app.build_cli()
    return command


def test_a_backend_command_gets_the_host_as_its_context_object(
    agent_with_probe: click.Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://from-env:1")
    result = CliRunner().invoke(agent_with_probe, ["probe"])
    assert result.exit_code == 0, result.output
    assert "host=http://from-env:1 agent=Host" in result.output
    assert "pulling layer-1" in result.output and "2.0 kB" in result.output  # the bar ends full
    flagged = CliRunner().invoke(agent_with_probe, ["probe", "--host", "http://flag:2"])
    assert "host=http://flag:2" in flagged.output  # a flag beats the environment, as for agent launch


def test_a_backend_failure_in_a_command_is_one_line(agent_with_probe: click.Command) -> None:
    result = CliRunner().invoke(agent_with_probe, ["probe", "--fail"])
    assert result.exit_code == 1
    assert result.output.strip() == "agent: error: the probe's server is down (start it)"


def test_options_are_what_agent_launch_would_build_the_backend_with(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-0123456789")
    options = AgentCommandHost().options("openai", {"base_url": "http://box:8000/v1"}, debug=True)
    assert options["base_url"] == "http://box:8000/v1" and options["api_key"] == "sk-env-0123456789"
    assert options["debug"] is True and isinstance(options[HOST_OPTION], Host)


def test_only_the_agent_host_is_accepted() -> None:
    assert isinstance(AgentCommandHost(), CommandHost)
    with pytest.raises(TypeError, match="CommandHost"):
        command_host(None)
