"""Path globs shared by permission rules and the search tools.

``*`` and ``?`` stay inside one directory and ``**`` crosses them, unlike
:mod:`fnmatch`; the rules in ``permissions/gate.py`` and the ``glob``/``grep``
filters in ``tools/search.py`` must agree on what a pattern means, so both
compile it here.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def path_regex(pattern: str) -> re.Pattern[str]:
    """fnmatch for paths: ``*`` and ``?`` stay in one directory, ``**`` crosses them."""
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), flags=re.DOTALL)


def path_matches(pattern: str, subject: str) -> bool:
    return path_regex(pattern).fullmatch(subject) is not None
