"""api/failures.py (and cli/failures.py): an error's class alone decides its exit code and its line, not its name."""

from __future__ import annotations

import errno
import importlib
import pkgutil

import pytest

import agentshell
from agentshell import errors
from agentshell.api.failures import classify
from agentshell.cli.failures import user_errors
from agentshell.config import ConfigError
from agentshell.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TURN_LIMIT,
    EXIT_USAGE,
    UsageError,
    UserError,
)
from agentshell.loop.limits import Interrupted, LoopExit, RepeatedToolCall, TurnLimitReached
from agentshell.permissions.gate import RuleError
from agentshell.protocol import BackendUnavailable
from agentshell.registry import UnknownBackend
from agentshell.session import SessionBusy, SessionError, SessionNotFound, SessionWriteError

EXIT_CODES: dict[type[UserError], int] = {
    UsageError: EXIT_USAGE,
    ConfigError: EXIT_USAGE,
    RuleError: EXIT_USAGE,
    UnknownBackend: EXIT_USAGE,
    SessionError: EXIT_FAILURE,
    SessionNotFound: EXIT_USAGE,
    SessionBusy: EXIT_FAILURE,
    SessionWriteError: EXIT_FAILURE,
    LoopExit: EXIT_FAILURE,
    TurnLimitReached: EXIT_TURN_LIMIT,
    RepeatedToolCall: EXIT_FAILURE,
    Interrupted: EXIT_INTERRUPTED,
}


def test_the_exit_codes_scripts_rely_on() -> None:
    assert (EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_TURN_LIMIT, EXIT_INTERRUPTED) == (0, 1, 2, 3, 130)


@pytest.mark.parametrize(("error", "code"), EXIT_CODES.items(), ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_user_error_maps_to_its_exit_code(error: type[UserError], code: int) -> None:
    assert classify(error("what went wrong")) == (code, "what went wrong")


def test_every_user_error_of_the_package_exits_with_its_own_code() -> None:
    # Whatever module defines it, whatever its constructor wants: its class decides, nothing intercepts it.
    for module in pkgutil.walk_packages(agentshell.__path__, "agentshell."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[UserError]] = []
    todo = [UserError]
    while todo:
        subclasses = todo.pop().__subclasses__()
        found += subclasses
        todo += subclasses
    assert set(EXIT_CODES) <= set(found)
    undrawn = [e.__name__ for e in found if f" {e.__name__} " not in errors.__doc__]
    assert not undrawn, f"add {undrawn} to the error tree in agentshell/errors.py"
    for error in found:
        assert error.exit_code in (EXIT_FAILURE, EXIT_USAGE, EXIT_TURN_LIMIT, EXIT_INTERRUPTED), error
        exc = _instance(error)
        assert classify(exc) == (error.exit_code, str(exc)), error


def _instance(error: type[UserError]) -> UserError:
    try:
        return error("what went wrong")
    except Exception:  # a constructor that wants more than a message (a report, a path)
        exc = error.__new__(error)
        Exception.__init__(exc, "what went wrong")
        return exc


def test_moving_or_renaming_an_error_changes_nothing() -> None:
    moved = type("Missing", (SessionNotFound,), {"__module__": "somewhere.else"})
    assert classify(moved("no session 'x'")) == (EXIT_USAGE, "no session 'x'")
    impostor = type("SessionNotFound", (Exception,), {"__module__": "agentshell.session"})
    assert classify(impostor("no session 'x'")) is None  # a name is not a class: this one is a bug


def test_failures_outside_the_tree() -> None:
    assert classify(KeyboardInterrupt()) == (EXIT_INTERRUPTED, "interrupted")
    assert classify(BackendUnavailable("down", hint="start it")) == (EXIT_FAILURE, "down (start it)")
    missing = OSError(errno.ENOENT, "No such file or directory", "x.json")
    assert classify(missing) == (EXIT_FAILURE, "No such file or directory: x.json")
    assert classify(ValueError("boom")) is None


def test_user_errors_is_one_line_and_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info, user_errors():
        raise SessionNotFound("no session 'x' (see `agent sessions list`)")
    assert info.value.code == EXIT_USAGE
    assert capsys.readouterr().err == "agent: error: no session 'x' (see `agent sessions list`)\n"
    with pytest.raises(SystemExit) as info, user_errors():
        raise ValueError("boom")
    err = capsys.readouterr().err
    assert info.value.code == EXIT_FAILURE
    assert "Traceback" in err and err.endswith("agent: error: internal error: ValueError: boom (please report this)\n")
