"""``agent acp``: agentshell as an Agent Client Protocol agent, for editors (docs/acp.md).

The ACP SDK (``acp``) speaks JSON-RPC on stdio in an asyncio loop in a background thread; each
session is an :class:`agentshell.api.Agent`. Prompts run one at a time in the main thread, like
the REPL's, so that ``session/cancel`` is a real Ctrl-C (api/interrupt.py): it stops a model
still loading as well as a running command's whole process tree. Events reach the editor in
order through one queue (:meth:`AcpServer._pump`); a permission question is a
``session/request_permission`` whose answer goes back through the same gate.

When the editor closes stdin, or sends SIGTERM, the prompt in progress is cancelled (its command's
processes stopped), every session is closed (its transcript is saved as it goes) and the process exits 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from acp import PROTOCOL_VERSION, RequestError, run_agent, schema

from agentshell.api import Agent, ApprovalRequest, ResultEvent, StreamEvent
from agentshell.cli.acp_mcp import EditorServer, SessionLaunchOptions, editor_servers
from agentshell.cli.acp_session import config_options, invalid, mode_state, request_error
from agentshell.cli.acp_transport import MAX_MESSAGE_BYTES, StdioTransport
from agentshell.cli.acp_updates import ContentBlock, Update, UpdateRelay, history_updates, prompt_text
from agentshell.cli.assemble import stderr_notice
from agentshell.errors import EXIT_INTERRUPTED, EXIT_TURN_LIMIT
from agentshell.permissions.modes import PERMISSION_MODES

if TYPE_CHECKING:
    from acp.interfaces import Client

    from agentshell.api.assembly import LaunchOptions
    from agentshell.permissions.gate import Approval

T = TypeVar("T")
PERMISSION_OPTIONS = [
    schema.PermissionOption(option_id="allow_once", name="Allow", kind="allow_once"),
    schema.PermissionOption(option_id="allow_always", name="Always allow", kind="allow_always"),
    schema.PermissionOption(option_id="reject_once", name="Reject", kind="reject_once"),
]
ANSWERS: dict[str, Approval] = {"allow_once": "yes", "allow_always": "always"}


class MainThreadRunner:
    """Runs jobs in the thread that calls :meth:`serve` (the main one), one at a time, in order."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]
        self._jobs = queue.SimpleQueue()

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((job, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def serve(self) -> None:
        while True:
            try:
                item = self._jobs.get()
            except KeyboardInterrupt:  # a cancel that came as a prompt ended, or Ctrl-C at a terminal: go on
                continue
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as exc:  # the prompt's handler gets it as its error
                if not future.done():
                    future.set_exception(exc)
            else:
                future.set_result(result)


@dataclass
class AcpSession:
    id: str
    agent: Agent
    relay: UpdateRelay
    busy: bool = False
    cancelled: bool = False
    asking: set[concurrent.futures.Future[Any]] = field(default_factory=set)


class AcpServer:
    """The ACP agent: the SDK calls these methods (``acp.interfaces.Agent``) in its event loop."""

    def __init__(self, template: LaunchOptions, runner: MainThreadRunner) -> None:
        self.template = template
        self.runner = runner
        self.sessions: dict[str, AcpSession] = {}
        self._client: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[tuple[str, Update]] | None = None
        self._models: list[str] | None = None

    def on_connect(self, conn: Client) -> None:
        self._client = conn

    def start(self) -> asyncio.Task[None]:
        """In the event loop, before the first message: the queue that sends updates in order."""
        self._loop = asyncio.get_running_loop()
        self._outbox = asyncio.Queue()
        return asyncio.create_task(self._pump(), name="agent-acp-updates")

    # ------------------------------------------------------------------ lifecycle

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: schema.ClientCapabilities | None = None,
        client_info: schema.Implementation | None = None,
        **kwargs: Any,
    ) -> schema.InitializeResponse:
        from agentshell import __version__

        return schema.InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=schema.AgentCapabilities(
                load_session=True,
                prompt_capabilities=schema.PromptCapabilities(embedded_context=True),
                mcp_capabilities=schema.McpCapabilities(http=True, sse=False),
                session_capabilities=schema.SessionCapabilities(
                    list=schema.SessionListCapabilities(),
                    resume=schema.SessionResumeCapabilities(),
                    close=schema.SessionCloseCapabilities(),
                ),
            ),
            agent_info=schema.Implementation(name="agentshell", title="agentshell", version=__version__),
            auth_methods=[],
        )

    async def new_session(
        self,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[EditorServer] | None = None,
        **kwargs: Any,
    ) -> schema.NewSessionResponse:
        session = await self._open(cwd, None, mcp_servers)
        options = await self._config_options(session)
        return schema.NewSessionResponse(session_id=session.id, modes=mode_state(session.agent), config_options=options)

    async def load_session(
        self,
        cwd: str,
        session_id: str,
        mcp_servers: list[EditorServer] | None = None,
        additional_directories: list[str] | None = None,
        **kwargs: Any,
    ) -> schema.LoadSessionResponse:
        session = self._opened(session_id, cwd) or await self._open(cwd, session_id, mcp_servers)
        for update in history_updates(session.agent.messages, session.relay):
            self._post(session.id, update)
        await self._sent()  # the whole conversation is shown before the response, as the protocol asks
        options = await self._config_options(session)
        return schema.LoadSessionResponse(modes=mode_state(session.agent), config_options=options)

    async def resume_session(
        self,
        session_id: str,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[EditorServer] | None = None,
        **kwargs: Any,
    ) -> schema.ResumeSessionResponse:
        session = self._opened(session_id, cwd) or await self._open(cwd, session_id, mcp_servers)
        options = await self._config_options(session)
        return schema.ResumeSessionResponse(modes=mode_state(session.agent), config_options=options)

    async def list_sessions(self, cwd: str | None = None, cursor: str | None = None, **kwargs: Any) -> Any:
        from agentshell.api.assembly import resumable_sessions

        summaries = await asyncio.to_thread(resumable_sessions, Path(cwd) if cwd else None)
        return schema.ListSessionsResponse(
            sessions=[
                schema.SessionInfo(
                    session_id=s.id, cwd=str(s.workspace), title=s.title or None, updated_at=s.updated.isoformat()
                )
                for s in summaries
            ]
        )

    async def close_session(self, session_id: str, **kwargs: Any) -> schema.CloseSessionResponse:
        session = self._session(session_id)
        if session.busy:
            session.cancelled = True
            session.agent.cancel()
            while session.busy:
                await asyncio.sleep(0.02)
        del self.sessions[session_id]
        await asyncio.to_thread(session.agent.close)
        return schema.CloseSessionResponse()

    # ------------------------------------------------------------------ settings

    async def set_session_mode(self, session_id: str, mode_id: str, **kwargs: Any) -> schema.SetSessionModeResponse:
        session = self._session(session_id)
        await self._set_mode(session, mode_id)
        options = await self._config_options(session)
        self._post(session.id, schema.ConfigOptionUpdate(session_update="config_option_update", config_options=options))
        return schema.SetSessionModeResponse()

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **kwargs: Any
    ) -> schema.SetSessionConfigOptionResponse:
        session = self._session(session_id)
        if config_id == "mode" and isinstance(value, str):
            await self._set_mode(session, value)
            self._post(
                session.id, schema.CurrentModeUpdate(session_update="current_mode_update", current_mode_id=value)
            )
        elif config_id == "model" and isinstance(value, str):
            try:
                await asyncio.to_thread(session.agent.set_model, value)
            except Exception as exc:
                raise request_error(exc) from None
        else:
            raise invalid(f"no option {config_id!r} taking {value!r}")
        return schema.SetSessionConfigOptionResponse(config_options=await self._config_options(session))

    async def _set_mode(self, session: AcpSession, mode: str) -> None:
        if mode not in PERMISSION_MODES:
            raise invalid(f"no mode {mode!r}: one of {', '.join(PERMISSION_MODES)}")
        try:
            await asyncio.to_thread(session.agent.set_permission_mode, mode)
        except Exception as exc:
            raise request_error(exc) from None

    async def _config_options(self, session: AcpSession) -> list[schema.SessionConfigOptionSelect]:
        if self._models is None:
            from agentshell.api.assembly import model_choices

            self._models = await asyncio.to_thread(model_choices, self.template)
        return config_options(session.agent, self._models)

    # ------------------------------------------------------------------ prompts

    async def prompt(self, session_id: str, prompt: list[ContentBlock], **kwargs: Any) -> schema.PromptResponse:
        session = self._session(session_id)
        if session.busy:
            raise RequestError(-32600, "a prompt is already running in this session: cancel it or wait for it")
        text = prompt_text(prompt, session.agent.workspace)
        if not text.strip():
            raise invalid("the prompt has no text")
        session.busy, session.cancelled = True, False
        try:
            result = await asyncio.wrap_future(self.runner.submit(lambda: self._turn(session, text)))
        finally:
            session.busy = False
        await self._sent()  # every update of the turn is out before its response
        if result is None or session.cancelled or result.exit_code == EXIT_INTERRUPTED:
            return schema.PromptResponse(stop_reason="cancelled")
        if result.exit_code == EXIT_TURN_LIMIT:
            return schema.PromptResponse(stop_reason="max_turn_requests")
        if result.is_error:
            raise RequestError(-32603, result.error or "the run failed", {"kind": result.stop_reason})
        return schema.PromptResponse(stop_reason="end_turn")

    def _turn(self, session: AcpSession, text: str) -> ResultEvent | None:
        """In the main thread: one prompt, its events posted to the editor as they come."""
        if session.cancelled:
            return None

        def post(event: StreamEvent) -> None:
            if session.cancelled:  # a cancel that came before the run could be interrupted
                session.agent.cancel()
            for update in session.relay.updates(event):
                self._post(session.id, update)

        return session.agent.run(text, on_event=post)

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is None or not session.busy:
            return
        session.cancelled = True
        for asked in list(session.asking):
            asked.cancel()
        session.agent.cancel()

    def cancel_all(self) -> None:
        """The editor has gone: stop what runs, and no question waits for an answer any more."""
        for session in self.sessions.values():
            session.cancelled = True
            for asked in list(session.asking):
                asked.cancel()
            session.agent.cancel()

    # ------------------------------------------------------------------ permission questions

    def _approver(self, holder: list[AcpSession]) -> Callable[[ApprovalRequest], Approval]:
        def approve(request: ApprovalRequest) -> Approval:
            """In the thread of the run: ask the editor and wait; a cancel or a lost editor is a no."""
            session = holder[0] if holder else None
            if session is not None and session.cancelled:
                return "no"
            call = session.agent.current_tool_call if session is not None else None
            relay = session.relay if session is not None else UpdateRelay(Path.cwd())
            update = relay.permission_call(request, call)
            session_id = session.id if session is not None else ""
            assert self._loop is not None
            if self._loop.is_closed():
                return "no"
            asked = asyncio.run_coroutine_threadsafe(self._ask(session_id, update), self._loop)
            if session is not None:
                session.asking.add(asked)
            try:
                response = asked.result()
            except (Exception, concurrent.futures.CancelledError):
                return "no"
            finally:
                asked.cancel()
                if session is not None:
                    session.asking.discard(asked)
            outcome = response.outcome
            return ANSWERS.get(outcome.option_id, "no") if isinstance(outcome, schema.AllowedOutcome) else "no"

        return approve

    async def _ask(self, session_id: str, update: schema.ToolCallUpdate) -> schema.RequestPermissionResponse:
        await self._sent()  # the tool call is on the screen before the question about it
        assert self._client is not None
        return await self._client.request_permission(
            session_id=session_id, tool_call=update, options=PERMISSION_OPTIONS
        )

    # ------------------------------------------------------------------ internals

    async def _open(self, cwd: str, resume: str | None, servers: list[EditorServer] | None) -> AcpSession:
        workspace = Path(cwd)
        if not workspace.is_absolute() or not workspace.is_dir():
            raise invalid(f"{cwd!r} is not an absolute path to a directory")
        options = SessionLaunchOptions(
            **{f.name: getattr(self.template, f.name) for f in dataclasses.fields(self.template)},
            mcp_servers=editor_servers(servers),
        )
        options = dataclasses.replace(options, workspace=workspace, resume=resume, continue_session=False)
        holder: list[AcpSession] = []
        try:
            agent = await asyncio.to_thread(
                Agent.from_options, options, approve=self._approver(holder), on_notice=stderr_notice
            )
        except Exception as exc:
            raise request_error(exc) from None
        session = AcpSession(agent.session_id, agent, UpdateRelay(agent.workspace))
        holder.append(session)
        self.sessions[session.id] = session
        return session

    def _opened(self, session_id: str, cwd: str) -> AcpSession | None:
        """The session when this process has it open already (for ``cwd``: its tools act there)."""
        session = self.sessions.get(session_id)
        if session is not None and Path(cwd).resolve() != session.agent.workspace:
            raise invalid(f"session {session_id} belongs to {session.agent.workspace}, not {cwd}")
        return session

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise invalid(f"no open session {session_id!r}: new or load it first")
        return session

    def _post(self, session_id: str, update: Update) -> None:
        """From any thread: queue an update for the editor, after every update queued before it."""
        assert self._loop is not None and self._outbox is not None
        with contextlib.suppress(RuntimeError):  # the connection has ended: nobody to show it to
            self._loop.call_soon_threadsafe(self._outbox.put_nowait, (session_id, update))

    async def _sent(self) -> None:
        await asyncio.sleep(0)  # updates posted from other threads just before this are in the queue now
        assert self._outbox is not None
        await self._outbox.join()

    async def _pump(self) -> None:
        assert self._outbox is not None
        while True:
            session_id, update = await self._outbox.get()
            try:
                assert self._client is not None
                await self._client.session_update(session_id=session_id, update=update)
            except (ConnectionError, OSError):
                pass  # the editor has gone; the session ends when stdin closes
            finally:
                self._outbox.task_done()


# ---------------------------------------------------------------------------------------- the process


def serve(template: LaunchOptions) -> int:
    """Speak ACP on stdin and stdout until the editor closes stdin; returns the exit code."""
    protocol_out = _claim_stdout()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="agent acp: %(levelname)s: %(message)s")
    runner = MainThreadRunner()
    server = AcpServer(template, runner)
    connection = threading.Thread(
        target=_connection_thread, args=(server, runner, protocol_out), name="agent-acp-connection", daemon=True
    )
    connection.start()

    def terminate(signum: int, frame: object) -> None:  # the editor quitting: as if it had closed stdin
        runner.stop()  # first: the cancel's Ctrl-C lands in this very thread, maybe before this handler returns
        server.cancel_all()

    signal.signal(signal.SIGTERM, terminate)
    try:
        runner.serve()
    finally:
        for session in list(server.sessions.values()):
            try:
                session.agent.close()
            except Exception as exc:  # one session's failure must not keep the others locked
                sys.stderr.write(f"agent: warning: session {session.id}: {exc}\n")
    return 0


def _claim_stdout() -> int:
    """Keep the real stdout for the protocol alone; anything else that writes to fd 1 (a backend's C
    library, a stray print) goes to stderr instead of corrupting the stream."""
    protocol_out = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_out


def _connection_thread(server: AcpServer, runner: MainThreadRunner, protocol_out: int) -> None:
    try:
        asyncio.run(_connect(server, protocol_out))
    except BaseException as exc:  # whatever ends the connection ends the process, cleanly
        logging.getLogger("agent.acp").debug("connection ended: %r", exc)
    finally:
        runner.stop()
        server.cancel_all()


async def _connect(server: AcpServer, protocol_out: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = os.fdopen(protocol_out, "wb", buffering=0)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    pump = server.start()
    try:
        await run_agent(server, StdioTransport(reader, writer), use_unstable_protocol=True)  # type: ignore[arg-type]
    finally:
        pump.cancel()
