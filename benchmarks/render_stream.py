"""Streaming Markdown through the renderer must cost time linear in the answer's length.

Feeds 2,000 and 20,000 tokens of Markdown (paragraphs, lists, fenced code) one
token at a time into a terminal-sized console, as a model would stream them,
and prints the time ratio (target: at most 12 for 10x the tokens). For scale,
it also times the naive approach (rich Markdown re-rendered from scratch on
every token) on a short answer.

    uv run python benchmarks/render_stream.py
"""

from __future__ import annotations

import io
import random
import time

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from agentshell.cli.render import TerminalRenderer
from agentshell.protocol import Done, TextDelta

WORDS = tuple(
    [
        "the",
        "agent",
        "reads",
        "a",
        "file",
        "then",
        "edits",
        "the",
        "function",
        "and",
        "runs",
        "the",
        "tests",
        "again",
        "until",
        "they",
        "pass",
    ]
)


def markdown_answer(tokens: int, seed: int = 0) -> list[str]:
    """A Markdown answer cut into ~``tokens`` pieces the way a tokenizer would (words, spaces, punctuation)."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < tokens:
        kind = rng.random()
        if kind < 0.5:
            out += [f"{rng.choice(WORDS)} " for _ in range(rng.randint(20, 60))] + [".\n\n"]
        elif kind < 0.75:
            for _ in range(rng.randint(2, 5)):
                out += ["- ", "**", rng.choice(WORDS), "**", " "] + [f"{rng.choice(WORDS)} " for _ in range(6)] + ["\n"]
            out.append("\n")
        else:
            out.append("```python\n")
            for i in range(rng.randint(3, 12)):
                out += ["def", f" f{i}", "(x", "):", "\n", "    return", " x", " *", f" {i}", "\n"]
            out.append("```\n\n")
    return out[:tokens]


def terminal() -> Console:
    return Console(file=io.StringIO(), width=100, height=40, force_terminal=True, color_system="truecolor")


def stream(tokens: list[str]) -> float:
    # CPU time of this process: the machine is shared, and wall time would measure the neighbours.
    renderer = TerminalRenderer(terminal())
    start = time.process_time()
    for token in tokens:
        renderer.on_event(TextDelta(text=token))
    renderer.on_event(Done())
    return time.process_time() - start


def naive(tokens: list[str]) -> float:
    """What the renderer avoids: the whole answer re-rendered on every token."""
    console = terminal()
    start = time.process_time()
    text = ""
    with Live(console=console, auto_refresh=False, vertical_overflow="visible") as live:
        for token in tokens:
            text += token
            live.update(Markdown(text), refresh=True)
    return time.process_time() - start


def best_of(runs: int, fn: object, tokens: list[str]) -> float:
    return min(fn(tokens) for _ in range(runs))  # type: ignore[operator]


def main() -> None:
    small, large = markdown_answer(2_000), markdown_answer(20_000)
    stream(small)  # warm up imports and caches
    t_small = best_of(3, stream, small)
    t_large = best_of(2, stream, large)
    naive_tokens = markdown_answer(300)
    t_naive = naive(naive_tokens)
    t_ours_500 = best_of(3, stream, naive_tokens)
    chars = sum(map(len, large))
    print(
        f"render_stream: CPU time 2,000 tokens {t_small * 1000:.0f} ms, "
        f"20,000 tokens ({chars:,} chars) {t_large * 1000:.0f} ms"
    )
    print(f"render_stream: ratio 20k/2k = {t_large / t_small:.1f} (target <= 12; 10.0 is perfectly linear)")
    print(f"render_stream: per token {t_large / len(large) * 1e6:.0f} us at 20,000 tokens")
    print(
        f"render_stream: naive re-render of 300 tokens {t_naive * 1000:.0f} ms = "
        f"{t_naive / t_ours_500:.1f}x the block renderer on the same answer"
    )


if __name__ == "__main__":
    main()
