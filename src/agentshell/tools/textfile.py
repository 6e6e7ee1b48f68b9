"""Byte-faithful text handling shared by the file tools: binary sniffing, exact edits, diffs.

Files are decoded with ``surrogateescape`` so that bytes which are not UTF-8
survive an edit untouched; only what is *shown* (to the model or the user)
has them replaced by U+FFFD.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

SNIFF_BYTES = 8192
MAX_DIFF_CHARS = 20_000


class EditFailed(Exception):
    """The replacement cannot be made; ``str()`` tells the model why and what to do."""


@dataclass(frozen=True)
class EditOutcome:
    data: bytes
    count: int
    line_ending_adapted: bool = False  # old/new were rewritten from \n to \r\n to match the file


def looks_binary(head: bytes) -> bool:
    """Git's rule: a NUL byte in the first few kilobytes."""
    return b"\x00" in head[:SNIFF_BYTES]


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def shown(text: str) -> str:
    """Text safe to print or put in JSON: undecodable bytes become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def apply_edit(data: bytes, old: str, new: str, *, replace_all: bool = False) -> EditOutcome:
    """Replace ``old`` by ``new`` in ``data``; every other byte stays as it was."""
    if old == "":
        raise EditFailed("old_string is empty; to create or overwrite a whole file use write_file")
    if old == new:
        raise EditFailed("old_string and new_string are the same; nothing to change")
    text = decode(data)
    count = text.count(old)
    adapted = False
    if count == 0 and "\n" in old and "\r\n" in text:
        # The model writes \n; the file uses \r\n. Match in the file's convention and keep it.
        crlf_old = old.replace("\r\n", "\n").replace("\n", "\r\n")
        if crlf_old != old and text.count(crlf_old):
            old, new = crlf_old, new.replace("\r\n", "\n").replace("\n", "\r\n")
            count, adapted = text.count(old), True
    if count == 0:
        raise EditFailed("old_string was not found" + _near_miss(text, old))
    if count > 1 and not replace_all:
        lines = _match_lines(text, old)
        where = ", ".join(str(n) for n in lines[:10]) + (", ..." if len(lines) > 10 else "")
        raise EditFailed(
            f"old_string occurs {count} times (at lines {where}); include more surrounding lines to make it unique, "
            "or set replace_all to true to replace every occurrence"
        )
    result = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    try:
        out = encode(result)
    except UnicodeEncodeError as exc:
        raise EditFailed("new_string contains characters that cannot be written as UTF-8") from exc
    return EditOutcome(out, count if replace_all else 1, adapted)


def _match_lines(text: str, old: str) -> list[int]:
    lines: list[int] = []
    start = text.find(old)
    while start != -1 and len(lines) < 1000:
        lines.append(text.count("\n", 0, start) + 1)
        start = text.find(old, start + len(old))
    return lines


def _near_miss(text: str, old: str) -> str:
    """Point at a passage that matches once whitespace is ignored: small models often get indentation wrong."""
    wanted = [line.strip() for line in old.strip("\n").splitlines()]
    if not wanted or not any(wanted) or len(text) > 2_000_000:
        return "; read the file again and copy the text exactly, including whitespace"
    lines = [line.strip() for line in text.splitlines()]
    for i in range(len(lines) - len(wanted) + 1):
        if lines[i : i + len(wanted)] == wanted:
            return (
                f"; a passage that differs only in whitespace or indentation starts at line {i + 1}. "
                "Copy it exactly as read_file shows it (without the line-number prefix)"
            )
    return "; read the file again and copy the text exactly, including whitespace (without line-number prefixes)"


def unified_diff(before: bytes, after: bytes, label: str) -> str:
    """A unified diff for people and models, clipped so a huge rewrite cannot flood either."""
    old = shown(decode(before)).splitlines(keepends=True)
    new = shown(decode(after)).splitlines(keepends=True)
    from_label = f"a/{label}" if before else "/dev/null"
    lines = difflib.unified_diff(old, new, from_label, f"b/{label}", n=3)
    out: list[str] = []
    size = 0
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        size += len(line)
        if size > MAX_DIFF_CHARS:
            out.append("[... diff cut ...]\n")
            break
        out.append(line)
    return "".join(out)


def diff_stats(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed
