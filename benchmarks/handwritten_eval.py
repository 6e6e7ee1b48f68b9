"""How well a built-in model serves requests written by hand, the way people type them.

The set is tests/fixtures/handwritten_requests/ (README there: how it was written, the
matching rules, the fixed split). Every item runs greedy through the real ``builtin``
backend (the file's own chat template, the agent's real system prompt and tool specs)
in a fresh temporary copy of its workspace, on real files:

1. call: the model's first reply to the request. A tool item is right when its first
   tool call matches one of the item's acceptable calls; a no-tool or refuse/ask item
   is right when the reply makes no tool call and says something.
2. answer (tool items): the conversation continues with the item's reference call and
   that call's real result; the answer is right when it makes no further call and
   contains every string the item quotes from the result.

    uv run python benchmarks/handwritten_eval.py [--model PATH.gguf] [--limit N] [--show N] [--heldout N]

The old held-out figure (generated requests) comes from benchmarks/builtin_eval.py;
``--heldout N`` runs it on N requests after this set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.backends.builtin

from agentshell_builtin.backend import BuiltinBackend, shipped_model_path

from agentshell.loop.instructions import system_prompt
from agentshell.protocol import (
    BackendFailure,
    ChatOptions,
    MalformedToolCall,
    Message,
    TextDelta,
    ToolCall,
    ToolCallRequest,
    ToolSpec,
)
from tests.backends.builtin.handwritten_set import (
    DATA_FILES,
    TOOLS,
    Item,
    Workspace,
    call_matches,
    load_items,
    load_workspaces,
    quotes_result,
    sha256,
    tool_runner,
)

CALL_TOKENS = 256  # a write_file call carries its whole content
ANSWER_TOKENS = 320


@dataclass
class Reply:
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    malformed: int = 0
    error: str = ""  # a backend failure, e.g. the prompt does not fit the window

    def shown(self) -> str:
        if self.error:
            return f"[{self.error}]"
        parts = [f"{c.name}({json.dumps(c.arguments, ensure_ascii=False)})" for c in self.calls]
        if self.malformed:
            parts.append(f"[{self.malformed} malformed call]")
        if self.text.strip():
            parts.append(repr(self.text.strip()))
        return " ".join(parts) or "[nothing]"


@dataclass
class Outcome:
    item: Item
    call_ok: bool
    reply: Reply
    answer_ok: bool | None = None  # None for items that need no tool
    answer: Reply | None = None


class Runner:
    def __init__(self, model: Path) -> None:
        self.backend = BuiltinBackend()
        self.model = f"builtin:{model}"

    def ask(self, messages: list[Message], tools: list[ToolSpec], max_tokens: int) -> Reply:
        reply = Reply()
        options = ChatOptions(temperature=0.0, max_tokens=max_tokens)
        text: list[str] = []
        try:
            for event in self.backend.chat(self.model, messages, tools=tools, options=options):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, ToolCall):
                    reply.calls.append(event)
                elif isinstance(event, MalformedToolCall):
                    reply.malformed += 1
        except BackendFailure as exc:
            reply.error = f"{type(exc).__name__}: {exc}"
        reply.text = "".join(text)
        return reply

    def run(self, item: Item, workspace: Workspace, scratch: Path) -> Outcome:
        root = workspace.build(scratch / item.id)
        tools = tool_runner(root)
        specs: list[ToolSpec] = tools.specs()
        messages = [
            Message(role="system", content=system_prompt(root, specs)),
            Message(role="user", content=item.request),
        ]
        first = self.ask(messages, specs, CALL_TOKENS)
        if item.expect != "tool":
            ok = not first.error and not first.calls and not first.malformed and bool(first.text.strip())
            return Outcome(item, ok, first)
        got = first.calls[0] if first.calls else None
        call_ok = got is not None and call_matches(got.name, got.arguments, item.calls)
        ref = item.reference
        result = tools.execute(ref.name, dict(ref.arguments))
        request = ToolCallRequest(id="call_ref", name=ref.name, arguments=ref.arguments)
        messages += [
            Message(role="assistant", content="", tool_calls=(request,)),
            Message(role="tool", content=result.output, tool_call_id=request.id, name=ref.name),
        ]
        answer = self.ask(messages, specs, ANSWER_TOKENS)
        answer_ok = not answer.error and not answer.calls and not answer.malformed and quotes_result(answer.text, item)
        return Outcome(item, call_ok, first, answer_ok, answer)


def spread(items: list[Item], limit: int | None) -> list[Item]:
    """``limit`` items evenly spaced over the file, so a short run still sees every workspace and tool."""
    if limit is None or limit >= len(items):
        return items
    if limit <= 0:
        return []
    return [items[i * len(items) // limit] for i in range(limit)]


def rate(good: int, n: int) -> str:
    return f"{good / n:6.1%} ({good}/{n})" if n else "     - (0/0)"


def report(outcomes: list[Outcome], show: int) -> None:
    tool = [o for o in outcomes if o.item.expect == "tool"]
    calls = sum(o.call_ok for o in tool)
    answers = sum(bool(o.answer_ok) for o in tool)
    both = sum(o.call_ok and bool(o.answer_ok) for o in tool)
    print(f"\n{'expected tool':<15}{'n':>5}{'right call':>18}{'answer quotes':>18}")
    for name in TOOLS:
        part = [o for o in tool if o.item.reference.name == name]
        ok_calls, ok_answers = sum(o.call_ok for o in part), sum(bool(o.answer_ok) for o in part)
        print(f"{name:<15}{len(part):>5}{rate(ok_calls, len(part)):>18}{rate(ok_answers, len(part)):>18}")
    print(f"{'all tools':<15}{len(tool):>5}{rate(calls, len(tool)):>18}{rate(answers, len(tool)):>18}")
    for expect in ("no_tool", "refuse_or_ask"):
        part = [o for o in outcomes if o.item.expect == expect]
        print(f"{expect:<15}{len(part):>5}{rate(sum(o.call_ok for o in part), len(part)):>18}")
    wrong_tool = Counter(
        f"{o.item.reference.name}->{o.reply.calls[0].name if o.reply.calls else 'no call'}"
        for o in tool
        if not o.call_ok and not (o.reply.calls and o.reply.calls[0].name in {c.name for c in o.item.calls})
    )
    right_tool = sum(1 for o in tool if o.reply.calls and o.reply.calls[0].name in {c.name for c in o.item.calls})
    print(f"\nright tool, whatever the arguments: {rate(right_tool, len(tool))}")
    print("wrong tool or no call, by (expected->called):", ", ".join(f"{k} {v}" for k, v in wrong_tool.most_common(8)))
    overflow = sum(1 for o in outcomes for r in (o.reply, o.answer) if r is not None and r.error)
    if overflow:
        print(f"backend failures (e.g. context overflow): {overflow}")
    print(f"\nright tool with right arguments: {rate(calls, len(tool))}  (target >= 90%)")
    print(f"answers quoting the result correctly: {rate(answers, len(tool))}  (target >= 85%)")
    print(f"both (call and answer right): {rate(both, len(tool))}")
    no_call = [o for o in outcomes if o.item.expect != "tool"]
    print(f"no-tool and refuse/ask replies without a call: {rate(sum(o.call_ok for o in no_call), len(no_call))}")
    if show:
        print()
        for o in [o for o in outcomes if not o.call_ok][:show]:
            want = o.item.reference.name if o.item.expect == "tool" else o.item.expect
            print(f"  call   {o.item.id} {o.item.request!r} want {want}: {o.reply.shown()[:200]}")
        for o in [o for o in tool if not o.answer_ok][:show]:
            shown = o.answer.shown()[:200] if o.answer else ""
            print(f"  answer {o.item.id} {o.item.request!r} must quote {list(o.item.quote)[:3]}: {shown}")


def heldout(model: Path, n: int) -> None:
    script = Path(__file__).with_name("builtin_eval.py")
    if n <= 0:
        command_line = f"uv run python benchmarks/{script.name} --model {model} --n 400"
        print(f"\nold held-out figure (generated requests): {command_line}")
        return
    command = [sys.executable, str(script), "--model", str(model), "--n", str(n)]
    print(f"\nold held-out figure (generated requests), {script.name} --n {n}:")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    if done.returncode != 0:
        print(f"  could not run it: {(done.stderr.strip().splitlines() or ['exit ' + str(done.returncode)])[-1]}")
    for line in lines:
        if line.startswith(("model ", "all ", "right tool", "answers quoting")):
            print(f"  {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="a GGUF file (default: the shipped agentshell-tiny)")
    ap.add_argument("--limit", type=int, default=None, help="run only this many items, evenly spread over the set")
    ap.add_argument("--show", type=int, default=5, help="print this many failures of each measurement")
    ap.add_argument("--out", type=Path, default=None, help="write one JSON line per item (replies, verdicts) here")
    ap.add_argument("--heldout", type=int, default=0, help="also run builtin_eval.py on this many generated requests")
    args = ap.parse_args()

    model = (args.model or shipped_model_path()).expanduser()
    if not model.is_file():
        sys.exit(f"handwritten_eval: no model file at {model}; give one with --model PATH.gguf")
    workspaces = load_workspaces()
    items = spread(load_items(), args.limit)
    runner = Runner(model)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="handwritten-") as tmp:
        for item in items:
            outcomes.append(runner.run(item, workspaces[item.workspace], Path(tmp)))
    elapsed = time.perf_counter() - started

    hashes = ", ".join(f"{p.name} {sha256(p)[:16]}" for p in DATA_FILES)
    what = f"{len(outcomes)} hand-written requests, greedy, {elapsed:.0f} s"
    print(f"model {model.name} (sha256 {sha256(model)[:16]}), {what}")
    print(f"set: {hashes}")
    report(outcomes, args.show)
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for o in outcomes:
                row: dict[str, Any] = {"id": o.item.id, "call_ok": o.call_ok, "reply": o.reply.shown()}
                if o.answer is not None:
                    row |= {"answer_ok": o.answer_ok, "answer": o.answer.shown()}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    heldout(model, args.heldout)


if __name__ == "__main__":
    main()
