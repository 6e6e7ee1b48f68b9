"""How well the shipped model uses the tools, on held-out requests (unseen phrasings and file names).

Two measurements, both greedy, on conversations from the corpus generator's
held-out split (a seed the training never used):

1. tool calls: given the request, does the model call the right tool with exactly
   the right arguments (parsed as JSON, compared as dicts)?
2. answers: given the request, the call and the real tool result, does the answer
   quote the result correctly (every line of the result the reference answer
   quotes, or for one-line answers every value the reference names)?

Runs on the numpy engine (``model.py``); ``--engine llama.cpp`` uses
llama-cpp-python on the same file instead.

    uv run python benchmarks/builtin_eval.py [--model PATH.gguf] [--n 100] [--engine numpy|llama.cpp]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentshell_train.corpus import FAILURE_INTROS, TOOL_KINDS, Conversation, generate, render

SHIPPED = Path(__file__).resolve().parents[1] / "backends/builtin/src/agentshell_builtin/models/agentshell-tiny.gguf"
EVAL_SEED = 1000  # the shipped model was trained on seed 0; the held-out split at another seed is doubly unseen


def numpy_generator(path: Path) -> Callable[[str, int], str]:
    from agentshell_builtin.gguf_loader import load_gguf
    from agentshell_builtin.tokenizer import Tokenizer

    loaded = load_gguf(path)
    model = loaded.build()
    tok = Tokenizer(loaded.vocab)

    def generate_text(prompt: str, max_new: int) -> str:
        ids = tok.encode(prompt, add_special=False, parse_special=True)
        return tok.decode(model.greedy(ids, max_new, tok.stop_ids))

    return generate_text


def llama_cpp_generator(path: Path) -> Callable[[str, int], str]:
    import llama_cpp

    llm = llama_cpp.Llama(str(path), n_ctx=512, n_threads=1, verbose=False)

    def generate_text(prompt: str, max_new: int) -> str:
        ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        out = llm.create_completion(ids, max_tokens=max_new, temperature=0.0, top_k=1, stop=["<|im_end|>"])
        return str(out["choices"][0]["text"])

    return generate_text


def parse_call(text: str) -> dict[str, Any] | None:
    body = text.strip()
    if not (body.startswith("<tool_call>") and body.endswith("</tool_call>")):
        return None
    try:
        call = json.loads(body.removeprefix("<tool_call>").removesuffix("</tool_call>"))
    except ValueError:
        return None
    return call if isinstance(call, dict) else None


def quotes_correctly(answer: str, reference: str, call: dict[str, Any]) -> bool:
    """Multi-line references quote a result after an intro line: every quoted line must be in the answer.
    One-line references (writes, edits, errors, empty results) must name the same values."""
    ref_lines = reference.splitlines()
    got = set(answer.splitlines())
    if len(ref_lines) > 1:
        return all(line in got for line in ref_lines[1:])
    values = [v for v in call["arguments"].values() if isinstance(v, str)]
    if reference.startswith(FAILURE_INTROS):  # failures quote the tool's reason after the colon
        return reference.split(": ", 1)[1] in answer
    return all(v in answer for v in values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=SHIPPED)
    ap.add_argument("--n", type=int, default=100, help="held-out conversations")
    ap.add_argument("--engine", choices=["numpy", "llama.cpp"], default="numpy")
    ap.add_argument(
        "--split",
        choices=["heldout", "train"],
        default="heldout",
        help="train: phrasings and names the model was trained on (a sanity check)",
    )
    ap.add_argument("--show", type=int, default=3, help="print this many failures of each measurement")
    args = ap.parse_args()

    gen = numpy_generator(args.model) if args.engine == "numpy" else llama_cpp_generator(args.model)
    convs: list[Conversation] = list(generate(EVAL_SEED, args.n, args.split, kinds=TOOL_KINDS))
    calls_ok: Counter[str] = Counter()
    answers_ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    fails: dict[str, list[str]] = {"call": [], "answer": []}
    started = time.perf_counter()
    for conv in convs:
        system, user, call, result, answer = conv.turns[:5]
        assert call.tool_call is not None
        total[conv.kind] += 1
        prompt = render(Conversation(conv.kind, (system, user))) + "<|im_start|>assistant\n"
        produced = gen(prompt, 96)
        if parse_call(produced) == call.tool_call:
            calls_ok[conv.kind] += 1
        else:
            fails["call"].append(f"{user.content!r} -> {produced!r}")
        prompt = render(Conversation(conv.kind, (system, user, call, result))) + "<|im_start|>assistant\n"
        reply = gen(prompt, 160)
        if quotes_correctly(reply, answer.content, call.tool_call):
            answers_ok[conv.kind] += 1
        else:
            fails["answer"].append(f"{result.content[:80]!r} -> {reply!r}")
    elapsed = time.perf_counter() - started
    n = sum(total.values())
    print(f"model {args.model.name} on the {args.engine} engine, {n} {args.split} requests, {elapsed:.0f} s")
    print(f"{'tool':<12}{'n':>4}{'call exact':>12}{'answer quotes':>15}")
    for kind in TOOL_KINDS:
        if total[kind]:
            calls, answers = calls_ok[kind] / total[kind], answers_ok[kind] / total[kind]
            print(f"{kind:<12}{total[kind]:>4}{calls:>12.0%}{answers:>15.0%}")
    call_rate = sum(calls_ok.values()) / n
    answer_rate = sum(answers_ok.values()) / n
    print(f"{'all':<12}{n:>4}{call_rate:>12.1%}{answer_rate:>15.1%}")
    print(f"right tool with exactly the right arguments: {call_rate:.1%} (target ≥ 90%)")
    print(f"answers quoting the tool result correctly: {answer_rate:.1%} (target ≥ 80%)")
    for what, items in fails.items():
        for line in items[: args.show]:
            print(f"  {what} failure: {line}")


if __name__ == "__main__":
    main()
