"""`agent rewind` end to end: real agent runs through the scripted backend, the real git binary, real files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.checkpoints.support import tree_digest
from tests.cli.launch_support import call, run_agent, text, write_script

YOLO = ("--permission-mode", "yolo")


def user_repo(ws: Path) -> None:
    """A workspace that is the user's own git repository, with everything committed."""
    (ws / "docs" / "img").mkdir(parents=True)
    (ws / "app.py").write_text("def main():\n    return 1\n")
    (ws / "docs" / "guide.md").write_text("# Guide\n")
    (ws / "docs" / "img" / "logo.txt").write_text("logo\n")
    (ws / "old.txt").write_text("old\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(ws), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "1"]):
        subprocess.run(["git", *args], cwd=ws, env=env, check=True)


def git_status(ws: Path) -> str:
    """The user's view; GIT_OPTIONAL_LOCKS=0 so that asking does not refresh (rewrite) the user's index."""
    env = {"PATH": os.environ["PATH"], "HOME": str(ws), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return subprocess.run(["git", "status", "--porcelain"], cwd=ws, env=env, capture_output=True, text=True).stdout


def launch(tmp_path: Path, ws: Path, name: str, calls: list[dict[str, Any]], *extra: str) -> list[dict[str, Any]]:
    """One scripted run in ``ws`` making ``calls`` (one per model turn); returns its stream-json events."""
    model = write_script(tmp_path, [[c] for c in calls] + [[text("done")]], name=f"{name}.json")
    done = run_agent("launch", "-m", model, "-p", name, "--output-format", "stream-json", *YOLO, *extra, cwd=ws)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def rewind(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_agent("rewind", *args, cwd=ws)


def rewind_json(ws: Path, *args: str, code: int = 0) -> dict[str, Any]:
    done = rewind(ws, *args, "--output-format", "json")
    assert done.returncode == code, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_an_edit_a_bash_rm_a_directory_mv_and_a_new_binary_file_are_rewound_and_the_users_git_is_untouched(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    user_repo(ws)
    original, git_before = tree_digest(ws), tree_digest(ws / ".git")
    events = launch(
        tmp_path,
        ws,
        "change things",
        [
            call("edit_file", "1", path="app.py", old_string="return 1", new_string="return 2"),
            call("bash", "2", command="rm old.txt"),
            call("bash", "3", command="mv docs manual"),
            call("bash", "4", command="printf '\\000\\001\\377\\376' > logo.bin"),
        ],
    )
    checkpoints = [e for e in events if e["type"] == "checkpoint"]
    session = events[0]["session_id"]
    assert len(checkpoints) == 1 and checkpoints[0]["request"] == 1 and checkpoints[0]["session_id"] == session
    assert events.index(checkpoints[0]) < next(i for i, e in enumerate(events) if e["type"] == "tool_result")
    session_file = Path(os.environ["XDG_DATA_HOME"]) / "agentshell" / "sessions" / f"{session}.jsonl"
    recorded = [json.loads(line) for line in session_file.read_text().splitlines()]
    assert [(e["id"], e["request"]) for e in recorded if e["type"] == "checkpoint"] == [(checkpoints[0]["id"], 1)]
    assert (ws / "logo.bin").read_bytes() == b"\0\1\xff\xfe" and not (ws / "docs").exists()

    preview = rewind_json(ws, "--dry-run")
    assert preview["dry_run"] and not preview["applied"] and preview["checkpoint"] == checkpoints[0]["id"]
    assert set(preview["restored"]) == {"app.py", "old.txt", "docs/guide.md", "docs/img/logo.txt"}
    assert set(preview["deleted"]) == {"logo.bin", "manual/guide.md", "manual/img/logo.txt"}
    assert (ws / "logo.bin").exists()  # a dry run changes nothing

    done = rewind(ws)
    assert done.returncode == 0, done.stderr
    assert "rewound to before request 1" in done.stdout and "undo: agent rewind --to " in done.stdout
    assert tree_digest(ws) == {**original, **{k: v for k, v in tree_digest(ws).items() if k.startswith(".git/")}}
    assert tree_digest(ws / ".git") == git_before  # byte for byte: no object, ref, index or config change
    assert git_status(ws) == ""

    undo = done.stdout.rsplit("--to ", 1)[1].strip()
    assert rewind(ws, "--to", undo).returncode == 0  # the rewind itself is a checkpoint
    assert (ws / "app.py").read_text() == "def main():\n    return 2\n"
    assert (ws / "manual" / "img" / "logo.txt").exists()
    assert tree_digest(ws / ".git") == git_before


@pytest.mark.slow
def test_a_rewind_across_two_sessions(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("a0\n")
    (ws / "deep" / "er").mkdir(parents=True)
    first = launch(tmp_path, ws, "one", [call("write_file", "1", path="a.txt", content="a1\n")])
    launch(tmp_path, ws, "two", [call("write_file", "1", path="a.txt", content="a2\n")], "--continue")
    launch(tmp_path, ws, "three", [call("write_file", "1", path="b.txt", content="b\n")])  # a new session
    listed = rewind_json(
        ws / "deep" / "er", "--list", "--session", first[0]["session_id"]
    )  # from below too (a prefix of 15 can match two sessions of the same second)
    assert [(e["request"], e["prompt"], e["files"]) for e in listed["entries"]] == [
        (1, "one", ["a.txt"]),
        (2, "two", ["a.txt"]),
    ]
    latest = rewind_json(ws, "--dry-run")  # by default: the latest session, before its last run
    assert latest["session_id"] != first[0]["session_id"] and latest["deleted"] == ["b.txt"]
    report = rewind_json(ws, "--session", first[0]["session_id"], "--to", "1")
    assert report["restored"] == ["a.txt"] and report["deleted"] == ["b.txt"]  # every agent since, any session
    assert (ws / "a.txt").read_text() == "a0\n" and not (ws / "b.txt").exists()


@pytest.mark.slow
def test_a_user_edit_after_the_checkpoint_is_refused_with_the_list_unless_forced(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("a0\n")
    (ws / "b.txt").write_text("b0\n")
    launch(
        tmp_path,
        ws,
        "edit",
        [
            call("write_file", "1", path="a.txt", content="agent\n"),
            call("write_file", "2", path="b.txt", content="x\n"),
        ],
    )
    (ws / "a.txt").write_text("the user's fix\n")
    refused = rewind(ws)
    assert refused.returncode == 1
    assert "changed outside the agent" in refused.stderr and "a.txt" in refused.stderr and "--force" in refused.stderr
    assert (ws / "a.txt").read_text() == "the user's fix\n" and (ws / "b.txt").read_text() == "x\n"
    as_json = rewind_json(ws, code=1)
    assert as_json["refused"] and as_json["conflicts"] == ["a.txt"] and not as_json["applied"]
    assert rewind_json(ws, "--dry-run", code=1)["conflicts"] == ["a.txt"]
    forced = rewind_json(ws, "--force")
    assert forced["applied"] and set(forced["restored"]) == {"a.txt", "b.txt"}
    assert (ws / "a.txt").read_text() == "a0\n"
    rewind_json(ws, "--to", forced["undo_checkpoint"])
    assert (ws / "a.txt").read_text() == "the user's fix\n"  # a forced rewind can be undone too


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    none_yet = rewind(ws)
    assert none_yet.returncode == 2 and none_yet.stderr.startswith("agent: error: no checkpoints in ")
    bad = rewind(ws, "--to", "yesterday")
    assert bad.returncode == 2 and "--to 'yesterday': give a request number" in bad.stderr
    assert "Traceback" not in none_yet.stderr + bad.stderr


@pytest.mark.slow
def test_unknown_session_request_and_checkpoint_are_usage_errors(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    launch(tmp_path, ws, "make", [call("write_file", "1", path="x.txt", content="x\n")])
    for args, message in (
        (("--session", "nope"), "no checkpoints of session 'nope'"),
        (("--to", "7"), "has no request 7 (it has requests 1 to 1)"),
        (("--to", "deadbeefdead"), "no checkpoint deadbeefdead"),
        (("--rollback",), "no interrupted rewind to roll back"),
    ):
        done = rewind(ws, *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    assert (ws / "x.txt").exists()
