"""Running ``git`` so that nothing in the workspace or the user's setup can steer it.

The shadow repository is driven by the real ``git`` binary (measured against a plain
``git add`` in benchmarks/checkpoints.py), but never with the user's configuration:
a workspace is untrusted input, and a model may have written its ``.gitattributes``.

- The environment is built from nothing: PATH, LC_ALL=C, HOME pointing into the shadow
  directory, ``GIT_CONFIG_NOSYSTEM=1`` and ``GIT_CONFIG_GLOBAL=/dev/null`` (no system or
  user config), explicit ``GIT_DIR``/``GIT_WORK_TREE``/``GIT_INDEX_FILE``, literal
  pathspecs, no replace objects, no terminal prompts. No other ``GIT_*`` variable of
  the caller (``GIT_CONFIG_PARAMETERS``, ``GIT_EXTERNAL_DIFF``, ``GIT_SSH_COMMAND``...)
  reaches the child.
- Every call carries ``-c`` settings that switch off what could run code or rewrite
  bytes: hooks, fsmonitor, filters through the shadow's ``info/attributes``, CRLF
  conversion, automatic gc, pagers, signing.
- stdin is /dev/null unless the call feeds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentshell.errors import UserError

# Settings given on every call; later ``-c`` options of a call override them.
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("core.fsmonitor", "false"),
    ("core.untrackedCache", "false"),
    ("core.splitIndex", "false"),
    ("core.autocrlf", "false"),
    ("core.safecrlf", "false"),
    ("core.symlinks", "true"),
    ("core.fileMode", "true"),
    ("core.ignoreCase", "false"),
    ("core.quotePath", "false"),
    ("core.attributesFile", os.devnull),
    ("core.excludesFile", os.devnull),
    ("core.pager", "cat"),
    ("core.sshCommand", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("commit.gpgSign", "false"),
    ("advice.addEmbeddedRepo", "false"),
    ("advice.addIgnoredFile", "false"),
    ("index.skipHash", "false"),
    ("feature.manyFiles", "false"),
    ("protocol.allow", "never"),
    ("safe.directory", "*"),
)

# Checkpoint commits are not the user's work: a fixed identity, so no config is needed to make them.
IDENTITY = {
    "GIT_AUTHOR_NAME": "agentshell",
    "GIT_AUTHOR_EMAIL": "checkpoints@agentshell.invalid",
    "GIT_COMMITTER_NAME": "agentshell",
    "GIT_COMMITTER_EMAIL": "checkpoints@agentshell.invalid",
}


class CheckpointError(UserError):
    """Checkpoints cannot be taken or read here; ``str()`` says why in one line."""


class GitMissing(CheckpointError):
    """No ``git`` binary on PATH: checkpoints are off, everything else works."""


class GitFailed(CheckpointError):
    """A git call failed; the message carries its first line of stderr."""


def find_git() -> str | None:
    return shutil.which("git")


class Git:
    """One shadow repository's git: every call runs with the same clean environment and settings."""

    def __init__(self, git_dir: Path, work_tree: Path, index: Path, *, binary: str | None = None) -> None:
        found = binary or find_git()
        if found is None:
            raise GitMissing("git was not found on PATH: file checkpoints (/undo, agent rewind) are off")
        self.binary = found
        self.git_dir, self.work_tree, self.index = git_dir, work_tree, index
        self.env = clean_environment(git_dir, work_tree, index)

    def command(self, args: Sequence[str], config: Mapping[str, str] | None = None, literal: bool = True) -> list[str]:
        settings = dict(SAFE_CONFIG)
        settings.update(config or {})
        flags = [item for key, value in settings.items() for item in ("-c", f"{key}={value}")]
        return [self.binary, "--no-pager", *(["--literal-pathspecs"] if literal else []), *flags, *args]

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        config: Mapping[str, str] | None = None,
        ok: Sequence[int] = (0,),
        literal: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git in the work tree; raises :class:`GitFailed` for an exit status not in ``ok``.

        ``literal=False`` for the few commands that refuse literal pathspecs (``check-ignore``).
        """
        env = self.env if literal else {k: v for k, v in self.env.items() if k != "GIT_LITERAL_PATHSPECS"}
        try:
            done = subprocess.run(
                self.command(args, config, literal),
                cwd=self.work_tree,
                env=env,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
        except OSError as exc:
            raise GitFailed(f"cannot run git: {exc.strerror or exc}") from exc
        if done.returncode not in ok:
            raise GitFailed(f"git {args[0]} failed: {first_line(done.stderr) or f'exit {done.returncode}'}")
        return done

    def out(self, *args: str, input: bytes | None = None, config: Mapping[str, str] | None = None) -> str:
        return self.run(*args, input=input, config=config).stdout.decode("utf-8", "surrogateescape").strip()

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """A long-running git (``cat-file --batch``) with pipes on stdin and stdout."""
        try:
            return subprocess.Popen(
                self.command(args),
                cwd=self.work_tree,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitFailed(f"cannot run git: {exc.strerror or exc}") from exc


def clean_environment(git_dir: Path, work_tree: Path, index: Path) -> dict[str, str]:
    """The whole environment of a git child: nothing of the caller's but PATH."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LC_ALL": "C",
        "HOME": str(git_dir.parent),
        "XDG_CONFIG_HOME": str(git_dir.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_DIR": str(git_dir),
        "GIT_WORK_TREE": str(work_tree),
        "GIT_INDEX_FILE": str(index),
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
        "GIT_EDITOR": "false",
        **IDENTITY,
    }
    if os.name == "nt":  # pragma: no cover - git on Windows needs these to start at all
        for name in ("SYSTEMROOT", "COMSPEC", "TEMP", "TMP"):
            if name in os.environ:
                env[name] = os.environ[name]
    return env


def first_line(data: bytes) -> str:
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip().removeprefix("fatal: ").removeprefix("error: ")
    return ""
