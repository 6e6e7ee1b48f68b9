"""The errors a user causes or meets, and the exit codes a script sees; each defined here and nowhere else.

Every error that ends a command without a traceback is a :class:`UserError`:
``str()`` is the one line on stderr and ``exit_code`` is the status. The front
ends (:mod:`agentshell.api.failures`) classify by ``isinstance`` alone, so a
class can move or be renamed without turning a user's mistake into an
"internal error"::

    UserError                      exit_code  defined in
    ├── UsageError                 2          agentshell.errors: a flag or argument that cannot work as given
    │   └── InvalidInput           2            agentshell.cli.stream_input: an unreadable stream-json input line
    ├── ConfigError                2          agentshell.config: a config file or value that cannot be used
    ├── RuleError                  2          agentshell.permissions.gate: a bad --allow/--deny rule or mode
    ├── UnknownBackend             2          agentshell.registry: no backend by that name (also a BackendFailure)
    ├── SessionError               1          agentshell.session: a transcript cannot be opened or written
    │   ├── SessionNotFound        2            no session by that id (or it is damaged)
    │   ├── SessionBusy            1            another running agent holds it
    │   └── SessionWriteError      1            disk full, permissions
    ├── CheckpointError            1          agentshell.checkpoints: snapshots cannot be taken or read here
    │   ├── GitMissing             1            no git on PATH
    │   ├── GitFailed              1            a git call failed
    │   ├── RewindTargetError      2            no such session, request or checkpoint
    │   ├── RewindPending          1            an interrupted rewind must be finished first
    │   └── RewindRefused          1            files changed outside the agent (--force overwrites)
    ├── SandboxUnavailable         1          agentshell.tools.sandbox: --sandbox asked for, none can run here
    └── LoopExit                   1          agentshell.loop.limits: the loop stopped before a final answer
        ├── TurnLimitReached       3            --max-turns
        ├── RepeatedToolCall       1            the model repeats the same call
        ├── Interrupted            130          Ctrl-C during a turn
        ├── Declined               1            the user said no to a call (the REPL asks what to do instead)
        └── Blocked                1            a UserPromptSubmit hook refused the prompt

Outside the tree, because they are not ours to subclass: ``protocol.BackendFailure``
(exit 1; backends raise it and import nothing but the protocol), ``KeyboardInterrupt``
(130) and ``OSError`` (1). Anything else is a bug and says so. docs/scripting.md
lists the exit codes for people.

Nothing heavy is imported here: ``agent launch --help`` and every layer may import this module.
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1  # backend or runtime failure: server down, model missing, repeated tool call
EXIT_USAGE: Final = 2  # bad flag value, bad rule, unknown backend or session, nothing to do
EXIT_TURN_LIMIT: Final = 3  # --max-turns reached with the task unfinished
EXIT_INTERRUPTED: Final = 130  # Ctrl-C, as a shell reports SIGINT (128 + 2)


class UserError(Exception):
    """An error that ends a command with one line for the user instead of a traceback."""

    exit_code: int = EXIT_FAILURE


class UsageError(UserError):
    """The command line cannot work as given; ``str()`` says what to type instead."""

    exit_code = EXIT_USAGE
