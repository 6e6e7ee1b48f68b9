"""Text from a model, a server or a file, on a person's terminal: controls shown, never obeyed.

A model (or a file it read, or a server's error message) can write ``ESC ] 52`` (set the clipboard),
``ESC ] 0`` (the window title), ``ESC [ 2 J`` (clear the screen) or C1 controls; rich passes
them through. Every front end that shows such text sends it through :func:`terminal_safe`,
the same function the tool runner applies to tool results (:func:`agentshell.tools.base.visible`):
newlines and tabs stay, C0 controls become caret notation (``^[``), C1 controls become U+FFFD.

Where stdout is not a terminal (a pipe, a file), scripted output stays byte-exact: :func:`for_stream`.
"""

from __future__ import annotations

from typing import TextIO

from agentshell.tools.base import visible


def terminal_safe(text: str) -> str:
    """``text`` with every control character but newline, tab and form feed made visible; CRLF becomes LF."""
    return visible(text)


def one_line(text: str) -> str:
    """For spinners, titles and table cells: terminal-safe, and all whitespace runs as one space."""
    return " ".join(visible(text).split())


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def for_stream(text: str, stream: TextIO) -> str:
    """``text`` as it should be written to ``stream``: made safe on a terminal, untouched anywhere else."""
    return terminal_safe(text) if is_terminal(stream) else text
