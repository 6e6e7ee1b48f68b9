"""Screen tests start a real ``agent`` on a pty; each gets its own workspace and a scripted conversation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Script = Callable[..., str]


@pytest.fixture
def script(tmp_path: Path) -> Script:
    """Write responses to ``NAME.json`` in the workspace; returns the short model string, so the banner
    (and the golden screens) do not depend on how long the temporary directory's name is."""

    def write(responses: list[list[dict[str, Any]]], name: str = "script", **extra: Any) -> str:
        data: Any = {"responses": responses, **extra} if extra else responses
        (tmp_path / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
        return f"scripted:{name}.json"

    return write
