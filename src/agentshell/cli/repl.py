"""The interactive shell: a prompt_toolkit prompt in front of :class:`agentshell.api.Agent`.

Enter sends; Alt-Enter (or Esc then Enter), Ctrl-J or a trailing backslash add
a line; pasted text keeps its newlines. History lives in the data directory.
Ctrl-C while the model or a tool works cancels that turn and comes back here
with the conversation intact; Ctrl-C at the prompt clears the line; Ctrl-D or
``/exit`` quits. The agent is the API's: the shell asks its approvals, draws its runs
(cli/render.py, as the run's observer) and maps slash commands to its methods.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentshell.api.agent import Agent
from agentshell.cli import custom_commands
from agentshell.cli.render import TerminalRenderer
from agentshell.cli.safe_text import one_line, terminal_safe
from agentshell.cli.typeahead import held_keys, input_fd
from agentshell.config import data_dir
from agentshell.errors import EXIT_OK, UserError
from agentshell.permissions.gate import Approval, ApprovalRequest
from agentshell.protocol import BackendFailure
from agentshell.tools.base import ToolError

if TYPE_CHECKING:
    from agentshell.api.assembly import Assembly, LaunchOptions
    from agentshell.extensions.commands import ExtensionCommand
    from agentshell.session import SessionSummary

PROMPT = "› "
SMALL_CONTEXT = 4096  # tokens: below this a model cannot hold a real coding conversation (the banner says so)
PICK_SHOWN = 9  # sessions offered by `--resume` without an id: one digit each


@dataclass(frozen=True)
class SlashCommand:
    name: str
    usage: str
    help: str


SLASH_COMMANDS = (
    SlashCommand("/help", "/help", "show this list"),
    SlashCommand("/model", "/model [NAME]", "show the model, or switch to NAME (the conversation carries over)"),
    SlashCommand("/tools", "/tools", "list the tools the model can call"),
    SlashCommand("/clear", "/clear", "start a fresh conversation (a new session)"),
    SlashCommand("/compact", "/compact", "summarize older turns now to free context"),
    SlashCommand("/undo", "/undo", "put the files back as they were before the last request (twice: redo)"),
    SlashCommand("/rewind", "/rewind [N]", "go back to before request N: the code, the conversation or both"),
    SlashCommand("/exit", "/exit", "quit (Ctrl-D does the same)"),
)


KEYS = (
    ("Enter", "send"),
    ("Alt-Enter, Ctrl-J", "a new line (so does a line ending in \\; pasted text keeps its newlines)"),
    ("Up, Down", "earlier prompts; Tab completes /commands"),
    ("y / n / a", "answer an approval: yes, no (then say what to do instead), always"),
    ("Ctrl-C", "cancel the running turn, or clear the line"),
    ("Ctrl-D", "quit (shows how to resume)"),
)

RESERVED = frozenset({*(c.name for c in SLASH_COMMANDS), "/quit"})  # names custom commands cannot take


class SlashCompleter(Completer):
    """Completes slash commands, and backend prefixes after ``/model``."""

    def __init__(self, backend_names: Callable[[], list[str]]) -> None:
        self.backend_names = backend_names
        # Custom commands and MCP prompts, as (usage, description): set once the run is assembled.
        self.extra: Callable[[], list[tuple[str, str]]] = list

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/"):
            return
        if " " not in text:
            for command in SLASH_COMMANDS:
                if command.name.startswith(text):
                    yield Completion(command.name, start_position=-len(text), display_meta=command.help)
            for usage, about in self.extra():
                if usage.startswith(text):
                    yield Completion(usage.split()[0], start_position=-len(text), display_meta=about)
        elif text.startswith("/model ") and ":" not in text:
            word = text[len("/model ") :]
            for name in self.backend_names():
                if name.startswith(word):
                    yield Completion(f"{name}:", start_position=-len(word))


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    @bindings.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("enter")
    def _submit(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.text.endswith("\\") and buffer.cursor_position == len(buffer.text):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    return bindings


class Shell:
    """One interactive session: reads lines, runs slash commands, hands the rest to the agent."""

    def __init__(
        self, console: Console, prompt_session: PromptSession[str], err_console: Console | None = None
    ) -> None:
        self.console = console
        self.prompt_session = prompt_session
        self.renderer = TerminalRenderer(console, err_console)  # notices, spinners and the status line: stderr
        # Approvals get their own prompt, on the same terminal, without history: answers are not prompts.
        self._questions: PromptSession[str] = PromptSession(input=prompt_session.input, output=prompt_session.output)
        self.agent: Agent | None = None

    @property
    def parts(self) -> Assembly | None:
        """The agent's pieces, for custom commands, ``/undo`` and ``/rewind`` (custom_commands.py, rewind_shell.py)."""
        return self.agent.parts if self.agent is not None else None

    def ask(self, request: ApprovalRequest) -> Approval:
        """The permission gate's approval question, one key: y, n (or Esc) or a. After "no" the turn stops,
        as in Claude Code: the user says what to do instead rather than the model guessing on."""
        from agentshell.cli.keypress import read_key

        self.renderer.show_approval(request)
        choices: dict[str, tuple[Approval, str]] = {"y": ("yes", "yes"), "n": ("no", "no"), "a": ("always", "always")}
        answer = read_key("allow? [y]es / [n]o / [a]lways", choices, escape="n", **self._terminal())
        if answer == "no" and self.agent is not None:
            self.agent.stop_after_call("the user declined an earlier call and will say what to do instead")
        elif answer != "no":
            self.renderer.approved()
        return answer

    def notice(self, line: str) -> None:
        self.console.print(Text(terminal_safe(line), style="yellow" if line.startswith("warning") else "dim"))

    def pick_session(self, sessions: Sequence[SessionSummary]) -> str | None:
        """``--resume`` without an id: the newest sessions of this directory, one key each."""
        from agentshell.cli.keypress import read_key
        from agentshell.cli.render import session_table

        shown = list(sessions[:PICK_SHOWN])
        self.console.print(session_table(shown, numbered=True))
        choices: dict[str, tuple[str | None, str]] = {str(i): (s.id, s.id) for i, s in enumerate(shown, start=1)}
        choices["n"] = (None, "a new session")
        question = f"resume which? [1-{len(shown)}] (Enter: 1, n: a new session)" if len(shown) > 1 else ""
        question = question or "resume it? [1] (Enter: yes, n: a new session)"
        return read_key(question, choices, enter="1", escape="n", **self._terminal())

    def _terminal(self) -> dict[str, Any]:
        return {"input": self.prompt_session.input, "output": self.prompt_session.output}

    def start(self, opts: LaunchOptions) -> None:
        self.agent = agent = Agent.from_options(opts, approve=self.ask, on_notice=self.notice, pick=self.pick_session)
        parts = agent.parts
        if isinstance(self.prompt_session.completer, SlashCompleter):
            self.prompt_session.completer.extra = lambda: custom_commands.listing(parts, RESERVED)
        parts.tools.ctx.on_output = self.renderer.on_command_output  # a running command's last lines, live
        messages = agent.messages
        resumed = f" · resumed {len(messages)} messages" if messages else ""
        self.console.print(
            Text(f"agentshell · {agent.backend} · {agent.model} · session {agent.session_id}{resumed}", "bold"),
            Text("/help for commands, Ctrl-C cancels a turn, Ctrl-D quits", style="dim"),
            sep="\n",
        )
        self._small_model_note()
        if messages:
            from agentshell.cli.render import last_exchange

            self.console.print(last_exchange(messages))

    def _small_model_note(self) -> None:
        """Say so before the first answer disappoints: a tiny window fills after one request."""
        assert self.agent is not None
        window = self.agent.context_length
        if window is not None and window < SMALL_CONTEXT:
            self.console.print(
                Text(
                    f"{one_line(self.agent.model)} is a small demonstration model ({window:,}-token context): fine for "
                    "trying the shell, not for real work. Pick a larger one with --model or /model "
                    "(`agent models` lists them).",
                    style="yellow",
                )
            )

    def goodbye(self) -> None:
        """Ctrl-D or /exit: say how to come back to this conversation."""
        if self.agent is not None and self.agent.messages:
            session_id = self.agent.session_id
            self.console.print(Text(f"resume this conversation with: agent launch --resume {session_id}", "dim"))

    def loop(self) -> int:
        while True:
            try:
                line = self.prompt_session.prompt(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                self.goodbye()
                return EXIT_OK
            if not line.strip():
                continue
            with held_keys(input_fd(self.prompt_session.input)):  # type-ahead waits for the next prompt
                if self.handle(line) == "exit":
                    self.goodbye()
                    return EXIT_OK

    def handle(self, line: str) -> str | None:
        if line.strip().startswith("/") and "/" not in line.split()[0][1:]:  # "/etc/hosts ..." is a prompt
            return self.slash(line.strip())
        self.turn(line)
        return None

    def turn(self, line: str) -> None:
        assert self.agent is not None
        result = self.agent.run(line, observer=self.renderer)
        if result.stop_reason == "interrupted":
            self.renderer.interrupted()
        elif result.stop_reason == "declined":  # the user said no to a call (Shell.ask)
            self.renderer.reset()
            self.console.print(Text("declined · what should the agent do instead?", style="yellow"))
        elif result.error is not None:
            self.renderer.reset()
            self.console.print(Text(f"error: {terminal_safe(result.error)}", style="red"))

    def slash(self, line: str) -> str | None:
        assert self.agent is not None and self.parts is not None
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/exit", "/quit"):
            return "exit"
        if name == "/help":  # two columns, so a help text that wraps stays in its column
            for rows in ([(c.usage, c.help) for c in SLASH_COMMANDS], KEYS):
                table = Table(box=None, show_header=False, pad_edge=False)
                table.add_column(style="bold", no_wrap=True, min_width=17)
                table.add_column()
                for left, right in rows:
                    table.add_row(Text(left), Text(right))
                self.console.print(table, end="\n" if rows is KEYS else "\n\n")
            for usage, about in custom_commands.listing(self.parts, RESERVED):
                self.console.print(Text.assemble((f"{usage:<17}", "bold"), " ", one_line(about)))
        elif name == "/model":
            self.switch_model(arg)
        elif name == "/tools":
            table = Table("tool", "description", box=None)
            for spec in self.parts.tools.specs():  # with their descriptions, which Agent.tools leaves out
                first = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
                table.add_row(Text(one_line(spec.name)), Text(one_line(first)))  # MCP tools describe themselves
            self.console.print(table)
        elif name == "/clear":
            self.clear()
        elif name in ("/undo", "/rewind"):
            from agentshell.cli import rewind_shell  # rich and the checkpoints only when asked for

            ask = self._questions.prompt
            if name == "/undo":
                rewind_shell.undo(self.console, ask, self.parts, self.agent.loop)
            else:
                rewind_shell.rewind(self.console, ask, self.parts, self.agent.loop, arg)
        elif name == "/compact":
            try:
                note = self.agent.compact()
            except (BackendFailure, KeyboardInterrupt) as exc:
                self.console.print(Text(f"error: {terminal_safe(str(exc)) or 'interrupted'}", style="red"))
                return None
            self.console.print(Text(note or "nothing to compact", style="dim"))
        elif (custom := custom_commands.find(self.parts, name, RESERVED)) is not None:
            self.run_command(custom, arg)
        else:
            self.console.print(Text(f"unknown command {name}; /help lists them", style="red"))
        return None

    def run_command(self, command: ExtensionCommand, arg: str) -> None:
        """``/NAME``: a custom command or an MCP prompt, its front matter in force for this one request."""
        assert self.agent is not None and self.parts is not None
        for problem in command.problems:
            self.notice(f"warning: /{command.name}: {problem}; that rule is ignored")
        try:
            with custom_commands.command_scope(self.parts, self.agent.loop, command):
                self.turn(command.expand(arg))
        except (ToolError, BackendFailure) as exc:
            self.console.print(Text(f"error: {terminal_safe(str(exc))}", style="red"))

    def switch_model(self, arg: str) -> None:
        assert self.agent is not None
        if not arg:
            self.console.print(Text(f"{self.agent.backend} · {one_line(self.agent.model)}"))
            return
        try:
            self.agent.set_model(arg)
        except (BackendFailure, UserError) as exc:
            self.console.print(Text(f"error: {terminal_safe(str(exc))}; still on {self.agent.model}", style="red"))
            return
        self.console.print(Text(f"now on {self.agent.backend} · {self.agent.model}", style="green"))
        self._small_model_note()

    def clear(self) -> None:
        assert self.agent is not None
        self.agent.new_session()
        if self.console.is_terminal:
            self.console.clear()  # a fresh conversation on a fresh screen
        self.console.print(Text(f"new conversation · session {self.agent.session_id}", style="dim"))


class _RedactedHistory(FileHistory):
    """Prompt history on disk, with credentials masked: a pasted key must not sit in a plain file."""

    def store_string(self, string: str) -> None:
        from agentshell.redact import redact

        super().store_string(redact(string))


def run_interactive(opts: LaunchOptions) -> int:
    from agentshell.registry import backend_names

    history = data_dir() / "history"
    history.parent.mkdir(parents=True, exist_ok=True)
    # Prompts hold private code and paths, like transcripts: owner-only (docs/sessions-and-config.md).
    os.close(os.open(history, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    os.chmod(history, 0o600)
    prompt_session: PromptSession[str] = PromptSession(
        history=_RedactedHistory(str(history)),
        completer=SlashCompleter(backend_names),
        complete_while_typing=True,
        key_bindings=_key_bindings(),
    )
    shell = Shell(Console(), prompt_session, Console(stderr=True))
    with held_keys(input_fd(prompt_session.input)):  # a model that loads for seconds: keys wait for the prompt
        shell.start(opts)
    try:
        return shell.loop()
    finally:
        if shell.agent is not None:
            shell.agent.close()
