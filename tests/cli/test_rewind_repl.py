"""The shell's /undo and /rewind, typed through a pipe: files, conversation, or both, and undo of an undo."""

from __future__ import annotations

from pathlib import Path

from tests.cli.launch_support import call, text, write_script
from tests.cli.test_repl_commands import run_shell


def two_requests(tmp_path: Path) -> tuple[Path, str]:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "keep.txt").write_text("the user's\n")
    model = write_script(
        tmp_path,
        [
            [call("write_file", "1", path="a.txt", content="one\n")],
            [text("wrote one")],
            [call("write_file", "2", path="a.txt", content="two\n")],
            [call("bash", "3", command="mkdir -p out && printf '\\001\\002' > out/data.bin")],
            [text("wrote two")],
        ],
    )
    return ws, model


def test_undo_puts_back_the_last_request_and_undo_again_brings_it_back(tmp_path: Path) -> None:
    ws, model = two_requests(tmp_path)
    shell, out, _ = run_shell(ws, model, "first\rsecond\r/undo\r", permission_mode="yolo")
    assert (ws / "a.txt").read_text() == "one\n" and not (ws / "out").exists()
    assert "rewound to before request 2" in out and "/undo brings them back" in out
    assert shell.agent is not None and len(shell.agent.messages) == 10  # /undo leaves the conversation as it is
    model = write_script(tmp_path, [], name="none.json")
    _, out, _ = run_shell(ws, model, "/undo\r", permission_mode="yolo", continue_session=True)
    assert (ws / "a.txt").read_text() == "two\n" and (ws / "out" / "data.bin").read_bytes() == b"\1\2"
    assert (ws / "keep.txt").read_text() == "the user's\n"


def test_rewind_lists_the_requests_and_restores_code_and_conversation(tmp_path: Path) -> None:
    ws, model = two_requests(tmp_path)
    shell, out, _ = run_shell(ws, model, "first\rsecond\r/rewind\r1\rb\r", permission_mode="yolo")
    assert "   1  first  a.txt" in out and "   2  second  a.txt, out/data.bin" in out
    assert not (ws / "a.txt").exists() and not (ws / "out").exists()
    assert (ws / "keep.txt").read_text() == "the user's\n"
    assert shell.agent is not None and shell.agent.messages == ()
    assert "the conversation is back to before request 1: first" in out


def test_rewind_of_the_conversation_only_keeps_the_files(tmp_path: Path) -> None:
    ws, model = two_requests(tmp_path)
    shell, _, _ = run_shell(ws, model, "first\rsecond\r/rewind 2\ro\r", permission_mode="yolo")
    assert (ws / "a.txt").read_text() == "two\n"
    assert shell.agent is not None and len(shell.agent.messages) == 4  # request 1: prompt, call, result, answer
    assert shell.agent.messages[0].content == "first" and shell.agent.messages[-1].content == "wrote one"


def test_a_file_the_user_changed_is_kept_unless_they_say_overwrite(tmp_path: Path) -> None:
    ws, model = two_requests(tmp_path)
    run_shell(ws, model, "first\rsecond\r", permission_mode="yolo")
    (ws / "a.txt").write_text("edited by hand\n")
    none = write_script(tmp_path, [], name="none.json")
    _, out, _ = run_shell(ws, none, "/undo\rn\r", permission_mode="yolo", continue_session=True)
    assert "changed outside the agent since that checkpoint:" in out and "  a.txt" in out
    assert "nothing was changed" in out and (ws / "a.txt").read_text() == "edited by hand\n"
    _, out, _ = run_shell(ws, none, "/undo\ry\r", permission_mode="yolo", continue_session=True)
    assert (ws / "a.txt").read_text() == "one\n"


def test_undo_and_rewind_say_when_there_is_nothing_to_do(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    model = write_script(tmp_path, [[text("just talk")]])
    _, out, _ = run_shell(ws, model, "/undo\r/rewind\rhello\r/undo\r/rewind 5\r/rewind 1\ro\r")
    assert "nothing to rewind: no request in this session yet" in out
    assert out.count("nothing to undo: no request of this session changed files") == 2
    assert "no request 5 in this session" in out
    assert "the conversation is back to before request 1" in out
