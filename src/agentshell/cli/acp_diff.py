"""From the unified diff a file tool reports to the whole old and new text an ACP editor shows as a diff.

The file tools describe an edit as a unified diff (``tools/textfile.py``); ACP's diff content wants the
file's text before and after (docs/acp.md#edits-and-diffs). The text on disk is one side (after an edit
ran, the new one; while it waits for approval, the old one); applying the diff's hunks to it, forward or
backward, gives the other. When the hunks do not apply (the file changed since, or the diff was cut
short) the hunks alone are shown: the changed lines with their context, without the rest of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_NO_NEWLINE = "\\ No newline at end of file"
_CUT = "[... diff cut ...]"


@dataclass
class _Hunk:
    old_start: int  # 1-based, as the header says (0 for an empty side)
    new_start: int
    old: list[str] = field(default_factory=list)  # the hunk's lines on the old side, with their line ends
    new: list[str] = field(default_factory=list)


def _parse(diff: str) -> tuple[list[_Hunk], bool]:
    """The hunks, and whether the diff is whole (not cut short, every line understood)."""
    hunks: list[_Hunk] = []
    whole = True
    last: list[list[str]] = []  # the sides the previous body line went to, for "\ No newline"
    for line in diff.splitlines(keepends=True):
        header = _HUNK.match(line)
        if header:
            hunks.append(_Hunk(int(header.group(1)), int(header.group(3))))
            continue
        if not hunks:
            continue  # the ---/+++ lines
        hunk = hunks[-1]
        if line.rstrip("\n") == _NO_NEWLINE:
            for side in last:
                side[-1] = side[-1].removesuffix("\n")
        elif line.rstrip("\n") == _CUT:
            whole = False
        elif line[:1] in (" ", "-", "+"):
            body = line[1:]
            last = {" ": [hunk.old, hunk.new], "-": [hunk.old], "+": [hunk.new]}[line[0]]
            for side in last:
                side.append(body)
        else:
            whole = False
    return hunks, whole


def _apply(text: str, hunks: list[_Hunk], *, backward: bool) -> str | None:
    """``text`` with each hunk's one side replaced by its other; None when a hunk does not match."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    for hunk in hunks:
        find, put = (hunk.new, hunk.old) if backward else (hunk.old, hunk.new)
        start = _locate(lines, find, at, (hunk.new_start if backward else hunk.old_start) - 1)
        if start is None:
            return None
        out.extend(lines[at:start])
        out.extend(put)
        at = start + len(find)
    out.extend(lines[at:])
    return "".join(out)


def _locate(lines: list[str], block: list[str], at: int, hint: int) -> int | None:
    """Where ``block`` starts in ``lines`` at or after ``at``: the header's line first, else the first match."""
    if not block:
        return max(at, hint)
    candidates = [hint] if hint >= at else []
    candidates += range(at, len(lines) - len(block) + 1)
    for start in candidates:
        if lines[start : start + len(block)] == block:
            return start
    return None


def edit_texts(diff: str, on_disk: str | None, *, applied: bool) -> tuple[str | None, str]:
    """(old text or None for a new file, new text) for ACP's diff content.

    ``on_disk`` is the file's text now: the new side when the edit ``applied``, else the old one (None or
    "" when there is no file yet).
    """
    hunks, whole = _parse(diff)
    created = diff.startswith("--- /dev/null")
    if whole and on_disk is not None:
        other = _apply(on_disk, hunks, backward=applied)
        if other is not None:
            old, new = (other, on_disk) if applied else (on_disk, other)
            return (None if created else old), new
    old_part = "".join(line for hunk in hunks for line in hunk.old)
    new_part = "".join(line for hunk in hunks for line in hunk.new)
    return (None if created else old_part), new_part
