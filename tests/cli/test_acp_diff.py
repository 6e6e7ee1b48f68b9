"""ACP diffs from the file tools' unified diffs: the whole old and new text, or the hunks when that cannot be."""

from __future__ import annotations

import random

import pytest

from agentshell.cli.acp_diff import edit_texts
from agentshell.tools.textfile import unified_diff


def edited(rng: random.Random, old: str) -> str:
    lines = old.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(lines))
        if rng.random() < 0.5:
            lines.insert(at, f"new {rng.randint(0, 9)}\n")
        elif at < len(lines):
            del lines[at]
    new = "".join(lines)
    return new.rstrip("\n") if rng.random() < 0.3 else new


@pytest.mark.parametrize("seed", range(200))
def test_both_sides_come_back_whole_from_either_side(seed: int) -> None:
    rng = random.Random(seed)
    old = "".join(f"line {rng.randint(0, 5)}\n" for _ in range(rng.randint(1, 30)))
    old = old.rstrip("\n") if rng.random() < 0.3 else old
    new = edited(rng, old)
    if new == old:
        return
    diff = unified_diff(old.encode(), new.encode(), "f.txt")
    assert edit_texts(diff, new, applied=True) == (old, new)  # after the edit: the file is the new side
    assert edit_texts(diff, old, applied=False) == (old, new)  # asking first: the file is the old side


def test_a_new_file_has_no_old_side() -> None:
    diff = unified_diff(b"", b"hello\n", "new.txt")
    assert edit_texts(diff, "hello\n", applied=True) == (None, "hello\n")
    assert edit_texts(diff, None, applied=False) == (None, "hello\n")


def test_when_the_file_changed_meanwhile_the_hunks_are_shown() -> None:
    diff = unified_diff(b"a\nb\nc\n", b"a\nB\nc\n", "f.txt")
    assert edit_texts(diff, "something else entirely\n", applied=True) == ("a\nb\nc\n", "a\nB\nc\n")


def test_a_cut_diff_shows_what_it_has() -> None:
    diff = unified_diff(b"a\nb\n", b"a\nB\n", "f.txt") + "[... diff cut ...]\n"
    assert edit_texts(diff, "a\nB\n", applied=True) == ("a\nb\n", "a\nB\n")
