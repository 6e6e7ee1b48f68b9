"""Where git takes commands from, so that an edit there needs approval; and the setting that keeps git
from obeying a repository nobody made.

git runs programs its configuration names (``core.fsmonitor``, ``core.pager``, ``core.sshCommand``,
filter drivers, ``!`` aliases) and the hooks in its hooks directory. An allowed ``git status`` is
therefore only as safe as every config file and hook git reads. Two measures, both needed:

- :func:`git_safety_env`: every bash command runs git with ``safe.bareRepository=explicit``
  (git >= 2.38), so a directory that merely *looks* like a repository (``HEAD``, ``config``,
  ``objects/``, ``refs/`` written by the model into a workspace that is not one) is refused
  instead of obeyed. A repository found through a ``.git`` directory or file works as always.
- :class:`GitControl`: edits that would change what git runs need approval even in
  ``accept-edits``: anything under a ``.git`` directory (or a ``.git`` file), git's own config
  files and the files they include, the hooks directory (``core.hooksPath``, e.g. ``.husky/``), and
  a write that makes a directory look like a repository (the measure that holds for older git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

SAFE_GIT_CONFIG = (("safe.bareRepository", "explicit"),)
_TIMEOUT = 5.0  # seconds for each git question

INTO_GIT_DIR = "writes into .git/ need approval"
INTO_GIT_CONFIG = "writes to git's configuration need approval (git runs commands it names)"
INTO_GIT_HOOKS = "writes into git's hooks directory need approval (git runs the hooks)"
MAKES_GIT_DIR = "this write makes a directory look like a git repository, whose configuration git would obey"
GIT_REASONS = (INTO_GIT_DIR, INTO_GIT_CONFIG, INTO_GIT_HOOKS, MAKES_GIT_DIR)


def git_safety_env(env: Mapping[str, str]) -> dict[str, str]:
    """The GIT_CONFIG_COUNT/KEY/VALUE entries that add :data:`SAFE_GIT_CONFIG` after those ``env`` already has.

    Environment config is git's "command" scope: it beats every config file and counts as protected
    configuration, where git reads ``safe.*`` settings from.
    """
    try:
        count = max(0, int(env.get("GIT_CONFIG_COUNT", "0")))
    except ValueError:
        count = 0
    out: dict[str, str] = {}
    for key, value in SAFE_GIT_CONFIG:
        out[f"GIT_CONFIG_KEY_{count}"] = key
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


class GitControl:
    """Which writes change what git runs, for one workspace; asks git once, again when a config file changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._signature: tuple[tuple[str, int, int, int], ...] | None = None
        self._config_files: frozenset[Path] = frozenset()
        self._hooks_dirs: tuple[Path, ...] = ()

    def write_reason(self, path: Path) -> str:
        """Why writing ``path`` (resolved) changes what git runs; "" when it does not."""
        inside = path == self.root or self.root in path.parents
        parts = path.relative_to(self.root).parts if inside else path.parts
        if any(part.casefold() == ".git" for part in parts):  # .GIT is the same directory on macOS
            return INTO_GIT_DIR
        config_files, hooks_dirs = self._discover()
        if path in config_files:
            return INTO_GIT_CONFIG
        if any(path == d or d in path.parents for d in hooks_dirs):
            return INTO_GIT_HOOKS
        if inside and self._completes_git_dir(path):
            return MAKES_GIT_DIR
        return ""

    # ------------------------------------------------------------------ a repository made of plain files

    def _completes_git_dir(self, path: Path) -> bool:
        """True when, once ``path`` is written, one of its directories passes git's test for a repository
        (setup.c: is_git_directory): a HEAD file, and objects/ and refs/ or a commondir file."""
        directory = path.parent
        while True:
            if self._looks_like_git_dir(directory, path.relative_to(directory).parts):
                return True
            if directory == self.root or directory == directory.parent:
                return False
            directory = directory.parent

    @staticmethod
    def _looks_like_git_dir(directory: Path, written: tuple[str, ...]) -> bool:
        def has_file(name: str) -> bool:
            return written == (name,) or os.path.lexists(directory / name)

        def has_dir(name: str) -> bool:
            return (written[0] == name and len(written) > 1) or (directory / name).is_dir()

        return has_file("HEAD") and (has_file("commondir") or (has_dir("objects") and has_dir("refs")))

    # ------------------------------------------------------------------ git's own files

    def _discover(self) -> tuple[frozenset[Path], tuple[Path, ...]]:
        candidates = self._candidates()
        signature = _stat_signature([*candidates, *self._config_files, self.root / ".git"])
        if signature != self._signature:
            files, hooks = _ask_git(self.root)
            self._config_files = frozenset(_resolved(p) for p in (*candidates, *files))
            self._hooks_dirs = tuple(_resolved(h) for h in hooks)
            self._signature = _stat_signature([*candidates, *self._config_files, self.root / ".git"])
        return self._config_files, self._hooks_dirs

    @staticmethod
    def _candidates() -> list[Path]:
        """The per-user and system config files git reads when they exist (a model could create one)."""
        home = Path(os.path.expanduser("~"))
        xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        out = [xdg / "git" / "config", Path(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")]
        global_file = os.environ.get("GIT_CONFIG_GLOBAL")
        out.append(Path(global_file) if global_file else home / ".gitconfig")
        return out


def _ask_git(root: Path) -> tuple[list[Path], list[Path]]:
    """(config files git reads here, includes followed; hooks directories), from git itself; nothing without git."""
    git = shutil.which("git")
    if git is None:
        return [], []
    env = {**os.environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    env.update(git_safety_env(env))
    files: list[Path] = []
    hooks: list[Path] = []
    listing = _run([git, "config", "--list", "--show-origin", "-z"], root, env)
    if listing is None:  # not readable here (a refused planted repository, say): at least the global files
        listing = _run([git, "config", "--list", "--show-origin", "-z"], Path(root.anchor), env) or ""
    fields = listing.split("\0")
    for origin, entry in zip(fields[::2], fields[1::2], strict=False):
        if origin.startswith("file:"):
            name = origin[len("file:") :]
            files.append(Path(name) if os.path.isabs(name) else root / name)
        key, _, value = entry.partition("\n")
        if key.lower() == "core.hookspath" and value:
            hooks.append(Path(os.path.expanduser(value)) if value.startswith(("/", "~")) else root / value)
    where = _run([git, "rev-parse", "--git-path", "hooks"], root, env)
    if where and where.strip():
        name = where.strip()
        hooks.append(Path(name) if os.path.isabs(name) else root / name)
    return files, hooks


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str | None:
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.decode("utf-8", "surrogateescape") if proc.returncode == 0 else None


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _stat_signature(paths: list[Path]) -> tuple[tuple[str, int, int, int], ...]:
    out = []
    for path in sorted(set(paths)):
        try:
            st = os.stat(path)
            out.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((str(path), -1, -1, -1))
    return tuple(out)
