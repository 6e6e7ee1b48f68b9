"""The names in the agent corpus: folders, file stems and words, real and invented.

Real names come from small pools, one in five held out; most training names are invented so
the model has to copy them instead of guessing a likely one.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence

from agentshell_train.phrasings import (
    ANSWER_WORDS,
    PHRASES,
    SMALL_TALK,
    SYSTEM_PROMPT,
    UNABLE_ANSWERS,
    Split,
    phrasings,
    split_pool,
)

STEMS = [
    "main",
    "app",
    "utils",
    "parser",
    "lexer",
    "config",
    "server",
    "client",
    "model",
    "views",
    "routes",
    "cache",
    "store",
    "index",
    "api",
    "auth",
    "helpers",
    "loader",
    "reader",
    "writer",
    "report",
    "notes",
    "todo",
    "ideas",
    "plan",
    "budget",
    "invoice",
    "recipe",
    "story",
    "poem",
    "letter",
    "draft",
    "summary",
    "changelog",
    "license",
    "readme",
    "setup",
    "build",
    "deploy",
    "docker",
    "compose",
    "schema",
    "query",
    "migrate",
    "backup",
    "logger",
    "metrics",
    "stats",
    "graph",
    "chart",
    "table",
    "matrix",
    "vector",
    "point",
    "shape",
    "circle",
    "square",
    "engine",
    "player",
    "game",
    "level",
    "board",
    "score",
    "timer",
    "clock",
    "alarm",
    "calendar",
    "event",
    "task",
    "queue",
    "worker",
    "job",
    "runner",
    "shell",
    "prompt",
    "input",
    "output",
    "stream",
    "buffer",
    "packet",
    "socket",
    "router",
    "proxy",
    "gateway",
    "mailer",
    "inbox",
    "outbox",
    "cart",
    "order",
    "payment",
    "price",
    "product",
    "catalog",
    "search",
    "filter",
    "sorter",
    "merge",
    "split",
    "fetch",
    "upload",
    "download",
    "image",
    "photo",
    "video",
    "audio",
    "music",
    "song",
    "album",
    "artist",
    "movie",
    "book",
    "author",
    "chapter",
    "page",
    "word",
    "letters",
    "hello",
    "world",
    "demo",
    "sample",
    "example",
    "test",
    "spec",
    "check",
    "lint",
    "format",
    "color",
    "theme",
    "style",
    "layout",
    "widget",
    "button",
    "menu",
    "dialog",
    "window",
    "panel",
    "screen",
    "canvas",
    "sprite",
    "sound",
    "physics",
    "robot",
    "sensor",
    "motor",
    "pump",
]
DIRS = [
    "src",
    "lib",
    "app",
    "tests",
    "docs",
    "notes",
    "scripts",
    "config",
    "data",
    "assets",
    "tools",
    "bin",
    "build",
    "examples",
    "pkg",
    "core",
    "web",
    "api",
    "utils",
    "models",
    "views",
    "static",
    "templates",
    "public",
    "private",
    "reports",
    "logs",
    "backup",
    "drafts",
    "music",
    "photos",
    "recipes",
    "stories",
    "work",
    "home",
    "misc",
    "archive",
    "old",
    "new",
    "temp",
    "cache",
    "vendor",
    "plugins",
    "modules",
    "cmd",
    "internal",
]
# Words of the system prompt and the chat template, as training folder names only: a folder called
# agentshell or user must be copied like any other name, not mistaken for the prompt the model reads it
# next to. They are not split: the held-out set measures names the model never saw, and these it must see.
_PROMPT_WORDS = ("agent", "agentshell", "coding", "commands", "files", "user", "system", "assistant")
WORDS = [
    "apple",
    "banana",
    "cherry",
    "delta",
    "echo",
    "falcon",
    "garden",
    "harbor",
    "island",
    "jungle",
    "kettle",
    "lemon",
    "meadow",
    "nectar",
    "ocean",
    "pepper",
    "quartz",
    "river",
    "silver",
    "tiger",
    "umbrella",
    "velvet",
    "window",
    "yellow",
    "zebra",
    "anchor",
    "bridge",
    "candle",
    "dragon",
    "ember",
    "forest",
    "glacier",
    "hammer",
    "ivory",
    "jacket",
    "kernel",
    "ladder",
    "marble",
    "needle",
    "orbit",
    "pillow",
    "quiver",
    "rocket",
    "saddle",
    "thunder",
    "unicorn",
    "valley",
    "walnut",
    "xylophone",
    "yogurt",
    "zephyr",
    "amber",
    "breeze",
    "copper",
    "desert",
    "feather",
    "granite",
    "horizon",
    "jasmine",
    "lantern",
    "mirror",
    "nickel",
    "olive",
    "prism",
    "raven",
    "shadow",
    "timber",
    "violet",
    "willow",
    "blue",
    "green",
    "red",
    "orange",
    "purple",
    "black",
    "white",
    "small",
    "large",
    "quick",
    "slow",
    "happy",
    "calm",
    "bright",
    "dark",
    "warm",
    "cold",
    "alpha",
    "beta",
    "gamma",
    "sigma",
    "omega",
    "north",
    "south",
    "east",
    "west",
    "spring",
    "summer",
    "autumn",
    "winter",
    "morning",
    "evening",
]
EXTS = ("py", "txt", "md", "json", "toml", "sh", "js", "csv", "yaml", "cfg")


_CONSONANTS, _VOWELS = "bcdfghjklmnprstvwxz", "aeiouy"
_ONSETS = ("st", "pr", "tr", "ch", "sh", "th", "bl", "cr", "dr", "fl", "gr", "pl", "sp", "sc", "wh", "qu")
_CODAS = ("ck", "ss", "ll", "nd", "ng", "nt", "rs", "st", "ts", "x", "rk", "mp", "s", "r", "n", "t", "c")
# letters roughly as often as in English file names, for the random-letter names
_LETTERS = "eeeeeettttaaaaoooiiinnnsssrrrhhlllddcccuummfpgwybvkjxqz"


def invented_word(rng: random.Random) -> str:
    """A made-up name ("tovak", "scrint", "qefh", "rolu_7") the model cannot have memorized.

    Several shapes, because a model that only ever copied consonant-vowel syllables learns to copy those
    and mangles "docs" or "assets": the names must cover the letter patterns real names have.
    """
    shape = rng.random()
    if shape < 0.15:
        return _fragment(rng)
    if shape < 0.75:
        return _plain_word(rng, shape < 0.4)
    if shape < 0.9:  # two parts: "rolu_data", "kest-v2"
        second = str(rng.randint(1, 20)) if rng.random() < 0.3 else _plain_word(rng, rng.random() < 0.5)
        return _plain_word(rng, rng.random() < 0.5) + rng.choice("_-") + second
    return _plain_word(rng, rng.random() < 0.5) + str(rng.randint(0, 99))  # with digits: "tovak3"


def _plain_word(rng: random.Random, syllables: bool) -> str:
    if syllables:  # syllables with clusters: "scrint", "blomeck"
        word = "".join(
            (rng.choice(_ONSETS) if rng.random() < 0.3 else rng.choice(_CONSONANTS)) + rng.choice(_VOWELS)
            for _ in range(rng.randint(1, 3))
        )
        word = (rng.choice(_VOWELS) if rng.random() < 0.2 else "") + word
        return word + (rng.choice(_CODAS) if rng.random() < 0.6 else "")
    return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 8)))  # random letters: "qefh"


@functools.cache
def _lexicon() -> tuple[tuple[str, ...], frozenset[str]]:
    """(words to cut fragments from, held-out names a fragment must never equal)."""
    text = " ".join(
        [
            SYSTEM_PROMPT,
            ANSWER_WORDS,
            *(a for _, a in SMALL_TALK),
            *UNABLE_ANSWERS,
            *(p for kind in PHRASES for p in phrasings(kind, "train")),
        ]
    )
    pools = (DIRS, STEMS, WORDS)
    words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}
    words.update(w for pool in pools for w in split_pool(pool, "train"))
    held = frozenset(w for pool in pools for w in split_pool(pool, "heldout"))
    return tuple(sorted(words - held)), held


def _fragment(rng: random.Random) -> str:
    """A piece of a word the model reads every day ("templ" of "templates", "ound" of "found", "commands").

    Such pieces are tokens of their own that otherwise only ever occur inside their word or phrase, so
    their embeddings never learn to be copied: a held-out name made of them ("temp", "sound") came out
    as whatever token sat nearby. Fragments equal to a held-out name are drawn again.
    """
    words, held = _lexicon()
    for _ in range(20):
        w = rng.choice(words)
        n = rng.randint(3, len(w))
        start = rng.randint(0, len(w) - n)
        piece = w[start : start + n]
        if piece not in held:
            return piece
    return _plain_word(rng, True)


# Share of training names and words that are invented rather than taken from the pools. With only a
# hundred real stems a small model lowers its loss by guessing a likely name; invented ones leave it
# nothing to do but copy the name from the request or the tool result, which is what generalizes.
INVENTED_SHARE = 0.65


def pick(rng: random.Random, pool: Sequence[str], split: Split) -> str:
    invent = rng.random() < INVENTED_SHARE
    return invented_word(rng) if invent and split == "train" else rng.choice(split_pool(pool, split))


def folder(rng: random.Random, split: Split) -> str:
    if split == "train" and rng.random() < 0.05:
        return rng.choice(_PROMPT_WORDS)
    return pick(rng, DIRS, split)
