"""bashlex, loaded with the parser tables agentshell ships instead of tables built at import.

Why: bashlex 0.18 vendors a ply (``bashlex/yacc.py``) that cannot read tables: importing
``bashlex.parser`` runs ``yacc.yacc()``, which always rebuilds the LALR tables
(``LRTable(grammar)``, 0.1 to 0.5 s of CPU), so every run paid that on its first bash permission
check (see docs/tools-and-permissions.md#known-limits). The tables follow from the grammar (the
``p_`` rules, tokens and precedence of ``bashlex/parser.py``) and from the builder
(``bashlex/yacc.py``) alone, so they are built once and shipped in ``bashlex_tables.json``, keyed by
a hash of each (the file also names bashlex's version, for people and for the test: reading it at
run time, through importlib.metadata, would cost more than the tables save). While
``import bashlex`` runs, and only then, ``bashlex.yacc.LRTable`` is a factory that returns the shipped tables
when both hashes match and builds them as before otherwise (or on any error): an upgraded bashlex is
slow, never wrong. Nothing is written at run time and the tables come only from this package. The
hack in ``bashlex/parser.py`` that patches states found through ``goto[0]`` runs on the shipped
tables as on built ones.

Regenerate after a bashlex upgrade (tests/permissions/test_bashlex_tables.py fails until then)::

    uv run --frozen python -m agentshell.permissions.bashlexload --write
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

TABLES_PATH = Path(__file__).with_name("bashlex_tables.json")
FORMAT = 1
_YACC = "bashlex.yacc"
_LOCK = threading.Lock()
# How the loaded bashlex got its tables: "shipped", or "built (why)"; "" until this module loaded it.
tables_source = ""


def load() -> ModuleType:
    """The ``bashlex`` module, imported with the shipped tables when they fit (only the first call imports)."""
    global tables_source
    with _LOCK:
        if "bashlex" not in sys.modules:
            hook = _YaccHook(_shipped_factory)
            _import_through(hook)
            tables_source = hook.outcome or "built (bashlex.yacc did not load through the hook)"
    import bashlex  # type: ignore[import-untyped]

    return bashlex  # type: ignore[no-any-return]


def grammar_key(grammar: Any) -> str:
    """What the tables depend on in the grammar: productions, precedence and terminals (not file names)."""
    import hashlib

    productions = [(p.number, p.name, tuple(p.prod), tuple(p.prec), p.func) for p in grammar.Productions]
    text = repr((productions, list(grammar.Precedence.items()), list(grammar.Terminals)))
    return hashlib.sha256(text.encode()).hexdigest()


def builder_key(yacc: ModuleType) -> str:
    """The source of bashlex's vendored ply, which decides how states are numbered."""
    import hashlib

    return hashlib.sha256(Path(yacc.__file__ or "").read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the import hook

_Table = Callable[[Any, Any], Any]  # what stands in for LRTable(grammar, log)


class _YaccHook:
    """A meta path finder that hands ``bashlex.yacc`` a patched ``LRTable`` as soon as the module has run."""

    def __init__(self, factory: Callable[[ModuleType, type, _YaccHook], _Table]) -> None:
        self.factory = factory
        self.yacc: Any = None
        self.original: type | None = None
        self.outcome = ""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != _YACC:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = cast("Loader", _PatchingLoader(spec.loader, self))
        return spec

    def patch(self, yacc: Any) -> None:  # the bashlex.yacc module
        real: type = yacc.LRTable
        self.yacc, self.original = yacc, real
        yacc.LRTable = self.factory(yacc, real, self)

    def restore(self) -> None:
        if self.yacc is not None:
            self.yacc.LRTable = self.original


def _import_through(hook: _YaccHook) -> None:
    """``import bashlex`` with ``hook`` on the meta path, then without it and with bashlex's own ``LRTable`` back."""
    sys.meta_path.insert(0, hook)
    try:
        import bashlex  # noqa: F401
    finally:
        sys.meta_path.remove(hook)
        hook.restore()


class _PatchingLoader:
    """The normal loader of ``bashlex.yacc``; after running the module it lets the hook patch it, then steps aside."""

    def __init__(self, loader: Any, hook: _YaccHook) -> None:
        self.loader = loader
        self.hook = hook

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.hook.patch(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


def _shipped_factory(yacc: ModuleType, real: type, hook: _YaccHook) -> _Table:
    def table(grammar: Any, log: Any = None) -> Any:
        lr: Any
        try:
            lr, why = _shipped_table(yacc, real, grammar, log)
        except Exception as exc:  # a damaged file or an unexpected bashlex: build the tables as bashlex does
            lr, why = None, f"the shipped tables could not be used: {type(exc).__name__}: {exc}"
        if lr is not None:
            hook.outcome = "shipped"
            return lr
        hook.outcome = f"built ({why})"
        return real(grammar, log)

    return table


def _shipped_table(yacc: ModuleType, real: type, grammar: Any, log: Any) -> tuple[Any, str]:
    """An ``LRTable`` holding the shipped tables, made without running its constructor; or None and why not."""
    document = json.loads(TABLES_PATH.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        return None, f"{TABLES_PATH.name} has another format"
    if document.get("builder") != builder_key(yacc):
        return None, "bashlex's table builder (yacc.py) differs from the one the tables were made with"
    if document.get("grammar") != grammar_key(grammar):
        return None, "bashlex's grammar differs from the one the tables were made with"
    productions = grammar.Productions
    lr: Any = object.__new__(real)
    lr.grammar = grammar
    lr.log = log
    lr.lr_productions = productions
    lr.lr_action = {state: dict(actions) for state, actions in enumerate(document["action"])}
    lr.lr_goto = {state: dict(gotos) for state, gotos in enumerate(document["goto"])}
    lr.lr_goto_cache = {}
    lr.lr0_cidhash = {}
    lr._add_count = 0
    lr.sr_conflicts = [tuple(conflict) for conflict in document["sr_conflicts"]]
    lr.rr_conflicts = [(state, productions[rule], productions[no]) for state, rule, no in document["rr_conflicts"]]
    lr.sr_conflict = lr.rr_conflict = 0
    lr.conflicts = []
    return lr, ""


# --------------------------------------------------------------------------- generating the file


def build_document() -> dict[str, Any]:
    """The tables bashlex builds for itself, in the file's form: the slow path, in a process without bashlex yet."""
    if "bashlex" in sys.modules:
        raise RuntimeError("bashlex is already imported in this process; build the tables in a fresh one")
    built: dict[str, Any] = {}

    def recording(yacc: ModuleType, real: type, hook: _YaccHook) -> _Table:
        def table(grammar: Any, log: Any = None) -> Any:
            lr = real(grammar, log)  # bashlex.parser then edits some states in place: copy them now
            built.update(_document(yacc, grammar, lr))
            return lr

        return table

    _import_through(_YaccHook(recording))
    if not built:
        raise RuntimeError("bashlex did not build its tables through bashlex.yacc.LRTable")
    return built


def _document(yacc: ModuleType, grammar: Any, lr: Any) -> dict[str, Any]:
    from importlib.metadata import version

    for name, table in (("action", lr.lr_action), ("goto", lr.lr_goto)):
        if list(table) != list(range(len(table))):
            raise RuntimeError(f"bashlex's {name} table is not numbered 0..n-1 in order")
    return {
        "format": FORMAT,
        "bashlex": version("bashlex"),
        "builder": builder_key(yacc),
        "grammar": grammar_key(grammar),
        "action": [dict(actions) for actions in lr.lr_action.values()],
        "goto": [dict(gotos) for gotos in lr.lr_goto.values()],
        "sr_conflicts": [list(conflict) for conflict in lr.sr_conflicts],
        "rr_conflicts": [[state, rule.number, rejected.number] for state, rule, rejected in lr.rr_conflicts],
    }


def render(document: dict[str, Any]) -> str:
    """The file's text: one state per line, so a regenerated file reads as a diff of states."""
    lines = ["{"]
    for key, value in document.items():
        if key in ("action", "goto"):
            rows = ",\n".join("    " + json.dumps(row, separators=(",", ":")) for row in value)
            lines.append(f"  {json.dumps(key)}: [\n{rows}\n  ],")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in (["--write"], ["--check"]):
        print("usage: python -m agentshell.permissions.bashlexload --write | --check", file=sys.stderr)
        return 2
    try:
        text = render(build_document())
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args == ["--write"]:
        TABLES_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {TABLES_PATH}")
        return 0
    current = TABLES_PATH.read_text(encoding="utf-8") if TABLES_PATH.exists() else ""
    if current != text:
        print(f"{TABLES_PATH} differs from the tables the installed bashlex builds; run with --write", file=sys.stderr)
        return 1
    print(f"{TABLES_PATH.name} matches the installed bashlex")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
