"""bash rules read commands as bash does: deny rules cannot be spelled around, allow rules vouch for nothing more.

Every attack runs through the real ToolRunner and gate and, when let through, through real bash,
so a test fails by the file it was about (issue 15, holes 2 and 3).
"""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentshell.permissions.bashparse import ANY, parse
from agentshell.permissions.commandrules import command_allowed, command_denied, glob_match
from agentshell.permissions.gate import ApprovalRequest, PermissionGate
from agentshell.permissions.modes import PermissionMode
from agentshell.tools import ToolContext, ToolRunner, default_tools


def runner_for(ws: Path, mode: PermissionMode, **rules: list[str]) -> ToolRunner:
    gate = PermissionGate(mode, ws, allow=rules.get("allow", ()), deny=rules.get("deny", ()))
    return ToolRunner(default_tools(), ToolContext(ws, bash_timeout=5, kill_grace=0.5), gate)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path)) / "ws"
    root.mkdir()
    (root / "f").write_text("keep me\n")
    return root


# --------------------------------------------------------------------------- deny rules (hole 3)

# The nine forms the attack table found, then more of the same family.
EVASIONS = [
    "'rm' f",
    "\\rm f",
    'r""m f',
    "/bin/rm f",
    "command rm f",
    "$(echo rm) f",
    "x=rm; $x f",
    "rm${IFS}f",
    "FOO=1 rm f",
    "$'\\x72m' f",
    "$'r'm f",
    '{"rm",f}',
    "/bin/r? f",
    "/bin/[r]m f",
    "`echo rm` f",
    "rm\\\n f",
    "env rm f",
    "/usr/bin/env FOO=1 rm -f f",
    "env -S 'rm f'",
    "nice -n 5 rm f",
    "timeout 5 rm f",
    "nohup rm f",
    "exec rm f",
    "builtin command rm f",
    "sudo rm f",
    "bash -c 'rm f'",
    'sh -ec "rm f"',
    "bash -o errexit -c 'rm f'",
    "eval rm f",
    "eval 'r''m f'",
    "echo f | xargs rm",
    "find . -name f -exec rm {} ';'",
    "echo 'rm f' | bash",
    "bash <<'EOF'\nrm f\nEOF",
    'r() { rm "$@"; }; r f',
    "(rm f)",
    "{ rm f; }",
    "if true; then rm f; fi",
    "for x in f; do rm $x; done",
    "true && rm f",
    "echo $(rm f)",
    "a=$(rm f)",
    "cat <(rm f)",
    "trap 'rm f' EXIT",
    "shopt -s expand_aliases\nalias r='rm'\nr f",
    "echo ${x:-$(rm f)}",
    "cat <<EOF\n$(rm f)\nEOF",
    "printf -v 'a[$(rm f)]' x",
    "x='a[$(rm f)]'; (( x ))",
    'x=(rm f); "${x[@]}"',
    "[[ -e f ]] && rm f",
    "case f in f) rm f;; esac",
    "time rm f",
    "RM f",
    "echo x; rm f # comment",
    "source <(echo rm f)",
    ". /dev/stdin <<< 'rm f'",
    "bash <(echo rm f)",
    "sh /dev/stdin <<< 'rm f'",
    "hash -p /bin/rm ls; ls f",
    "nice xargs rm <<< f",
]


@pytest.mark.parametrize("rule", ["bash(rm *)", "bash(*rm *)"])
@pytest.mark.parametrize("command", EVASIONS)
def test_a_deny_rule_cannot_be_spelled_around(ws: Path, rule: str, command: str) -> None:
    result = runner_for(ws, "yolo", deny=[rule]).execute("bash", {"command": command})
    assert (ws / "f").exists(), f"{command!r} deleted the file under --deny {rule!r}: {result.output}"
    assert result.is_error and "denied by rule" in result.output and result.summary == "denied"


def test_the_forms_are_real_deletions_without_the_rule(ws: Path) -> None:
    """The oracle: the forms the table found (and a few more) do delete the file when nothing stops them."""
    for command in EVASIONS[:12]:
        (ws / "f").write_text("x")
        runner_for(ws, "yolo").execute("bash", {"command": command})
        assert not (ws / "f").exists(), command


def test_a_command_that_cannot_be_checked_says_why(ws: Path) -> None:
    out = runner_for(ws, "yolo", deny=["bash(rm *)"]).execute("bash", {"command": "x=rm; $x f"}).output
    assert "cannot be checked against the rule because its command word ($x) is only known when it runs" in out
    plain = runner_for(ws, "yolo", deny=["bash(rm *)"]).execute("bash", {"command": "/bin/rm f"}).output
    assert plain.endswith("was not run. Do not retry it.")


@pytest.mark.parametrize(
    "command",
    [
        "echo fine",
        "ls -la",
        "git status",
        "git log --oneline -3 2>/dev/null | head -5",
        "grep -rn 'rm -rf' . || true",
        'git commit --allow-empty -m "rm old files" --dry-run',
        "echo rm",
        "for x in a b; do echo $x; done",
        "cat <<'EOF' > notes.txt\nuse rm -rf with care, $HOME\nEOF",
        "[ -f f ] && echo present",
        "python3 -c 'print(1)'",
        "FOO=1 printenv FOO",
    ],
)
def test_ordinary_commands_run_beside_a_deny_rule(ws: Path, command: str) -> None:
    result = runner_for(ws, "yolo", deny=["bash(rm *)", "bash(git push*)"]).execute("bash", {"command": command})
    assert "denied" not in result.output, result.output
    assert (ws / "f").exists()


# --------------------------------------------------------------------------- allow rules (holes 2 and 3)


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("git status", True),
        ("git status -s", True),
        ("git status && git diff --stat | head -5", True),
        ("git status 2>&1 | head", True),
        ("git status >/dev/null 2>&1", True),
        ("git status 2>&-", True),
        ("'git' status", True),
        ("ls -la", True),
        ("pytest -q tests", True),
        ("pytest -q tests/test_$NAME.py", True),
        ("git status >&1p14", False),
        ("git status 1>&2p31", False),
        ("git status >&1/../../outside/owned.txt", False),
        ("git status > out.txt", False),
        ("git status >&$fd", False),
        ("git status $(touch pwned)", False),
        ('git status "`touch pwned`"', False),
        ("git status <(touch pwned)", False),
        ("GIT_DIR=. git status", False),
        ("LD_PRELOAD=./x.so git status", False),
        ("PATH=.:$PATH; git status", False),
        ("/tmp/git status", False),
        ("./git status", False),
        ("$GIT status", False),
        ("git status; touch pwned", False),
        ("git status\ntouch pwned", False),
        ("git status & touch pwned", False),
        ("git status || (touch pwned)", False),
        ("git() { touch pwned; }; git status", False),
        ("git status <<'EOF'\nx\nEOF", False),
        ("[[ -d . ]] && git status", False),
        ("ls $'\\x3b' ; touch pwned", False),
    ],
)
def test_allow_rules_cover_exactly_the_commands_they_name(ws: Path, command: str, allowed: bool) -> None:
    rules = ["bash(git status*)", "bash(git diff*)", "bash(head*)", "bash(ls*)", "bash(pytest -q *)"]
    gate = PermissionGate("ask", ws, allow=rules)
    request = ApprovalRequest(tool="bash", kind="execute", summary=f"bash: {command}")
    assert gate.check(request, rule_subject=command.strip())[0] == allowed


@pytest.mark.parametrize(
    ("command", "made"),
    [
        ("git status >&1p14", "1p14"),
        ("git status 1>&2p31", "2p31"),
        ("echo x >&1/../../outside/owned.txt", "../outside/owned.txt"),
        ("echo x >&1/../.git/hooks/pre-commit", ".git/hooks/pre-commit"),
    ],
)
def test_a_redirect_behind_an_allowed_command_creates_nothing(ws: Path, command: str, made: str) -> None:
    (ws / "1").mkdir()
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws.parent / "outside").mkdir()
    runner = runner_for(ws, "accept-edits", allow=["bash(git status*)", "bash(echo *)"])
    result = runner.execute("bash", {"command": command})
    assert result.is_error and "needs approval" in result.output
    assert not (ws / made).exists()


def test_an_exact_rule_still_allows_what_it_spells_out(ws: Path) -> None:
    runner = runner_for(ws, "ask", allow=["bash(echo hi > greeting.txt)"])
    assert not runner.execute("bash", {"command": "echo hi  > greeting.txt"}).is_error
    assert (ws / "greeting.txt").read_text() == "hi\n"


# --------------------------------------------------------------------------- the parser, against bash itself


def _bash_words(command: str, cwd: Path) -> list[str]:
    """What bash passes as arguments: ``printf '%s\\0'`` in front of the words, run by real bash."""
    out = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {command}"], cwd=cwd, capture_output=True, check=True, env={"PATH": "/bin"}
    ).stdout
    return out.decode("utf-8", "surrogateescape").split("\0")[:-1]


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\0\ue000"), max_size=8)


def _quote(word: str, style: int) -> str:
    if style == 0:
        return "'" + word.replace("'", "'\\''") + "'"
    if style == 1:
        return '"' + "".join("\\" + c if c in '"\\$`' else c for c in word) + '"'
    if style == 2:
        return "$'" + "".join(f"\\x{ord(c):02x}" if ord(c) < 128 else c for c in word) + "'"
    return "".join(c if c.isalnum() else "\\" + c if c != "\n" else "$'\\n'" for c in word)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.tuples(_TEXT, st.lists(st.integers(0, 3), min_size=1, max_size=3)), min_size=1, max_size=4))
def test_quote_removal_agrees_with_bash(tmp_path: Path, words: list[tuple[str, list[int]]]) -> None:
    """Each word written in up to three quoting styles glued together reads back as bash reads it."""
    spelled = []
    for text, styles in words:
        cut = [len(text) * i // len(styles) for i in range(len(styles) + 1)]
        pieces = [text[a:b] for a, b in itertools.pairwise(cut)]
        spelled.append("".join(_quote(p, s) if p else "''" for p, s in zip(pieces, styles, strict=False)))
    command = " ".join(spelled)
    script = parse("printf '%s\\0' " + command)
    assume(not script.opaque)  # bashlex gives up on a few spellings ('`'"0"): those are refused, not misread
    (simple,) = script.commands
    assert [w.text for w in simple.words[2:]] == _bash_words(command, tmp_path) == [t for t, _ in words]


_SHELL_BITS = st.sampled_from(
    [" ", ";", "&", "|", "&&", "||", ">", ">>", ">&", "<", "2>", "1", "2", "p", "-", "/", "..", "'", '"', "\\", "$",
     "(", ")", "{", "}", "`", "#", "\n", "x", "=", "*", "[", "]", "!", "$(", "<(", "<<", "EOF", "/dev/null", "~"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.lists(_SHELL_BITS, max_size=12).map("".join))
def test_what_an_allow_rule_lets_through_runs_only_the_allowed_program(tmp_path: Path, tail: str) -> None:
    """Fuzz the redirect and chaining hole: ``git status`` plus any shell text. Whatever the rule allows is run
    by real bash with only a fake ``git`` on PATH, and must create no file and run nothing else."""
    command = "git status" + tail
    if not command_allowed(command, ["git status*"]):
        return
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    for leftover in work.iterdir():
        leftover.unlink()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "git.log"
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\necho git >> {log}\n")
    fake.chmod(0o755)
    log.write_text("")
    subprocess.run(["/bin/bash", "-c", command], cwd=work, env={"PATH": str(bin_dir)}, capture_output=True, timeout=10)
    assert not list(work.iterdir()), f"{command!r} created {list(work.iterdir())}"
    assert set(log.read_text().split()) <= {"git"}, command


_RM_SPELLINGS = st.tuples(
    st.sampled_from(["", "FOO=1 ", "A=1 B=2 "]),
    st.sampled_from(
        ["", "command ", "env ", "env -i X=1 ", "nice -n 3 ", "sudo -u root ", "exec ", "builtin ", "time "]
    ),
    st.sampled_from(["", "/bin/", "/usr/bin/", "./", "~/bin/"]),
    st.lists(st.sampled_from(["plain", "single", "double", "backslash", "ansi"]), min_size=2, max_size=2),
    st.sampled_from([" f", " -rf f", "\tf", " -- f"]),
)


@settings(max_examples=300, deadline=None)
@given(parts=_RM_SPELLINGS)
def test_no_spelling_of_rm_passes_a_deny_rule(parts: tuple[str, str, str, list[str], str]) -> None:
    assignments, wrapper, path, styles, args = parts
    spelled = "".join(
        {"plain": c, "single": f"'{c}'", "double": f'"{c}"', "backslash": f"\\{c}", "ansi": f"$'\\x{ord(c):02x}'"}[s]
        for c, s in zip("rm", styles, strict=True)
    )
    command = f"{assignments}{wrapper}{path}{spelled}{args}"
    assert command_denied(command, "rm *") is not None, command


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_the_parser_never_raises(text: str) -> None:
    script = parse(text)
    assert script.opaque or all(isinstance(w.text, str) for c in script.commands for w in c.words)
    command_allowed(text, ["git status*"])
    command_denied(text, "rm *")


def test_readings_that_multiply_are_bounded_and_a_command_past_them_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrappers and code handed over as text multiply a command's readings: ``watch watch ...`` (a wrapper that
    also runs its arguments as code) read every suffix again at every depth, and each word after ``su`` started
    another reading. Both held the gate, and so the agent, for minutes; now each text is read once and what
    cannot be read within the bound is stopped, while an ordinary long command after a wrapper is still read."""
    import agentshell.permissions.commandrules as rules

    parsed: list[str] = []
    real_parse = rules.parse
    monkeypatch.setattr(rules, "parse", lambda text: parsed.append(text) or real_parse(text))
    rules._readings.cache_clear()
    assert command_denied("watch " * 300, "rm *")
    assert len(parsed) <= 300 * 5  # each suffix once per depth at most
    assert "too many ways" in (command_denied("su " * 5000 + "x", "rm *") or "")
    tests = "timeout 60 pytest " + " ".join(f"tests/test_{i}.py" for i in range(300))
    assert command_denied(tests, "rm *") is None
    assert command_denied(tests, "pytest *") == ""


def test_unknown_parts_match_some_value_for_deny_and_every_value_for_allow() -> None:
    assert glob_match("rm *", f"rm{ANY}f", unknown="some")
    assert glob_match("rm *", f"{ANY} f", unknown="some")
    assert not glob_match("git status*", f"git {ANY}", unknown="every")
    assert glob_match("git status*", f"git status {ANY}", unknown="every")
    assert not glob_match("git status -s", f"git status {ANY}", unknown="every")
    assert glob_match("a?c", "abc", unknown="every") and not glob_match("a[!b]c", "abc", unknown="some")
