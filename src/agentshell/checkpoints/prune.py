"""Keeping the shadow repository small: old history goes, from the oldest end of the timeline.

Pruning cuts a prefix of the timeline, never records in the middle: every point still
listed keeps the complete record of what changed after it, which a rewind needs to know
what to undo and what to refuse. A session whose records are all cut loses its ref,
and ``git gc`` then drops what no remaining ref reaches. Runs when an agent starts in
the workspace, only if the oldest record is older than ``Limits.keep_days`` or the
repository is larger than ``Limits.max_disk_bytes``; never while a rewind is pending.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import UTC, datetime, timedelta

from agentshell.checkpoints.store import CheckpointStore
from agentshell.checkpoints.timeline import Record, parse_time

MAX_ROUNDS = 4


def needs_pruning(store: CheckpointStore, now: datetime | None = None, *, disk: bool = True) -> bool:
    """Whether the oldest record is past ``keep_days`` or (``disk``) the repository is over its cap."""
    first = store.timeline.first()
    if first is None:
        return False
    cutoff = (now or datetime.now(UTC)) - timedelta(days=store.repo.limits.keep_days)
    if parse_time(first.time) < cutoff:
        return True
    return disk and store.repo.disk_bytes() > store.repo.limits.max_disk_bytes


def prune(store: CheckpointStore, keep: Set[str] = frozenset(), now: datetime | None = None) -> list[str]:
    """Cut old history; returns the sessions whose checkpoints are all gone. ``keep``: sessions in use now."""
    limits = store.repo.limits
    cutoff = (now or datetime.now(UTC)) - timedelta(days=limits.keep_days)
    dropped: list[str] = []
    with store.repo.locked():
        if store.journal.read() is not None:
            return dropped
        records = store.timeline.records()
        start = 0
        while start < len(records) and parse_time(records[start].time) < cutoff:
            start += 1
        for round_ in range(MAX_ROUNDS + 1):
            kept = records[start:]
            gone = _sessions_only_in(records[:start], kept, keep)
            if start or round_:
                store.timeline.rewrite(kept)
                store.repo.delete_refs(gone)
                store.repo.collect_garbage()
                dropped.extend(s for s in gone if s not in dropped)
            if store.repo.disk_bytes() <= limits.max_disk_bytes or round_ == MAX_ROUNDS:
                break
            further = _cut_older_half(records, start, keep)
            if further <= start:
                break
            start = further
    return dropped


def _sessions_only_in(cut: list[Record], kept: list[Record], keep: Set[str]) -> list[str]:
    remaining = {r.session for r in kept} | keep
    return list(dict.fromkeys(r.session for r in cut if r.session not in remaining))


def _cut_older_half(records: list[Record], start: int, keep: Set[str]) -> int:
    """A cut after the last record of the older half of the sessions that remain (``start`` if none can go).

    The newest session and the sessions in ``keep`` always stay, and so does everything after their first record.
    """
    last: dict[str, int] = {}
    first_kept = len(records)
    for i in range(start, len(records)):
        last[records[i].session] = i
        if records[i].session in keep:
            first_kept = min(first_kept, i)
    order = sorted(i for s, i in last.items() if s not in keep)[:-1]  # never the newest
    candidates = [i for i in order[: max(1, len(order) // 2)] if i < first_kept]
    return candidates[-1] + 1 if candidates else start
