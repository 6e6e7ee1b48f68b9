"""From an exception to one line on stderr and an exit code a script can branch on.

Which line and which code: :func:`agentshell.api.failures.classify`, the same the API reports in a run's
``error`` event. Every command that talks to backends or sessions wraps its body in :func:`user_errors`,
so no user mistake ever ends in a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from agentshell.errors import EXIT_INTERRUPTED


def fail(code: int, line: str) -> NoReturn:
    from agentshell.cli.safe_text import for_stream

    line = for_stream(line, sys.stderr)  # a server's error message may carry escape sequences
    sys.stderr.write(f"agent: error: {line}\n" if code != EXIT_INTERRUPTED else f"agent: {line}\n")
    sys.stderr.flush()
    raise SystemExit(code)


@contextmanager
def user_errors(debug: bool = False) -> Iterator[None]:
    """Turn known failures into one line and an exit code; with ``debug``, keep the traceback too."""
    try:
        yield
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        from agentshell.api.failures import classify, describe  # the API only on the way out of a failure

        if classify(exc) is None or debug:
            import traceback

            traceback.print_exc()
        fail(*describe(exc))
