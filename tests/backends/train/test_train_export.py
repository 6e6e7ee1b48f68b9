"""An exported model gives the same logits in llama.cpp, in the numpy engine and in the training forward pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentshell_train.bpe import train_bpe
from agentshell_train.corpus import Conversation, generate, render
from agentshell_train.export import CHAT_TEMPLATE, export_gguf
from agentshell_train.train import ModelConfig, init_params, logits

pytestmark = pytest.mark.slow


def _llama_cpp(path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    amx = pytest.importorskip("agentshell_gguf.amx")  # weights load safely on AMX CPUs (llama.cpp #20824)
    return amx.open_llama(
        llama_cpp,
        str(path),
        n_ctx=256,
        n_batch=256,
        n_ubatch=256,
        logits_all=True,
        type_k=llama_cpp.GGML_TYPE_F32,
        type_v=llama_cpp.GGML_TYPE_F32,
        n_threads=1,
        verbose=False,
    )


@pytest.mark.parametrize(("tied", "f16"), [(True, False), (False, True)], ids=["tied-f32", "untied-f16"])
def test_exported_logits_agree_everywhere(tmp_path: Path, tied: bool, f16: bool) -> None:
    texts = [render(c) for c in generate(9, 40)]
    tok = train_bpe(texts, 600)
    cfg = ModelConfig(vocab_size=600, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=96, tied=tied)
    params = init_params(cfg, seed=1)
    rng = np.random.default_rng(2)
    for k, v in params.items():  # a random init is too flat to tell engines apart; make the logits spread
        params[k] = (v * 4 + (rng.standard_normal(v.shape) * 0.05 if v.ndim == 1 else 0)).astype(np.float32)
    if f16:  # compare against what the file really holds
        params = {k: (v.astype(np.float16).astype(np.float32) if v.ndim == 2 else v) for k, v in params.items()}
    path = tmp_path / "m.gguf"
    export_gguf(path, params, cfg, tok, f16=f16)

    ids = tok.encode(texts[0])[:200]
    ours = logits(params, cfg, np.array([ids]))[0]

    llm = _llama_cpp(path)
    assert llm.tokenize(texts[0].encode(), add_bos=False, special=True)[:200] == ids
    llm.eval(ids)
    ref = np.array(llm.scores[: len(ids)])
    assert np.abs(ref - ours).max() < (0.1 if f16 else 1e-3)  # llama.cpp rounds activations to f16 for f16 weights
    assert (ref.argmax(-1) == ours.argmax(-1)).mean() > 0.99
    assert ours.std() > 0.5

    from agentshell_builtin.gguf_loader import load_gguf

    loaded = load_gguf(path)
    assert loaded.chat_template == CHAT_TEMPLATE
    model = loaded.build()
    engine = model.forward(np.array(ids), model.new_cache(256))[0]
    assert np.abs(engine - ours).max() < 1e-3


def test_chat_template_renders_the_training_format() -> None:
    from agentshell_chatformat import ChatTemplate

    from agentshell.protocol import Message, ToolCallRequest, ToolSpec

    conv = next(iter(generate(4, 1, kinds=("read_file",))))
    user, call, result, answer = conv.turns[1:5]
    assert call.tool_call is not None
    messages = [
        Message(role="system", content="The agent's long instructions, which the tiny model never saw."),
        Message(role="user", content=user.content),
        Message(
            role="assistant",
            tool_calls=(ToolCallRequest(id="c1", name=call.tool_call["name"], arguments=call.tool_call["arguments"]),),
        ),
        Message(role="tool", content=result.content, tool_call_id="c1", name=call.tool_call["name"]),
        Message(role="assistant", content=answer.content),
    ]
    template = ChatTemplate(CHAT_TEMPLATE, eos_token="<|im_end|>")
    tools = [ToolSpec(name="read_file", description="Read a file.", parameters={"type": "object"})]
    text = template.render(messages, tools=tools, add_generation_prompt=False)
    assert text == render(Conversation(conv.kind, conv.turns[:5]))
    assert "<|im_end|>" in template.stop
