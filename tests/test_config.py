"""Configuration precedence (defaults < file < env < flags) and `agent config show|path`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentshell.cli.app import build_cli
from agentshell.config import ConfigError, config_path, effective_values, load_config
from agentshell.errors import EXIT_USAGE

FILE = """\
model = "file-model"
permission_mode = "read-only"
max_turns = 7
allow = ["bash(git status*)"]

[backends.ollama]
host = "http://file-host:11434"
api_key = "file-secret-key-123"

[endpoints.box]
base_url = "http://gpu-box:8000/v1"
api_key_env = "BOX_API_KEY"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    return path


def test_defaults_when_nothing_is_set() -> None:
    config = load_config(environ={})
    assert config.settings.model == "builtin" and config.settings.permission_mode == "ask"
    assert config.sources == {}
    assert config_path().name == "config.toml"


def test_file_overrides_defaults(config_file: Path) -> None:
    config = load_config(environ={})
    s = config.settings
    assert (s.model, s.permission_mode, s.max_turns, s.allow) == ("file-model", "read-only", 7, ["bash(git status*)"])
    assert s.backends["ollama"]["host"] == "http://file-host:11434"
    assert config.sources["model"] == f"file:{config_file}"
    assert config.sources["backends.ollama.host"] == f"file:{config_file}"
    assert s.endpoints["box"].api_key_env == "BOX_API_KEY"


def test_env_overrides_file(config_file: Path) -> None:
    env = {"AGENT_MODEL": "env-model", "OLLAMA_HOST": "http://env-host:1", "AGENT_MAX_TURNS": "9", "AGENT_BACKEND": ""}
    config = load_config(environ=env)
    s = config.settings
    assert (s.model, s.max_turns, s.backends["ollama"]["host"]) == ("env-model", 9, "http://env-host:1")
    assert s.permission_mode == "read-only"  # not in env: the file still wins over the default
    assert s.backend is None  # an empty variable counts as unset
    assert config.sources["model"] == "env:AGENT_MODEL"
    assert config.sources["backends.ollama.host"] == "env:OLLAMA_HOST"
    assert config.sources["permission_mode"] == f"file:{config_file}"


def test_flags_override_env_and_file(config_file: Path) -> None:
    env = {"AGENT_MODEL": "env-model", "AGENT_PERMISSION_MODE": "yolo"}
    flags = {"model": "flag-model", "permission_mode": None, "backends.ollama.host": "http://flag-host:2"}
    config = load_config(flags, environ=env)
    s = config.settings
    assert s.model == "flag-model" and config.sources["model"] == "flag:--model"
    assert s.permission_mode == "yolo" and config.sources["permission_mode"] == "env:AGENT_PERMISSION_MODE"
    assert s.backends["ollama"]["host"] == "http://flag-host:2"
    assert config.sources["backends.ollama.host"] == "flag:--host"
    assert s.backends["ollama"]["api_key"] == "file-secret-key-123"  # sibling keys of the file survive


@pytest.mark.parametrize(
    ("content", "env", "message"),
    [
        ("model = [", {}, "cannot read"),
        ('permission_mode = "sometimes"', {}, "invalid setting permission_mode (from file:"),
        ("", {"AGENT_MAX_TURNS": "lots"}, "invalid setting max_turns (from env:AGENT_MAX_TURNS)"),
        ("colour = 1", {}, "invalid setting colour"),
        (b"\xff\xfe", {}, "cannot read"),
    ],
)
def test_bad_values_are_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | bytes, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(environ=env)


def test_secrets_are_masked_and_api_key_env_is_not_a_secret(config_file: Path) -> None:
    rows = {k: (v, src) for k, v, src in effective_values(load_config(environ={"OPENAI_API_KEY": "sk-env-openai-999"}))}
    assert rows["backends.ollama.api_key"][0] == "****"
    assert rows["backends.openai.api_key"] == ("****", "env:OPENAI_API_KEY")
    assert rows["endpoints.box.api_key_env"][0] == "'BOX_API_KEY'"


def test_config_show_table_and_json(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-ollama-very-secret-42")
    monkeypatch.setenv("AGENT_MODEL", "qwen3")
    runner = CliRunner()
    table = runner.invoke(build_cli(), ["config", "show"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    line = next(x for x in table.output.splitlines() if x.split() and x.split()[0] == "model")
    assert "'qwen3'" in line and "env:AGENT_MODEL" in line
    assert "sk-ollama-very-secret-42" not in table.output and "file-secret-key-123" not in table.output
    as_json = runner.invoke(build_cli(), ["config", "show", "--json"])
    assert as_json.exit_code == 0
    rows = {r["key"]: r for r in json.loads(as_json.output)}
    assert rows["max_turns"] == {"key": "max_turns", "value": 7, "source": f"file:{config_file}"}
    assert rows["backends.ollama.api_key"]["value"] == "****"
    assert rows["seed"] == {"key": "seed", "value": None, "source": "default"}
    assert "sk-ollama-very-secret-42" not in as_json.output


def test_config_show_bad_file_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text("max_turns = 'x'")
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    result = CliRunner().invoke(build_cli(), ["config", "show"])
    assert result.exit_code == 2
    assert "agent: error: invalid setting max_turns" in result.output and "Traceback" not in result.output


def test_config_path_honours_agent_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(build_cli(), ["config", "path"])
    assert result.exit_code == 0 and result.stdout.strip().endswith("agentshell/config.toml")
    monkeypatch.setenv("AGENT_CONFIG", str(tmp_path / "mine.toml"))
    result = CliRunner().invoke(build_cli(), ["config", "path"])
    assert result.stdout.strip() == str(tmp_path / "mine.toml")


def test_a_mistyped_key_gets_a_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("max_turn = 3\n", encoding="utf-8")
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"invalid setting max_turn (from file:{path}): no such setting; did you mean max_turns?"


@pytest.mark.parametrize("command", [["config", "show"], ["launch", "-p", "hi"]])
def test_agent_config_naming_a_missing_file_is_one_line_not_the_defaults(tmp_path: Path, command: list[str]) -> None:
    """A typo in AGENT_CONFIG would otherwise run with defaults (another model, another permission mode) unnoticed."""
    missing = tmp_path / "no-such-config.toml"
    done = subprocess.run(
        [sys.executable, "-m", "agentshell", *command],
        env={**os.environ, "AGENT_CONFIG": str(missing)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    assert done.stderr.splitlines() == [
        f"agent: error: AGENT_CONFIG names {missing}, which does not exist; "
        "create it, or unset AGENT_CONFIG to use the default config file"
    ]
    assert done.stdout == ""


def test_agent_config_may_name_a_file_still_to_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`agent config path` and `agent mcp add` name or create the file; only reading it needs it to exist."""
    target = tmp_path / "new" / "config.toml"
    monkeypatch.setenv("AGENT_CONFIG", str(target))
    assert CliRunner().invoke(build_cli(), ["config", "path"]).exit_code == 0
    added = CliRunner().invoke(build_cli(), ["mcp", "add", "time", "--", "uvx", "mcp-server-time"])
    assert added.exit_code == 0, added.output
    assert load_config(environ={}).settings.mcp_servers["time"].command == "uvx"
