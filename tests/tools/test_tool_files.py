"""read_file, write_file, edit_file against real files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentshell.tools import ToolResult
from agentshell.tools.files import MAX_READ_CHARS
from agentshell.tools.textfile import apply_edit

Run = Callable[..., ToolResult]


# --------------------------------------------------------------------------- read_file


def test_read_numbers_lines_and_pages(ws: Path, run: Run) -> None:
    (ws / "a.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    whole = run("read_file", path="a.txt")
    assert not whole.is_error
    assert whole.output.splitlines()[0] == "     1\tline 1"
    assert whole.output.splitlines()[-1] == "    10\tline 10"
    assert whole.summary == "read 10 lines"

    page = run("read_file", path="a.txt", offset=4, limit=3)
    assert page.output.splitlines()[:3] == ["     4\tline 4", "     5\tline 5", "     6\tline 6"]
    assert "offset=7" in page.output  # tells the model how to continue
    assert page.summary == "read lines 4-6"


def test_read_past_the_end_and_empty(ws: Path, run: Run) -> None:
    (ws / "a.txt").write_text("one\ntwo\n")
    (ws / "empty.txt").write_text("")
    past = run("read_file", path="a.txt", offset=9)
    assert past.is_error and "past the end" in past.output and "2 lines" in past.output
    assert "is empty" in run("read_file", path="empty.txt").output


def test_read_reports_missing_directory_and_fifo(ws: Path, run: Run) -> None:
    (ws / "d").mkdir()
    os.mkfifo(ws / "pipe")  # opening it for reading would block forever
    missing = run("read_file", path="nope.txt")
    assert missing.is_error and "does not exist" in missing.output
    assert "is a directory" in run("read_file", path="d").output
    fifo = run("read_file", path="pipe")
    assert fifo.is_error and "not a regular file" in fifo.output


def test_read_keeps_crlf_out_of_the_text_and_cuts_long_lines(ws: Path, run: Run) -> None:
    (ws / "w.txt").write_bytes(b"dos\r\n" + b"x" * 50_000 + b"\nafter\n")
    out = run("read_file", path="w.txt").output.splitlines()
    assert out[0] == "     1\tdos"
    assert out[1].endswith("[line cut]") and len(out[1]) < 2100
    assert out[2] == "     3\tafter"


def test_read_output_is_capped_whatever_the_line_count(ws: Path, run: Run) -> None:
    (ws / "big.txt").write_text("".join(f"{'y' * 200} {i}\n" for i in range(5000)))
    result = run("read_file", path="big.txt")
    assert len(result.output) < MAX_READ_CHARS + 500
    assert "Continue with offset=" in result.output


# --------------------------------------------------------------------------- write_file


def test_write_creates_parents_and_reports_a_diff(ws: Path, run: Run) -> None:
    created = run("write_file", path="src/pkg/new.py", content="a = 1\nb = 2\n")
    assert not created.is_error, created.output
    assert (ws / "src/pkg/new.py").read_text() == "a = 1\nb = 2\n"
    assert created.diff is not None and "+a = 1" in created.diff and "/dev/null" in created.diff
    assert "Created" in created.output

    updated = run("write_file", path="src/pkg/new.py", content="a = 1\nb = 3\n")
    assert updated.diff is not None and "-b = 2" in updated.diff and "+b = 3" in updated.diff
    assert updated.summary == "+1 -1 lines"


def test_write_refuses_a_directory(ws: Path, run: Run) -> None:
    (ws / "d").mkdir()
    result = run("write_file", path="d", content="x")
    assert result.is_error and "directory" in result.output


def test_write_and_edit_refuse_a_fifo_without_blocking(ws: Path, run: Run) -> None:
    os.mkfifo(ws / "pipe")  # opening it for writing would wait for a reader forever
    for result in (
        run("write_file", path="pipe", content="x"),
        run("edit_file", path="pipe", old_string="a", new_string="b"),
    ):
        assert result.is_error and "not a regular file" in result.output


def test_write_into_a_file_where_a_directory_is_expected(ws: Path, run: Run) -> None:
    (ws / "a.txt").write_text("x")
    result = run("write_file", path="a.txt/b.txt", content="y")
    assert result.is_error and "cannot write a.txt/b.txt" in result.output
    assert (ws / "a.txt").read_text() == "x"


def test_write_keeps_the_file_itself(ws: Path, run: Run) -> None:
    """The file is rewritten in place (same inode, same mode), as an editor saving it would."""
    (ws / "run.sh").write_text("echo 1\n")
    (ws / "run.sh").chmod(0o750)
    before = (ws / "run.sh").stat()
    run("write_file", path="run.sh", content="echo 2\n")
    run("edit_file", path="run.sh", old_string="2", new_string="3")
    after = (ws / "run.sh").stat()
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert (ws / "run.sh").read_text() == "echo 3\n"


# --------------------------------------------------------------------------- edit_file


def test_edit_replaces_exactly_once_with_a_diff(ws: Path, run: Run) -> None:
    (ws / "m.py").write_text("def f():\n    return 1\n\ndef g():\n    return 2\n")
    result = run("edit_file", path="m.py", old_string="    return 2\n", new_string="    return 3\n")
    assert not result.is_error, result.output
    assert (ws / "m.py").read_text() == "def f():\n    return 1\n\ndef g():\n    return 3\n"
    assert result.diff is not None and "-    return 2" in result.diff and "+    return 3" in result.diff


def test_edit_fails_clearly_when_absent_or_not_unique(ws: Path, run: Run) -> None:
    original = "x = 1\nx = 1\ny = 2\n"
    (ws / "m.py").write_text(original)
    absent = run("edit_file", path="m.py", old_string="z = 9", new_string="z = 0")
    assert absent.is_error and "not found" in absent.output
    twice = run("edit_file", path="m.py", old_string="x = 1", new_string="x = 5")
    assert twice.is_error and "occurs 2 times" in twice.output and "lines 1, 2" in twice.output
    assert "replace_all" in twice.output
    assert (ws / "m.py").read_text() == original  # failed edits change nothing

    everywhere = run("edit_file", path="m.py", old_string="x = 1", new_string="x = 5", replace_all=True)
    assert not everywhere.is_error and "2 occurrences" in everywhere.output
    assert (ws / "m.py").read_text() == "x = 5\nx = 5\ny = 2\n"


def test_edit_points_at_a_near_miss_in_indentation(ws: Path, run: Run) -> None:
    (ws / "m.py").write_text("class A:\n    def f(self):\n        pass\n")
    result = run("edit_file", path="m.py", old_string="def f(self):\n    pass", new_string="def f(self):\n    return 1")
    assert result.is_error and "line 2" in result.output


def test_edit_keeps_crlf_line_endings(ws: Path, run: Run) -> None:
    (ws / "w.txt").write_bytes(b"a\r\nb\r\nc\r\n")
    result = run("edit_file", path="w.txt", old_string="a\nb\n", new_string="a\nB\n")
    assert not result.is_error, result.output
    assert (ws / "w.txt").read_bytes() == b"a\r\nB\r\nc\r\n"


def test_edit_preserves_invalid_utf8_bytes_elsewhere(ws: Path, run: Run) -> None:
    (ws / "latin.txt").write_bytes(b"caf\xe9 = 1\nname = 'x'\n\xff\xfe end\n")
    result = run("edit_file", path="latin.txt", old_string="'x'", new_string="'y'")
    assert not result.is_error, result.output
    assert (ws / "latin.txt").read_bytes() == b"caf\xe9 = 1\nname = 'y'\n\xff\xfe end\n"


def test_edit_rejects_empty_and_identical(ws: Path, run: Run) -> None:
    (ws / "a.txt").write_text("abc")
    assert "empty" in run("edit_file", path="a.txt", old_string="", new_string="x").output
    assert "same" in run("edit_file", path="a.txt", old_string="abc", new_string="abc").output


# --------------------------------------------------------------------------- property: nothing else changes

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
_bytes = st.binary(max_size=200)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=_bytes, old=_text.filter(bool), new=_text, suffix=_bytes)
def test_edit_changes_exactly_the_match(prefix: bytes, old: str, new: str, suffix: bytes) -> None:
    """For any bytes (valid UTF-8 or not) around a unique match, the result is prefix + new + suffix, byte for byte."""
    data = prefix + old.encode() + suffix
    assume(old != new and data.count(old.encode()) == 1)
    outcome = apply_edit(data, old, new)
    assert outcome.data == prefix + new.encode() + suffix
    assert outcome.count == 1


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_bytes, min_size=1, max_size=5), old=_text.filter(bool), new=_text)
def test_replace_all_changes_only_the_matches(parts: list[bytes], old: str, new: str) -> None:
    data = old.encode().join(parts)
    text = data.decode("utf-8", "surrogateescape")
    if old == new or text.count(old) == 0:
        return
    outcome = apply_edit(data, old, new, replace_all=True)
    assert outcome.data == text.replace(old, new).encode("utf-8", "surrogateescape")
    assert outcome.count == text.count(old)
