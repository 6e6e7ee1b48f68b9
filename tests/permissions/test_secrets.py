"""Credentials never reach transcripts or JSON output: unit checks of redact, then grep the files a real run writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentshell.config import load_config
from agentshell.protocol import Message, ToolCallRequest
from agentshell.redact import StreamRedactor, add_secret, redact, redact_obj
from agentshell.session import SessionStore

OLLAMA_KEY = "ollama-key-3f9a1c77e2b04d"
OPENAI_KEY = "sk-proj-Zq81LmN0pQrStUvWx"
SERVICE_TOKEN = "ghp_serviceTokenValue1234"
DB_PASSWORD = "hunter2-but-longer"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", OLLAMA_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("MY_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("db_password", DB_PASSWORD)
    monkeypatch.setenv("SHORT_KEY", "abc")  # under 8 characters: masking it would mangle ordinary words
    monkeypatch.setenv("EDITOR_THEME", "solarized-dark")  # not a credential name


def test_redact_masks_every_credential_looking_variable(secrets_env: None) -> None:
    text = f"a {OLLAMA_KEY} b {OPENAI_KEY} c {SERVICE_TOKEN} d {DB_PASSWORD} e abc f solarized-dark"
    out = redact(text)
    for secret in (OLLAMA_KEY, OPENAI_KEY, SERVICE_TOKEN, DB_PASSWORD):
        assert secret not in out
    assert "[REDACTED:OLLAMA_API_KEY]" in out and "[REDACTED:MY_SERVICE_TOKEN]" in out
    assert out.endswith("e abc f solarized-dark")
    assert redact("short") == "short"


def test_a_secret_containing_another_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_TOKEN", "abcdefgh")
    monkeypatch.setenv("B_TOKEN", "xxabcdefghxx")
    assert redact("[xxabcdefghxx] [abcdefgh]") == "[[REDACTED:B_TOKEN]] [[REDACTED:A_TOKEN]]"


def test_environment_changes_are_seen_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert redact("value-one-123") == "value-one-123"
    monkeypatch.setenv("NEW_SECRET", "value-one-123")
    assert redact("value-one-123") == "[REDACTED:NEW_SECRET]"
    monkeypatch.delenv("NEW_SECRET")
    assert redact("value-one-123") == "value-one-123"


def test_redact_obj_walks_nested_values_and_keys(secrets_env: None) -> None:
    obj = {"a": [OLLAMA_KEY, (1, f"x{OPENAI_KEY}")], OLLAMA_KEY: {"n": None, "b": True}}
    out = redact_obj(obj)
    assert OLLAMA_KEY not in json.dumps(out) and OPENAI_KEY not in json.dumps(out)
    assert out["a"][1][0] == 1 and out["[REDACTED:OLLAMA_API_KEY]"] == {"n": None, "b": True}


def test_api_key_from_the_config_file_is_redacted_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[backends.ollama]\napi_key = "file-only-key-777"\n')
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    load_config()
    assert redact("k=file-only-key-777") == "k=[REDACTED:backends.ollama.api_key]"
    add_secret("tiny")  # too short to register
    assert redact("tiny tiny tiny") == "tiny tiny tiny"


def test_session_file_never_contains_a_secret(secrets_env: None, tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    with store.create(tmp_path) as s:
        s.append(Message(role="user", content=f"my key is {OLLAMA_KEY}"), backend="ollama", model="qwen3")
        call = ToolCallRequest(id="1", name="bash", arguments={"command": f"curl -H 'Bearer {OPENAI_KEY}'"})
        s.append(Message(role="assistant", thinking=f"use {SERVICE_TOKEN}", tool_calls=(call,)), backend="o", model="m")
        result = Message(role="tool", content=f"PASS={DB_PASSWORD}", tool_call_id="1", name="bash")
        s.append(result, backend="o", model="m")
        s.record_compaction([Message(role="user", content=f"summary mentions {OLLAMA_KEY}")])
        path = s.path
    data = path.read_bytes()
    for secret in (OLLAMA_KEY, OPENAI_KEY, SERVICE_TOKEN, DB_PASSWORD):
        assert secret.encode() not in data
    assert data.count(b"[REDACTED:") == 5


def _script(tmp_path: Path) -> Path:
    """A model that leaks every secret it can: in its text, thinking, tool arguments, and via a tool's output."""
    responses = [
        [
            {"type": "thinking", "text": f"the key is {OLLAMA_KEY}"},
            {"type": "text", "text": f"Using {OPENAI_KEY} now. "},
            # Real backends stream tokens: a key arrives in pieces.
            *({"type": "text", "text": OLLAMA_KEY[i : i + 3]} for i in range(0, len(OLLAMA_KEY), 3)),
            {"type": "thinking", "text": SERVICE_TOKEN[:5]},
            {"type": "thinking", "text": SERVICE_TOKEN[5:]},
            {"type": "tool_call", "id": "t1", "name": "bash", "arguments": {"command": "echo tok=$MY_SERVICE_TOKEN"}},
        ],
        [{"type": "text", "text": f"Done; the password is {DB_PASSWORD}."}],
    ]
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(responses))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "stream-json"])
def test_a_real_run_leaks_no_secret_to_stdout_stderr_or_the_transcript(
    secrets_env: None, tmp_path: Path, fmt: str
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    script = _script(tmp_path)
    cmd = [sys.executable, "-m", "agentshell", "launch", "--model", f"scripted:{script}", "-p", "go"]
    cmd += ["--permission-mode", "yolo", "--output-format", fmt]
    proc = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout) if fmt == "json" else json.loads(proc.stdout.strip().splitlines()[-1])
    sessions = list((Path(os.environ["XDG_DATA_HOME"]) / "agentshell" / "sessions").glob("*.jsonl"))
    transcript = "".join(p.read_text() for p in sessions)
    assert result["session_id"] and len(sessions) >= 1
    assert "tok=" in transcript  # the tool really ran and its output was recorded
    places = [("stdout", proc.stdout), ("stderr", proc.stderr), ("transcript", transcript)]
    if fmt == "stream-json":  # what a reader gets by joining the deltas, as every client does
        events = [json.loads(line) for line in proc.stdout.splitlines()]
        for kind in ("text", "thinking"):
            places.append((f"joined {kind} deltas", "".join(e["text"] for e in events if e["type"] == kind)))
        assert "[REDACTED:OLLAMA_API_KEY]" in places[-2][1] and "[REDACTED:MY_SERVICE_TOKEN]" in places[-1][1]
    for where, text in places:
        for secret in (OLLAMA_KEY, OPENAI_KEY, SERVICE_TOKEN, DB_PASSWORD):
            assert secret not in text, f"{secret} leaked into {where}"
    assert "[REDACTED:db_password]" in transcript


# --------------------------------------------------------------------------- streamed text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.sampled_from([OLLAMA_KEY, OPENAI_KEY, "sk-proj", "ollama-", " ", "x", "abc\n", "[", "]"])),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_a_secret_split_across_streamed_pieces_never_comes_out(
    secrets_env: None, words: list[str], cuts: list[int]
) -> None:
    text = "".join(words)
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    stream = StreamRedactor()
    out = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert out == redact(text)
    assert OLLAMA_KEY not in out and OPENAI_KEY not in out


def test_stream_redactor_holds_back_only_a_possible_secret_start(secrets_env: None) -> None:
    stream = StreamRedactor()
    assert stream.feed("hello world ") == "hello world "  # nothing held: no delay for ordinary text
    assert stream.feed("key: ollama-key-3f9") == "key: "  # could be the start of OLLAMA_API_KEY
    assert stream.feed("a1c77e2b04d and more") == "[REDACTED:OLLAMA_API_KEY] and more"
    assert stream.feed("ollama") == ""
    assert stream.flush() == "ollama"  # the stream ended: it was not a secret after all


# --------------------------------------------------------------------------- what reaches the model


def test_tool_results_are_redacted_before_the_model_server_sees_them(secrets_env: None, tmp_path: Path) -> None:
    """Hole 4 of issue 15: the transcript and json output were redacted, the next request's body was not."""
    import io

    from agentshell.cli.jsonout import StreamJsonWriter
    from agentshell.loop.agent import Agent
    from agentshell.permissions.gate import PermissionGate
    from agentshell.testing.scripted import ScriptedBackend
    from agentshell.tools import ToolContext, ToolRunner, default_tools

    (tmp_path / "keys.txt").write_text(f"ollama={OLLAMA_KEY}\nopenai={OPENAI_KEY}\n")
    call = {"type": "tool_call", "id": "r", "name": "read_file", "arguments": {"path": "keys.txt"}}
    backend = ScriptedBackend.factory([[call], [{"type": "text", "text": "ok"}]])({})
    runner = ToolRunner(default_tools(), ToolContext(tmp_path), PermissionGate("yolo", tmp_path))
    agent = Agent(backend, "m", runner, StreamJsonWriter(io.StringIO()))
    assert agent.run("read it").result == "ok"
    sent = backend.requests[1].messages[-1]
    assert sent.role == "tool" and "[REDACTED:OLLAMA_API_KEY]" in sent.content
    assert OLLAMA_KEY not in sent.content and OPENAI_KEY not in sent.content
