"""Who may do what: permission modes, allow/deny rules, and the approval question.

Order of decision, first match wins::

    deny rule            -> denied (even in yolo)
    yolo mode            -> allowed
    allow rule / "always" answer this session -> allowed
    read-only mode and not a read tool         -> denied, never asked
    path outside the workspace                 -> ask
    write that changes what git runs           -> ask   (.git/, git's config files, hooks; gitcontrol.py)
    read tool                                  -> allowed
    edit tool: accept-edits -> allowed, ask -> ask
    bash                                       -> ask

"ask" without an ``ask`` callback (a non-interactive run) is a denial, and the
model is told which flag would have allowed it.

Rules look like ``bash(git status*)``, ``edit(src/**)``, ``read(docs/**)``,
``write(...)`` (same as edit), ``TOOL_NAME(...)``, or a bare name for all. For
paths, ``*`` stays inside one directory and ``**`` crosses directories; paths
outside the workspace are only allowed by absolute patterns (``read(/tmp/**)``)
and ``.git/`` only by patterns that name ``.git``, so ``edit(**)`` means "any
file of this project" and nothing more. For bash, rules match the command as bash
reads it, word by word (commandrules.py): an allow rule must cover every command
in it, a deny rule stops it when it names any, or when it cannot be checked.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentshell.errors import EXIT_USAGE, UserError
from agentshell.pathglob import path_matches
from agentshell.permissions.modes import PERMISSION_MODES, PermissionMode, ToolKind
from agentshell.workspace import WorkspaceGuard

if TYPE_CHECKING:
    from agentshell.permissions.gitcontrol import GitControl

Approval = Literal["yes", "no", "always"]

# Rule names that stand for a kind of tool rather than one tool.
KIND_ALIASES: dict[str, ToolKind] = {"read": "read", "edit": "edit", "write": "edit", "execute": "execute"}


@dataclass(frozen=True)
class ApprovalRequest:
    tool: str
    kind: ToolKind
    summary: str  # e.g. "bash: git status" / "edit_file src/a.py"
    detail: str | None = None  # the command, or the unified diff of the proposed edit
    reason: str = ""  # why it asks: "edits need approval", "path is outside the workspace"


class RuleError(UserError, ValueError):
    """A malformed ``--allow``/``--deny`` rule or an unknown mode; ``str()`` says which and how to write it."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Rule:
    name: str  # tool name or kind alias
    pattern: str | None  # None: the bare form, everything of that name

    @classmethod
    def parse(cls, text: str) -> Rule:
        raw = text.strip()
        # ``*`` in a name only for MCP tools: ``mcp__git__*`` (extensions/toolbox.py checks the server part).
        match = re.fullmatch(r"(mcp__[A-Za-z0-9_*-]+|[A-Za-z_][A-Za-z0-9_-]*)\s*(?:\((.*)\))?", raw, flags=re.DOTALL)
        if not match:
            raise RuleError(
                f"invalid permission rule {text!r}: write TOOL or TOOL(pattern), "
                "e.g. 'bash(git status*)' or 'edit(src/**)'"
            )
        pattern = match.group(2)
        if pattern is not None:
            pattern = pattern.strip()
            if not pattern:
                raise RuleError(f"invalid permission rule {text!r}: the pattern inside () is empty")
        return cls(match.group(1).lower(), pattern)

    def names(self, tool: str, kind: ToolKind) -> bool:
        if "*" in self.name:
            from fnmatch import fnmatchcase

            return fnmatchcase(tool.lower(), self.name)
        if self.name.startswith("mcp__") and "__" not in self.name[5:]:  # mcp__SERVER: all of its tools
            return tool.lower().startswith(self.name + "__")
        return self.name == tool.lower() or KIND_ALIASES.get(self.name) == kind

    def __str__(self) -> str:
        return self.name if self.pattern is None else f"{self.name}({self.pattern})"


# --------------------------------------------------------------------------- the gate


class PermissionGate:
    """Decides whether one tool call may run, asking the user when the mode says so."""

    def __init__(
        self,
        mode: PermissionMode,
        workspace: Path,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        ask: Callable[[ApprovalRequest], Approval] | None = None,
    ) -> None:
        if mode not in PERMISSION_MODES:
            raise RuleError(f"unknown permission mode {mode!r}: use one of {', '.join(PERMISSION_MODES)}")
        self.mode: PermissionMode = mode
        self.guard = WorkspaceGuard(workspace)
        self._git: GitControl | None = None
        self.allow = [Rule.parse(r) for r in allow]
        self.deny = [Rule.parse(r) for r in deny]
        self.ask = ask
        self._always: set[tuple[str, str]] = set()  # (family, exact subject) answered "always" this session

    @property
    def git(self) -> GitControl:
        """What git takes commands from in this workspace (built on first use: the CLI imports the gate early)."""
        if self._git is None:
            from agentshell.permissions.gitcontrol import GitControl

            self._git = GitControl(self.guard.root)
        return self._git

    @property
    def interactive(self) -> bool:
        return self.ask is not None

    def check(self, request: ApprovalRequest, *, paths: Sequence[Path] = (), rule_subject: str) -> tuple[bool, str]:
        """(allowed, message for the model when denied)."""
        resolved = [self.guard.resolve(p) for p in paths]
        outside = [p for p in resolved if not self.guard.contains(p)]
        for rule in self.deny:
            denial = self._denial(rule, request, rule_subject)
            if denial is not None:
                return False, denial
        if self.mode == "yolo":
            return True, ""
        if (_family(request), rule_subject) in self._always:
            return True, ""
        writes = resolved if request.kind != "read" else []
        git_reason = next((r for p in writes if (r := self.git.write_reason(p))), "")
        into_git = bool(git_reason)
        if self._allowed_by_rules(request, rule_subject, outside=bool(outside), into_git=into_git):
            return True, ""

        if self.mode == "read-only" and request.kind != "read":
            return False, (
                f"denied: {request.summary} is not allowed in read-only mode (only read tools run). "
                f"The user can rerun with --allow {_suggest_rule(request, rule_subject)} or "
                f"{self._alternative(request, outside=bool(outside))}."
            )
        if outside:
            where = ", ".join(p.as_posix() for p in outside)
            reason = f"path is outside the workspace: {where}"
        elif into_git:
            reason = git_reason
        elif request.kind == "read":
            return True, ""
        elif request.kind == "edit":
            if self.mode == "accept-edits":
                return True, ""
            reason = "edits need approval"
        else:
            reason = "commands need approval"
        return self._ask(dataclasses.replace(request, reason=reason), rule_subject, outside=bool(outside))

    def remember(self, request: ApprovalRequest, subject: str) -> None:
        """Allow this exact subject for the rest of the session, as an "always" answer does."""
        self._always.add((_family(request), subject))

    def _ask(self, request: ApprovalRequest, subject: str, *, outside: bool) -> tuple[bool, str]:
        if self.ask is None:
            return False, (
                f"denied: {request.summary} needs approval ({request.reason}) and this run is not interactive; "
                f"the user can rerun with --allow {_suggest_rule(request, subject)} or "
                f"{self._alternative(request, outside=outside)}."
            )
        answer = self.ask(request)
        if answer == "always":
            self._always.add((_family(request), subject))
            return True, ""
        if answer == "yes":
            return True, ""
        return False, f"denied by the user: {request.summary} was not run. Ask the user how to proceed instead."

    def _alternative(self, request: ApprovalRequest, *, outside: bool) -> str:
        """The permission mode that would have let this call run in this kind of session."""
        if self.ask is not None:
            return "--permission-mode ask"
        from agentshell.permissions.gitcontrol import GIT_REASONS

        if outside or request.kind == "execute" or request.reason in GIT_REASONS:
            return "--permission-mode yolo"
        return "--permission-mode accept-edits"

    def check_rule_names(self, tools: Sequence[str]) -> None:
        """Raise :class:`RuleError` for a rule that names no tool and no kind: a typo would silently match nothing."""
        known = {t.lower() for t in tools} | set(KIND_ALIASES)
        for rule in (*self.allow, *self.deny):
            if rule.name not in known and not rule.name.startswith("mcp__"):  # MCP servers: extensions/toolbox.py
                names = ", ".join(sorted(KIND_ALIASES) + sorted({t.lower() for t in tools}))
                raise RuleError(f"permission rule '{rule}' names no tool: use one of {names}")

    def _allowed_by_rules(self, request: ApprovalRequest, subject: str, *, outside: bool, into_git: bool) -> bool:
        rules = [r for r in self.allow if r.names(request.tool, request.kind)]
        if request.kind != "execute":
            return any(
                self._matches(r, request, subject, outside=outside, into_git=into_git, deny=False) for r in rules
            )
        from agentshell.permissions.commandrules import command_allowed, normalise

        command = normalise(subject)
        if any(r.pattern is None or normalise(r.pattern) in ("*", command) for r in rules):
            return True  # the whole command spelled out by the user is allowed as it stands
        patterns = [r.pattern for r in rules if r.pattern is not None]
        return bool(patterns) and command_allowed(subject, patterns)

    def _denial(self, rule: Rule, request: ApprovalRequest, subject: str) -> str | None:
        """The message for the model when ``rule`` stops this call; None when it does not."""
        if not rule.names(request.tool, request.kind):
            return None
        shown = shlex.quote(str(rule))
        stopped = f"denied by rule --deny {shown}: {request.summary} was not run."
        if request.kind != "execute":
            if not self._matches(rule, request, subject, outside=False, into_git=False, deny=True):
                return None
            return f"{stopped} Do not retry it."
        from agentshell.permissions.commandrules import command_denied

        why = "" if rule.pattern is None else command_denied(subject, rule.pattern)
        if why is None:
            return None
        if not why:
            return f"{stopped} Do not retry it."
        return (
            f"{stopped} It cannot be checked against the rule because {why}. Spell the command out "
            "(no variable or substitution as the command, no eval or bash -c) or ask the user."
        )

    def _matches(
        self, rule: Rule, request: ApprovalRequest, subject: str, *, outside: bool, into_git: bool, deny: bool
    ) -> bool:
        if not rule.names(request.tool, request.kind):
            return False
        pattern = rule.pattern
        if pattern is not None and pattern.startswith(("/", "~")):
            pattern = _resolve_pattern(pattern)
        if deny:
            return pattern is None or path_matches(pattern, subject)
        # An allow rule must name escapes explicitly: absolute patterns for outside, ".git" for the git dir.
        if outside and (pattern is None or not pattern.startswith("/")):
            return False
        if into_git and (pattern is None or not _names_exactly(pattern)):
            return False
        return pattern is None or path_matches(pattern, subject)


def _names_exactly(pattern: str) -> bool:
    """Whether an allow rule names a git-control path on purpose: it says ``.git``, or has no wildcard at all."""
    return ".git" in pattern.casefold() or not any(c in pattern for c in "*?[")


def _family(request: ApprovalRequest) -> str:
    """What an "always" covers: every edit tool for a path (write_file and edit_file alike), else the one tool."""
    return request.kind if request.kind in ("read", "edit") else request.tool


def _resolve_pattern(pattern: str) -> str:
    """Expand ``~`` and resolve the literal directory part, as paths are resolved (``/tmp`` may be a link)."""
    expanded = os.path.expanduser(pattern)
    wild = min((i for i, c in enumerate(expanded) if c in "*?["), default=len(expanded))
    cut = expanded.rfind("/", 0, wild)
    if cut <= 0:
        return expanded
    return os.path.realpath(expanded[:cut]) + expanded[cut:]


def check_rules(rules: Sequence[str]) -> None:
    """Raise :class:`RuleError` for the first malformed rule (for the CLI to report before starting)."""
    for rule in rules:
        Rule.parse(rule)


def _suggest_rule(request: ApprovalRequest, subject: str) -> str:
    name = {"edit": "edit", "read": "read"}.get(request.kind, request.tool)
    escaped = re.sub(r"([*?\[])", r"[\1]", subject)
    if len(escaped) > 200:
        escaped = escaped[:200] + "*"
    return shlex.quote(f"{name}({escaped})")
