"""From an exception to one line on stderr and an exit code a script can branch on.

The exit codes and the error tree are defined in :mod:`agentshell.errors`
(docs/scripting.md lists them for people). Every command that talks to backends
or sessions wraps its body in :func:`user_errors`, so no user mistake ever ends
in a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from agentshell.errors import EXIT_FAILURE, EXIT_INTERRUPTED, UserError


def classify(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one line) for the errors users cause or meet; None for real bugs.

    By class alone, never by module or class name: moving or renaming an error changes nothing here.
    """
    from agentshell.protocol import BackendFailure

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, UserError):  # before BackendFailure: an unknown backend is both, and a usage error
        return exc.exit_code, str(exc)
    if isinstance(exc, BackendFailure):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, OSError):
        return EXIT_FAILURE, f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"
    return None


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
        known = classify(exc)
        if known is None or debug:
            import traceback

            traceback.print_exc()
        if known is None:
            fail(EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc} (please report this)")
        fail(*known)
