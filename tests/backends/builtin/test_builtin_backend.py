"""The builtin backend: model strings, clear errors, chat events, cache reuse, sampler, loader checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentshell_builtin import BuiltinBackend
from agentshell_builtin import backend as backend_module
from agentshell_builtin.gguf_loader import UnsupportedModel, load_gguf
from agentshell_builtin.model import Sampler, SamplerSettings

from agentshell.protocol import (
    BackendError,
    ChatOptions,
    ContextOverflow,
    Done,
    Message,
    ModelNotFound,
    Notice,
    TextDelta,
    TokenCounter,
    ToolCall,
    ToolSpec,
)
from tests.backends.builtin.builtin_gguf_fixtures import write_llama_gguf

USER = [Message(role="user", content="Say hello.")]
READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


@pytest.fixture
def backend() -> BuiltinBackend:
    return BuiltinBackend({"threads": 1})


def run(backend: BuiltinBackend, model: str, messages: list[Message], **kw: Any) -> list[Any]:
    options = kw.pop("options", ChatOptions(max_tokens=8, seed=1))
    return list(backend.chat(model, messages, options=options, **kw))


# --------------------------------------------------------------------------- model strings and errors


def test_claims_only_its_own_names(backend: BuiltinBackend) -> None:
    assert backend.claims("builtin")
    assert backend.claims("builtin:/models/x.gguf")
    assert not backend.claims("qwen3:8b")
    assert not backend.claims("/models/x.gguf")
    assert isinstance(backend, TokenCounter)


def test_missing_shipped_model_is_one_clear_line(
    backend: BuiltinBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backend_module, "shipped_model_path", lambda: tmp_path / "agentshell-tiny.gguf")
    with pytest.raises(ModelNotFound) as err:
        run(backend, "builtin", USER)
    assert "built-in model is not installed" in str(err.value)
    assert "--model builtin:PATH.gguf" in str(err.value)
    assert "\n" not in str(err.value)
    assert backend.list_models() == []


def test_missing_file(backend: BuiltinBackend, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="no GGUF file at"):
        run(backend, str(tmp_path / "nope.gguf"), USER)


def test_not_a_gguf_file(backend: BuiltinBackend, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"definitely not a gguf file" * 10)
    with pytest.raises(BackendError, match="not a readable GGUF file"):
        run(backend, str(bad), USER)


def test_other_architecture_is_refused(tmp_path: Path) -> None:
    import gguf

    path = tmp_path / "qwen.gguf"
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UnsupportedModel, match="llama-architecture models, this file is 'qwen2'") as err:
        load_gguf(path)
    assert "gguf:PATH" in str(err.value)


def test_unknown_tensor_type_is_refused(tiny_file: Path, tmp_path: Path) -> None:
    import gguf

    model = load_gguf(tiny_file)
    v = model.vocab
    path = tmp_path / "iq.gguf"
    w_shape = (128, 256)
    qtype = gguf.GGMLQuantizationType.IQ2_XXS
    raw = np.zeros(gguf.quants.quant_shape_to_byte_shape(w_shape, qtype), np.uint8)
    tensors: dict[str, Any] = {"blk.0.ffn_gate.weight": raw}
    orig = gguf.GGUFWriter.add_tensor

    def add_tensor(self: Any, name: str, arr: Any, **kw: Any) -> None:
        if name in tensors:
            orig(self, name, tensors[name], raw_shape=raw.shape, raw_dtype=qtype)
        else:
            orig(self, name, arr, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gguf.GGUFWriter, "add_tensor", add_tensor)
        write_llama_gguf(
            path,
            n_layer=1,
            n_embd=256,
            n_head=4,
            n_kv_head=4,
            ffn_dim=128,
            tokens=v.tokens,
            token_types=v.token_types,
            merges=v.merges,
        )
    with pytest.raises(UnsupportedModel, match="IQ2_XXS, which the built-in engine cannot dequantize"):
        load_gguf(path)


# --------------------------------------------------------------------------- chat


def test_chat_streams_text_and_ends_with_done(backend: BuiltinBackend, tiny_file: Path) -> None:
    events = run(backend, str(tiny_file), USER, options=ChatOptions(max_tokens=12, seed=3, temperature=0.8))
    assert isinstance(events[-1], Done)
    assert all(isinstance(e, TextDelta) for e in events[:-1])
    done = events[-1]
    assert done.usage.prompt_tokens == backend.count_tokens(str(tiny_file), USER)
    assert 1 <= done.usage.completion_tokens <= 12
    assert done.stop_reason in ("stop", "length")
    assert done.timings.prompt_ms is not None and done.timings.generation_ms is not None


def test_counting_tokens_reads_only_the_header(backend: BuiltinBackend, tiny_file: Path, tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copy(tiny_file, tmp_path / "copy.gguf"))
    n = backend.count_tokens(f"builtin:{copy}", USER, [READ_FILE])
    assert not backend_module.is_loaded(copy)
    assert n == backend.count_tokens(str(tiny_file), USER, [READ_FILE]) > backend.count_tokens(str(tiny_file), USER)


def test_same_seed_same_answer(backend: BuiltinBackend, tiny_file: Path) -> None:
    opts = ChatOptions(max_tokens=10, seed=42, temperature=1.0)
    a = run(backend, str(tiny_file), USER, options=opts)
    b = run(backend, str(tiny_file), USER, options=opts)
    assert [e for e in a if isinstance(e, TextDelta)] == [e for e in b if isinstance(e, TextDelta)]


def test_next_turn_reuses_the_kv_cache(
    backend: BuiltinBackend, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = str(tiny_file)
    first = run(backend, model, USER, options=ChatOptions(max_tokens=4, temperature=0))
    answer = "".join(e.text for e in first if isinstance(e, TextDelta))
    loaded = backend_module.load_model(tiny_file)
    fed: list[int] = []
    real_forward = loaded.llama.forward

    def counting_forward(tokens: Any, cache: Any, **kw: Any) -> Any:
        fed.append(len(tokens))
        return real_forward(tokens, cache, **kw)

    monkeypatch.setattr(loaded.llama, "forward", counting_forward)
    second = [*USER, Message(role="assistant", content=answer), Message(role="user", content="And again?")]
    done = run(backend, model, second, options=ChatOptions(max_tokens=1, temperature=0))[-1]
    assert isinstance(done, Done)
    assert sum(fed) < done.usage.prompt_tokens  # only the new turn was computed


def test_context_overflow_is_one_clear_line(backend: BuiltinBackend, tiny_file: Path) -> None:
    long = [Message(role="user", content="word " * 400)]
    with pytest.raises(ContextOverflow, match=r"the prompt is \d+ tokens, the built-in engine's window is 64"):
        run(backend, str(tiny_file), long, options=ChatOptions(context_length=64))


def test_tool_call_text_becomes_a_tool_call_event(
    backend: BuiltinBackend, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine runs for real; only the sampler is scripted, so the random model "writes" a call."""
    loaded = backend_module.load_model(tiny_file)
    answer = 'Let me look.<tool_call>\n{"name": "read_file", "arguments": {"path": "README.md"}}\n</tool_call>'
    script = [*loaded.tokenizer.encode(answer, add_special=False), loaded.tokenizer.ids["<|im_end|>"]]
    it: Iterator[int] = iter(script)
    monkeypatch.setattr(Sampler, "sample", lambda self, logits, history=(): next(it))
    events = run(backend, str(tiny_file), USER, tools=[READ_FILE], options=ChatOptions(max_tokens=200))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert text.strip() == "Let me look."
    assert [(c.name, c.arguments) for c in calls] == [("read_file", {"path": "README.md"})]
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "tool_calls"
    assert events[-1].usage.completion_tokens == len(script)


@pytest.mark.slow
def test_big_file_announces_loading(
    backend: BuiltinBackend, smollm2_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend_module, "_models", {})
    events = run(backend, f"builtin:{smollm2_file}", USER, options=ChatOptions(max_tokens=3, temperature=0))
    assert isinstance(events[0], Notice) and events[0].level == "loading"
    assert isinstance(events[-1], Done) and events[-1].timings.load_ms is not None
    info = backend.describe(f"builtin:{smollm2_file}")
    assert info.context_length == 4096 and "tools" in info.capabilities  # the default window, not the 8192 trained
    assert info.details["trained_context"] == "8192" and info.details["quantization"] == "Q4_1+Q8_0"


# --------------------------------------------------------------------------- sampler


def test_sampler_greedy_and_filters() -> None:
    logits = np.array([1.0, 3.0, 2.0, -1.0], np.float32)
    assert Sampler(SamplerSettings(temperature=0)).sample(logits) == 1
    assert {Sampler(SamplerSettings(temperature=5, top_k=1), seed=s).sample(logits) for s in range(20)} == {1}
    ids, p = Sampler(SamplerSettings(temperature=1, top_k=0, top_p=1.0, min_p=0.3)).probabilities(logits)
    assert list(ids) == [1, 2] and abs(float(p.sum()) - 1) < 1e-6
    ids, _ = Sampler(SamplerSettings(temperature=1, top_k=0, top_p=0.5, min_p=0)).probabilities(logits)
    assert list(ids) == [1]


def test_sampler_seed_and_repeat_penalty() -> None:
    logits = np.zeros(50, np.float32)
    draws = [Sampler(SamplerSettings(temperature=1, top_k=0, min_p=0), seed=9).sample(logits) for _ in range(3)]
    assert len(set(draws)) == 1
    s = Sampler(SamplerSettings(temperature=0, repeat_penalty=2.0))
    assert s.sample(np.array([2.0, 1.5, 0.1], np.float32), history=[0]) == 1  # 2.0 / 2 < 1.5


@pytest.mark.slow
def test_agent_launch_runs_smollm2_on_the_numpy_engine(smollm2_file: Path, tmp_path: Path) -> None:
    """End to end through the real CLI: agent loop, chat template, tokenizer, engine, sampler."""
    import subprocess
    import sys

    agent = Path(sys.executable).parent / "agent"
    proc = subprocess.run(
        [
            str(agent),
            "launch",
            "--model",
            f"builtin:{smollm2_file}",
            "--permission-mode",
            "read-only",
            "--max-turns",
            "2",
            "-p",
            "What is the capital of France? Answer in one short sentence.",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Paris" in proc.stdout


def test_numerics_option_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentshell_builtin.backend import exact_numerics

    from agentshell.protocol import BackendError

    monkeypatch.delenv("AGENT_BUILTIN_NUMERICS", raising=False)
    assert exact_numerics() is False
    assert exact_numerics("llama.cpp") is True
    monkeypatch.setenv("AGENT_BUILTIN_NUMERICS", "llama.cpp")
    assert exact_numerics() is True
    assert exact_numerics("float32") is False  # the backend option wins over the environment
    with pytest.raises(BackendError, match=r"unknown numerics 'fast'.*float32, llama\.cpp"):
        exact_numerics("fast")
