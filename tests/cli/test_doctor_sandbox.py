"""``agent doctor`` says whether bash calls can run in the OS sandbox and whether they will."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentshell.tools.sandbox import probe
from tests.cli.launch_support import agent_command


def _sandbox_row(cwd: Path, **env: str) -> dict[str, Any]:
    proc = subprocess.run(
        agent_command("doctor", "--json", "--no-smoke"),
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    rows = json.loads(proc.stdout)["checks"]
    (row,) = [r for r in rows if r["name"] == "sandbox"]
    return row  # type: ignore[no-any-return]


def _path_without_bwrap(tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "git"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.skipif(not probe().available, reason=f"needs a working bubblewrap: {probe().detail}")
def test_a_working_bwrap_is_reported_with_when_it_is_used(tmp_path: Path) -> None:
    row = _sandbox_row(tmp_path)
    assert row["status"] == "ok" and "bwrap" in row["detail"] and "off (--sandbox turns it on)" in row["detail"]
    assert "on in yolo mode" in _sandbox_row(tmp_path, AGENT_PERMISSION_MODE="yolo")["detail"]
    assert "on (sandbox = true)" in _sandbox_row(tmp_path, AGENT_SANDBOX="true")["detail"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap is the Linux sandbox")
def test_a_missing_bwrap_says_how_to_install_it(tmp_path: Path) -> None:
    path = _path_without_bwrap(tmp_path)
    row = _sandbox_row(tmp_path, PATH=path)
    assert row["status"] == "warn" and "apt-get install bubblewrap" in row["fix"]
    asked = _sandbox_row(tmp_path, PATH=path, AGENT_SANDBOX="true")
    assert asked["status"] == "fail" and "refuses to start" in asked["detail"]
