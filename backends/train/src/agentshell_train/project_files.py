"""Names, values and the text files of generated projects: docs, configs, data, ops scripts.

Half of the words come from the split-aware pools of names.py (so a held-out project holds names the
model never saw), half from the vocabulary real code uses. Source files are in project_code.py; the
project layouts that put these files together are in projects.py.
"""

from __future__ import annotations

import functools
import json
import random
import re

from agentshell_train.names import DIRS, STEMS, WORDS, folder, pick
from agentshell_train.phrasings import Split, split_pool

# Words real projects name things with. Training projects leave out any that a pool holds out, so the
# held-out set still measures names the model has never seen.
VOCAB = (
    "user", "order", "config", "parser", "cache", "auth", "db", "utils", "server", "client", "handler",
    "report", "invoice", "session", "token", "account", "customer", "payment", "item", "product", "event",
    "message", "queue", "worker", "job", "task", "record", "entry", "search", "query", "request", "response",
    "route", "model", "store", "settings", "logger", "metrics", "status", "health", "upload", "profile",
    "email", "address", "price", "cart", "stock", "batch", "exporter", "schema", "migration", "backup",
    "invoice_line", "retry", "timeout", "limit", "page", "result", "summary", "total", "count", "invoice_id",
    "user_id", "created_at", "updated_at", "name", "title", "amount", "currency", "region", "channel",
)  # fmt: skip
# Words that would not be identifiers in the languages the templates write
_RESERVED_WORDS = (
    "and as in is if or do fn go let mod use pub var for def del end new not try case else enum func impl "
    "type loop self true false none null with from pass break class match yield async await while raise "
    "return import struct static public private switch default delete export extern final"
)
_RESERVED = frozenset(_RESERVED_WORDS.split())
_UNSAFE = re.compile(r"[^a-z0-9]+")


@functools.cache
def held_only() -> frozenset[str]:
    """Names only the held-out split may use; an invented training name can spell one ("sh"+"a"+"pe")."""
    pools = (DIRS, STEMS, WORDS)
    train = {w for pool in pools for w in split_pool(pool, "train")}
    return frozenset(w for pool in pools for w in split_pool(pool, "heldout") if w not in train)


@functools.cache
def _vocab(split: Split) -> tuple[str, ...]:
    return VOCAB if split == "heldout" else tuple(w for w in VOCAB if w not in held_only())


SENTENCES = (
    "This module handles {a} and {b} for the {c} service.",
    "Run the {a} script before you deploy the {b} build.",
    "The {a} cache expires after {n} seconds.",
    "We keep every {a} record in the {b} table.",
    "Use {a} to load the {b} settings from disk.",
    "Fix the {a} bug in the {b} parser before the next release.",
    "Each {a} belongs to exactly one {b}.",
    "The {a} worker reads jobs from the {b} queue and retries {n} times.",
    "Set {A} in your environment to change the {b} path.",
    "Requests to the {a} endpoint time out after {n} ms.",
    "The {a} report is generated every night at {h}:00.",
    "Ask the {a} team before changing the {b} schema.",
    "Old {a} files are moved to the {b} folder after {n} days.",
    "The {a} client talks to the {b} server over HTTP.",
)
HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "db", "redis", "postgres", "cache")
PORTS = (80, 443, 3000, 5000, 5432, 6379, 8000, 8080, 8443, 9000, 9090)


class Ctx:
    """The random stream and split one project draws every name and value from, in order."""

    def __init__(self, rng: random.Random, split: Split) -> None:
        self.rng, self.split = rng, split

    def word(self) -> str:
        """One lowercase name part: half from the split's pools (often invented in training), half real."""
        rng = self.rng
        if rng.random() < 0.5:
            w = _UNSAFE.sub("_", pick(rng, STEMS if rng.random() < 0.5 else WORDS, self.split).lower()).strip("_")
            if w and w not in _RESERVED and not w[0].isdigit() and self._allowed(w):
                return w
        return rng.choice(_vocab(self.split))

    def folder(self) -> str:
        """A folder name from the pools (names.folder), drawn again if training invented a held-out one."""
        name = folder(self.rng, self.split)
        return name if self._allowed(name) else self.rng.choice(_vocab(self.split))

    def _allowed(self, name: str) -> bool:
        return self.split == "heldout" or not set(re.split(r"[_-]", name)) & held_only()

    def parts(self, most: int = 2) -> list[str]:
        return [self.word() for _ in range(self.rng.randint(1, most))]

    def snake(self, most: int = 2) -> str:
        return "_".join(self.parts(most))

    def camel(self, most: int = 2) -> str:
        first, *rest = "_".join(self.parts(most)).split("_")
        return first + "".join(p.title() for p in rest)

    def pascal(self, most: int = 2) -> str:
        return "".join(p.title() for p in "_".join(self.parts(most)).split("_"))

    def upper(self, most: int = 2) -> str:
        return self.snake(most).upper()

    def kebab(self, most: int = 2) -> str:
        return self.snake(most).replace("_", "-")

    def sentence(self) -> str:
        a, b, c = self.word(), self.word(), self.word()
        n = self.rng.choice((3, 5, 10, 30, 60, 120, 500))
        return self.rng.choice(SENTENCES).format(a=a, b=b, c=c, A=a.upper() + "_PATH", n=n, h=n % 24)

    def port(self) -> int:
        return self.rng.choice(PORTS) if self.rng.random() < 0.6 else self.rng.randint(1024, 9999)

    def host(self) -> str:
        return self.rng.choice(HOSTS) if self.rng.random() < 0.6 else f"{self.kebab(1)}.internal"

    def version(self) -> str:
        return f"{self.rng.randint(0, 3)}.{self.rng.randint(0, 20)}.{self.rng.randint(0, 9)}"

    def value(self) -> str | int | bool:
        """A config value: a port, a timeout, a flag, a path, a name."""
        kind = self.rng.randrange(6)
        if kind == 0:
            return self.port()
        if kind == 1:
            return self.rng.choice((5, 10, 30, 60, 300, 3600))
        if kind == 2:
            return self.rng.random() < 0.5
        if kind == 3:
            return f"/var/{self.rng.choice(('lib', 'log', 'data'))}/{self.kebab(1)}"
        if kind == 4:
            return self.host()
        return self.kebab()

    def settings(self, count: int) -> dict[str, str | int | bool]:
        keys = ("port", "host", "timeout", "debug", "log_level", "workers", "data_dir", "max_retries")
        out: dict[str, str | int | bool] = {}
        for _ in range(count):
            key = self.rng.choice(keys) if self.rng.random() < 0.5 else self.snake()
            out[key] = self.value()
        return out


def lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


def readme(c: Ctx, title: str, run: str) -> str:
    body = [f"# {title}", "", c.sentence(), c.sentence(), "", "## Usage", "", "```", run, "```"]
    if c.rng.random() < 0.6:
        body += ["", "## Configuration", ""]
        body += [f"- `{c.upper()}`: {c.sentence()}" for _ in range(c.rng.randint(1, 4))]
    if c.rng.random() < 0.4:
        body += ["", "## License", "", c.rng.choice(("MIT", "Apache-2.0", "BSD-3-Clause"))]
    return lines(*body)


def doc_page(c: Ctx, title: str) -> str:
    body = [f"# {title}", "", c.sentence()]
    for _ in range(c.rng.randint(1, 3)):
        body += ["", f"## {c.word().title()} {c.word()}", "", c.sentence(), c.sentence()]
        if c.rng.random() < 0.4:
            body += ["", *(f"{i}. {c.sentence()}" for i in range(1, c.rng.randint(2, 5)))]
    return lines(*body)


def todo(c: Ctx, markdown: bool) -> str:
    items = [c.sentence() for _ in range(c.rng.randint(3, 9))]
    if markdown:
        return lines("# TODO", "", *(f"- [{'x' if c.rng.random() < 0.3 else ' '}] {i}" for i in items))
    return lines(*(f"{c.rng.choice(('TODO', '-', '*', 'DONE'))} {i}" for i in items))


def notes(c: Ctx) -> str:
    head = f"{c.rng.choice(('Notes', 'Meeting', 'Ideas'))} {c.rng.randint(2019, 2025)}-{c.rng.randint(1, 12):02d}"
    return lines(head, "", *(c.sentence() for _ in range(c.rng.randint(2, 8))))


def changelog(c: Ctx) -> str:
    body = ["# Changelog", ""]
    major, minor = c.rng.randint(0, 2), c.rng.randint(1, 9)
    for _ in range(c.rng.randint(1, 4)):
        body += [f"## {major}.{minor}.0", ""]
        body += [f"- {c.rng.choice(('Added', 'Fixed', 'Changed', 'Removed'))}: {c.sentence()}" for _ in range(2)]
        body.append("")
        minor -= 1 if minor > 0 else 0
    return lines(*body[:-1])


def gitignore(c: Ctx, extra: tuple[str, ...]) -> str:
    common = [".env", ".DS_Store", "*.log", "dist/", "build/", f"{c.kebab(1)}/"]
    return lines(*dict.fromkeys([*extra, *c.rng.sample(common, c.rng.randint(2, 4))]))


def csv_table(c: Ctx) -> str:
    cols = ["id", *dict.fromkeys(c.snake(1) for _ in range(c.rng.randint(2, 4)))]
    kinds = [c.rng.randrange(3) for _ in cols]
    rows = [",".join(cols)]
    for i in range(1, c.rng.randint(3, 15)):
        cells = [str(i)]
        for k in kinds[1:]:
            cells.append(
                str(c.rng.randint(0, 999)) if k == 0 else f"{c.rng.uniform(0, 99):.2f}" if k == 1 else c.word()
            )
        rows.append(",".join(cells))
    return lines(*rows)


def json_config(c: Ctx) -> str:
    data: dict[str, object] = {"name": c.kebab(), "version": c.version(), **c.settings(c.rng.randint(2, 5))}
    if c.rng.random() < 0.5:
        data[c.snake(1)] = c.settings(c.rng.randint(1, 3))
    return json.dumps(data, indent=2) + "\n"


def json_records(c: Ctx) -> str:
    keys = ["id", c.camel(), c.camel()]
    records = [{k: (i if k == "id" else c.word()) for k in keys} for i in range(1, c.rng.randint(2, 4))]
    return json.dumps(records, indent=2) + "\n"


def _yaml_scalar(v: str | int | bool) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def yaml_config(c: Ctx) -> str:
    body = [f"# {c.sentence()}"]
    for _ in range(c.rng.randint(1, 3)):
        body.append(f"{c.snake(1)}:")
        body += [f"  {k}: {_yaml_scalar(v)}" for k, v in c.settings(c.rng.randint(1, 4)).items()]
    if c.rng.random() < 0.4:
        body += [f"{c.snake(1)}:", *(f"  - {c.kebab()}" for _ in range(c.rng.randint(1, 4)))]
    return lines(*body)


def toml_config(c: Ctx) -> str:
    body = [f"# {c.sentence()}"]
    for _ in range(c.rng.randint(1, 3)):
        body += ["", f"[{c.snake(1)}]"]
        body += [f"{k} = {json.dumps(v)}" for k, v in c.settings(c.rng.randint(1, 4)).items()]
    return lines(*body)


def env_example(c: Ctx) -> str:
    keys = ["DATABASE_URL", "SECRET_KEY", "PORT", "LOG_LEVEL", f"{c.upper()}_URL", f"{c.upper()}_TOKEN", c.upper()]
    values = (f"postgres://app:app@{c.host()}:5432/{c.snake(1)}", "change-me", str(c.port()), "info")
    body = [f"# {c.sentence()}"]
    for i, key in enumerate(dict.fromkeys(c.rng.sample(keys, c.rng.randint(2, 6)))):
        body.append(f"{key}={values[i] if i < len(values) else c.kebab()}")
    return lines(*body)


def shell_script(c: Ctx, target: str) -> str:
    body = ["#!/usr/bin/env bash", "set -euo pipefail", f"# {c.sentence()}", ""]
    var = c.upper(1) + "_DIR"
    body += [f'{var}="${{{var}:-{c.rng.choice(("./build", "/tmp", "./data", "dist"))}}}"', ""]
    steps = [
        f'echo "building {target} into ${var}"',
        f'mkdir -p "${var}"',
        'cd "$(dirname "$0")/.."',
        f'if [ ! -f "{target}" ]; then\n  echo "missing {target}" >&2\n  exit 1\nfi',
        f'cp -r {c.kebab(1)} "${var}/"',
        f"find . -name '*.{c.rng.choice(('log', 'tmp', 'pyc'))}' -delete",
        f'echo "{c.sentence()}"',
        f"curl -fsS http://{c.host()}:{c.port()}/health || exit 2",
    ]
    body += c.rng.sample(steps, c.rng.randint(2, 5))
    return lines(*body, "exit 0")


def dockerfile(c: Ctx, base: str, run: str, copy_from: str) -> str:
    port = c.port()
    body = [f"FROM {base}", "WORKDIR /app"]
    if c.rng.random() < 0.5:
        body.append(f"ENV {c.upper()}={c.kebab(1)} PORT={port}")
    body += [f"COPY {copy_from} ./", f"RUN {run}", "COPY . .", f"EXPOSE {port}"]
    return lines(*body, f'CMD ["{c.rng.choice(("sh", "./start.sh", "make"))}", "{c.kebab(1)}"]')


def compose(c: Ctx, app: str) -> str:
    port, db = c.port(), c.rng.choice(("postgres:16", "redis:7", "mysql:8"))
    body = ["services:", f"  {app}:", "    build: .", "    ports:", f'      - "{port}:{port}"']
    body += ["    env_file: .env", "    depends_on:", "      - db", "  db:", f"    image: {db}"]
    if c.rng.random() < 0.5:
        body += ["    volumes:", f"      - {c.kebab(1)}-data:/var/lib/data", "volumes:", f"  {c.kebab(1)}-data:"]
    return lines(*body)


def nginx_conf(c: Ctx, app: str) -> str:
    host, port = c.host(), c.port()
    return lines(
        "server {",
        "    listen 80;",
        f"    server_name {app}.example.com;",
        f"    # {c.sentence()}",
        "    location / {",
        f"        proxy_pass http://{host}:{port};",
        "        proxy_set_header Host $host;",
        f"        proxy_read_timeout {c.rng.choice((30, 60, 120))}s;",
        "    }",
        f"    location /{c.kebab(1)}/ {{",
        f"        root /var/www/{app};",
        "    }",
        "}",
    )


def makefile(c: Ctx, targets: dict[str, list[str]]) -> str:
    body = [f"{c.upper(1)} ?= {c.kebab(1)}", "", f".PHONY: {' '.join(targets)}", ""]
    for name, recipe in targets.items():
        body += [f"{name}:", *(f"\t{r}" for r in recipe), ""]
    return lines(*body[:-1])


def html_page(c: Ctx, title: str, css: str, js: str) -> str:
    items = [f'      <li><a href="{c.kebab(1)}.html">{c.word().title()}</a></li>' for _ in range(c.rng.randint(1, 4))]
    return lines(
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '  <meta charset="utf-8">',
        f"  <title>{title}</title>",
        f'  <link rel="stylesheet" href="{css}">',
        "</head>",
        "<body>",
        f'  <header class="{c.kebab()}">',
        f"    <h1>{title}</h1>",
        "    <ul>",
        *items,
        "    </ul>",
        "  </header>",
        f'  <main id="{c.kebab()}"><p>{c.sentence()}</p></main>',
        f'  <script src="{js}"></script>',
        "</body>",
        "</html>",
    )


def css(c: Ctx) -> str:
    body = [f"/* {c.sentence()} */"]
    colors = ("#333", "#fff", "#1e88e5", "#f5f5f5", "rebeccapurple", "#e53935")
    for sel in ("body", f".{c.kebab()}", f"#{c.kebab()}", f".{c.kebab(1)} a")[: c.rng.randint(2, 4)]:
        body += [f"{sel} {{", f"  color: {c.rng.choice(colors)};", f"  margin: {c.rng.choice((0, 4, 8, 16))}px;", "}"]
    return lines(*body)
