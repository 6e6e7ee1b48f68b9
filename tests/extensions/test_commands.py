"""Custom slash commands (Claude Code's Markdown files) and MCP prompts as commands, in the shell and with -p."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from agentshell.cli.assemble import LaunchOptions
from agentshell.cli.repl import RESERVED, Shell, SlashCompleter
from agentshell.config import config_dir
from agentshell.extensions.commands import load_commands, prompt_commands
from agentshell.session import SessionStore
from agentshell.tools.base import ToolError
from tests.cli.launch_support import call, run_agent, text, write_script
from tests.extensions.support import make_hub, own_server

COMMIT = """---
description: Commit what is staged
allowed-tools: Bash(git add:*), Bash(git commit:*), Edit
argument-hint: [message]
---
Commit the staged changes with the message "$1". Context: $ARGUMENTS
"""


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def test_commands_are_found_in_project_then_user_directories(tmp_path: Path) -> None:
    user = config_dir()
    write(tmp_path / ".agentshell/commands/commit.md", COMMIT)
    write(tmp_path / ".claude/commands/commit.md", "the Claude Code copy loses to agentshell's own")
    write(tmp_path / ".claude/commands/review.md", "# Review the diff\n\nLook at $ARGUMENTS closely.")
    write(user / "commands/standup.md", "Summarise yesterday's commits.")
    write(user / "commands/help.md", "a command cannot take a name the shell uses")
    found = load_commands(tmp_path, user, RESERVED)
    assert sorted(found) == ["commit", "review", "standup"]
    commit = found["commit"]
    assert commit.description == "Commit what is staged" and commit.argument_hint == "[message]"
    assert commit.allowed_tools == ("bash(git add *)", "bash(git commit *)", "edit")
    assert commit.source == "project" and found["standup"].source == "user"
    assert found["review"].description == "Review the diff"  # no front matter: the first line


def test_arguments_are_substituted(tmp_path: Path) -> None:
    write(tmp_path / ".agentshell/commands/commit.md", COMMIT)
    write(tmp_path / ".agentshell/commands/plain.md", "Tidy up the imports.")
    found = load_commands(tmp_path, tmp_path / "none")
    expanded = found["commit"].expand('"fix the parser" and more')
    assert expanded == 'Commit the staged changes with the message "fix the parser". Context: "fix the parser" and more'
    assert found["commit"].expand("") == 'Commit the staged changes with the message "". Context:'
    assert found["plain"].expand("src/a.py") == "Tidy up the imports.\n\nARGUMENTS: src/a.py"


def test_a_rule_that_cannot_be_read_is_reported_not_applied(tmp_path: Path) -> None:
    write(tmp_path / ".agentshell/commands/x.md", "---\nallowed-tools: [Bash(ls:*), 9bad]\n---\nList.")
    command = load_commands(tmp_path, tmp_path / "none")["x"]
    assert command.allowed_tools == ("bash(ls *)",)
    assert len(command.problems) == 1 and "9bad" in command.problems[0]


def test_mcp_prompts_become_commands(tmp_path: Path) -> None:
    hub = make_hub({"test": own_server()}, tmp_path)
    try:
        assert hub.wait(60)
        (command,) = prompt_commands(hub).values()
        assert command.name == "mcp__test__review" and command.argument_hint == "path [focus]"
        assert command.expand("src/a.py races and leaks") == "Please review src/a.py, looking for races and leaks."
        assert command.expand("focus=style src/b.py") == "Please review src/b.py, looking for style."
        with pytest.raises(ToolError, match="needs path"):
            command.expand("")
    finally:
        hub.close()


def test_the_shell_lists_completes_and_runs_them(tmp_path: Path) -> None:
    write(tmp_path / ".agentshell/commands/commit.md", COMMIT)
    model = write_script(tmp_path, [[call("bash", command="git add -A")], [text("committed")]])
    out = Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)
    with create_pipe_input() as pipe:
        session: PromptSession[str] = PromptSession(input=pipe, output=DummyOutput(), completer=SlashCompleter(list))
        shell = Shell(out, session)
        pipe.send_text('/help\r/commit "first commit"\r')
        shell.start(LaunchOptions(model=model, workspace=tmp_path))
        pipe.close()
        completer = session.completer
        assert isinstance(completer, SlashCompleter)
        offered = [c.text for c in completer.get_completions(Document("/co"), None)]  # type: ignore[arg-type]
        assert offered == ["/compact", "/commit"]
        shell.loop()
    assert shell.parts is not None
    shell.parts.close()
    shown = out.file.getvalue()  # type: ignore[attr-defined]
    assert "/commit [message]" in shown and "Commit what is staged" in shown
    assert "approve?" not in shown  # allowed-tools let `git add` run without asking, for this request only
    assert shell.parts.gate.allow == []
    store = SessionStore()
    (summary,) = store.list(tmp_path.resolve())
    _, messages, _ = store.read(summary.id)
    assert messages[0].content.startswith('Commit the staged changes with the message "first commit".')


@pytest.mark.slow
def test_a_command_as_the_p_prompt_with_its_own_model(tmp_path: Path) -> None:
    other = write_script(tmp_path, [[call("bash", command="git status")], [text("from the other model")]], "o.json")
    first = write_script(tmp_path, [[text("from the first model")]])
    write(
        tmp_path / ".agentshell/commands/st.md", f"---\nmodel: {other}\nallowed-tools: Bash(git status)\n---\nStatus?"
    )
    result = run_agent("launch", "-m", first, "-p", "/st", "--output-format", "stream-json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["model"] == other.removeprefix("scripted:")
    (tool_result,) = [e for e in lines if e["type"] == "tool_result"]
    assert "needs approval" not in tool_result["output"]
    assert lines[-1]["result"] == "from the other model"
    unknown = run_agent("launch", "-m", first, "-p", "/etc/hosts looks wrong", cwd=tmp_path)
    assert unknown.stdout.strip() == "from the first model"  # not a command: the text goes to the model as is
    assert os.path.exists(tmp_path)


def test_the_shell_asks_once_before_a_projects_servers_start(tmp_path: Path) -> None:
    import sys

    from agentshell.config import data_dir
    from agentshell.extensions.project_trust import ProjectTrust, fingerprint

    entry = {"command": sys.executable, "args": [str(Path(__file__).with_name("mcp_servers.py")), "stdio"]}
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": entry}}), encoding="utf-8")
    model = write_script(tmp_path, [[text("hi")]])
    out = Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)
    with create_pipe_input() as pipe:
        shell = Shell(out, PromptSession(input=pipe, output=DummyOutput()))
        pipe.send_text("y/tools\r")  # "y" answers the approval question, one key
        shell.start(LaunchOptions(model=model, workspace=tmp_path))
        pipe.close()
        shell.loop()
    assert shell.parts is not None
    shell.parts.close()
    shown = out.file.getvalue()  # type: ignore[attr-defined]
    assert "approve?" in shown and "MCP server proj:" in shown
    assert "mcp__proj__echo" in shown  # /tools, once the approved server is up
    digest = fingerprint(tmp_path)
    assert digest is not None and ProjectTrust(data_dir()).is_trusted(tmp_path, digest)
