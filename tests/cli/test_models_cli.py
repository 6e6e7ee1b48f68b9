"""`agent backends` and `agent models`, through the real CLI group."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from agentshell import registry
from agentshell.cli.app import build_cli
from agentshell.protocol import BackendUnavailable, ModelInfo
from agentshell.testing.scripted import ScriptedBackend


class Healthy(ScriptedBackend):
    name = "healthy"

    def health(self) -> tuple[bool, str]:
        return True, "server 1.2.3 at http://127.0.0.1:1"

    def list_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                name="small", backend=self.name, context_length=8192, capabilities=frozenset({"completion", "tools"})
            ),
            ModelInfo(name="remote-big", backend=self.name, remote=True, details={"size": "70B", "tag": "[q4]"}),
        ]


class Down(ScriptedBackend):
    name = "down"

    def health(self) -> tuple[bool, str]:
        return False, "cannot connect (start it with `down serve`, or add [endpoints.NAME] to the config)"

    def list_models(self) -> list[ModelInfo]:
        raise BackendUnavailable("cannot connect to down", hint="start it with `down serve`")


@pytest.fixture(autouse=True)
def test_backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry, "_registered", {})
    monkeypatch.setattr(registry, "_discovered", True)
    registry.register("healthy", lambda options: Healthy(options))
    registry.register("down", lambda options: Down(options))
    registry.register("scripted", lambda options: ScriptedBackend(options))
    yield


def invoke(*args: str) -> Any:
    return CliRunner().invoke(build_cli(), list(args))


def test_backends_table_and_json() -> None:
    result = invoke("backends", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["backend"]: row for row in json.loads(result.stdout)}
    assert rows["healthy"]["usable"] and "1.2.3" in rows["healthy"]["detail"]
    assert not rows["down"]["usable"] and "down serve" in rows["down"]["detail"]
    assert rows["scripted"] == {"backend": "scripted", "usable": True, "detail": "installed"}
    table = invoke("backends")
    assert table.exit_code == 0 and "healthy" in table.stdout and "down serve" in table.stdout
    assert "add [endpoints.NAME] to the config" in " ".join(table.stdout.split())  # text, never markup


def test_models_lists_every_backend_and_reports_the_unreachable_on_stderr() -> None:
    result = invoke("models", "--json")
    assert result.exit_code == 0
    models = json.loads(result.stdout)
    assert [(m["backend"], m["model"], m["context_length"], m["tools"]) for m in models] == [
        ("healthy", "small", 8192, True),
        ("healthy", "remote-big", None, False),
    ]
    assert result.stderr == "agent: not listed: down (cannot connect to down); `agent doctor` says how to fix each\n"
    table = invoke("models")
    assert "8,192" in table.stdout and "remote" in table.stdout and "[q4]" in table.stdout


def test_models_of_one_backend_that_fails_is_one_line() -> None:
    result = invoke("models", "--backend", "down")
    assert result.exit_code == 1
    assert result.stderr == "agent: error: cannot connect to down (start it with `down serve`)\n"
    result = invoke("models", "--backend", "nope")
    assert result.exit_code == 2 and "no backend named 'nope'" in result.stderr
