"""The AMX protection: weights load without extra buffer types where llama.cpp's AMX kernel would crash.

On a host whose CPU reports AMX, the last test runs a real turn in a child
process: without the protection a native llama.cpp build dies there with SIGSEGV
in ggml_backend_amx_mul_mat (llama.cpp #20824). Elsewhere the decision is
checked against faked /proc/cpuinfo and llama.cpp build descriptions, and a
real load proves the faked AMX machine gets weights without extra buffer types.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentshell_gguf import GGUFBackend, amx
from agentshell_gguf.engine import configure_logging, import_llama_cpp, load_model
from agentshell_gguf.metadata import read_metadata

from agentshell.protocol import BackendError, ChatOptions, Done, Message, TextDelta

AMX_CPU = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni amx_bf16 avx512_fp16 amx_tile amx_int8\n"
PLAIN_CPU = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"
AMX_BUILD = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | REPACK = 1 | "
PLAIN_BUILD = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | REPACK = 1 | "


@pytest.mark.parametrize(
    ("setting", "cpuinfo", "build", "extra_buffers"),
    [
        ("auto", PLAIN_CPU, AMX_BUILD, True),  # no AMX on the CPU: the kernel is never chosen
        ("auto", AMX_CPU, AMX_BUILD, False),  # the crashing case
        ("auto", AMX_CPU, PLAIN_BUILD, True),  # built without the AMX kernel: repacking stays
        ("auto", AMX_CPU, "", False),  # a build that cannot be read is taken as one with AMX
        ("off", PLAIN_CPU, PLAIN_BUILD, False),
        ("on", AMX_CPU, AMX_BUILD, True),
    ],
)
def test_decision(setting: amx.Setting, cpuinfo: str, build: str, extra_buffers: bool) -> None:
    protection = amx.decide(setting, cpuinfo=cpuinfo, system_info=build)
    assert protection.extra_buffers is extra_buffers
    assert protection.cpu_amx is ("amx_tile" in cpuinfo)


def test_this_llama_cpp_describes_its_build() -> None:
    info = amx.system_info(import_llama_cpp())
    assert amx.build_has_amx(info) is not None, info  # the text still has the shape the decision reads


def test_descriptions_say_which_protection_is_in_force() -> None:
    assert "without extra buffer types" in amx.decide(cpuinfo=AMX_CPU, system_info=AMX_BUILD).describe()
    assert "no AMX on this CPU" in amx.decide(cpuinfo=PLAIN_CPU, system_info=AMX_BUILD).describe()
    assert "built without AMX" in amx.decide(cpuinfo=AMX_CPU, system_info=PLAIN_BUILD).describe()
    assert "extra_buffers = off" in amx.decide("off", cpuinfo=PLAIN_CPU).describe()


def test_bad_setting_is_one_line() -> None:
    with pytest.raises(BackendError, match="extra_buffers must be one of auto, on, off, got 'maybe'"):
        GGUFBackend({"extra_buffers": "maybe"})


def fake_machine(monkeypatch: pytest.MonkeyPatch, cpuinfo: str, build: str) -> None:
    monkeypatch.setattr(amx, "read_cpuinfo", lambda: cpuinfo)
    monkeypatch.setattr(amx, "system_info", lambda llama_cpp: build)


@pytest.mark.parametrize(("cpuinfo", "extra_buffers"), [(AMX_CPU, False), (PLAIN_CPU, True)])
def test_the_backend_loads_weights_as_decided(
    monkeypatch: pytest.MonkeyPatch, smollm2: Path, cpuinfo: str, extra_buffers: bool
) -> None:
    fake_machine(monkeypatch, cpuinfo, AMX_BUILD)
    llama_cpp = import_llama_cpp()
    configure_logging(llama_cpp, debug=False)
    loaded = load_model(llama_cpp, read_metadata(smollm2), n_ctx=512, n_threads=1, gpu_layers=0, seed=0)
    try:
        assert loaded.llm.model_params.use_extra_bufts is extra_buffers
    finally:
        loaded.close()
    assert amx.last_protection() == amx.decide(cpuinfo=cpuinfo, system_info=AMX_BUILD)
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts  # the guard is lifted after the load


def test_same_answer_with_and_without_extra_buffers(monkeypatch: pytest.MonkeyPatch, smollm2: Path) -> None:
    answers = []
    for cpuinfo in (AMX_CPU, PLAIN_CPU):
        fake_machine(monkeypatch, cpuinfo, AMX_BUILD)
        backend = GGUFBackend({"threads": 1, "context_length": 512})
        events = list(
            backend.chat(
                str(smollm2),
                [Message(role="user", content="Name a colour.")],
                options=ChatOptions(temperature=0, max_tokens=8),
            )
        )
        assert isinstance(events[-1], Done)
        answers.append("".join(e.text for e in events if isinstance(e, TextDelta)))
        loaded = backend.loaded_model()
        assert loaded is not None
        loaded.close()
    assert answers[0] == answers[1] and answers[0]


def test_health_says_which_protection_is_in_force(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_machine(monkeypatch, AMX_CPU, AMX_BUILD)
    usable, detail = GGUFBackend({"model_dirs": [str(tmp_path)]}).health()
    assert usable and "AMX CPU, llama.cpp built with AMX: weights load without extra buffer types" in detail


TURN = """
import sys
from agentshell_gguf import GGUFBackend, amx
from agentshell.protocol import ChatOptions, Message, TextDelta
backend = GGUFBackend({"threads": 2, "context_length": 512})
text = "".join(
    e.text for e in backend.chat(sys.argv[1], [Message(role="user", content="hi")], options=ChatOptions(max_tokens=8))
    if isinstance(e, TextDelta)
)
print(amx.last_protection().describe())
"""


@pytest.mark.skipif(not amx.cpu_has_amx(amx.read_cpuinfo()), reason="this CPU has no AMX: the crash cannot happen here")
def test_a_real_turn_on_this_amx_cpu_does_not_crash(smollm2: Path) -> None:
    env: dict[str, Any] = {**os.environ, "OMP_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", TURN, str(smollm2)], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert done.returncode == 0, (
        f"exit {done.returncode} (-11 is the SIGSEGV of llama.cpp #20824): {done.stderr[-2000:]}"
    )
    assert "weights load" in done.stdout
