"""Keys typed while the agent works wait for the next prompt instead of landing in the answer.

Between two prompts the terminal is in its normal (cooked) mode, so whatever the user types
is echoed at the cursor: under a streaming answer, inside a live preview whose redraw then
goes wrong and prints the answer twice. :func:`held_keys` turns echo and line editing off
for that time, keeping Ctrl-C (a signal) working; the typed bytes stay in the terminal's
input queue and the next prompt reads them into its line, Enter included, as Claude Code
and Codex keep type-ahead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def held_keys(fd: int | None) -> Iterator[None]:
    """Hold typed keys (no echo, no line editing) on terminal ``fd`` for the duration; a no-op elsewhere."""
    if fd is None or os.name != "posix" or not os.isatty(fd):
        yield
        return
    import termios

    try:
        before = termios.tcgetattr(fd)
    except termios.error:
        yield
        return
    held = [*before[:6], list(before[6])]
    held[0] &= ~termios.ICRNL  # Enter stays \r: the prompt reads it as "send", not as a new line (Ctrl-J)
    held[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN)  # ISIG stays: Ctrl-C still interrupts
    held[6][termios.VMIN], held[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, held)  # TCSANOW: what was typed already is kept, not flushed
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, before)


def input_fd(source: object) -> int | None:
    """The file descriptor behind a prompt_toolkit input, if it has one."""
    fileno = getattr(source, "fileno", None)
    if fileno is None:
        return None
    try:
        fd = fileno()
    except (OSError, ValueError, NotImplementedError):
        return None
    return fd if isinstance(fd, int) else None
