"""Hooks: the user's commands run at the agent's events, with Claude Code's contract so existing scripts work.

Events: ``PreToolUse`` and ``PostToolUse`` (around each tool call, picked by ``matcher``),
``UserPromptSubmit`` (before a prompt reaches the model), ``Stop`` (when the model gives its final
answer) and ``SessionStart``. A hook gets the event as JSON on stdin: ``session_id``,
``hook_event_name``, ``cwd``, and ``tool_name``, ``tool_input`` (``tool_response`` after the tool),
``prompt``, ``stop_hook_active`` or ``source`` as the event has them. Its exit code decides:

- 0: go on. Stdout may be JSON: ``{"decision": "block", "reason": ...}`` blocks;
  ``hookSpecificOutput.additionalContext`` adds to what the model reads; for UserPromptSubmit and
  SessionStart, plain stdout is added context too;
- 2: block. Stderr is the reason: the model reads it (PreToolUse, PostToolUse, Stop), or the user
  does (UserPromptSubmit, whose prompt is dropped);
- anything else: the hook failed; the user gets a one-line warning and the agent goes on.

A hook runs with ``sh -c`` in the workspace, in its own process group, and is killed after its
``timeout``: it can slow the agent down but never hang it. It gets the environment a bash command
gets (:func:`agentshell.redact.credential_free_env`): no credential-looking variable unless
``bash_pass_env`` names it, never agentshell's own keys. A hook may refuse a call, never allow one
the permission gate would not. Every run is reported to :attr:`HookRunner.listeners` (stream-json)
and, with ``--debug``, as a notice. docs/extensions.md#hooks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from agentshell.extensions.settings import HookConfig, HookEvent
from agentshell.redact import credential_free_env
from agentshell.tools.base import ToolResult

MAX_HOOK_OUTPUT = 100_000  # characters of a hook's stdout or stderr that are read; the rest is dropped
_SHOWN = 80

# Claude Code's tool names, so matchers written for it ("Bash", "Edit|Write") pick the same tools here.
CLAUDE_TOOL_NAMES = {
    "bash": "Bash",
    "read_file": "Read",
    "write_file": "Write",
    "edit_file": "Edit",
    "glob": "Glob",
    "grep": "Grep",
    "list_dir": "LS",
}
_OURS = {claude.lower(): ours for ours, claude in CLAUDE_TOOL_NAMES.items()} | {"multiedit": "edit_file"}

Outcome = Literal["ok", "blocked", "failed", "timed_out"]


@dataclass(frozen=True)
class HookRun:
    """What one hook did: for ``--debug`` and the stream-json ``hook`` event."""

    event: HookEvent
    command: str
    tool_name: str | None
    outcome: Outcome
    exit_code: int | None  # None when it was killed at its timeout
    duration_ms: int
    message: str = ""  # the block reason, the added context, or why it failed (one line)


@dataclass
class Verdict:
    """The hooks of one event, together: the first block wins, added context accumulates."""

    blocked: str | None = None
    context: list[str] = field(default_factory=list)


def matches(matcher: str, tool: str) -> bool:
    """``bash``, ``edit_file|write_file``, ``mcp__git__*`` or Claude Code's ``Edit|Write``, ``mcp__git__.*``."""
    if matcher.strip() in ("", "*"):
        return True
    for alternative in matcher.split("|"):
        wanted = alternative.strip().lower()
        if fnmatchcase(tool.lower(), _OURS.get(wanted, wanted)):
            return True
    with contextlib.suppress(re.error):
        pattern = re.compile(matcher)
        return bool(pattern.fullmatch(tool) or pattern.fullmatch(CLAUDE_TOOL_NAMES.get(tool, tool)))
    return False


class HookRunner:
    """The hooks of one run, and the answers the loop and the tool runner ask of them."""

    def __init__(
        self,
        hooks: Mapping[HookEvent, Sequence[HookConfig]],
        workspace: Path,
        *,
        session_id: Callable[[], str] = lambda: "",
        notice: Callable[[str], None] = lambda line: None,
        debug: bool = False,
        hidden_env: tuple[str, ...] = (),
        pass_env: tuple[str, ...] = (),
    ) -> None:
        self.hooks = {event: list(entries) for event, entries in hooks.items() if entries}
        self.workspace = workspace
        # The bash tool's lists (tools/base.py ToolContext): agentshell's own credentials, and the
        # credential-looking variables the user still wants passed (bash_pass_env).
        self.hidden_env, self.pass_env = hidden_env, pass_env
        self.session_id = session_id
        self.notice = notice
        self.debug = debug
        self.listeners: list[Callable[[HookRun], None]] = []
        self._stop_active = False  # a Stop hook sent the model back to work in this request

    def __bool__(self) -> bool:
        return bool(self.hooks)

    # ------------------------------------------------------------------ the events

    def pre_tool(self, tool: str, arguments: dict[str, Any]) -> str | None:
        """Why a PreToolUse hook refuses this call, or None to let it go on to the permission gate."""
        verdict = self.fire("PreToolUse", {"tool_name": tool, "tool_input": arguments}, tool)
        return verdict.blocked

    def post_tool(self, tool: str, arguments: dict[str, Any], result: ToolResult) -> str | None:
        """What PostToolUse hooks add to the result the model reads (a block reason, added context), or None."""
        response = {"output": result.output, "is_error": result.is_error, "summary": result.summary}
        verdict = self.fire(
            "PostToolUse", {"tool_name": tool, "tool_input": arguments, "tool_response": response}, tool
        )
        notes = [f"[PostToolUse hook: {verdict.blocked}]"] if verdict.blocked else []
        return "\n".join(notes + verdict.context) or None

    def before_request(self, prompt: str) -> tuple[str, str | None]:
        """The prompt with what UserPromptSubmit hooks add, and why one refused it (None: it goes to the model)."""
        self._stop_active = False
        verdict = self.fire("UserPromptSubmit", {"prompt": prompt})
        if verdict.blocked is not None:
            return prompt, f"a UserPromptSubmit hook blocked the prompt: {verdict.blocked}"
        return "\n\n".join([prompt, *verdict.context]), None

    def after_answer(self, answer: str) -> str | None:
        """Why a Stop hook wants the model to go on (sent to it as the next user message), or None to stop.

        ``stop_hook_active`` tells the hook it already sent the model back once in this request, so a
        script can let it stop instead of looping until ``--max-turns``.
        """
        verdict = self.fire("Stop", {"stop_hook_active": self._stop_active, "last_answer": answer})
        if verdict.blocked is not None:
            self._stop_active = True
        return verdict.blocked

    def session_start(self, source: Literal["startup", "resume", "clear"]) -> str:
        """Context SessionStart hooks add to the system prompt ("" for none)."""
        return "\n\n".join(self.fire("SessionStart", {"source": source}).context)

    # ------------------------------------------------------------------ running

    def fire(self, event: HookEvent, fields: dict[str, Any], tool: str | None = None) -> Verdict:
        verdict = Verdict()
        chosen = [h for h in self.hooks.get(event, ()) if tool is None or matches(h.matcher, tool)]
        if not chosen:
            return verdict
        payload = {
            "session_id": self.session_id(),
            "hook_event_name": event,
            "cwd": str(self.workspace),
            **fields,
        }
        data = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        for hook in chosen:
            run = self._run_one(event, hook, data, tool, verdict)
            self._report(run)
            if verdict.blocked is not None:
                break
        return verdict

    def _run_one(self, event: HookEvent, hook: HookConfig, data: bytes, tool: str | None, verdict: Verdict) -> HookRun:
        started = time.monotonic()
        env = credential_free_env(hidden=self.hidden_env, passed=self.pass_env)
        env.update(AGENTSHELL_PROJECT_DIR=str(self.workspace), CLAUDE_PROJECT_DIR=str(self.workspace))
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", hook.command],
                cwd=self.workspace,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group: a timeout or Ctrl-C stops everything it started
            )
        except OSError as exc:
            return self._record(event, hook, tool, "failed", None, started, f"cannot run: {exc}")
        try:
            out, err = proc.communicate(data, timeout=hook.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return self._record(event, hook, tool, "timed_out", None, started, f"killed after {hook.timeout:g} s")
        except BaseException:  # Ctrl-C: the hook goes with the turn
            _kill(proc)
            raise
        stdout = out[:MAX_HOOK_OUTPUT].decode("utf-8", "replace").strip()
        stderr = err[:MAX_HOOK_OUTPUT].decode("utf-8", "replace").strip()
        code = proc.returncode
        if code == 2:
            verdict.blocked = stderr or f"blocked by `{_short(hook.command)}` (exit 2)"
            return self._record(event, hook, tool, "blocked", code, started, verdict.blocked)
        if code != 0:
            why = stderr.splitlines()[-1] if stderr else "no message"
            return self._record(event, hook, tool, "failed", code, started, f"exit {code}: {why}")
        decided = _read_stdout(event, stdout, verdict)
        outcome: Outcome = "blocked" if verdict.blocked is not None else "ok"
        return self._record(event, hook, tool, outcome, code, started, decided)

    def _record(
        self, event: HookEvent, hook: HookConfig, tool: str | None, outcome: Outcome, code: int | None,
        started: float, message: str,
    ) -> HookRun:  # fmt: skip
        ms = int((time.monotonic() - started) * 1000)
        return HookRun(event, hook.command, tool, outcome, code, ms, " ".join(message.split())[:500])

    def _report(self, run: HookRun) -> None:
        for listener in self.listeners:
            listener(run)
        what = f"{run.event}{f' {run.tool_name}' if run.tool_name else ''}"
        if run.outcome in ("failed", "timed_out"):
            self.notice(f"warning: hook {what} `{_short(run.command)}` {run.message}; going on")
        elif self.debug:
            detail = f": {run.message}" if run.message else ""
            self.notice(f"hook {what} `{_short(run.command)}` {run.outcome} ({run.duration_ms} ms){detail}")


def _read_stdout(event: HookEvent, stdout: str, verdict: Verdict) -> str:
    """Claude Code's optional JSON answer (or, for prompt and start events, plain text to add); returns the note."""
    if not stdout:
        return ""
    answer: Any = None
    if stdout.startswith("{"):
        with contextlib.suppress(ValueError):
            answer = json.loads(stdout)
    if not isinstance(answer, dict):
        if event in ("UserPromptSubmit", "SessionStart"):
            verdict.context.append(stdout)
            return "added context"
        return ""
    specific = answer.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    if answer.get("decision") == "block" or specific.get("permissionDecision") == "deny":
        reason = answer.get("reason") or specific.get("permissionDecisionReason") or "blocked by a hook"
        verdict.blocked = str(reason)
        return verdict.blocked
    if answer.get("continue") is False and event != "Stop":  # for Stop, "do not continue" is what it does anyway
        verdict.blocked = str(answer.get("stopReason") or "a hook stopped the agent")
        return verdict.blocked
    context = specific.get("additionalContext")
    if isinstance(context, str) and context.strip():
        verdict.context.append(context.strip())
        return "added context"
    return ""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        proc.communicate(timeout=1.0)  # reap it; a grandchild that left the group cannot hold us longer than this


def _short(command: str) -> str:
    line = " ".join(command.split())
    return line if len(line) <= _SHOWN else line[: _SHOWN - 1] + "…"
