"""A repository planted by the model, and git's config and hooks: an allowed ``git status`` runs nothing planted.

The attack (issue 15, hole 1): under accept-edits with ``bash(git status*)`` allowed, in a workspace
that is not a repository, the model writes HEAD, config (with ``core.fsmonitor``), objects/ and refs/;
git then takes the workspace itself for a repository and runs the fsmonitor command. Real git, real
files, and the real CLI with the scripted backend.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agentshell.permissions.gate import PermissionGate
from agentshell.permissions.gitcontrol import git_safety_env
from agentshell.tools import ToolContext, ToolRunner, default_tools
from agentshell.tools.shell import command_env
from tests.cli.launch_support import call, run_agent, text, write_script

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def planted_files(pwned: Path, key: str = "fsmonitor") -> dict[str, str]:
    """What the model writes: a repository made of plain files, whose config runs ``touch pwned``."""
    config = (
        f'[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n\t{key} = "touch {pwned}; false"\n'
    )
    return {"HEAD": "ref: refs/heads/main\n", "config": config, "objects/.keep": "", "refs/heads/.keep": ""}


def plant(ws: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(content)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path)) / "ws"
    root.mkdir()
    return root


def git(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(
    ("key", "command"),
    [("fsmonitor", ["status"]), ("sshCommand", ["ls-remote", "ssh://example.invalid/x"])],
)
def test_git_obeys_a_planted_repository_unless_told_to_refuse_it(ws: Path, key: str, command: list[str]) -> None:
    """The oracle first (plain git runs the planted command), then the environment every bash call gets."""
    pwned = ws.parent / "pwned"
    plant(ws, planted_files(pwned, key))
    git(command, ws, dict(os.environ))
    assert pwned.exists(), "the planted repository did not run its command: the attack is not reproduced"
    pwned.unlink()
    refused = git(command, ws, {**os.environ, **git_safety_env(os.environ)})
    assert not pwned.exists()
    if command == ["status"]:  # ls-remote needs no repository: git goes on without reading the planted one
        assert "cannot use bare repository" in refused.stderr


def test_a_real_repository_works_as_before_under_the_safety_setting(ws: Path) -> None:
    env = command_env("marker")
    assert env["GIT_CONFIG_KEY_0"] == "safe.bareRepository" and env["GIT_CONFIG_VALUE_0"] == "explicit"
    for args in (["init", "-q"], ["status", "--short"], ["worktree", "add", "-q", "--detach", "../wt"]):
        if args[0] == "worktree":
            git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"], ws, env)
        assert git(args, ws, env).returncode == 0, args
    assert git(["status", "--short"], ws.parent / "wt", env).returncode == 0  # a linked worktree: a .git file
    (ws / "sub").mkdir()
    assert git(["status", "--short"], ws / "sub", env).returncode == 0


def test_existing_git_config_entries_in_the_environment_are_kept() -> None:
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": "me"}
    assert git_safety_env(env) == {
        "GIT_CONFIG_KEY_1": "safe.bareRepository",
        "GIT_CONFIG_VALUE_1": "explicit",
        "GIT_CONFIG_COUNT": "2",
    }


def test_the_attack_through_the_tools_asks_and_runs_nothing(ws: Path) -> None:
    pwned = ws.parent / "pwned"
    gate = PermissionGate("accept-edits", ws, allow=["bash(git status*)"])
    runner = ToolRunner(default_tools(), ToolContext(ws, bash_timeout=10), gate)
    results = {
        name: runner.execute("write_file", {"path": name, "content": c}) for name, c in planted_files(pwned).items()
    }
    completing = results["refs/heads/.keep"]
    assert completing.is_error and "look like a git repository" in completing.output
    assert not (ws / "refs").exists()
    # Even with every file in place (written some other way), the allowed git status refuses the repository.
    plant(ws, planted_files(pwned))
    status = runner.execute("bash", {"command": "git status"})
    assert "cannot use bare repository" in status.output and not pwned.exists()
    # Once the directory looks like a repository, any further write into it asks too.
    assert runner.execute("write_file", {"path": "config", "content": "[core]\n"}).is_error


def test_the_attack_through_the_cli_runs_nothing(ws: Path) -> None:
    pwned = ws.parent / "pwned"
    calls = [
        call("write_file", f"c{i}", path=name, content=c) for i, (name, c) in enumerate(planted_files(pwned).items())
    ]
    script = [[c] for c in calls] + [[call("bash", "c9", command="git status")], [text("done")]]
    model = write_script(ws.parent, script)
    proc = run_agent(
        "launch", "-m", model, "-p", "look", "--permission-mode", "accept-edits",
        "--allow", "bash(git status*)", "--output-format", "json", cwd=ws,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not pwned.exists()
    denied = {d["id"]: d["message"] for d in json.loads(proc.stdout)["permission_denials"]}
    assert list(denied) == ["c3"] and "look like a git repository" in denied["c3"]  # refs/heads/.keep


@pytest.mark.parametrize(
    ("layout", "path", "asks"),
    [
        ({}, "src/config", False),
        ({}, "HEAD", False),
        ({"HEAD": "x", "objects/a": ""}, "notes.txt", False),
        ({"HEAD": "x", "objects/a": ""}, "refs/heads/main", True),
        ({"HEAD": "x", "commondir": "../x"}, "info/exclude", True),
        ({"sub/HEAD": "x", "sub/objects/a": "", "sub/refs/a": ""}, "sub/config", True),
        ({}, ".git", True),
        ({}, "sub/.git/config", True),
    ],
)
def test_writes_that_make_or_change_a_repository_ask(ws: Path, layout: dict[str, str], path: str, asks: bool) -> None:
    plant(ws, layout)
    runner = ToolRunner(default_tools(), ToolContext(ws), PermissionGate("accept-edits", ws))
    result = runner.execute("write_file", {"path": path, "content": "x"})
    assert result.is_error == asks, result.output
    if asks:
        assert "needs approval" in result.output and "--permission-mode yolo" in result.output


def test_git_config_files_and_the_hooks_directory_ask(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, **git_safety_env(os.environ)}
    assert git(["init", "-q"], ws, env).returncode == 0
    assert git(["config", "include.path", "../team.gitconfig"], ws, env).returncode == 0
    assert git(["config", "core.hooksPath", ".husky"], ws, env).returncode == 0
    (ws / "team.gitconfig").write_text("[alias]\n\tst = status\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(ws / "home.gitconfig"))  # the user's own config, in the workspace
    runner = ToolRunner(default_tools(), ToolContext(ws), PermissionGate("accept-edits", ws, allow=["edit(**)"]))
    for path, reason in [
        ("team.gitconfig", "git's configuration"),
        ("home.gitconfig", "git's configuration"),
        (".husky/pre-commit", "hooks directory"),
    ]:
        result = runner.execute("write_file", {"path": path, "content": "[core]\n\tfsmonitor = touch pwned\n"})
        assert result.is_error and reason in result.output, (path, result.output)
    assert not runner.execute("write_file", {"path": "src/app.py", "content": "x = 1\n"}).is_error
    exact = ToolRunner(default_tools(), ToolContext(ws), PermissionGate("ask", ws, allow=["edit(.husky/pre-commit)"]))
    assert not exact.execute("write_file", {"path": ".husky/pre-commit", "content": "#!/bin/sh\n"}).is_error
