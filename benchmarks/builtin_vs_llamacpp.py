"""Speed and memory of the numpy engine against llama.cpp on the same GGUF files.

    uv run python benchmarks/builtin_vs_llamacpp.py [--threads N] [--prompt-tokens 128] [--decode-tokens 32]

For each file (SmolLM2-135M-Instruct Q4_1, and a tiny random F32 llama written
to a temporary directory), both engines get the same prompt ids and the same
thread count. The quantized file runs twice on the numpy engine: with
llama.cpp's arithmetic reproduced bit for bit (the engine's default for
quantized files, llamacpp_numerics.py) and with plain float32 numerics (what
the chat backend runs unless AGENT_BUILTIN_NUMERICS=llama.cpp). Prefill is one
batched pass over the prompt, decode is greedy, one token at a time against the
KV cache (F32 in both). Each figure is the best
of ``--repeat`` runs, and printed as a ratio to llama.cpp measured in this
process, never as an absolute claim. Peak memory of the numpy engine (load +
prefill + decode) is measured with tracemalloc, which sees numpy's buffers,
against the size of the weights in float32.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.backends.builtin

from agentshell_builtin.backend import blas_threads
from agentshell_builtin.gguf_loader import _open, load_gguf, read_vocab
from agentshell_builtin.tokenizer import Tokenizer

from tests.backends.builtin.builtin_gguf_fixtures import small_bpe_vocab, smollm2_path, write_llama_gguf

TEXT = (
    "The built-in engine reads the same GGUF file as llama.cpp and runs it with numpy: an embedding lookup, "
    "blocks of grouped-query attention with rotary positions and a KV cache, SwiGLU feed-forward layers, "
    "RMSNorm, and a final projection to the vocabulary. def f(x):\n    return [i * i for i in range(x)]\n"
) * 8


def best_of(repeat: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeat))


def bench_ours(
    path: Path, prompt: list[int], n_decode: int, threads: int, repeat: int, match_llama_cpp: bool
) -> dict[str, float]:
    gc.collect()
    tracemalloc.start()
    model = load_gguf(path, match_llama_cpp=match_llama_cpp)
    llama = model.build()

    def prefill() -> float:
        cache = llama.new_cache(len(prompt) + n_decode + 1)
        with blas_threads(threads):
            t0 = time.perf_counter()
            llama.forward(prompt, cache, last_only=True)
            return time.perf_counter() - t0

    def decode() -> float:
        cache = llama.new_cache(len(prompt) + n_decode + 1)
        with blas_threads(threads):
            logits = llama.forward(prompt, cache, last_only=True)[0, -1]
            t0 = time.perf_counter()
            for _ in range(n_decode):
                logits = llama.forward([int(np.argmax(logits))], cache, last_only=True)[0, -1]
            return time.perf_counter() - t0

    prefill_s = prefill()  # the first run under tracemalloc gives the peak
    decode_s = decode()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    prefill_s = min(prefill_s, best_of(repeat - 1, prefill)) if repeat > 1 else prefill_s
    decode_s = min(decode_s, best_of(repeat - 1, decode)) if repeat > 1 else decode_s
    return {
        "prefill_tps": len(prompt) / prefill_s,
        "decode_tps": n_decode / decode_s,
        "peak_bytes": float(peak),
    }


def weights_f32_bytes(path: Path) -> int:
    """What the file's weights take as float32: the yardstick for memory (a tied output counts once)."""
    return sum(int(t.n_elements) * 4 for t in _open(path).tensors)


def bench_llama_cpp(path: Path, prompt: list[int], n_decode: int, threads: int, repeat: int) -> dict[str, float]:
    import llama_cpp

    ref: Any = llama_cpp.Llama(
        str(path),
        n_ctx=len(prompt) + n_decode + 8,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        type_k=llama_cpp.GGML_TYPE_F32,
        type_v=llama_cpp.GGML_TYPE_F32,
        verbose=False,
    )

    def prefill() -> float:
        ref.reset()
        t0 = time.perf_counter()
        ref.eval(prompt)
        return time.perf_counter() - t0

    def decode() -> float:
        ref.reset()
        ref.eval(prompt)
        t0 = time.perf_counter()
        for _ in range(n_decode):
            ref.eval([int(np.argmax(ref.scores[ref.n_tokens - 1]))])
        return time.perf_counter() - t0

    result = {"prefill_tps": len(prompt) / best_of(repeat, prefill), "decode_tps": n_decode / best_of(repeat, decode)}
    ref.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="threads for both engines (default 1)")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tokens, types, merges = small_bpe_vocab(2000)
        tiny = write_llama_gguf(
            Path(tmp) / "tiny.gguf",
            n_layer=4,
            n_embd=256,
            n_head=8,
            n_kv_head=4,
            ffn_dim=768,
            tokens=tokens,
            token_types=types,
            merges=merges,
            tied=True,
        )
        files = [("SmolLM2-135M Q4_1", smollm2_path()), ("tiny F32 (4x256, 2k vocab)", tiny)]
        print(
            f"threads: {args.threads}, prompt: {args.prompt_tokens} tokens, decode: {args.decode_tokens} tokens, "
            f"best of {args.repeat}"
        )
        for label, path in files:
            prompt = Tokenizer(read_vocab(_open(path))).encode(TEXT)[: args.prompt_tokens]
            ref = bench_llama_cpp(path, prompt, args.decode_tokens, args.threads, args.repeat)
            print(f"\n{label}: {path.name}")
            modes = (("llama.cpp numerics", True), ("float32 numerics", False)) if "Q4_1" in label else (("", False),)
            for mode, exact in modes:
                ours = bench_ours(path, prompt, args.decode_tokens, args.threads, args.repeat, exact)
                print(f"  numpy engine{', ' + mode if mode else ''}:")
                for key, name in (("prefill_tps", "prefill"), ("decode_tps", "decode")):
                    print(
                        f"    {name:8s} numpy {ours[key]:8.1f} tok/s   llama.cpp {ref[key]:8.1f} tok/s   "
                        f"ratio {ours[key] / ref[key]:.3f}x"
                    )
                print(
                    f"    peak memory (tracemalloc) {ours['peak_bytes'] / 1e6:.1f} MB = "
                    f"{ours['peak_bytes'] / weights_f32_bytes(path):.2f}x the F32 weights "
                    f"({weights_f32_bytes(path) / 1e6:.1f} MB)"
                )


if __name__ == "__main__":
    main()
