"""The generated project a corpus conversation runs its tools in: made by corpus.py or projects.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Workspace:
    """A generated project on disk and what is in it."""

    root: Path
    files: list[str] = field(default_factory=list)  # workspace-relative paths, "/" separated
    dirs: list[str] = field(default_factory=list)
