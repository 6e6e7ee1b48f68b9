"""Build everything one agent needs, from options, config and the workspace: what :class:`agentshell.api.Agent`
runs on, for ``open_agent``, ``agent launch`` and ``agent acp`` alike.

Kept apart from the Typer commands so that ``agent launch --help`` imports none
of it, and so ``/model`` can rebuild the backend half.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentshell.config import Config, credential_env_vars, data_dir, load_config
from agentshell.errors import UsageError
from agentshell.permissions.modes import PermissionMode
from agentshell.protocol import Backend, ChatOptions, ModelInfo, ThinkLevel

if TYPE_CHECKING:  # the loop, tools and sessions are imported by assemble(), not by `agent launch --help`
    from agentshell.checkpoints.recorder import Checkpoint, Checkpointer
    from agentshell.extensions.hooks import HookRunner
    from agentshell.extensions.startup import Extensions
    from agentshell.loop.context import ContextKeeper
    from agentshell.permissions.gate import Approval, ApprovalRequest, PermissionGate
    from agentshell.registry import BackendPool
    from agentshell.session import Session, SessionStore, SessionSummary
    from agentshell.tools import ToolRunner

PickSession = Callable[[Sequence["SessionSummary"]], "str | None"]
"""Shows the sessions to choose from (newest first) and returns the chosen id, or None for a new session."""


@dataclass(frozen=True)
class LaunchOptions:
    """The flags of ``agent launch`` that shape the run (the rest only pick the front end); ``open_agent``'s
    arguments of the same names."""

    model: str | None = None
    backend: str | None = None
    max_turns: int | None = None
    permission_mode: PermissionMode | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    continue_session: bool = False
    resume: str | None = None
    """A session id or unique prefix; "" (``--resume`` alone) asks which, see :data:`PickSession`."""
    backend_flags: Mapping[str, Any] = field(default_factory=dict)
    """``--host``, ``--base-url``, ``--gpu-layers`` as ``{"host": ...}``: each goes to the backends that declare it."""
    think: ThinkLevel | None = None
    temperature: float | None = None
    seed: int | None = None
    debug: bool = False
    workspace: Path = field(default_factory=Path.cwd)
    sandbox: bool | None = None
    """``--sandbox`` / ``--no-sandbox``; None leaves it to the config and the mode (api/sandboxing.py)."""
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

    def check(self) -> None:
        """Raise, as :func:`assemble` would, for a bad value or rule: for a front end that builds agents later
        (``agent acp``, one per session), so a mistake fails at once, not at the first session."""
        from agentshell.permissions.gate import check_rules

        load_config(self.flags(), backend_flags=self.backend_flags)
        check_rules([*self.allow, *self.deny])


@dataclass(eq=False, repr=False)  # live parts, the same only when they are the same object; and cheaper to define
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
    extensions: Extensions | None = None  # MCP servers, hooks, custom commands (docs/extensions.md)
    debug: bool = False  # --debug: a failed run's traceback goes to the notices

    @property
    def hooks(self) -> HookRunner | None:
        """The hooks the loop runs at each request's edges (UserPromptSubmit, Stop); None when none are set."""
        return self.extensions.hooks if self.extensions is not None and self.extensions.hooks else None

    def switch(self, model: str, backend: str | None = None) -> None:
        """``/model``: resolve and describe the new model before touching anything, so a typo changes nothing."""
        new_backend, new_model = self.pool.resolve(model, backend)
        info = new_backend.describe(new_model)
        self.backend, self.model, self.info = new_backend, new_model, info
        self.context = make_context(info, self.config)

    def fresh_session(self) -> None:
        """``/clear``: the old transcript stays on disk; the conversation starts over in a new one."""
        from agentshell.session import SessionStore

        self.session.close()
        self.session = SessionStore().create(self.workspace)

    def record_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Each checkpoint id goes into the session file too, for the session's current (after /clear, new) file."""
        self.session.record_checkpoint(checkpoint.id, checkpoint.request)

    def close(self) -> None:
        self.session.close()
        if self.extensions is not None:
            self.extensions.close()  # stops the MCP servers (bounded; no child outlives the agent)


def make_context(info: ModelInfo, config: Config) -> ContextKeeper:
    from agentshell.loop.context import ContextKeeper

    return ContextKeeper(info.context_length, threshold=config.settings.context_threshold)


def assemble(
    opts: LaunchOptions,
    ask: Callable[[ApprovalRequest], Approval] | None,
    notice: Callable[[str], None],
    pick: PickSession | None = None,
) -> Assembly:
    """Open or resume the session, resolve the backend and model, build tools behind the permission gate.

    ``ask`` is the approval callback (None when nothing may be asked); ``notice``
    takes a one-line diagnostic (stderr, for the CLI); ``pick`` chooses a session for ``--resume``
    without an id (None when nobody can choose). The session comes first: a resumed
    conversation goes on with the model it was held on, unless ``--model`` names another.
    """
    from agentshell.session import SessionStore

    config = load_config(opts.flags(), backend_flags=opts.backend_flags)
    settings = config.settings
    if settings.max_turns < 1:
        raise UsageError("--max-turns must be at least 1")
    if opts.continue_session and opts.resume is not None:
        raise UsageError("give either --continue or --resume ID, not both")
    workspace = opts.workspace.resolve()

    session = _open_session(SessionStore(), opts, workspace, pick, notice)
    try:
        return _assemble(opts, config, workspace, session, ask, notice)
    except BaseException:
        session.close()
        raise


def _assemble(
    opts: LaunchOptions,
    config: Config,
    workspace: Path,
    session: Session,
    ask: Callable[[ApprovalRequest], Approval] | None,
    notice: Callable[[str], None],
) -> Assembly:
    from agentshell.api import sandboxing
    from agentshell.checkpoints.recorder import Checkpointer
    from agentshell.extensions.startup import open_extensions
    from agentshell.extensions.toolbox import ExtendedToolRunner
    from agentshell.loop.instructions import system_prompt
    from agentshell.permissions.gate import PermissionGate
    from agentshell.tools import ToolContext, default_tools
    from agentshell.tools.processes import protect_environment

    settings = config.settings
    protect_environment()  # /proc/AGENT/environ holds the API keys: not readable by the commands (tools/shell.py)
    sandbox = sandboxing.open_for_run(settings, workspace, notice, opts.sandbox_allow_net)
    pool = config.backend_pool(opts.debug)
    backend, model = _resolve_model(pool, opts, config, session, notice)
    info = backend.describe(model)
    if settings.permission_mode == "yolo":
        confined = f" (inside the {sandbox.kind} sandbox)" if sandbox is not None else ""
        notice(
            f"warning: --permission-mode yolo: every tool call runs without asking, including shell commands{confined}"
        )

    allow, deny = [*settings.allow, *opts.allow], [*settings.deny, *opts.deny]
    gate = PermissionGate(settings.permission_mode, workspace, allow=allow, deny=deny, ask=ask)
    # Hooks get the environment bash commands get (extensions/hooks.py): the same names hidden and passed.
    hidden_env, pass_env = credential_env_vars(settings), tuple(settings.bash_pass_env)
    extensions = open_extensions(
        settings.mcp_servers,
        settings.hooks,
        workspace,
        data_dir(),
        ask=ask,
        notice=notice,
        debug=opts.debug,
        hidden_env=hidden_env,
        pass_env=pass_env,
    )
    runner = ExtendedToolRunner(
        default_tools(),
        ToolContext(
            workspace=workspace,
            bash_timeout=settings.bash_timeout,
            hidden_env=hidden_env,
            pass_env=pass_env,
            sandbox=sandbox,
        ),
        gate,
        hub=extensions.hub,
        hooks=extensions.hooks,
        notice=notice,
    )
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
        extensions=extensions,
        debug=opts.debug,
    )
    parts.checkpoints.listeners.append(parts.record_checkpoint)
    runner.window = lambda: parts.info.context_length
    extensions.hooks.session_id = lambda: parts.session.id
    added = extensions.hooks.session_start("resume" if session.messages else "startup")
    parts.system_prompt = "\n\n".join(p for p in (parts.system_prompt, added) if p)
    extensions.start()  # last: the servers start in the background while the first prompt is typed
    return parts


def _open_session(
    store: SessionStore, opts: LaunchOptions, workspace: Path, pick: PickSession | None, notice: Callable[[str], None]
) -> Session:
    """The new, resumed, continued or picked session; a session of another directory is refused with a hint."""
    from agentshell.session import SessionNotFound

    if opts.resume == "":
        chosen = _pick(store, workspace, pick)
        if chosen is None:
            notice("no session chosen; starting a new one")
            return store.create(workspace)
        session = store.load(chosen)
    elif opts.resume:
        session = store.load(opts.resume)
    elif opts.continue_session:
        found = store.latest(workspace)
        if found is None:
            busy = any(s.messages and store.is_busy(s.id) for s in store.list(workspace))
            in_use = " (the latest one is in use by another running agent)" if busy else ""
            raise UsageError(f"no earlier session to continue in {workspace}{in_use} (start one without --continue)")
        return found
    else:
        return store.create(workspace)
    if session.workspace != workspace:
        # Its tools would act on this directory while the conversation is about the other one.
        session.close()
        raise SessionNotFound(
            f"session {session.id} belongs to {session.workspace}, not this directory; resume it there: "
            f"cd {shlex.quote(str(session.workspace))} && agent launch --resume {session.id}"
        )
    return session


def _pick(store: SessionStore, workspace: Path, pick: PickSession | None) -> str | None:
    if pick is None:
        raise UsageError("--resume without an id needs a terminal to choose on; give the id (`agent sessions list`)")
    summaries = resumable_sessions(workspace, store)
    if not summaries:
        raise UsageError(f"no earlier session to resume in {workspace} (`agent sessions list --all` shows every one)")
    return pick(summaries)


def resumable_sessions(workspace: Path | None, store: SessionStore | None = None) -> list[SessionSummary]:
    """The sessions of ``workspace`` (None: of every directory) that hold a conversation, newest first:
    what ``--resume`` without an id offers, and ACP's ``session/list``."""
    from agentshell.session import SessionStore

    summaries = [s for s in (store or SessionStore()).list(workspace) if s.messages > 0]
    summaries.sort(key=lambda s: (s.updated, s.id), reverse=True)
    return summaries


def model_choices(options: LaunchOptions) -> list[str]:
    """``backend:model`` for every model of every installed backend that can list them now (one request per
    server), with ``options``' backend settings; a backend that is down or not configured is left out (its
    models can still be typed as a model string)."""
    from agentshell.registry import backend_names

    try:
        pool = load_config(options.flags(), backend_flags=options.backend_flags).backend_pool()
    except Exception:
        return []
    found: list[str] = []
    for name in backend_names():
        try:
            found.extend(f"{name}:{info.name}" for info in pool.get(name).list_models())
        except Exception:  # down, not configured or broken: the others still count
            continue
    return found


def _resolve_model(
    pool: BackendPool, opts: LaunchOptions, config: Config, session: Session, notice: Callable[[str], None]
) -> tuple[Backend, str]:
    """The configured model, or for a resumed conversation the one it was held on (``--model`` overrides)."""
    from agentshell.registry import UnknownBackend

    settings = config.settings
    if not session.messages or not session.model or opts.model is not None or opts.backend is not None:
        return pool.resolve(settings.model, settings.backend)
    try:
        backend, model = pool.resolve(session.model, session.backend or None)
    except UnknownBackend:
        fallback, fallback_model = pool.resolve(settings.model, settings.backend)
        notice(
            f"warning: session {session.id} was on {session.backend} · {session.model}, which is not installed; "
            f"going on with {fallback.name} · {fallback_model}"
        )
        return fallback, fallback_model
    notice(f"resuming on {backend.name} · {model}, the session's model (--model picks another)")
    return backend, model
