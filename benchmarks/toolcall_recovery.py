"""Tool calls recovered from text: the field reports, the ordinary answers, and SmolLM2 on BFCL.

1. Field reports (tests/fixtures/toolcall_text/field, see its sources.md): the
   share whose calls come out exactly as expected, fed to CallRecovery whole,
   one character at a time, and cut at every position.
2. Ordinary answers (…/ordinary): false recoveries, i.e. answers that produced
   any call (target 0), under the same cuts.
3. ``--bfcl N``: the gguf backend with SmolLM2-135M under ``tool_choice=auto`` on
   the first N BFCL simple_python questions (data in tests/fixtures/bfcl); counts
   answers that open a call through the tag parser alone (what the backend did
   before the recovery) and with the calls the recovery read from bare JSON or
   XML (``ToolCall.recovered``).

    uv run python benchmarks/toolcall_recovery.py [--bfcl 400] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from agentshell_chatformat import CallRecovery

from agentshell.protocol import ChatOptions, MalformedToolCall, Message, TextDelta, ToolCall, ToolSpec

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from tests.backends.chatformat.toolcall_fixtures import (  # noqa: E402 (the checkout's tests package)
    field_cases,
    ordinary_answers,
    ordinary_tools,
)


def run(chunks: list[str], tools: list[ToolSpec]) -> tuple[list[tuple[str, dict[str, Any]]], str, int]:
    recovery = CallRecovery(tools)
    shown = "".join(e.text for chunk in chunks for e in recovery.feed(chunk))
    final = recovery.finish()
    shown += "".join(e.text for e in final if isinstance(e, TextDelta))
    calls = [(e.name, e.arguments) for e in final if isinstance(e, ToolCall)]
    return calls, shown, sum(isinstance(e, ToolCall | MalformedToolCall) for e in final)


def splits(text: str) -> list[list[str]]:
    return [[text], list(text)] + [[text[:cut], text[cut:]] for cut in range(1, len(text))]


def corpus() -> None:
    cases = field_cases()
    exact = 0
    for case in cases:
        ok = all(run(chunks, case.tools)[:2] == (case.calls, case.shown) for chunks in splits(case.text))
        exact += ok
        if not ok:
            print(f"  not recovered: {case.name}")
    print(f"field reports recovered exactly, under every split: {exact}/{len(cases)} ({100 * exact / len(cases):.0f}%)")
    answers = ordinary_answers()
    tools = ordinary_tools()
    false = 0
    for name, text in answers:
        bad = any(run(chunks, tools)[2] or run(chunks, tools)[1] != text for chunks in splits(text))
        false += bad
        if bad:
            print(f"  false recovery: {name}")
    print(f"ordinary answers turned into calls (or changed): {false}/{len(answers)}")


def bfcl(limit: int, threads: int) -> None:
    import bfcl_simple
    from agentshell_gguf import GGUFBackend

    from tests.backends.gguf.conftest import smollm2_path

    model = str(smollm2_path())
    backend = GGUFBackend({"threads": threads, "context_length": 2048})
    cases = bfcl_simple.load_cases(limit)
    tagged = recovered = 0
    started = time.perf_counter()
    for question, _ in cases:
        tools = [bfcl_simple.tool_of(f) for f in question["function"]]
        messages = [Message(role=m["role"], content=m["content"]) for m in bfcl_simple.messages_of(question)]
        options = ChatOptions(temperature=0, max_tokens=96, extra={"tool_choice": "auto"})
        calls = [
            e
            for e in backend.chat(model, messages, tools=tools, options=options)
            if isinstance(e, ToolCall | MalformedToolCall)
        ]
        native = [c for c in calls if not (isinstance(c, ToolCall) and c.recovered)]
        tagged += bool(native)
        recovered += bool(calls) and not native
    n = len(cases)
    print(
        f"BFCL simple_python, SmolLM2-135M Q4_1, tool_choice=auto, {n} questions, {time.perf_counter() - started:.0f} s"
    )
    after = tagged + recovered
    print(f"  answers opening a call, tag parser only (before): {tagged} ({100 * tagged / n:.1f}%)")
    print(f"  with calls recovered from text (after): {after} ({100 * after / n:.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bfcl", type=int, default=0, help="also run the first N BFCL questions through gguf")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    corpus()
    if args.bfcl:
        bfcl(args.bfcl, args.threads)


if __name__ == "__main__":
    main()
