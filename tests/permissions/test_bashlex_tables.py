"""The parser tables shipped for bashlex (agentshell/permissions/bashlexload.py): current, used, and parsing alike.

One fresh process lets bashlex build its tables (the only one here that pays the ~0.45 s), another
loads them as agentshell does; both report the finished parser (after bashlex.parser's state
corrections) and what they make of the same commands. The fallbacks run in this process, against
bashlex's real grammar and a stand-in for the slow constructor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentshell.permissions import bashlexload

PROBE = Path(__file__).with_name("bashlex_probe.py")

COMMANDS = [
    "ls",
    "git status --short",
    "a | b | c",
    "a |& b",
    "a && b || c; d & e",
    "! a",
    "a\nb\n\nc",
    "echo 'single' \"double $HOME\" $'ansi\\x41' \\rm r\"\"m",
    "echo a\\\nb",
    "cat < in > out 2>&1 2>&- >> log &> all",
    "echo x >| f <> g 3<&0",
    "cat <<EOF\nline $HOME\nEOF\n",
    "cat <<'EOF'\nline $(not run)\nEOF\n",
    "cat <<-EOF\n\tindented\n\tEOF\necho after",
    "cat <<< 'here string'",
    "(cd sub && make)",
    "( a ; b )",
    "(a\n)",
    "{ a; b; }",
    "{ a\n}",
    "echo $(date)",
    "echo $(a; b)",
    "echo $(a;)",
    "echo $(a\n)",
    "echo $(a\nb\n\n)",
    "echo $( (a) )",
    "x=$(echo `inner`)",
    "diff <(sort a) >(tee b)",
    "echo ${HOME} ${x:-default} $1 $@ $?",
    "if true; then a; elif b; then c; else d; fi",
    "if a\nthen\n  b\nfi",
    "for i in 1 2 3; do echo $i; done",
    "for i; do :; done",
    "while read line; do echo $line; done < file",
    "until false; do break; done",
    "f() { echo hi; }; f",
    "function g { a | b; }",
    "function h() ( sub )",
    "a=1 b=2 cmd arg",
    "export A=1; unset A",
    "echo {a,b}{1..3} *.py ?x [ab]c",
    "echo # a comment",
    "a # comment\nb",
    "echo 'unterminated",
    "echo $((1 + 2))",
    "[[ -f x ]]",
    "case x in x) a;; esac",
    "time ls",
    "coproc a",
    "a ||",
    "fi",
    ")",
    "echo $(",
]


def _probe(mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(PROBE), mode],
        input=json.dumps(COMMANDS),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, Any]]:
    return {mode: _probe(mode) for mode in ("rebuilt", "shipped")}


def test_shipped_file_is_what_the_installed_bashlex_builds(probes: dict[str, dict[str, Any]]) -> None:
    rebuilt = probes["rebuilt"]
    assert rebuilt["file_matches"], (
        f"bashlex_tables.json was not made by the installed bashlex {rebuilt['bashlex_version']}: "
        "run `uv run --frozen python -m agentshell.permissions.bashlexload --write`"
    )
    shipped = json.loads(bashlexload.TABLES_PATH.read_text(encoding="utf-8"))
    assert shipped["bashlex"] == rebuilt["bashlex_version"]
    assert rebuilt["constructor_ran"]


def test_shipped_tables_are_used_and_the_hook_is_gone(probes: dict[str, dict[str, Any]]) -> None:
    shipped = probes["shipped"]
    assert shipped["source"] == "shipped"
    assert not shipped["constructor_ran"]
    assert shipped["restored"]
    assert shipped["hook_left"] == []


def test_the_finished_parser_is_the_same(probes: dict[str, dict[str, Any]]) -> None:
    rebuilt, shipped = probes["rebuilt"], probes["shipped"]
    for part in ("action", "goto", "defaulted", "productions", "corrections"):
        assert shipped[part] == rebuilt[part], part
    # bashlex.parser rewrote these states in place after the tables were made: they are in both
    state1, state2 = rebuilt["corrections"][0]
    assert set(rebuilt["action"][str(state1)].values()) == {-1}
    assert set(rebuilt["action"][str(state2)].values()) == {-141}


def test_commands_parse_alike(probes: dict[str, dict[str, Any]]) -> None:
    rebuilt, shipped = probes["rebuilt"], probes["shipped"]
    for command, before, after in zip(COMMANDS, rebuilt["trees"], shipped["trees"], strict=True):
        assert after == before, command
    for command, before, after in zip(COMMANDS, rebuilt["parsed"], shipped["parsed"], strict=True):
        assert after == before, command
    read = [tree for tree in rebuilt["trees"] if not tree.startswith("error:")]
    assert len(read) >= 40  # most of them parse: the comparison is of trees, not of two errors
    assert any("CommandsubstitutionNode" in tree for tree in read)
    assert any("heredoc=" in tree for tree in read)


# --------------------------------------------------------------------------- fallbacks, in this process


class SlowTable:
    """Stands in for bashlex.yacc.LRTable: counts constructions."""

    built = 0
    lr_productions: list[Any]  # filled in only when the shipped tables are used
    lr_action: dict[int, dict[str, int]]
    lr_goto: dict[int, dict[str, int]]

    def __init__(self, grammar: Any, log: Any = None) -> None:
        type(self).built += 1
        self.grammar = grammar


@pytest.fixture
def grammar() -> Iterator[tuple[Any, Any]]:
    """bashlex's grammar, as yacc() hands it to LRTable, and the bashlex.yacc module."""
    bashlex = bashlexload.load()
    yacc: Any = sys.modules["bashlex.yacc"]
    captured: list[Any] = []

    class Captured(Exception):
        pass

    def capture(grammar: Any, log: Any = None) -> Any:
        captured.append(grammar)
        raise Captured

    real = yacc.LRTable
    yacc.LRTable = capture
    try:
        with pytest.raises(Captured):
            yacc.yacc(module=bashlex.parser, debug=False, errorlog=yacc.NullLogger())
    finally:
        yacc.LRTable = real
    SlowTable.built = 0
    yield captured[0], yacc


def _table(grammar: tuple[Any, Any]) -> tuple[Any, str]:  # (an LRTable-like object, the hook's outcome)
    hook = bashlexload._YaccHook(bashlexload._shipped_factory)
    lr = bashlexload._shipped_factory(grammar[1], SlowTable, hook)(grammar[0], None)
    return lr, hook.outcome


def test_matching_tables_skip_the_constructor(grammar: tuple[Any, Any]) -> None:
    lr, outcome = _table(grammar)
    assert outcome == "shipped"
    assert SlowTable.built == 0 and isinstance(lr, SlowTable)
    assert lr.lr_productions is grammar[0].Productions
    assert lr.lr_action[0] and lr.lr_goto[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"grammar": "0" * 64}, "grammar differs"),
        ({"builder": "0" * 64}, "table builder (yacc.py) differs"),
        ({"format": bashlexload.FORMAT + 1}, "another format"),
        ({"action": None}, "could not be used: TypeError"),
    ],
)
def test_tables_that_do_not_fit_are_built(
    grammar: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], reason: str
) -> None:
    document = json.loads(bashlexload.TABLES_PATH.read_text(encoding="utf-8"))
    document.update(change)
    path = tmp_path / "bashlex_tables.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(bashlexload, "TABLES_PATH", path)
    lr, outcome = _table(grammar)
    assert SlowTable.built == 1 and isinstance(lr, SlowTable) and not hasattr(lr, "lr_action")
    assert outcome.startswith("built (") and reason in outcome


@pytest.mark.parametrize("text", [None, "", "{not json"])
def test_a_missing_or_damaged_file_means_building(
    grammar: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None
) -> None:
    path = tmp_path / "bashlex_tables.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(bashlexload, "TABLES_PATH", path)
    lr, outcome = _table(grammar)
    assert SlowTable.built == 1 and isinstance(lr, SlowTable)
    assert outcome.startswith("built (the shipped tables could not be used")


def test_the_generator_refuses_a_process_that_has_bashlex(capsys: pytest.CaptureFixture[str]) -> None:
    bashlexload.load()
    assert bashlexload.main(["--check"]) == 1
    assert "already imported" in capsys.readouterr().err
    assert bashlexload.main(["--frobnicate"]) == 2
