"""list_dir, glob and grep search the directory the permission gate judged, not where a link swapped in meanwhile
points: a directory (or one of its parents) replaced by a symlink to outside the workspace between the check and
the search makes the call fail instead of reading outside."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from agentshell.permissions.gate import ApprovalRequest, PermissionGate
from agentshell.tools import ToolContext, ToolRunner, default_tools


class SwapAfterCheck(PermissionGate):
    """The gate judges the path as it is, then the filesystem changes before the tool runs (the race, made certain)."""

    def __init__(self, workspace: Path, swap: Callable[[], None]) -> None:
        super().__init__("ask", workspace, ask=None)
        self.swap = swap

    def check(self, request: ApprovalRequest, *, paths: Sequence[Path] = (), rule_subject: str) -> tuple[bool, str]:
        verdict = super().check(request, paths=paths, rule_subject=rule_subject)
        self.swap()
        return verdict


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = Path(os.path.realpath(tmp_path))
    ws, outside = root / "ws", root / "outside"
    (ws / "sub" / "deeper").mkdir(parents=True)
    (ws / "sub" / "deeper" / "inside.txt").write_text("harmless\n")
    (outside / "deeper").mkdir(parents=True)
    (outside / "secret.txt").write_text("TOP SECRET\n")
    (outside / "deeper" / "secret.txt").write_text("TOP SECRET\n")
    return ws, outside


def swap_for_link(directory: Path, target: Path) -> Callable[[], None]:
    def swap() -> None:
        shutil.rmtree(directory)
        os.symlink(target, directory)

    return swap


CALLS: dict[str, dict[str, Any]] = {
    "list_dir": {},
    "glob": {"pattern": "*.txt"},
    "grep": {"pattern": "SECRET|harmless"},
}


@pytest.mark.parametrize("tool", list(CALLS))
@pytest.mark.parametrize(("searched", "swapped"), [("sub", "sub"), ("sub/deeper", "sub")], ids=["itself", "parent"])
def test_a_directory_swapped_for_a_link_out_after_the_check_is_not_searched(
    layout: tuple[Path, Path], tool: str, searched: str, swapped: str
) -> None:
    ws, outside = layout
    gate = SwapAfterCheck(ws, swap_for_link(ws / swapped, outside))
    runner = ToolRunner(default_tools(), ToolContext(ws), gate)
    result = runner.execute(tool, {**CALLS[tool], "path": searched})
    assert "secret" not in result.output.lower(), result.output
    assert result.is_error and "changed after it was checked" in result.output, result.output


@pytest.mark.parametrize("tool", list(CALLS))
def test_without_a_swap_the_checked_directory_is_searched(layout: tuple[Path, Path], tool: str) -> None:
    ws, _ = layout
    runner = ToolRunner(default_tools(), ToolContext(ws), SwapAfterCheck(ws, lambda: None))
    result = runner.execute(tool, {**CALLS[tool], "path": "sub/deeper"})
    assert not result.is_error and "inside.txt" in result.output, result.output


def test_grep_on_a_file_swapped_for_a_link_out_reads_nothing(layout: tuple[Path, Path]) -> None:
    ws, outside = layout
    target = ws / "sub" / "deeper" / "inside.txt"

    def swap() -> None:
        target.unlink()
        os.symlink(outside / "secret.txt", target)

    runner = ToolRunner(default_tools(), ToolContext(ws), SwapAfterCheck(ws, swap))
    result = runner.execute("grep", {"pattern": "SECRET", "path": "sub/deeper/inside.txt"})
    assert "TOP SECRET" not in result.output
    assert result.is_error and "changed after it was checked" in result.output, result.output
