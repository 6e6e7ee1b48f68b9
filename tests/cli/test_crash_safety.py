"""kill -9 at random moments: every message whose append returned survives, intact, and the session stays resumable.

The driver is a real subprocess appending to one session in a loop and printing an
ack after each append returns. The test SIGKILLs it at a random moment, reloads the
transcript (which also cuts a torn last line), checks it against the acks, and starts
the driver again on the same session, 50 times. Message sizes vary up to 150 kB; half of
the kills are aimed into the append of a large message, with short writes so that
some kills land inside a write and leave a torn line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentshell.protocol import Message
from agentshell.session import Session, SessionBusy, SessionStore

DRIVER = textwrap.dedent(
    r"""
    import random, sys
    from pathlib import Path
    from agentshell.protocol import Message
    from agentshell.session import Session, SessionBusy, SessionStore

    root, workspace, session_id, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if sys.argv[5] == "short-writes":
        # POSIX lets write() return early (a signal, a full disk); forcing it, 512 bytes per call with a
        # yield between calls, widens the window in which a kill leaves half a line, so the torn-line
        # path is exercised for real, not only in unit tests.
        import os
        real_write = os.write
        def short_write(fd, data):
            os.sched_yield()
            return real_write(fd, bytes(memoryview(data)[:512]))
        os.write = short_write
    store = SessionStore(Path(root))
    session = store.load(session_id) if session_id != "-" else store.create(Path(workspace))
    print("session", session.id, len(session.messages), flush=True)
    i = start
    while True:
        size = random.choice((20, 300, 3_000, 30_000, 150_000))
        body = (f"message {i} " + "abcdefghij" * (size // 10 + 1))[:size]
        sys.stdout.write(f"begin {i} {size}\n")
        sys.stdout.flush()
        session.append(Message(role="user" if i % 2 == 0 else "assistant", content=body), backend="drv", model="m")
        sys.stdout.write(f"ack {i} {size}\n")  # one write: a kill cannot leave half an ack...
        sys.stdout.flush()
        i += 1
    """
)


def expected_body(i: int, size: int) -> str:
    return (f"message {i} " + "abcdefghij" * (size // 10 + 1))[:size]


def _start(root: Path, ws: Path, session_id: str, start: int, driver: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(driver), str(root), str(ws), session_id, str(start), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_at_random_points_loses_no_acknowledged_message(tmp_path: Path) -> None:
    rng = random.Random(7)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    root, workspace = tmp_path / "sessions", tmp_path / "ws"
    workspace.mkdir()
    store = SessionStore(root)
    kept = torn = 0
    for run in range(50):
        if run % 10 == 0:  # a fresh session now and then keeps the files, and the test, small
            session_id, acked, next_index = "-", {}, 0  # acked: index -> size of every append that returned
        # Odd runs aim the kill into an append of a large message, with short writes; even runs kill
        # at any moment. Both must keep every acknowledged message.
        targeted = run % 2 == 1
        proc = _start(root, workspace, session_id, next_index, driver, "short-writes" if targeted else "plain")
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[:1] == ["session"]
        session_id = first[1]
        lines: list[str] = []
        if targeted:
            while (line := proc.stdout.readline()) and not (line.startswith("begin") and int(line.split()[2]) > 10_000):
                lines.append(line)
            time.sleep(rng.uniform(0, 0.004))
        else:
            time.sleep(rng.uniform(0, 0.1))
        proc.send_signal(signal.SIGKILL)
        # Not communicate(): it would skip what readline() buffered. Only whole lines count.
        lines += proc.stdout.read().split("\n")[:-1]
        assert proc.wait(timeout=30) == -signal.SIGKILL
        for line in lines:
            if line.startswith("ack ") and len(line.split()) == 3:  # ...but the test does not rely on it
                _, index, size = line.split()
                acked[int(index)] = int(size)
        with store.load(session_id) as session:
            torn += sum("torn last line" in w for w in session.warnings)
            assert all("torn last line" in w for w in session.warnings), session.warnings
            present = [int(m.content.split()[1]) for m in session.messages]
            # In order, no duplicates, nothing missing in the middle...
            assert present == list(range(len(present)))
            # ...every acknowledged message is there and intact...
            for index, size in acked.items():
                message = session.messages[index]
                assert message.content == expected_body(index, size)
                assert message.role == ("user" if index % 2 == 0 else "assistant")
            # ...and at most the one append in flight when the kill came is there without its ack.
            assert len(present) - len(acked) in (0, 1)
            kept += len(present) - next_index
            next_index = len(present)
            if len(present) > len(acked):
                acked[len(present) - 1] = len(session.messages[-1].content)
    assert kept > 50  # the driver really wrote between kills
    print(f"\n50 kills: {kept} messages written and kept, {torn} torn last lines dropped and repaired")


# --------------------------------------------------------------------------- the real CLI


def _cli_script(path: Path, turns: int) -> None:
    responses = []
    for t in range(turns):
        responses.append(
            [
                {"type": "text", "text": f"step {t}: listing. "},
                {"type": "sleep", "seconds": 0.01},
                {"type": "tool_call", "id": f"call-{t}", "name": "bash", "arguments": {"command": f"echo out-{t}"}},
            ]
        )
    responses.append([{"type": "text", "text": "all done"}])
    path.write_text(json.dumps(responses))


def _load_when_released(store: SessionStore, session_id: str) -> Session:
    """The lock goes with the last open descriptor: a bash tool the CLI was starting at the moment of the
    kill holds a copy between its fork and its exec (close-on-exec), for a few milliseconds."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return store.load(session_id)
        except SessionBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_of_the_real_cli_during_a_scripted_session_leaves_a_loadable_transcript(tmp_path: Path) -> None:
    rng = random.Random(11)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = tmp_path / "turns.json"
    _cli_script(script, turns=40)
    env = dict(os.environ)
    store = SessionStore(Path(env["XDG_DATA_HOME"]) / "agentshell" / "sessions")
    cmd = [sys.executable, "-m", "agentshell", "launch", "--model", f"scripted:{script}", "-p", "go"]
    cmd += ["--allow", "bash", "--output-format", "stream-json"]
    unfinished = 0
    for _ in range(4):
        with (tmp_path / "stderr.txt").open("w") as err:
            proc = subprocess.Popen(cmd, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        init = json.loads(proc.stdout.readline() or "{}")
        assert init.get("type") == "init", (tmp_path / "stderr.txt").read_text()
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        events = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
        answered = [e["id"] for e in events if e["type"] == "tool_result"]
        with _load_when_released(store, init["session_id"]) as session:
            assert all("torn last line" in w or "left unfinished" in w for w in session.warnings), session.warnings
            messages = session.messages
        assert messages[0] == Message(role="user", content="go")
        calls = [c.id for m in messages for c in m.tool_calls]
        results = [m.tool_call_id for m in messages if m.role == "tool"]
        assert calls == results  # every call has its result, in order (a call cut by the kill gets one on load)
        assert set(answered) <= set(calls)  # what the CLI reported before dying is on disk
        for m in messages:
            if m.role == "tool" and not m.interrupted:
                assert m.content.startswith(f"out-{m.tool_call_id.split('-')[1]}")
        unfinished += sum(m.interrupted for m in messages)
    # A killed session continues: --continue picks it up and the conversation carries on.
    follow = tmp_path / "follow.json"
    follow.write_text(json.dumps([[{"type": "text", "text": "resumed fine"}]]))
    cont = [sys.executable, "-m", "agentshell", "launch", "--model", f"scripted:{follow}", "-p", "again", "--continue"]
    done = subprocess.run(cont, cwd=workspace, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "resumed fine"
    latest = max(store.list(workspace), key=lambda s: s.updated)
    with store.load(latest.id) as session:
        assert session.messages[-2:] == [
            Message(role="user", content="again"),
            Message(role="assistant", content="resumed fine"),
        ]
    print(f"\n4 kills of the CLI: {unfinished} unfinished tool calls answered on load")
