"""Markdown as a model's answer needs it: line breaks kept, headings as written, quoted diffs as diffs.

CommonMark joins single newlines into one paragraph, so ``src contains:\\napp.py\\nutil.py``
would read ``src contains: app.py util.py``; models mean the break (Codex keeps it too).
A quoted ``# Title`` should not become a centred banner, and a quoted diff should not become
a bullet list: the answer shows them as the file has them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Heading, Markdown
from rich.text import Text

_DIFF_STARTS = ("--- ", "+++ ", "@@ ", "diff --git ")


class _HeadingAsWritten(Heading):
    """``# Title`` stays ``# Title``: bold, left, with its marks, as in the file being quoted."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        level = int(self.tag[1:]) if self.tag[1:].isdigit() else 1
        text = Text("#" * level + " ", style="bold")
        text.append_text(self.text)
        text.justify = "left"
        yield text


class AnswerMarkdown(Markdown):
    """rich's Markdown with every newline kept and headings as written."""

    elements: ClassVar[dict[str, Any]] = {**Markdown.elements, "heading_open": _HeadingAsWritten}

    def __init__(self, markup: str, **options: Any) -> None:
        super().__init__(fence_diffs(markup), **options)
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":  # a newline the model wrote is a line break
                    child.type = "hardbreak"


def looks_like_diff(lines: list[str]) -> bool:
    """A unified diff (headers or hunks), or lines that add and remove: not a list of ``-`` bullets."""
    if not lines:
        return False
    if lines[0].startswith(_DIFF_STARTS):
        return True
    marks = {line[:1] for line in lines}
    return marks <= {"+", "-", " "} and {"+", "-"} <= marks


def fence_diffs(text: str) -> str:
    """Put each unfenced block that :func:`looks_like_diff` in a ```diff fence."""
    blocks: list[list[str]] = [[]]
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and not line.strip():
            blocks.append([line])
            blocks.append([])
        else:
            blocks[-1].append(line)
    out: list[str] = []
    for block in blocks:
        if block and not any(line.lstrip().startswith(("```", "~~~")) for line in block) and looks_like_diff(block):
            out.extend(["```diff", *block, "```"])
        else:
            out.extend(block)
    return "\n".join(out)
