"""From an exception to one line on stderr and an exit code a script can branch on.

Exit codes (documented in the README, "Exit codes")::

    0    success
    1    backend or runtime failure (server down, model missing, repeated tool call...)
    2    usage error (bad flag value, bad rule, unknown backend or session, nothing to do)
    3    turn limit reached (--max-turns)
    130  interrupted (Ctrl-C)

Every command that talks to backends or sessions wraps its body in
:func:`user_errors`, so no user mistake ever ends in a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_TURN_LIMIT = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line cannot work as given; ``str()`` says what to type instead."""


def classify(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one line) for the errors users cause or meet; None for real bugs."""
    from agentshell.config import ConfigError
    from agentshell.protocol import BackendFailure
    from agentshell.registry import UnknownBackend

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, UsageError | ConfigError | UnknownBackend):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, BackendFailure):
        return EXIT_FAILURE, str(exc)
    from agentshell.loop.limits import LoopExit

    if isinstance(exc, LoopExit):
        return exc.exit_code, str(exc)
    module = type(exc).__module__
    if module == "agentshell.session":
        not_found = type(exc).__name__ == "SessionNotFound"
        return (EXIT_USAGE if not_found else EXIT_FAILURE), str(exc)
    if module == "agentshell.permissions.gate" and isinstance(exc, ValueError):  # RuleError: a bad --allow/--deny
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OSError):
        return EXIT_FAILURE, f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"
    return None


def fail(code: int, line: str) -> NoReturn:
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
        assert known is not None
        fail(*known)
