"""Hole 4 of issue 15: a command the model runs reads the agent's API keys, and the raw keys go to the model server.

The model here is a real HTTP server (tests/cli/fake_openai.py) reached through the ``openai`` backend, so what is
checked is the request body that would leave the machine, not what agentshell writes to its own files.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from agentshell.tools.sandbox import probe
from tests.cli.fake_openai import fake_openai, text_reply, tool_call_reply
from tests.cli.launch_support import agent_command

OLLAMA_KEY = "ollama-key-3f9a1c77e2b04d"
OPENAI_KEY = "sk-proj-Zq81LmN0pQrStUvWx"
GITHUB_TOKEN = "ghp_aaaaBBBBccccDDDD1234"
READ_PARENT = "tr '\\0' '\\n' < /proc/$PPID/environ; echo ---; env; echo ---; cat secret.txt"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "OLLAMA_API_KEY": OLLAMA_KEY,
        "OPENAI_API_KEY": OPENAI_KEY,
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "NO_COLOR": "1",
        **extra,
    }


def _run(cwd: Path, env: dict[str, str], base_url: str, *extra: str, user: list[str] | None = None) -> str:
    args = ["launch", "-p", "go", "--model", "openai:fake", "--base-url", base_url, "--permission-mode", "yolo", *extra]
    proc = subprocess.run(
        [*(user or []), *agent_command(*args, "--output-format", "json")],
        cwd=cwd,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _tool_result_sent(bodies: list[bytes]) -> str:
    """The tool message of the second request: what the model server was told the command printed."""
    request = json.loads(bodies[1])
    return next(m["content"] for m in request["messages"] if m["role"] == "tool")


@pytest.mark.parametrize("confinement", ["--no-sandbox", "--sandbox"])
def test_keys_a_command_prints_never_reach_the_model_server(tmp_path: Path, confinement: str) -> None:
    """Unconfined and as root, /proc/$PPID/environ is readable and redaction alone keeps the keys in;
    sandboxed, $PPID is the sandbox's own init, started with the command's clean environment."""
    if confinement == "--sandbox" and not probe().available:
        pytest.skip(f"the sandbox needs bubblewrap: {probe().detail}")
    (tmp_path / "secret.txt").write_text(f"leaked {OLLAMA_KEY} and {OPENAI_KEY}\n")
    replies = [tool_call_reply("bash", {"command": READ_PARENT}), text_reply("done")]
    with fake_openai(replies) as server:
        stdout = _run(tmp_path, _env(tmp_path), server.base_url, confinement)
    assert json.loads(stdout)["result"] == "done"
    assert len(server.bodies) == 2
    wire = b"".join(server.bodies).decode()
    for secret in (OLLAMA_KEY, OPENAI_KEY, GITHUB_TOKEN):
        assert secret not in wire
    sent = _tool_result_sent(server.bodies)
    assert "[REDACTED:OLLAMA_API_KEY]" in sent  # the file's copy: redacted, and the model is told what was there


def test_commands_get_no_credential_variables(tmp_path: Path) -> None:
    """The command's own environment holds no credential-looking variable at all, not even redacted."""
    replies = [tool_call_reply("bash", {"command": "env; echo end"}), text_reply("done")]
    with fake_openai(replies) as server:
        _run(tmp_path, _env(tmp_path), server.base_url)
    sent = _tool_result_sent(server.bodies)
    assert "end" in sent
    for name in ("OLLAMA_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "REDACTED"):
        assert name not in sent


def _as_nobody(tmp_path: Path, command: str, *flags: str) -> tuple[str, list[str]]:
    """Run the agent as ``nobody`` (one bash call of ``command``): what the server was told, and the files the
    command left in the workspace. Skips where this machine cannot switch users."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux) to run the agent as the unprivileged user nobody")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("needs a user named nobody to run the agent unprivileged")
    prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    home = Path(tempfile.mkdtemp(prefix="agentshell-nobody-"))  # pytest's tmp_path is root's alone (0700)
    try:
        work = home / "work"
        work.mkdir()
        for path in (home, work):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        xdg = {var: str(home / sub) for var, sub in (("XDG_CONFIG_HOME", "c"), ("XDG_DATA_HOME", "d"))}
        env = _env(tmp_path, HOME=str(home), PYTHONPYCACHEPREFIX=str(home / "pyc"), **xdg)
        replies = [tool_call_reply("bash", {"command": command}), text_reply("done")]
        with fake_openai(replies) as server:
            _run(work, env, server.base_url, *flags, user=prefix)
        left = sorted(p.name for p in work.iterdir())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return _tool_result_sent(server.bodies), left


def test_as_a_normal_user_the_agent_environment_cannot_be_read(tmp_path: Path) -> None:
    """PR_SET_DUMPABLE=0 makes /proc/AGENT/environ root's; a same-user command then cannot open it (as root it
    still can: the sandbox's PID namespace is the fix there, tests/tools/test_sandbox.py)."""
    probe_ = "cat /proc/$PPID/environ >/dev/null && echo READ-OK || echo READ-REFUSED"
    sent, _ = _as_nobody(tmp_path, probe_, "--no-sandbox")
    assert "READ-REFUSED" in sent and "READ-OK" not in sent


def test_as_a_normal_user_the_sandbox_works_too(tmp_path: Path) -> None:
    """bubblewrap unprivileged (user namespaces): the workspace writable, the agent's keys nowhere."""
    if not probe().available:
        pytest.skip(f"the sandbox needs bubblewrap: {probe().detail}")
    command = "tr '\\0' '\\n' < /proc/$PPID/environ; env; touch made.txt; touch /etc/agentshell-nobody || echo RO"
    sent, left = _as_nobody(tmp_path, command, "--sandbox")
    assert "made.txt" in left and "RO" in sent
    for secret in (OLLAMA_KEY, OPENAI_KEY, GITHUB_TOKEN, "OLLAMA_API_KEY", "REDACTED"):
        assert secret not in sent
