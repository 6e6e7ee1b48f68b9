"""llama.cpp's own log lines stay off the terminal unless --debug, in a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from agentshell_gguf import GGUFBackend

from agentshell.protocol import Backend, HealthCheck, TokenCounter

SCRIPT = """
import sys
from agentshell_gguf import GGUFBackend
from agentshell.protocol import ChatOptions, Message
backend = GGUFBackend({"threads": 1, "context_length": 512, "debug": sys.argv[2] == "debug"})
events = list(backend.chat(sys.argv[1], [Message(role="user", content="hi")], options=ChatOptions(max_tokens=2)))
print(events[-1].type)
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["quiet", "debug"])
def test_llama_cpp_logs_only_in_debug(smollm2: Path, mode: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(smollm2), mode], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "done"
    if mode == "quiet":
        assert done.stderr == ""
    else:
        assert "llama" in done.stderr  # llama.cpp's loader reports the model it reads


def test_implements_the_optional_protocols() -> None:
    backend = GGUFBackend({})
    assert isinstance(backend, Backend)
    assert isinstance(backend, TokenCounter)
    assert isinstance(backend, HealthCheck)
