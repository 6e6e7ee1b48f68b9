"""The requests of the agent corpus: thousands of phrasings per tool, built from parts.

A hand-written list of ten sentences per tool taught the model those ten sentences; combinations
(opener × verb × object × closer) teach it which words choose the tool and where the arguments are, which
is what carries over to a phrasing it has never seen. The held-out split takes whole phrasings out, so a
held-out request is a sentence the model never saw, made of words it did.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from typing import Literal, TypeVar

Split = Literal["train", "heldout"]

_P = dict[str, tuple[str, ...]]
T = TypeVar("T")

# The compact system prompt the model is trained with. The shipped chat template
# renders it in place of whatever system message the caller sends: a 1M-parameter
# model with a 2,048-token window cannot follow the agent's full instructions.
SYSTEM_PROMPT = "You are agentshell, a coding agent. Use the tools to work with files and commands."


def expand(*parts: Sequence[str]) -> list[str]:
    """Every concatenation of one choice from each part: "list" × " the files in {path}" × "?"."""
    out = [""]
    for part in parts:
        out = [head + tail for head in out for tail in part]
    return out


_ASK = (
    "",
    "please ",
    "can you ",
    "could you ",
    "would you ",
    "I need you to ",
    "go ahead and ",
    "now ",
    "I want you to ",
    "hey, ",
    "kindly ",
    "quickly ",
)
_END = ("", ".", "!", " please", " for me", " thanks", " now", ", please")
_QEND = ("?", "", " please?")
_QASK = ("", "hey, ", "so ", "tell me: ", "quick question: ")
_CEND = ("", "!")  # after free text a closing "now" or "please" could be part of it

_GRAMMAR: dict[str, list[str]] = {
    "list_dir": [
        *expand(
            _ASK,
            ("list", "show", "show me", "display", "print", "give me", "tell me", "enumerate"),
            (
                " the files in {path}",
                " the contents of {path}",
                " {path}",
                " the folder {path}",
                " the directory {path}",
                " everything in {path}",
                " the entries of {path}",
                " what is in {path}",
                " a listing of {path}",
                " the files inside the {path} folder",
            ),
            _END,
        ),
        *expand(
            _QASK,
            (
                "what's in {path}",
                "what is inside {path}",
                "which files are in {path}",
                "which files are in the {path} folder",
                "what does {path} contain",
                "what files are there in {path}",
                "what is in the {path} directory",
                "what do we have in {path}",
                "what's inside the folder {path}",
            ),
            _QEND,
        ),
        *expand(_ASK, ("ls {path}", "look inside {path}", "look in the folder {path}", "peek into {path}"), _END),
    ],
    "read_file": [
        *expand(
            _ASK,
            ("read", "show", "show me", "open", "cat", "print", "display", "dump", "view", "give me", "output"),
            (
                " {path}",
                " the file {path}",
                " the contents of {path}",
                " the text of {path}",
                " what {path} says",
                " the content of the file {path}",
            ),
            _END,
        ),
        *expand(
            _QASK,
            (
                "what's in {path}",
                "what does {path} say",
                "what is written in {path}",
                "what's inside the file {path}",
                "what does the file {path} contain",
                "what are the contents of {path}",
            ),
            _QEND,
        ),
        *expand(_ASK, ("let me see {path}", "I want to see {path}", "have a look at {path}"), _END),
    ],
    "grep": [
        *expand(
            _ASK,
            (
                "search for",
                "grep",
                "grep for",
                "find",
                "look for",
                "locate",
                "hunt for",
                "find occurrences of",
                "search for the word",
                "find the text",
                "find lines with",
            ),
            (
                " {pattern} in {path}",
                " {pattern} inside {path}",
                " {pattern} under {path}",
                " {pattern} within {path}",
                " {pattern} anywhere in {path}",
            ),
            _END,
        ),
        *expand(_ASK, ("search", "grep", "scan", "check"), (" {path} for {pattern}",), _END),
        *expand(
            _QASK,
            (
                "where does {pattern} appear in {path}",
                "which lines in {path} mention {pattern}",
                "is {pattern} used anywhere in {path}",
                "does {path} contain {pattern}",
                "where is {pattern} mentioned in {path}",
                "which lines of {path} contain {pattern}",
            ),
            _QEND,
        ),
    ],
    "glob": [
        *expand(
            _ASK,
            ("find", "list", "show", "show me", "glob", "search for", "look for", "locate", "give me"),
            (
                " files matching {pattern}",
                " all files matching {pattern}",
                " the files that match {pattern}",
                " files named {pattern}",
                " every file matching {pattern}",
                " files like {pattern}",
                " the paths matching {pattern}",
            ),
            _END,
        ),
        *expand(_ASK, ("glob {pattern}", "find {pattern}", "list {pattern}"), _END),
        *expand(
            _QASK,
            (
                "which files match {pattern}",
                "what files match the pattern {pattern}",
                "are there files matching {pattern}",
                "what matches {pattern}",
                "which paths match {pattern}",
            ),
            _QEND,
        ),
    ],
    "write_file": [
        *expand(
            _ASK,
            ("create", "make", "add", "write", "generate"),
            (
                " a file {path}",
                " the file {path}",
                " {path}",
                " a new file {path}",
                " a file called {path}",
                " a file named {path}",
            ),
            (
                " with {content}",
                " containing {content}",
                " with the text {content}",
                " that says {content}",
                " with content {content}",
                ": {content}",
            ),
            _CEND,
        ),
        *expand(
            _ASK,
            ("write", "save", "put", "store"),
            (" {content}",),
            (
                " to {path}",
                " in {path}",
                " into {path}",
                " into a new file {path}",
                " in the file {path}",
                " in a file called {path}",
            ),
            _END,
        ),
        *expand(
            _ASK,
            (
                "create {path} and write {content} in it",
                "make a new file {path} with the text {content}",
                "new file {path}: {content}",
            ),
            _CEND,
        ),
    ],
    "edit_file": [
        *expand(
            _ASK,
            ("replace", "change", "swap", "switch", "rename", "turn"),
            (" {old}",),
            (" with {new}", " to {new}", " into {new}", " by {new}"),
            (" in {path}", " inside {path}", " in the file {path}"),
            _END,
        ),
        *expand(
            _ASK,
            ("in {path}, ", "in the file {path} "),
            ("replace", "change", "swap", "rename"),
            (" {old} with {new}", " {old} to {new}", " {old} into {new}"),
            _END,
        ),
        *expand(
            _ASK,
            (
                "substitute {new} for {old}",
                "put {new} in place of {old}",
                "use {new} instead of {old}",
                "write {new} instead of {old}",
            ),
            (" in {path}", " inside {path}", " in the file {path}"),
            _END,
        ),
        *expand(
            _ASK,
            ("edit", "update", "modify", "fix"),
            (" {path}",),
            (
                ": replace {old} with {new}",
                " so that {old} becomes {new}",
                " and change {old} to {new}",
                ", changing {old} to {new}",
                " by replacing {old} with {new}",
            ),
            _END,
        ),
    ],
    "bash": [
        *expand(
            _ASK,
            ("run", "execute", "try running", "try", "launch", "invoke"),
            (" {command}", " the command {command}", " this: {command}", " the shell command {command}"),
            ("", " in the shell", " in a terminal"),
            _END,
        ),
        *expand(
            _QASK,
            (
                "what does {command} print",
                "what is the output of {command}",
                "what happens if you run {command}",
                "what do you get from {command}",
            ),
            _QEND,
        ),
    ],
}


def held_out(phrasing: str) -> bool:
    """One phrasing in five is held out, chosen by a hash of its text, so the split never depends on a seed."""
    return zlib.crc32(phrasing.encode()) % 5 == 4


def split_pool(items: Sequence[T], split: Split, every: int = 5) -> list[T]:
    """Every ``every``-th item is held out; the split is fixed by position, so it never depends on the seed."""
    return [x for i, x in enumerate(items) if (i % every == every - 1) == (split == "heldout")]


@functools.cache
def phrasings(kind: str, split: Split) -> tuple[str, ...]:
    """The phrasings of ``kind`` in ``split``; computed once, since every corpus conversation asks."""
    return tuple(p for p in PHRASES[kind] if held_out(p) == (split == "heldout"))


PHRASES: _P = {kind: tuple(dict.fromkeys(forms)) for kind, forms in _GRAMMAR.items()}


SMALL_TALK: tuple[tuple[str, str], ...] = (
    ("hi", "Hello! I can list folders, read, search, create and edit files, and run commands here."),
    ("hello", "Hello! What should I do in this workspace?"),
    ("hey there", "Hi! Ask me to read, search or edit files, or to run a command."),
    ("thanks", "You're welcome!"),
    ("thank you!", "You're welcome! Anything else?"),
    ("who are you?", "I am agentshell, a small coding agent. I work with the files and commands of this workspace."),
    ("what can you do?", "I can list folders, read files, search text, create and edit files, and run commands."),
    ("how are you?", "I'm fine, thanks! What should I do?"),
    ("good morning", "Good morning! How can I help with this workspace?"),
    ("bye", "Goodbye!"),
    ("what is your name?", "My name is agentshell."),
    ("are you there?", "Yes, I'm here. What should I do?"),
    ("help", "Ask me to list a folder, read or search files, create or edit a file, or run a command."),
    ("ok", "OK. Tell me what to do next."),
    ("nice work", "Thank you!"),
)

UNABLE: tuple[str, ...] = (
    "book a flight to Paris",
    "what's the weather tomorrow?",
    "send an email to my boss",
    "order a pizza",
    "call my mom",
    "what is the price of bitcoin today?",
    "buy me a new laptop",
    "play some music",
    "turn off the lights",
    "post this on twitter",
    "translate this video",
    "drive me home",
    "set an alarm for 7am",
    "text Alice that I'm late",
    "show me today's news",
    "pay my bills",
    "open my bank account",
    "take a photo",
    "find a restaurant near me",
    "download the internet",
)
UNABLE_ANSWERS = (
    "Sorry, I can't do that. I can only work with the files and commands in this workspace.",
    "I can't do that: my tools only read, search and edit files and run commands here.",
)

# Wording of the answers in corpus.py: with the system prompt and the phrasings, the text the model reads
# around every name, whose words the fragments are cut from.
ANSWER_WORDS = (
    "contains here are the files in found no match for appears matches these files match matching wrote with "
    "the text done now contains replaced is now the command printed output of current folder content that did "
    "not work could not unknown error"
)
