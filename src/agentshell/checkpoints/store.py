"""One workspace's checkpoints: the shadow repository, its timeline and its rewind journal, opened together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentshell.checkpoints.journal import JournalFile
from agentshell.checkpoints.shadow import Limits, ShadowRepo, shadow_dir
from agentshell.checkpoints.timeline import Timeline


@dataclass
class CheckpointStore:
    repo: ShadowRepo
    timeline: Timeline
    journal: JournalFile

    @property
    def workspace(self) -> Path:
        return self.repo.workspace

    @classmethod
    def open(cls, workspace: Path, data_root: Path | None = None, limits: Limits | None = None) -> CheckpointStore:
        """Raises :class:`~agentshell.checkpoints.gitcmd.GitMissing` without git, CheckpointError if unusable."""
        if data_root is None:
            from agentshell.config import data_dir

            data_root = data_dir()
        repo = ShadowRepo.open(workspace, data_root, limits)
        return cls(repo, Timeline(repo.dir / "timeline.jsonl"), JournalFile(repo.dir / "rewind.json"))

    @staticmethod
    def exists(workspace: Path, data_root: Path | None = None) -> bool:
        """Whether this workspace has ever been checkpointed (without creating anything)."""
        if data_root is None:
            from agentshell.config import data_dir

            data_root = data_dir()
        return (shadow_dir(workspace.resolve(), data_root) / "timeline.jsonl").is_file()
