"""Cutting generated text at stop strings without ever showing part of one.

A text-completion engine produces text piece by piece, and a stop string such
as ``<|im_end|>`` may arrive split over several pieces. :class:`StopScanner`
releases text only once it cannot be the start of a stop string, and reports
the stop when one is complete; the stop string itself is never released.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopScanner:
    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    @property
    def pending(self) -> str:
        """Text received but not yet released (a possible stop-string prefix)."""
        return self._pending

    def discard_pending(self) -> str:
        held, self._pending = self._pending, ""
        return held

    def feed(self, text: str) -> str:
        """Text safe to show now; sets :attr:`stopped` when a stop string completes (later text is dropped)."""
        if self.stopped:
            return ""
        buf = self._pending + text
        cut = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return buf[:cut]
        keep = 0
        for stop in self._stops:
            for k in range(min(len(buf), len(stop) - 1), keep, -1):
                if stop.startswith(buf[-k:]):
                    keep = k
                    break
        self._pending = buf[len(buf) - keep :]
        return buf[: len(buf) - keep]

    def flush(self) -> str:
        """At the end of generation: whatever was held back was not a stop string after all."""
        held, self._pending = self._pending, ""
        return "" if self.stopped else held
