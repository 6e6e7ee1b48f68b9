"""Refusing regular expressions that can take exponential time.

Python's ``re`` has no timeout, and a pattern with a repeat inside a repeat
(``(a+)+$``, ``(\\w+\\s*)*x``) backtracks exponentially on a line that almost
matches: one grep call would hang a non-interactive run. Such patterns are
refused with a hint; a rewrite without the nesting nearly always exists.
"""

from __future__ import annotations

import importlib
from typing import Any

_UNBOUNDED_OVER = 100  # {1,1000} backtracks like + does


def nested_repeat(pattern: str, flags: int = 0) -> bool:
    """True when a backtracking repeat contains another unbounded one."""
    try:  # the parser is private to ``re``; if it moves, skip the check rather than break grep
        parser: Any = importlib.import_module("re._parser")
        constants: Any = importlib.import_module("re._constants")
        tree = parser.parse(pattern, flags)
    except Exception:
        return False
    repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT}  # POSSESSIVE_REPEAT never backtracks

    def parts(op: Any, av: Any) -> list[Any]:
        """The sub-patterns of one node, for the nodes that have any."""
        if op is constants.SUBPATTERN:
            return [av[-1]]
        if op is constants.BRANCH:
            return list(av[1])
        if op in (constants.ASSERT, constants.ASSERT_NOT):
            return [av[1]]
        if op is constants.GROUPREF_EXISTS:
            return [branch for branch in av[1:] if branch is not None]
        return []

    def walk(items: Any, inside: bool) -> bool:
        for op, av in items:
            if op in repeats:
                unbounded = av[1] > _UNBOUNDED_OVER  # MAXREPEAT is an int too
                if (unbounded and inside) or walk(av[2], inside or unbounded):
                    return True
            elif any(walk(part, inside) for part in parts(op, av)):
                return True
        return False

    return walk(tree, False)
