"""From an exception to an exit code and one line: what a run's ``error`` event says, and what the CLI prints.

The exit codes and the error tree are defined in :mod:`agentshell.errors` (docs/scripting.md lists them
for people). The API reports every failure that ends a run this way, and the command line
(cli/failures.py) ends a command with the same line, so no user mistake ever ends in a traceback.
"""

from __future__ import annotations

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


def describe(exc: BaseException) -> tuple[int, str]:
    """:func:`classify`, and for a bug the line that asks for a report."""
    return classify(exc) or (EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc} (please report this)")
