"""Every block's output on SmolLM2 Q4_1, bit for bit against llama.cpp's own intermediate tensors.

llama.cpp hands each tensor of its compute graph to an eval callback
(``cb_eval``); we keep the residual stream after each block (``l_out-N``) and
run our blocks one by one on the same ids. With llama.cpp's numerics
(llamacpp_numerics.py) all 30 must be *equal*, not close: activations are
rounded to 8 bits before every product, so one differing last bit would show
up as a flipped quant and grow from there. Prefill (tinyBLAS attention) and a
single decoded token (``ggml_vec_dot_f32`` attention) take different kernels
in llama.cpp, so both are checked.

The callback reads ``struct ggml_tensor`` through ctypes, laid out as in the
ggml that llama-cpp-python 0.3.36 vendors (ggml/include/ggml.h).
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentshell_builtin.gguf_loader import load_gguf
from agentshell_builtin.model import block
from agentshell_builtin.tokenizer import Tokenizer

from tests.backends.builtin.builtin_gguf_fixtures import llama_cpp_reference
from tests.backends.builtin.test_builtin_vs_llamacpp import VARIED_PROMPT

pytestmark = pytest.mark.slow


class GGMLTensor(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4),
        ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p), ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64), ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]  # fmt: skip


def llama_cpp_with_capture(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, np.ndarray[Any, Any]]]:
    """A llama.cpp context whose eval callback copies every contiguous float32 ``l_out-N`` it computes."""
    llama_cpp = pytest.importorskip("llama_cpp")
    captured: dict[str, np.ndarray[Any, Any]] = {}

    @llama_cpp.ggml_backend_sched_eval_callback  # type: ignore[untyped-decorator]
    def keep(tensor: int, ask: bool, _user: int) -> bool:
        t = ctypes.cast(tensor, ctypes.POINTER(GGMLTensor)).contents
        name = t.name.decode()
        if ask or not name.startswith("l_out-") or t.type != 0 or not t.data:
            return True
        ne0, ne1 = int(t.ne[0]), int(t.ne[1])
        if int(t.nb[1]) == 4 * ne0:
            flat = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_float)), shape=(ne0 * ne1,))
            captured[name] = flat.reshape(ne1, ne0).copy()  # (tokens, C)
        return True

    default_params = llama_cpp.llama_context_default_params

    def with_callback() -> Any:
        params = default_params()
        params.cb_eval = keep
        return params

    monkeypatch.setattr(llama_cpp.llama_cpp, "llama_context_default_params", with_callback)  # what Llama() calls
    ref = llama_cpp_reference(path, n_ctx=256)
    ref._keep_callback_alive = keep
    return ref, captured


def test_every_block_equals_llama_cpp_bit_for_bit(smollm2_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_gguf(smollm2_file)
    llama = model.build()
    ids = Tokenizer(model.vocab).encode(VARIED_PROMPT, parse_special=True)[:48]
    ref, captured = llama_cpp_with_capture(smollm2_file, monkeypatch)

    cfg = model.config
    cache = llama.new_cache(64)
    for new in (ids[:-1], ids[-1:]):  # a prompt of 47 tokens, then one decoded token
        captured.clear()
        ref.eval(new)
        positions = np.arange(cache.length, cache.length + len(new))
        rope = llama.ops.rope_tables(cfg.rope_dim, cfg.rope_base, cfg.rope_scale, positions, None)
        x = llama.embed(np.array([new]))
        unequal = []
        for layer, lw in enumerate(model.weights.layers):
            x = block(x, lw, cfg, cache, layer, rope, llama.ops, None)
            theirs = captured[f"l_out-{layer}"]
            if not np.array_equal(x[0], theirs):
                unequal.append((layer, int((x[0] != theirs).sum()), float(np.abs(x[0] - theirs).max())))
        cache.length += len(new)
        assert not unequal, f"{len(new)} token(s): blocks (layer, values differing, max diff) {unequal}"
