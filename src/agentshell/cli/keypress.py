"""Questions answered with one key: approvals and the session picker.

A full prompt would need the answer plus Enter, and would put "y" into the
line editor's history. Here a small prompt_toolkit application shows the
question on one line, takes one of the offered keys, writes the chosen word
after the question and returns at once; any other key is ignored. Ctrl-C
raises KeyboardInterrupt as everywhere else in the shell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from prompt_toolkit.application import Application
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.output import Output

T = TypeVar("T")


def read_key(
    question: str,
    choices: Mapping[str, tuple[T, str]],
    *,
    enter: str | None = None,
    escape: str | None = None,
    input: Input | None = None,
    output: Output | None = None,
) -> T:
    """Wait for one of ``choices`` (key -> (value, word shown)); ``enter``/``escape`` name the key they stand for."""
    chosen: list[str] = []

    def text() -> FormattedText:
        shown = [("bold", question)]
        if chosen:
            shown.append(("", " " + chosen[0]))
        return FormattedText(shown)

    bindings = KeyBindings()

    def answer(key: str) -> Callable[[KeyPressEvent], None]:
        def _answer(event: KeyPressEvent) -> None:
            value, word = choices[key]
            chosen.append(word)
            event.app.exit(result=value)

        return _answer

    for key in choices:
        bindings.add(key, eager=True)(answer(key))
        if key.isalpha() and key.upper() != key:
            bindings.add(key.upper(), eager=True)(answer(key))
    for special, stands_for in ((Keys.ControlM, enter), (Keys.Escape, escape)):
        if stands_for is not None:
            bindings.add(special, eager=True)(answer(stands_for))

    @bindings.add(Keys.ControlC, eager=True)
    @bindings.add(Keys.ControlD, eager=True)
    def _interrupt(event: KeyPressEvent) -> None:
        event.app.exit(exception=KeyboardInterrupt())

    @bindings.add(Keys.Any)
    def _ignore(event: KeyPressEvent) -> None:
        pass

    app: Application[T] = Application(
        layout=Layout(Window(FormattedTextControl(text, show_cursor=True), height=1, dont_extend_height=True)),
        key_bindings=bindings,
        input=input,
        output=output,
        erase_when_done=False,
    )
    return app.run(handle_sigint=False)
