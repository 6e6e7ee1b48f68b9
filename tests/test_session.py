"""Sessions: JSONL transcripts, resume, locking, torn lines, ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentshell.protocol import Message, ToolCallRequest
from agentshell.session import SessionBusy, SessionNotFound, SessionStore, new_session_id


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def _conversation() -> list[Message]:
    return [
        Message(role="user", content="list the files"),
        Message(
            role="assistant",
            content="",
            thinking="I should call list_dir",
            tool_calls=(ToolCallRequest(id="c1", name="list_dir", arguments={"path": "."}),),
        ),
        Message(role="tool", content="a.py\nb.py", tool_call_id="c1", name="list_dir"),
        Message(role="assistant", content="Two files: a.py and b.py. ünïcödé ✓"),
    ]


def test_append_then_load_round_trips_every_field(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as session:
        for m in _conversation():
            session.append(m, backend="scripted", model="m1")
        sid = session.id
    loaded = store.load(sid)
    try:
        assert loaded.messages == _conversation()
        assert loaded.workspace == workspace.resolve()
        assert loaded.warnings == []
        assert (loaded.backend, loaded.model) == ("scripted", "m1")
    finally:
        loaded.close()


def test_file_is_one_json_event_per_line_with_header_backend_and_model(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as session:
        session.append(Message(role="user", content="hi"), backend="ollama", model="qwen3")
        session.append(Message(role="assistant", content="hello"), backend="gguf", model="smol.gguf")
        path = session.path
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header = lines[0]
    assert header["type"] == "session" and header["id"] == session.id
    assert header["workspace"] == str(workspace.resolve()) and header["agentshell"] and header["created"]
    assert [(e["backend"], e["model"]) for e in lines[1:]] == [("ollama", "qwen3"), ("gguf", "smol.gguf")]
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_continue_on_another_backend_keeps_the_conversation(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as s:
        s.append(Message(role="user", content="q1"), backend="ollama", model="qwen3")
        s.append(Message(role="assistant", content="a1"), backend="ollama", model="qwen3")
    resumed = store.latest(workspace)
    assert resumed is not None
    with resumed:
        resumed.append(Message(role="user", content="q2"), backend="gguf", model="x.gguf")
    final = store.load(resumed.id)
    with final:
        assert [m.content for m in final.messages] == ["q1", "a1", "q2"]
    summary = store.list(workspace)[0]
    assert (summary.backend, summary.model, summary.messages, summary.title) == ("gguf", "x.gguf", 3, "q1")


def test_compaction_marker_replaces_live_conversation_on_resume(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as s:
        for m in _conversation():
            s.append(m, backend="b", model="m")
        compacted = [Message(role="user", content="Summary: listed files"), _conversation()[-1]]
        s.record_compaction(compacted)
        s.append(Message(role="user", content="next"), backend="b", model="m")
        assert s.messages == [*compacted, Message(role="user", content="next")]
    with store.load(s.id) as again:
        assert again.messages == [*compacted, Message(role="user", content="next")]
    _, everything, _ = store.read(s.id)
    assert len(everything) == 5  # the full history stays on disk


def test_torn_last_line_is_dropped_with_warning_and_cut_before_append(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as s:
        s.append(Message(role="user", content="kept"), backend="b", model="m")
        path = s.path
    with path.open("ab") as f:
        f.write(b'{"type":"message","time":"x","backend":"b","model":"m","message":{"role":"assis')
    with store.load(s.id) as again:
        assert [m.content for m in again.messages] == ["kept"]
        assert len(again.warnings) == 1 and "torn last line" in again.warnings[0]
        again.append(Message(role="assistant", content="after"), backend="b", model="m")
    with store.load(s.id) as third:
        assert [m.content for m in third.messages] == ["kept", "after"]
        assert third.warnings == []


def test_corrupt_middle_line_is_skipped_not_fatal(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as s:
        s.append(Message(role="user", content="one"), backend="b", model="m")
        path = s.path
    with path.open("ab") as f:
        f.write(b"\x00garbage\n")
        f.write(b'{"type":"message","message":{"role":"wizard"}}\n')
        f.write(b'{"type":"future-event","x":1}\n')
    with store.load(s.id) as again:
        again.append(Message(role="user", content="two"), backend="b", model="m")
    with store.load(s.id) as third:
        assert [m.content for m in third.messages] == ["one", "two"]
        assert len(third.warnings) == 2 and all("skipped unreadable line" in w for w in third.warnings)
    summary = store.list()[0]
    assert (summary.messages, summary.title) == (2, "one")


def test_second_holder_is_refused_and_latest_skips_busy_sessions(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as first:
        first.append(Message(role="user", content="mine"), backend="b", model="m")
        with pytest.raises(SessionBusy, match="in use by another running agent"):
            store.load(first.id)
        with pytest.raises(SessionBusy):
            store.remove(first.id)
        assert store.is_busy(first.id)
        assert store.latest(workspace) is None
    assert not store.is_busy(first.id)
    resumed = store.latest(workspace)
    assert resumed is not None and resumed.id == first.id
    resumed.close()


def test_lock_holds_across_processes(store: SessionStore, workspace: Path) -> None:
    with store.create(workspace) as s:
        s.append(Message(role="user", content="x"), backend="b", model="m")
        code = textwrap.dedent(f"""
            from pathlib import Path
            from agentshell.session import SessionStore, SessionBusy
            try:
                SessionStore(Path({str(store.root)!r})).load({s.id!r})
            except SessionBusy as e:
                print("busy:", e)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.startswith("busy:"), out.stderr


def test_latest_is_per_workspace_and_most_recent(store: SessionStore, tmp_path: Path) -> None:
    ws_a, ws_b = tmp_path / "a", tmp_path / "b"
    ws_a.mkdir()
    ws_b.mkdir()
    ids = []
    for ws, text in ((ws_a, "a-old"), (ws_b, "b"), (ws_a, "a-new")):
        with store.create(ws) as s:
            s.append(Message(role="user", content=text), backend="b", model="m")
            ids.append(s.id)
    os.utime(store.root / f"{ids[0]}.jsonl", (1, 1))  # make sure the older one is older
    got = store.latest(ws_a)
    assert got is not None
    with got:
        assert got.messages[0].content == "a-new"
    assert [s.title for s in store.list(ws_b)] == ["b"]
    assert len(store.list()) == 3


def test_empty_session_leaves_no_file_and_is_never_latest(store: SessionStore, workspace: Path) -> None:
    s = store.create(workspace)
    assert s.path.exists()
    s.close()
    assert not s.path.exists()
    assert store.latest(workspace) is None
    assert store.latest(workspace / "nowhere") is None


def test_ids_sort_by_time_and_never_collide(store: SessionStore, workspace: Path) -> None:
    sessions = [store.create(workspace) for _ in range(50)]
    try:
        ids = [s.id for s in sessions]
        assert len(set(ids)) == 50
        assert ids == sorted(ids) or [i[:19] for i in ids] == sorted(i[:19] for i in ids)
    finally:
        for s in sessions:
            s.close()
    from datetime import UTC, datetime

    early = new_session_id(datetime(2026, 1, 1, 0, 0, 0, 5000, tzinfo=UTC))
    late = new_session_id(datetime(2026, 1, 1, 0, 0, 0, 6000, tzinfo=UTC))
    assert early.startswith("20260101-000000-005-") and early < late


def test_prefix_lookup_ambiguity_and_unknown(store: SessionStore, workspace: Path) -> None:
    made = []
    for _ in range(2):
        with store.create(workspace) as s:
            s.append(Message(role="user", content="x"), backend="b", model="m")
            made.append(s.id)
    with store.load(made[0][:-2]) as s:
        assert s.id == made[0]
    with pytest.raises(SessionNotFound, match="ambiguous"):
        store.load(made[0][:8])
    with pytest.raises(SessionNotFound, match="agent sessions list"):
        store.load("nope")
    with pytest.raises(SessionNotFound):
        store.load("../../etc/passwd")
    store.remove(made[1])
    assert [s.id for s in store.list()] == [made[0]]
    with pytest.raises(SessionNotFound):
        store.remove(made[1])


def test_append_after_close_is_a_clear_error(store: SessionStore, workspace: Path) -> None:
    s = store.create(workspace)
    s.append(Message(role="user", content="x"), backend="b", model="m")
    s.close()
    from agentshell.session import SessionWriteError

    with pytest.raises(SessionWriteError, match="closed"):
        s.append(Message(role="user", content="y"), backend="b", model="m")


def test_file_without_header_is_not_listed_and_load_says_damaged(store: SessionStore, workspace: Path) -> None:
    store.root.mkdir(parents=True)
    (store.root / "20260101-000000-000-abcdef.jsonl").write_bytes(b'{"type":"sess')
    assert store.list() == []
    with pytest.raises(SessionNotFound, match="damaged"):
        store.load("20260101-000000-000-abcdef")


def test_tool_calls_left_unanswered_by_a_killed_agent_get_a_result_on_resume(
    store: SessionStore, workspace: Path
) -> None:
    calls = (ToolCallRequest(id="a", name="bash"), ToolCallRequest(id="b", name="read_file"))
    with store.create(workspace) as s:
        s.append(Message(role="user", content="go"), backend="ollama", model="qwen3")
        s.append(Message(role="assistant", tool_calls=calls), backend="ollama", model="qwen3")
        s.append(Message(role="tool", content="done a", tool_call_id="a", name="bash"), backend="ollama", model="qwen3")
        # killed while running the second tool
    with store.load(s.id) as resumed:
        last = resumed.messages[-1]
        assert (last.role, last.tool_call_id, last.name, last.interrupted) == ("tool", "b", "read_file", True)
        assert "stopped before this tool call finished" in last.content
        assert resumed.warnings == ["answered 1 tool call left unfinished when the agent stopped"]
    with store.load(s.id) as again:  # repaired on disk: nothing more to do
        assert again.warnings == [] and len(again.messages) == 4


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    contents=st.lists(st.text(st.characters(blacklist_categories=())), min_size=1, max_size=5),
    arguments=st.dictionaries(st.text(max_size=5), st.text(max_size=20) | st.integers() | st.none(), max_size=3),
)
def test_any_text_round_trips_exactly(
    tmp_path: Path, contents: list[str], arguments: dict[str, str | int | None]
) -> None:
    """Newlines, U+2028, NUL, lone surrogates: whatever a tool or model produced comes back unchanged."""
    store = SessionStore(tmp_path / f"s{abs(hash((tuple(contents), len(arguments))))}")
    call = ToolCallRequest(id="x", name="t", arguments=arguments)
    messages = [Message(role="user", content=c) for c in contents] + [Message(role="assistant", tool_calls=(call,))]
    messages.append(Message(role="tool", content=contents[0], tool_call_id="x"))
    with store.create(tmp_path) as s:
        for m in messages:
            s.append(m, backend="b", model="m")
    with store.load(s.id) as again:
        assert again.messages == messages and again.warnings == []


def test_a_write_failing_half_way_leaves_no_half_line(
    store: SessionStore, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from agentshell.session import SessionWriteError

    with store.create(workspace) as s:
        s.append(Message(role="user", content="before"), backend="b", model="m")
        size = s.path.stat().st_size
        real_write = os.write
        calls = {"n": 0}

        def full_disk(fd: int, data: bytes) -> int:
            calls["n"] += 1
            if calls["n"] == 1:
                return real_write(fd, bytes(memoryview(data)[:10]))  # part of the line gets out...
            raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk is full

        monkeypatch.setattr(os, "write", full_disk)
        with pytest.raises(SessionWriteError, match="No space left on device"):
            s.append(Message(role="assistant", content="lost"), backend="b", model="m")
        monkeypatch.setattr(os, "write", real_write)
        assert s.path.stat().st_size == size
        s.append(Message(role="user", content="after"), backend="b", model="m")
    with store.load(s.id) as again:
        assert [m.content for m in again.messages] == ["before", "after"] and again.warnings == []


def test_a_request_is_fsynced_with_the_answer_not_before_the_model_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request goes to the model without waiting for the disk; kill -9 loses nothing (it was written)."""
    import agentshell.session as session_module

    synced: list[int] = []
    real_fsync = session_module.os.fsync
    monkeypatch.setattr(session_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    store = SessionStore(tmp_path / "sessions")
    with store.create(tmp_path) as session:
        synced.clear()
        session.append(Message(role="user", content="fix it"), backend="b", model="m")
        assert synced == [] and "fix it" in session.path.read_text()  # written, not yet fsynced
        session.append(Message(role="assistant", content="fixed"), backend="b", model="m")
        assert len(synced) == 1  # the answer's fsync makes the request durable too
        session.append(Message(role="user", content="thanks"), backend="b", model="m")
    assert len(synced) == 2  # close() syncs a request nothing followed
