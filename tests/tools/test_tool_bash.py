"""bash: ordinary behaviour (the attacks are in tests/tools/test_hardening_tools.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import ToolContext, ToolResult, ToolRunner, default_tools
from agentshell.tools.shell import HEAD_BYTES, TAIL_BYTES, HeadTail

Run = Callable[..., ToolResult]


def test_output_exit_code_and_cwd(ws: Path, run: Run) -> None:
    result = run("bash", command="pwd; echo out; echo err >&2; exit 3")
    assert result.output == f"{ws}\nout\nerr\n[exit code 3]"
    assert result.is_error
    assert result.summary == "exit 3, 3 lines"
    ok = run("bash", command="true")
    assert ok.output == "(no output)\n[exit code 0]" and not ok.is_error


def test_signal_death_is_reported(run: Run) -> None:
    assert "[killed by signal 9]" in run("bash", command="kill -9 $$").output


def test_environment_is_quiet_and_keeps_the_users_variables(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_OWN_VAR", "kept")
    out = run("bash", command="env").output
    assert "MY_OWN_VAR=kept" in out
    assert "GIT_PAGER=cat" in out and "GIT_TERMINAL_PROMPT=0" in out


def test_variables_the_context_hides_never_reach_the_command(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Which variables are credentials is the config's knowledge (tests/cli/test_assemble.py); tools obey the context.
    monkeypatch.setenv("GPU_BOX_KEY", "sk-endpoint")
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-secret-ollama")
    ctx = ToolContext(ws, hidden_env=("GPU_BOX_KEY", "OLLAMA_API_KEY"))
    runner = ToolRunner(default_tools(), ctx, PermissionGate("yolo", ws))
    out = runner.execute("bash", {"command": "env"}).output
    assert "sk-endpoint" not in out and "sk-secret" not in out


def test_ansi_colour_codes_are_stripped(run: Run) -> None:
    assert run("bash", command=r"printf '\033[31mred\033[0m\n'").output.startswith("red\n")


def test_empty_command_is_an_error(run: Run) -> None:
    assert run("bash", command="   ").is_error


def test_long_output_keeps_head_and_tail_with_a_marker(run: Run) -> None:
    result = run("bash", command="seq 1 100000")
    lines = result.output.splitlines()
    assert lines[0] == "1" and lines[-2] == "100000" and lines[-1] == "[exit code 0]"
    markers = [line for line in lines if line.startswith("[... ")]
    assert len(markers) == 1 and "of output cut here" in markers[0]
    assert len(result.output) < HEAD_BYTES + TAIL_BYTES + 200
    kept = [int(x) for x in lines if x.isdigit()]
    assert kept == sorted(kept) and kept[0] == 1  # whole lines, in order, nothing duplicated


def test_head_tail_counts_what_it_cut() -> None:
    capture = HeadTail(head=10, tail=10)
    for i in range(1000):
        capture.add(f"{i:04d}\n".encode())
    assert capture.total == 5000
    text = capture.text()
    assert text.startswith("0000\n0001\n")
    assert text.endswith("0998\n0999\n")
    assert "[... 4980 bytes (996 lines) of output cut here ...]" in text


def test_a_command_that_cannot_run_is_refused_before_asking(ws: Path) -> None:
    asked: list[object] = []
    gate = PermissionGate("ask", ws, ask=lambda request: asked.append(request) or "yes")
    runner = ToolRunner(default_tools(), ToolContext(ws), gate)
    assert "over the limit" in runner.execute("bash", {"command": "x" * 200_000}).output
    assert "NUL byte" in runner.execute("bash", {"command": "echo a\x00b"}).output
    assert not asked


def test_credential_looking_variables_pass_only_when_named(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "gh-token-value-1234")
    monkeypatch.setenv("SOME_SECRET", "x")  # short: still kept back, whatever its length
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-secret-ollama")
    ctx = ToolContext(ws, hidden_env=("OLLAMA_API_KEY",), pass_env=("GH_TOKEN", "OLLAMA_API_KEY"))
    runner = ToolRunner(default_tools(), ctx, PermissionGate("yolo", ws))
    out = runner.execute("bash", {"command": "env"}).output
    assert "GH_TOKEN=[REDACTED:GH_TOKEN]" in out  # it passed; what the command prints is redacted all the same
    assert "SOME_SECRET" not in out and "OLLAMA_API_KEY" not in out  # agentshell's own never pass


def test_a_running_command_reports_its_output_as_it_comes(ws: Path) -> None:
    """``ToolContext.on_output`` sees every chunk before the command ends (the REPL's live tail, cli/toolview.py)."""
    chunks: list[bytes] = []
    ctx = ToolContext(workspace=ws, on_output=chunks.append)
    runner = ToolRunner(default_tools(), ctx, PermissionGate("yolo", ws))
    result = runner.execute("bash", {"command": "for i in 1 2 3; do echo line $i; sleep 0.05; done; seq 100000"})
    assert not result.is_error
    seen = b"".join(chunks)
    assert seen.startswith(b"line 1\nline 2\nline 3\n1\n") and seen.endswith(b"\n100000\n")
    assert len(chunks) > 1 and "output cut here" in result.output  # all of it was seen, though only head and tail kept
