"""Cost of a durable session append (JSON line + redaction + fsync) against a plain buffered write of the same line.

Run: uv run python benchmarks/session_append.py
Prints microseconds per message and ratios against the plain write measured in this process.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentshell.protocol import Message
from agentshell.session import SessionStore

COUNT = 200
SIZES = (300, 20_000)  # a chat message, a large tool output


def _per_message(fn: Callable[[Message], None], messages: list[Message]) -> float:
    started = time.perf_counter()
    for m in messages:
        fn(m)
    return (time.perf_counter() - started) / len(messages) * 1e6


def main() -> None:
    os.environ.setdefault("BENCH_API_KEY", "bench-secret-value-123")  # something for redact to look for
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"session append, {COUNT} messages per size, temp dir {root}")
        for size in SIZES:
            messages = [Message(role="assistant", content=f"{i} " + "x" * size) for i in range(COUNT)]
            runs: dict[str, list[float]] = {"plain": [], "flush": [], "session": [], "nofsync": []}
            for m in messages:  # warm up serialization so the first measured run is not the slow one
                json.dumps(m.model_dump(mode="json"))
            for r in range(5):
                with (root / f"plain-{size}-{r}.jsonl").open("w") as f:

                    def plain(m: Message, f: object = f) -> None:
                        f.write(json.dumps(m.model_dump(mode="json")) + "\n")  # type: ignore[attr-defined]

                    runs["plain"].append(_per_message(plain, messages))
                with (root / f"flush-{size}-{r}.jsonl").open("w") as g:

                    def flushed(m: Message, g: object = g) -> None:
                        g.write(json.dumps(m.model_dump(mode="json")) + "\n")  # type: ignore[attr-defined]
                        g.flush()  # type: ignore[attr-defined]

                    runs["flush"].append(_per_message(flushed, messages))
                with SessionStore(root / "sessions").create(root) as session:
                    runs["session"].append(
                        _per_message(lambda m, s=session: s.append(m, backend="bench", model="m"), messages)
                    )
                real_fsync = os.fsync
                os.fsync = lambda fd: None  # the same append without the disk flush: what durability costs
                try:
                    with SessionStore(root / "sessions").create(root) as session:
                        runs["nofsync"].append(
                            _per_message(lambda m, s=session: s.append(m, backend="bench", model="m"), messages)
                        )
                finally:
                    os.fsync = real_fsync
            plain_us = statistics.median(runs["plain"])
            nofsync_us = statistics.median(runs["nofsync"])
            flush_us = statistics.median(runs["flush"])
            session_us = statistics.median(runs["session"])
            print(
                f"  {size:>6}-char messages: plain write {plain_us:8.1f} µs | write+flush {flush_us:8.1f} µs "
                f"({flush_us / plain_us:5.1f}x) | Session.append (redact+fsync) {session_us:8.1f} µs "
                f"({session_us / plain_us:6.1f}x plain)"
            )
            print(
                f"  {'':>6}                 the same append without fsync {nofsync_us:8.1f} µs "
                f"({nofsync_us / plain_us:5.1f}x plain): fsync is {1 - nofsync_us / session_us:.0%} of the cost"
            )


if __name__ == "__main__":
    main()
