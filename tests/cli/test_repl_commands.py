"""The interactive shell in-process: slash commands and approvals, typed through a pipe."""

from __future__ import annotations

import io
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from agentshell.cli.assemble import LaunchOptions
from agentshell.cli.repl import Shell, SlashCompleter
from agentshell.protocol import Message
from agentshell.session import SessionStore
from tests.cli.launch_support import call, text, write_script


def run_shell(tmp_path: Path, model: str, keys: str, **options: object) -> tuple[Shell, str, int]:
    """Start a shell on ``model``, type ``keys`` (\\r is Enter), then end of input."""
    out = Console(file=io.StringIO(), width=100, force_terminal=False, color_system=None)
    with create_pipe_input() as pipe:
        shell = Shell(out, PromptSession(input=pipe, output=DummyOutput()))
        pipe.send_text(keys)  # typed ahead: start() may already ask (the --resume picker)
        shell.start(LaunchOptions(model=model, workspace=tmp_path, **options))  # type: ignore[arg-type]
        pipe.close()
        code = shell.loop()
    assert shell.parts is not None
    shell.parts.close()
    return shell, out.file.getvalue(), code  # type: ignore[attr-defined]


def test_help_tools_model_and_unknown_command(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("hi")]])
    _, out, code = run_shell(tmp_path, model, "/help\r/tools\r/model\r/nope\r/exit\r")
    assert code == 0
    assert "/compact" in out and "switch to NAME" in out
    assert "read_file" in out and "bash" in out
    assert f"scripted · {model.removeprefix('scripted:')}" in out
    assert "unknown command /nope" in out


def test_approval_yes_no_always_with_one_key(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [
            [call("bash", "1", command="touch yes.txt")],
            [call("bash", "2", command="touch no.txt"), call("bash", "2b", command="touch never.txt")],
            [call("bash", "3", command="touch always.txt")],
            [call("bash", "4", command="touch always.txt")],
            [text("done")],
        ],
    )
    # No Enter after an answer; after "n" the turn stops and the next line is the user's new request.
    shell, out, _ = run_shell(tmp_path, model, "go\ryntry another way\ra")
    assert (tmp_path / "yes.txt").exists() and not (tmp_path / "no.txt").exists()
    assert not (tmp_path / "never.txt").exists() and (tmp_path / "always.txt").exists()
    assert out.count("approve?") == 3  # the declined call's neighbour was not asked; "always" was not asked again
    assert "declined · what should the agent do instead?" in out and "done" in out
    assert shell.agent is not None
    tool_answers = [m.content for m in shell.agent.messages if m.role == "tool"]
    assert "denied by the user" in tool_answers[1] and "not run: the user declined" in tool_answers[2]
    assert [m.content for m in shell.agent.messages if m.role == "user"] == ["go", "try another way"]


def test_clear_starts_a_new_session_and_compact_reports(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("first")], [text("second")]])
    shell, out, _ = run_shell(tmp_path, model, "one\r/clear\r/compact\rtwo\r")
    assert "new conversation" in out and "nothing to compact" in out
    assert shell.agent is not None
    assert [m.content for m in shell.agent.messages] == ["two", "second"]
    store = SessionStore()
    contents = sorted([m.content for m in store.read(s.id)[1]] for s in store.list(tmp_path.resolve()))
    assert contents == [["one", "first"], ["two", "second"]]


def test_continue_shows_what_was_resumed(tmp_path: Path) -> None:
    store = SessionStore()
    with store.create(tmp_path) as session:
        session.append(Message(role="user", content="before"), backend="scripted", model="x")
    model = write_script(tmp_path, [[text("after")]])
    shell, out, _ = run_shell(tmp_path, model, "again\r", continue_session=True)
    assert "resumed 1 messages" in out
    assert shell.agent is not None and [m.content for m in shell.agent.messages] == ["before", "again", "after"]


def test_backend_failure_keeps_the_shell_alive(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[{"type": "raise", "error": "BackendError", "message": "boom"}], [text("fine")]])
    _, out, code = run_shell(tmp_path, model, "a\rb\r")
    assert code == 0 and "error: boom" in out and "fine" in out


def test_completion_of_slash_commands_and_backends() -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    completer = SlashCompleter(lambda: ["builtin", "ollama"])
    words = [c.text for c in completer.get_completions(Document("/c"), CompleteEvent())]
    assert words == ["/clear", "/compact"]
    words = [c.text for c in completer.get_completions(Document("/model ol"), CompleteEvent())]
    assert words == ["ollama:"]
    assert not list(completer.get_completions(Document("hello"), CompleteEvent()))


def test_a_line_starting_with_a_path_is_a_prompt(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("that is the hosts file")]])
    shell, out, _ = run_shell(tmp_path, model, "/etc/hosts what is this?\r")
    assert "unknown command" not in out and "that is the hosts file" in out
    assert shell.agent is not None and shell.agent.messages[0].content == "/etc/hosts what is this?"


def test_asking_again_is_not_a_repeated_call(tmp_path: Path) -> None:
    """The same command once per request, before and after /clear: never "repeated ... in a row"."""
    turns = [[[call("bash", f"c{i}", command="echo hi")], [text(f"said hi {i}")]] for i in range(5)]
    model = write_script(tmp_path, [response for turn in turns for response in turn])
    keys = "run echo hi\ra\ragain please\rthird time\r/clear\rfourth\rfifth\r"
    _, out, code = run_shell(tmp_path, model, keys)
    assert code == 0 and "in a row" not in out
    assert out.count("said hi") == 5


def test_help_shows_brackets_as_typed(tmp_path: Path) -> None:
    """Rich markup must not eat "[NAME]" (issue: "add  to the config")."""
    model = write_script(tmp_path, [[text("hi")]])
    _, out, _ = run_shell(tmp_path, model, "/help\r")
    assert "/model [NAME]" in out and "/rewind [N]" in out
    assert "Alt-Enter, Ctrl-J  a new line" in out and "Ctrl-D" in out and "y / n / a" in out


def test_a_small_model_is_presented_honestly(tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_text('{"context_length": 512, "responses": [[{"type": "text", "text": "hi"}]]}', encoding="utf-8")
    _, out, _ = run_shell(tmp_path, f"scripted:{small}", "")
    assert "is a small demonstration model (512-token context)" in " ".join(out.split())
    big = write_script(tmp_path, [[text("hi")]])  # 8,192 tokens: nothing to warn about
    _, out, _ = run_shell(tmp_path, big, "")
    assert "demonstration" not in out


def test_an_unreadable_call_is_one_line_not_a_panel_of_json() -> None:
    import io as _io

    from agentshell.cli.toolview import tool_view
    from agentshell.loop.limits import CallGuard, Limits
    from agentshell.protocol import MalformedToolCall

    guard = CallGuard(Limits())
    call = guard.malformed(MalformedToolCall(id="m1", raw='{"name": "bash", "arguments": {', error="unclosed JSON"))
    result = guard.vet(call)
    assert result is not None
    console = Console(file=_io.StringIO(), width=80, color_system=None)
    console.print(tool_view(call, result))
    assert console.file.getvalue() == "● unreadable tool call  your tool call could not be read: unclosed JSON\n"  # type: ignore[attr-defined]
