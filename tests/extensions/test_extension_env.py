"""Credentials stay out of the programs extensions start: hooks get the environment bash commands get
(redact.credential_free_env), and an MCP stdio server gets a minimal one plus what its ``env`` entry names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentshell.extensions.hooks import HookRunner
from agentshell.extensions.settings import HookConfig, HookEvent
from tests.extensions.support import make_hub, own_server

CREDENTIALS = {
    "OPENAI_API_KEY": "sk-openai-do-not-leak",
    "OLLAMA_API_KEY": "ollama-do-not-leak",
    "GITHUB_TOKEN": "ghp-do-not-leak",
    "DB_PASSWORD": "hunter2-do-not-leak",
}


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTSHELL_TEST_PLAIN", "plain-value")


def hook_environment(tmp_path: Path, hidden: tuple[str, ...] = (), passed: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment a real hook process prints with ``env`` (UserPromptSubmit: its stdout comes back)."""
    hooks: dict[HookEvent, list[HookConfig]] = {"UserPromptSubmit": [HookConfig(command="env")]}
    runner = HookRunner(hooks, tmp_path, hidden_env=hidden, pass_env=passed)
    prompt, refused = runner.before_request("hi")
    assert refused is None
    printed = prompt.split("\n\n", 1)[1]
    return dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)


def test_a_hook_gets_no_credential_looking_variable(tmp_path: Path, credentials: None) -> None:
    env = hook_environment(tmp_path)
    assert not set(CREDENTIALS) & set(env), sorted(set(CREDENTIALS) & set(env))
    assert not any(value in printed for value in CREDENTIALS.values() for printed in env.values())
    assert env["AGENTSHELL_TEST_PLAIN"] == "plain-value"  # everything else still passes, PATH and HOME too
    assert env["CLAUDE_PROJECT_DIR"] == str(tmp_path) and "PATH" in env


def test_a_hook_follows_the_bash_tools_hidden_and_passed_lists(
    tmp_path: Path, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORP_LLM", "an-endpoint-key-under-a-plain-name")  # an endpoint's api_key_env
    env = hook_environment(tmp_path, hidden=("CORP_LLM",), passed=("GITHUB_TOKEN",))
    assert "CORP_LLM" not in env
    assert env["GITHUB_TOKEN"] == "ghp-do-not-leak"  # bash_pass_env names it: the user wants it passed
    assert "OPENAI_API_KEY" not in env


def test_an_mcp_stdio_server_gets_its_configured_env_and_no_other_credential(
    tmp_path: Path, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSHELL_TEST_GH", "ghp-configured-for-this-server")
    dump = tmp_path / "env.json"
    config = own_server(
        "envdump",
        str(dump),
        env={"SERVER_TOKEN": "written-in-the-config", "GH_TOKEN": "${AGENTSHELL_TEST_GH}"},
    )
    hub = make_hub({"dumper": config}, tmp_path)
    try:
        assert hub.wait(60)
        env = json.loads(dump.read_text())
    finally:
        hub.close()
    assert not set(CREDENTIALS) & set(env), sorted(set(CREDENTIALS) & set(env))
    assert env["SERVER_TOKEN"] == "written-in-the-config"  # what the user configured for this server passes
    assert env["GH_TOKEN"] == "ghp-configured-for-this-server"
    assert "PATH" in env and "HOME" in env
