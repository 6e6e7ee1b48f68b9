"""Build everything one ``agent launch`` needs, from flags, config and the workspace.

Kept apart from the Typer command so that ``agent launch --help`` imports none
of it, and so the REPL can rebuild the backend half on ``/model``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentshell.config import Config, credential_env_vars, load_config
from agentshell.errors import UsageError
from agentshell.permissions.modes import PermissionMode
from agentshell.protocol import Backend, ChatOptions, ModelInfo, ThinkLevel

if TYPE_CHECKING:  # the loop, tools and sessions are imported by assemble(), not by `agent launch --help`
    from agentshell.checkpoints.recorder import Checkpoint, Checkpointer
    from agentshell.loop.context import ContextKeeper
    from agentshell.permissions.gate import Approval, ApprovalRequest, PermissionGate
    from agentshell.registry import BackendPool
    from agentshell.session import Session
    from agentshell.tools import ToolRunner


@dataclass(frozen=True)
class LaunchOptions:
    """The flags of ``agent launch`` that shape the run (the rest only pick the front end)."""

    model: str | None = None
    backend: str | None = None
    max_turns: int | None = None
    permission_mode: PermissionMode | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    continue_session: bool = False
    resume: str | None = None
    backend_flags: Mapping[str, Any] = field(default_factory=dict)
    """``--host``, ``--base-url``, ``--gpu-layers`` as ``{"host": ...}``: each goes to the backends that declare it."""
    think: ThinkLevel | None = None
    temperature: float | None = None
    seed: int | None = None
    debug: bool = False
    workspace: Path = field(default_factory=Path.cwd)
    sandbox: bool | None = None
    """``--sandbox`` / ``--no-sandbox``; None leaves it to the config and the mode (cli/sandboxing.py)."""
    sandbox_allow_net: tuple[str, ...] = ()

    def flags(self) -> dict[str, Any]:
        """Dotted config keys, for :func:`agentshell.config.load_config` (None = not given).

        ``--allow`` / ``--deny`` are not here: they add to the config file's rules instead of replacing them.
        """
        return {
            "model": self.model,
            "backend": self.backend,
            "max_turns": self.max_turns,
            "permission_mode": self.permission_mode,
            "temperature": self.temperature,
            "seed": self.seed,
            "sandbox": self.sandbox,
        }


@dataclass
class Assembly:
    """One run's parts. ``switch`` swaps the model half; the rest stays."""

    config: Config
    pool: BackendPool
    backend: Backend
    model: str
    info: ModelInfo
    context: ContextKeeper
    tools: ToolRunner
    gate: PermissionGate
    session: Session
    system_prompt: str
    options: ChatOptions
    workspace: Path
    checkpoints: Checkpointer  # file checkpoints before each request's changes (docs/checkpoints.md)

    def switch(self, model: str, backend: str | None = None) -> None:
        """``/model``: resolve and describe the new model before touching anything, so a typo changes nothing."""
        new_backend, new_model = self.pool.resolve(model, backend)
        info = new_backend.describe(new_model)
        self.backend, self.model, self.info = new_backend, new_model, info
        self.context = make_context(info, self.config)

    def fresh_session(self) -> None:
        """``/clear``: the old transcript stays on disk; the conversation starts over in a new one."""
        from agentshell.session import SessionStore

        self.close()
        self.session = SessionStore().create(self.workspace)

    def record_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Each checkpoint id goes into the session file too, for the session's current (after /clear, new) file."""
        self.session.record_checkpoint(checkpoint.id, checkpoint.request)

    def close(self) -> None:
        self.session.close()


def make_context(info: ModelInfo, config: Config) -> ContextKeeper:
    from agentshell.loop.context import ContextKeeper

    return ContextKeeper(info.context_length, threshold=config.settings.context_threshold)


def assemble(
    opts: LaunchOptions, ask: Callable[[ApprovalRequest], Approval] | None, notice: Callable[[str], None]
) -> Assembly:
    """Resolve the backend and model, open or resume the session, build tools behind the permission gate.

    ``ask`` is the approval callback (None when nothing may be asked); ``notice``
    prints a one-line diagnostic on stderr.
    """
    from agentshell.checkpoints.recorder import Checkpointer
    from agentshell.cli import sandboxing
    from agentshell.loop.instructions import system_prompt
    from agentshell.permissions.gate import PermissionGate
    from agentshell.session import SessionStore
    from agentshell.tools import ToolContext, ToolRunner, default_tools
    from agentshell.tools.processes import protect_environment

    config = load_config(opts.flags(), backend_flags=opts.backend_flags)
    settings = config.settings
    if settings.max_turns < 1:
        raise UsageError("--max-turns must be at least 1")
    if opts.continue_session and opts.resume:
        raise UsageError("give either --continue or --resume ID, not both")
    workspace = opts.workspace.resolve()

    protect_environment()  # /proc/AGENT/environ holds the API keys: not readable by the commands (tools/shell.py)
    sandbox = sandboxing.open_for_run(settings, workspace, notice, opts.sandbox_allow_net)
    pool = config.backend_pool(opts.debug)
    backend, model = pool.resolve(settings.model, settings.backend)
    info = backend.describe(model)
    if settings.permission_mode == "yolo":
        confined = f" (inside the {sandbox.kind} sandbox)" if sandbox is not None else ""
        notice(
            f"warning: --permission-mode yolo: every tool call runs without asking, including shell commands{confined}"
        )

    allow, deny = [*settings.allow, *opts.allow], [*settings.deny, *opts.deny]
    gate = PermissionGate(settings.permission_mode, workspace, allow=allow, deny=deny, ask=ask)
    runner = ToolRunner(
        default_tools(),
        ToolContext(
            workspace=workspace,
            bash_timeout=settings.bash_timeout,
            hidden_env=credential_env_vars(settings),
            pass_env=tuple(settings.bash_pass_env),
            sandbox=sandbox,
        ),
        gate,
    )

    store = SessionStore()
    if opts.resume:
        session = store.load(opts.resume)
    elif opts.continue_session:
        found = store.latest(workspace)
        if found is None:
            busy = any(s.messages and store.is_busy(s.id) for s in store.list(workspace))
            in_use = " (the latest one is in use by another running agent)" if busy else ""
            raise UsageError(f"no earlier session to continue in {workspace}{in_use} (start one without --continue)")
        session = found
    else:
        session = store.create(workspace)
    for warning in session.warnings:
        notice(f"warning: session {session.id}: {warning}")

    options = ChatOptions(temperature=settings.temperature, seed=settings.seed, think=opts.think)
    if settings.permission_mode == "read-only":  # nothing that changes files runs: no checkpoints to take
        checkpoints = Checkpointer(None, notice)
    else:
        checkpoints = Checkpointer.open(workspace, notice)
    parts = Assembly(
        config=config,
        pool=pool,
        backend=backend,
        model=model,
        info=info,
        context=make_context(info, config),
        tools=runner,
        gate=gate,
        session=session,
        system_prompt=system_prompt(workspace, runner.specs()),
        options=options,
        workspace=workspace,
        checkpoints=checkpoints,
    )
    parts.checkpoints.listeners.append(parts.record_checkpoint)
    return parts


def stderr_notice(line: str) -> None:
    sys.stderr.write(f"agent: {line}\n")
    sys.stderr.flush()
