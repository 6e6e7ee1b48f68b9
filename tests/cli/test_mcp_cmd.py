"""``agent mcp list | add | remove | test``: config.toml edited in place, project servers shown with their approval."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

import pytest

from agentshell.cli.mcp_cmd import toml_table, without_table
from tests.cli.launch_support import run_agent

SERVERS = Path(__file__).resolve().parents[1] / "extensions" / "mcp_servers.py"


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "agentshell" / "config.toml"


def test_add_list_remove_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    config_file().parent.mkdir(parents=True)
    config_file().write_text('model = "qwen3"  # mine\n\n[backends.ollama]\nhost = "http://box:11434"\n')
    added = run_agent("mcp", "add", "git", "-e", "GIT_DIR=${HOME}/x", "--", "uvx", "mcp-server-git", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    web = ("mcp", "add", "web", "--url", "https://example.com/mcp", "-H", "Authorization: Bearer ${TOKEN}")
    assert run_agent(*web, cwd=tmp_path).returncode == 0
    data = tomllib.loads(config_file().read_text())
    assert data["mcp_servers"]["git"] == {"command": "uvx", "args": ["mcp-server-git"], "env": {"GIT_DIR": "${HOME}/x"}}
    assert data["mcp_servers"]["web"]["headers"] == {"Authorization": "Bearer ${TOKEN}"}

    listed = run_agent("mcp", "list", "--json", cwd=tmp_path)
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["transport"], r["runs"]) for r in rows] == [("git", "stdio", True), ("web", "http", True)]
    assert rows[0]["target"] == "uvx mcp-server-git"

    again = run_agent("mcp", "add", "git", "--", "x", cwd=tmp_path)
    assert again.returncode == 2 and "already in" in again.stderr
    assert run_agent("mcp", "remove", "git", cwd=tmp_path).returncode == 0
    text = config_file().read_text()
    assert text.startswith('model = "qwen3"  # mine\n') and "[backends.ollama]" in text
    assert set(tomllib.loads(text)["mcp_servers"]) == {"web"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mcp", "add", "x"), "give either a command"),
        (("mcp", "add", "x", "--url", "http://h/mcp", "--", "cmd"), "give either a command"),
        (("mcp", "add", "bad.name", "--", "cmd"), "use letters, digits"),
        (("mcp", "add", "x", "-e", "NOEQUALS", "--", "cmd"), "--env KEY=VALUE"),
        (("mcp", "remove", "nope"), "no server nope"),
        (("mcp", "test", "nope"), "no MCP server nope"),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_agent(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_project_servers_are_listed_with_their_approval(tmp_path: Path) -> None:
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": {"command": "srv", "args": ["-v"]}}}))
    rows = json.loads(run_agent("mcp", "list", "--json", cwd=tmp_path).stdout)
    assert rows == [
        {
            "name": "proj", "source": ".mcp.json", "transport": "stdio", "target": "srv -v",
            "enabled": True, "runs": False, "why_not": "not approved",
        }
    ]  # fmt: skip
    refused = run_agent("mcp", "test", "proj", cwd=tmp_path)
    assert refused.returncode == 2 and "not approved yet" in refused.stderr


@pytest.mark.slow
def test_test_starts_the_server_and_lists_what_it_offers(tmp_path: Path) -> None:
    config_file().parent.mkdir(parents=True)
    config_file().write_text(toml_table("demo", {"command": sys.executable, "args": [str(SERVERS), "stdio"]}))
    result = run_agent("mcp", "test", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "demo (config) started in" in result.stdout and "prompts" in result.stdout
    assert "mcp__demo__echo  [read]" in result.stdout and "mcp__demo__write_note  [asks]" in result.stdout
    assert "/mcp__demo__review  (prompt)" in result.stdout
    silent = toml_table("mute", {"command": sys.executable, "args": [str(SERVERS), "silent"], "startup_timeout": 1.0})
    config_file().write_text(silent)
    failed = run_agent("mcp", "test", "mute", cwd=tmp_path)
    assert failed.returncode == 1 and "did not start within 1 s" in failed.stderr


def test_without_table_removes_sub_tables_only_of_that_server() -> None:
    text = '[mcp_servers.a]\ncommand = "x"\n[mcp_servers.a.env]\nK = "v"\n\n[mcp_servers.ab]\ncommand = "y"\n'
    assert tomllib.loads(without_table(text, "a")) == {"mcp_servers": {"ab": {"command": "y"}}}
