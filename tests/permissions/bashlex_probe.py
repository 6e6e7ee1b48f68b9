"""Run by test_bashlex_tables.py in a fresh process: how bashlex came up there, and what it makes of some commands.

``python bashlex_probe.py shipped`` loads bashlex as agentshell does (shipped tables);
``python bashlex_probe.py rebuilt`` lets bashlex build its tables itself, recording them in the
file's form. Commands come as a JSON list on stdin; one JSON object goes to stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from agentshell.permissions import bashlexload
from agentshell.permissions.bashparse import parse


def main() -> None:
    mode = sys.argv[1]
    commands: list[str] = json.load(sys.stdin)
    report: dict[str, Any] = {}
    if mode == "rebuilt":
        document = bashlexload.build_document()
        report["bashlex_version"] = document["bashlex"]
        report["file_matches"] = bashlexload.render(document) == bashlexload.TABLES_PATH.read_text(encoding="utf-8")
    bashlex = bashlexload.load()
    report["source"] = bashlexload.tables_source
    yacc, parser = sys.modules["bashlex.yacc"], bashlex.parser
    machine = parser.yaccparser
    # LRTable's constructor gives every production its LR items; shipped tables leave them empty.
    report["constructor_ran"] = any(p.lr_items for p in machine.productions)
    report["restored"] = isinstance(yacc.LRTable, type) and yacc.LRTable.__qualname__ == "LRTable"
    report["hook_left"] = [type(f).__name__ for f in sys.meta_path if type(f).__module__ == bashlexload.__name__]
    report["action"] = {str(state): dict(actions) for state, actions in machine.action.items()}
    report["goto"] = {str(state): dict(gotos) for state, gotos in machine.goto.items()}
    report["defaulted"] = {str(state): rule for state, rule in machine.defaulted_states.items()}
    report["productions"] = [(p.name, p.len, p.func) for p in machine.productions]
    report["corrections"] = [parser.get_correction_states(), parser.get_correction_rightparen_states()]
    report["trees"] = [_trees(bashlex, command) for command in commands]
    report["parsed"] = [repr(parse(command)) for command in commands]
    json.dump(report, sys.stdout)


def _trees(bashlex: Any, command: str) -> str:
    try:
        return "\n".join(tree.dump() for tree in bashlex.parse(command))
    except Exception as exc:  # bashlex's errors are part of what must not change
        return f"error: {type(exc).__name__}: {exc}"


if __name__ == "__main__":
    main()
