"""The REPL in a real pseudo-terminal, its output fed to a terminal emulator (pyte): tests see the screen.

pexpect finds text in a byte stream and cannot see a garbled screen; here every byte the
agent writes goes through pyte, as it would through xterm, and the tests assert on the
rows a person would read. Golden screens are text files under ``golden/``; run with
``UPDATE_GOLDEN=1`` to rewrite them, then review the diff like code.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pyte

from tests.cli.launch_support import sigint_default, text

GOLDEN = Path(__file__).with_name("golden")
PROMPT = "› "


class Terminal:
    """One ``agent`` process on a pty of ``columns`` x ``rows``, and the screen it draws."""

    def __init__(self, cwd: Path, *args: str, columns: int = 80, rows: int = 30, env: dict[str, str] | None = None):
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.screen.set_mode(pyte.modes.LNM)  # the pty turns \n into \r\n already; this keeps pyte from doubling it
        environment = {
            **os.environ,
            "TERM": "xterm-256color",
            "PROMPT_TOOLKIT_NO_CPR": "1",  # pyte does not answer cursor position requests
            "NO_COLOR": "1",
            **(env or {}),
        }
        for variable in ("COLUMNS", "LINES"):  # the pty's size is the truth, as in a real terminal
            environment.pop(variable, None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "agentshell", "launch", *args],
            cwd=str(cwd),
            env=environment,
            dimensions=(rows, columns),
            preexec_fn=sigint_default,
        )
        self.raw = bytearray()

    # ------------------------------------------------------------------ input

    def type(self, text: str) -> None:
        self.child.send(text)

    def enter(self, line: str) -> None:
        self.child.send(line + "\r")  # a terminal sends CR for Enter

    def resize(self, columns: int, rows: int) -> None:
        self.pump(0.05)
        self.screen.resize(rows, columns)
        self.child.setwinsize(rows, columns)  # SIGWINCH, as a terminal window being dragged

    # ------------------------------------------------------------------ output

    def pump(self, seconds: float = 0.0) -> None:
        """Feed what the agent wrote (waiting up to ``seconds`` for more) to the screen."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=max(0.0, min(0.05, deadline - time.monotonic())))
            except pexpect.TIMEOUT:
                data = b""
            except pexpect.EOF:
                return
            if data:
                self.raw += data
                self.stream.feed(data)
            elif time.monotonic() >= deadline:
                return

    def lines(self) -> list[str]:
        self.pump()
        return [row.rstrip() for row in self.screen.display]

    def text(self) -> str:
        """The screen as text, trailing blank rows dropped."""
        rows = self.lines()
        while rows and not rows[-1]:
            rows.pop()
        return "\n".join(rows)

    def wait(self, condition: Callable[[str], bool] | str, timeout: float = 20.0) -> str:
        """Until the screen shows ``condition`` (text, or a test of the screen text); returns the screen."""
        test = condition if callable(condition) else (lambda screen: condition in screen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.05)
            screen = self.text()
            if test(screen):
                return screen
        raise AssertionError(f"the screen never showed {condition!r}; it shows:\n{self.text()}")

    def wait_prompt(self, timeout: float = 20.0) -> str:
        """Until the input line is empty and ready (the last non-blank row is the bare prompt)."""
        return self.wait(lambda screen: screen.splitlines()[-1:] == [PROMPT.rstrip()], timeout)

    def close(self) -> int | None:
        if self.child.isalive():
            self.child.sendcontrol("d")
            self.pump(1.0)
            self.child.close(force=True)
        return self.child.exitstatus

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.child.isalive():
            self.child.close(force=True)


def slowly(answer: str, pause: float = 0.01, piece: int = 4) -> list[dict[str, Any]]:
    """An answer streamed a few characters at a time, as a model does."""
    steps: list[dict[str, Any]] = []
    for start in range(0, len(answer), piece):
        steps += [text(answer[start : start + piece]), {"type": "sleep", "seconds": pause}]
    return steps


# ---------------------------------------------------------------------- golden screens

_VARYING = [
    (re.compile(r"\d{8}-\d{6}-\d{3}-[0-9a-f]{6}"), "SESSION-ID"),
    (re.compile(r"\d{2}-\d{2} \d{2}:\d{2}"), "MM-DD HH:MM"),
    (re.compile(r"\b\d+(\.\d+)? ?s\b"), "Ns"),
]


def normalise(screen: str, tmp_path: Path) -> str:
    """Paths, session ids and times vary from run to run; the layout does not."""
    screen = screen.replace(str(tmp_path), "TMP")
    for pattern, stand_in in _VARYING:
        screen = pattern.sub(stand_in, screen)
    return screen + "\n"


def assert_golden(name: str, screen: str, tmp_path: Path) -> None:
    path = GOLDEN / f"{name}.txt"
    shown = normalise(screen, tmp_path)
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(shown, encoding="utf-8")
        if not os.environ.get("UPDATE_GOLDEN"):
            raise AssertionError(f"wrote the new golden screen {path}: review it, then run again")
    assert shown == path.read_text(encoding="utf-8"), f"screen differs from {path} (UPDATE_GOLDEN=1 rewrites it)"
