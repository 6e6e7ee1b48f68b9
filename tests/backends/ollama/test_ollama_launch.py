"""The whole path: `agent launch` resolves an Ollama model, calls a tool natively and answers with its result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentshell_ollama_fake_server import Reply


def final(**extra: Any) -> dict[str, Any]:
    return {"model": "qwen3", "message": {"role": "assistant", "content": ""}, "done": True, **extra}


@pytest.mark.slow  # a real `agent` process
def test_launch_runs_a_native_tool_call(fake: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello from the file\n", encoding="utf-8")
    call = {"id": "call_abc12345", "function": {"index": 0, "name": "read_file", "arguments": {"path": "notes.txt"}}}
    fake.script(
        "POST",
        "/api/chat",
        Reply(
            lines=[
                {
                    "model": "qwen3",
                    "message": {"role": "assistant", "content": "", "tool_calls": [call]},
                    "done": False,
                },
                final(done_reason="stop", prompt_eval_count=300, eval_count=12),
            ]
        ),
        Reply(
            lines=[
                {"model": "qwen3", "message": {"role": "assistant", "content": "The file says hello."}, "done": False},
                final(done_reason="stop", prompt_eval_count=340, eval_count=6),
            ]
        ),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "OLLAMA_"))}
    argv = ["launch", "-p", "What do the notes say?", "--model", "qwen3", "--host", fake.url, "--output-format", "text"]
    done = subprocess.run(
        [sys.executable, "-m", "agentshell", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The file says hello."

    first, second = fake.bodies("/api/chat")
    assert first["options"] == {"num_ctx": 8192}
    read_file = next(t for t in first["tools"] if t["function"]["name"] == "read_file")
    assert read_file["function"]["parameters"]["required"] == ["path"]
    assistant, tool = second["messages"][-2:]
    assert assistant["tool_calls"] == [
        {
            "id": "call_abc12345",
            "type": "function",
            "function": {"index": 0, "name": "read_file", "arguments": {"path": "notes.txt"}},
        }
    ]
    assert tool["role"] == "tool" and tool["tool_name"] == "read_file" and tool["tool_call_id"] == "call_abc12345"
    assert "hello from the file" in tool["content"]
