"""The timeline survives a torn line; pruning cuts the oldest history and keeps the disk use under the cap."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentshell.checkpoints import rewind as rw
from agentshell.checkpoints.prune import needs_pruning, prune
from agentshell.checkpoints.timeline import Record, Timeline
from tests.checkpoints.support import agent_call, open_checkpointer, store_of


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_on_its_own_line(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    timeline.append(Record("checkpoint", "s", 1, before="a" * 40))
    with open(timeline.path, "ab") as f:
        f.write(b'{"kind":"call","session":"s","requ')  # killed while writing
    assert [r.kind for r in timeline.records()] == ["checkpoint"]
    assert timeline.last_snapshot() == "a" * 40
    timeline.append(Record("call", "s", 1, before="a" * 40, after="b" * 40, changed=("x",)))
    assert [r.kind for r in timeline.records()] == ["checkpoint", "call"]
    assert timeline.last_snapshot() == "b" * 40


def test_the_last_snapshot_is_read_from_the_tail_of_a_long_timeline(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    long_paths = tuple(f"dir/file-{i:05}.txt" for i in range(5000))  # one record longer than the tail read
    timeline.append(Record("call", "s", 1, before="c" * 40, after="d" * 40, changed=long_paths))
    timeline.append(Record("request", "s", 2, prompt="next"))
    assert timeline.last_snapshot() == "d" * 40


def sessions_with_changes(ws: Path, data: Path, count: int) -> list[bytes]:
    """``count`` sessions s0, s1... each writing its own version of payload.bin; returns the versions."""
    versions = []
    for n in range(count):
        checkpointer = open_checkpointer(ws, data)
        session = f"s{n}"
        checkpointer.begin_request(session, f"request of {session}")
        payload = os.urandom(200_000)  # incompressible, so each session's version costs real disk
        agent_call(checkpointer, lambda p=payload: (ws / "payload.bin").write_bytes(p))  # type: ignore[misc]
        versions.append(payload)
    return versions


def refs(ws: Path, data: Path) -> list[str]:
    repo = store_of(open_checkpointer(ws, data)).repo
    return repo.git.out("for-each-ref", "--format=%(refname)").split()


def test_history_older_than_the_limit_is_cut_from_the_oldest_end(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    versions = sessions_with_changes(ws, data, 3)
    store = store_of(open_checkpointer(ws, data, prune=False))
    records = store.timeline.records()
    old = datetime.now(UTC) - timedelta(days=40)
    aged = [Record(**{**r.__dict__, "time": old.isoformat()}) if r.session == "s0" else r for r in records]
    store.timeline.rewrite(aged)
    assert needs_pruning(store)
    assert prune(store) == ["s0"]
    assert {r.session for r in store.timeline.records()} == {"s1", "s2"}
    assert refs(ws, data) == ["refs/agentshell/s1", "refs/agentshell/s2"]
    assert not needs_pruning(store)
    records = store.timeline.records()
    report = rw.rewind(store, rw.find_target(records, "s1", 1), session="s1")  # what is left still rewinds
    assert report.restored == ["payload.bin"]
    assert (ws / "payload.bin").read_bytes() == versions[0]


def test_over_the_disk_cap_older_sessions_go_and_the_newest_stays(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    sessions_with_changes(ws, data, 4)
    store = store_of(open_checkpointer(ws, data, prune=False, max_disk_bytes=500_000, keep_days=365))
    assert store.repo.disk_bytes() > 800_000  # four versions of the payload
    assert needs_pruning(store)
    dropped = prune(store)
    assert dropped == ["s0", "s1", "s2"]  # s3 alone holds two versions: the one before it and its own
    assert store.repo.disk_bytes() <= 500_000
    remaining = {r.session for r in store.timeline.records()}
    assert "s3" in remaining and not remaining & set(dropped)


def test_an_agent_starting_in_the_workspace_prunes_when_needed(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    sessions_with_changes(ws, data, 2)
    store = store_of(open_checkpointer(ws, data, prune=False))
    old = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    store.timeline.rewrite(Record(**{**r.__dict__, "time": old}) for r in store.timeline.records())
    open_checkpointer(ws, data)  # what `agent launch` does
    assert store.timeline.records() == []
    assert refs(ws, data) == []
