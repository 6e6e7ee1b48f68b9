"""benchmarks/builtin_context.py: its transcript replay matches the loop, and the whole script runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from agentshell.protocol import Message, ToolCallRequest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "builtin_context.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("builtin_context", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _line(kind: str, **fields: object) -> str:
    return json.dumps({"type": kind, **fields})


def _message(message: Message) -> str:
    return _line("message", message=message.model_dump(mode="json", exclude_defaults=True))


def test_replay_rebuilds_each_model_request_and_follows_a_compaction(tmp_path: Path) -> None:
    call = ToolCallRequest(id="c1", name="list_dir", arguments={"path": "src"})
    first = [
        Message(role="user", content="list src"),
        Message(role="assistant", tool_calls=(call,)),
        Message(role="tool", content="app.py", tool_call_id="c1", name="list_dir"),
        Message(role="assistant", content="app.py"),
    ]
    summary = Message(role="user", content="[Summary] listed src")
    lines = [_line("session", id="x"), *map(_message, first), _message(Message(role="user", content="run ls"))]
    lines += [_line("compaction", messages=[summary.model_dump(mode="json")]), _message(Message(role="assistant"))]
    transcript = tmp_path / "s.jsonl"
    transcript.write_text("\n".join(lines) + "\n")
    system = Message(role="system", content="sys")

    turns = _benchmark().replay(transcript, system)

    assert [t.prompt for t in turns] == ["list src", "run ls"]
    assert turns[0].requests == [[system, first[0]], [system, *first[:3]]]
    assert turns[0].compactions == 0
    assert turns[1].requests == [[system, summary]]  # the live conversation the compaction left
    assert turns[1].compactions == 1


@pytest.mark.slow
def test_the_benchmark_runs_the_conversation_and_times_both_engines() -> None:
    from agentshell_builtin.backend import shipped_model_path

    if not shipped_model_path().is_file():
        pytest.skip("the shipped model is not installed")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--decode-tokens", "4", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line.split() for line in done.stdout.splitlines() if line.split()[:1] in (["1"], ["2"], ["3"], ["4"], ["5"])
    ]
    assert len(rows) == 5
    for row in rows:  # the prompt counted from the transcript is the one the agent reported
        counted, reported = next(c for c in row if "/" in c).split("/")
        assert counted == reported and int(counted) > 0
    assert "requests fit the window without compaction" in done.stdout
    assert done.stdout.count("first token  numpy") == 2 and done.stdout.count("decode       numpy") == 2
