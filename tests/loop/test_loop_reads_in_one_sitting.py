"""The loop is meant to be read top to bottom (docs/architecture.md): keep loop/agent.py under 200 lines.

Growth belongs behind the ports (loop/ports.py) or in what the loop calls, not inline.
"""

from __future__ import annotations

from pathlib import Path

import agentshell.loop.agent as loop_agent


def test_the_loop_stays_under_200_lines() -> None:
    lines = Path(loop_agent.__file__).read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"loop/agent.py has {len(lines)} lines"
