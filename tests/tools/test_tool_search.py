"""list_dir, glob, grep against real trees."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agentshell.tools import ToolResult, search
from agentshell.tools.search import MAX_GREP_FILE_BYTES, MAX_GREP_MATCHES, MAX_LIST_ENTRIES

Run = Callable[..., ToolResult]


@pytest.fixture
def tree(ws: Path) -> Path:
    (ws / "src" / "pkg").mkdir(parents=True)
    (ws / "src" / "pkg" / "core.py").write_text("def alpha():\n    return 'needle'\n")
    (ws / "src" / "main.py").write_text("import pkg\nNEEDLE = 1\n")
    (ws / "README.md").write_text("# needle in a haystack\n")
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("needle = in git\n")
    return ws


def test_list_dir_marks_directories_and_links(tree: Path, run: Run) -> None:
    os.symlink("README.md", tree / "link.md")
    out = run("list_dir").output.splitlines()
    assert ".git/" in out and "src/" in out and "README.md" in out
    assert "link.md -> README.md" in out
    assert run("list_dir", path="src").output.splitlines() == ["main.py", "pkg/"]
    assert run("list_dir", path="README.md").is_error


def test_glob_by_name_anywhere_and_by_path(tree: Path, run: Run) -> None:
    assert run("glob", pattern="*.py").output.splitlines() == ["src/main.py", "src/pkg/core.py"]
    assert run("glob", pattern="src/*.py").output.splitlines() == ["src/main.py"]
    assert run("glob", pattern="src/**/*.py").output.splitlines() == ["src/main.py", "src/pkg/core.py"]
    assert run("glob", pattern="*.py", path="src/pkg").output.splitlines() == ["src/pkg/core.py"]
    assert "No files match" in run("glob", pattern="*.rs").output
    assert run("glob", pattern="config").output.startswith("No files")  # .git is skipped


def test_grep_prints_path_line_text_and_skips_git(tree: Path, run: Run) -> None:
    out = run("grep", pattern="needle").output.splitlines()
    assert out == ["README.md:1: # needle in a haystack", "src/pkg/core.py:2:     return 'needle'"]
    assert run("grep", pattern="needle", ignore_case=True).output.count("\n") == 2
    assert run("grep", pattern="needle", include="*.md").output.splitlines() == ["README.md:1: # needle in a haystack"]
    single = run("grep", pattern="alpha", path="src/pkg/core.py")
    assert single.output == "src/pkg/core.py:1: def alpha():"


def test_grep_skips_binary_and_huge_files(ws: Path, run: Run) -> None:
    (ws / "blob.bin").write_bytes(b"needle\x00\x01\x02")
    with open(ws / "huge.log", "wb") as f:
        f.truncate(MAX_GREP_FILE_BYTES + 1)  # sparse: costs no disk
    (ws / "ok.txt").write_text("needle\n")
    assert run("grep", pattern="needle").output == "ok.txt:1: needle"
    none = run("grep", pattern="nothing-here")
    assert "2 binary, large or unreadable files skipped" in none.output


def test_grep_caps_matches_and_line_length(ws: Path, run: Run) -> None:
    (ws / "many.txt").write_text("".join(f"hit {i} {'z' * 1000}\n" for i in range(MAX_GREP_MATCHES + 50)))
    result = run("grep", pattern="hit")
    lines = result.output.splitlines()
    assert len(lines) == MAX_GREP_MATCHES + 1
    assert "50 more matching lines" in lines[-1]
    assert all(len(line) < 400 for line in lines)
    assert result.summary == f"{MAX_GREP_MATCHES + 50} matches"


def test_grep_bad_regex_is_an_error_for_the_model(ws: Path, run: Run) -> None:
    result = run("grep", pattern="(unclosed")
    assert result.is_error and "invalid regular expression" in result.output


def test_grep_does_not_read_through_links_out_of_the_workspace(ws: Path, tmp_path: Path, run: Run) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("needle secret\n")
    os.symlink(secret, ws / "innocent.txt")
    os.symlink(tmp_path, ws / "linked_dir")
    (ws / "mine.txt").write_text("needle mine\n")
    assert run("grep", pattern="needle").output == "mine.txt:1: needle mine"


def test_list_dir_caps_entries_in_name_order(ws: Path, run: Run) -> None:
    for i in range(MAX_LIST_ENTRIES + 100):
        (ws / f"f{i:04d}").touch()
    result = run("list_dir")
    lines = result.output.splitlines()
    assert lines[0] == "f0000" and lines[MAX_LIST_ENTRIES - 1] == f"f{MAX_LIST_ENTRIES - 1:04d}"
    assert lines[-1].startswith("[... 100 more entries not shown")
    assert result.summary == f"{MAX_LIST_ENTRIES + 100} entries"


def test_grep_stops_at_its_reading_budget(ws: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_GREP_TOTAL_BYTES", 1000)
    for i in range(5):
        (ws / f"f{i}.txt").write_text("needle\n" + "x" * 400)
    result = run("grep", pattern="needle")
    assert result.output.splitlines()[:3] == ["f0.txt:1: needle", "f1.txt:1: needle", "f2.txt:1: needle"]
    assert "stopped early" in result.output and "f4.txt" not in result.output


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w+\s*)*x", r"((ab)*c)*", r"(?=(a+)+)"])
def test_grep_refuses_exponential_patterns(ws: Path, run: Run, pattern: str) -> None:
    (ws / "a.txt").write_text("a" * 40 + "!\n")  # would take hours to fail to match
    result = run("grep", pattern=pattern)
    assert result.is_error and "nests a repeat inside a repeat" in result.output


@pytest.mark.parametrize("pattern", [r"(?:a|b)*c", r"def \w+_test", r"x{1,5}(y+)", r"(a{2,3})+", r"(a++)+"])
def test_grep_accepts_ordinary_patterns(ws: Path, run: Run, pattern: str) -> None:
    (ws / "a.txt").write_text("hello\n")
    assert not run("grep", pattern=pattern).is_error


def test_search_time_budget(ws: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_SEARCH_SECONDS", -1.0)
    (ws / "a.txt").write_text("needle\n")
    assert "stopped early" in run("grep", pattern="needle").output
    assert "stopped after" in run("glob", pattern="*.txt").output


def test_symlink_loops_and_dangling_links_are_harmless(ws: Path, run: Run) -> None:
    os.symlink("loop", ws / "loop")
    os.symlink("nowhere", ws / "dangling")
    os.symlink(".", ws / "self")
    (ws / "real.txt").write_text("needle\n")
    assert run("grep", pattern="needle").output == "real.txt:1: needle"
    assert run("glob", pattern="*").output.splitlines() == ["dangling", "real.txt"]  # a loop is not a file
    assert "self -> ." in run("list_dir").output
    loop = run("read_file", path="loop")
    assert loop.is_error and "loop" in loop.output
    assert run("read_file", path="dangling").is_error
