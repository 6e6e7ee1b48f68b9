"""Hole 7 of issue 15: values and inputs that crashed the agent or were taken as given.

Each runs the real CLI and expects one clear line on stderr, the right exit code, and, with
``--output-format json``, a result object on stdout whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentshell.errors import EXIT_FAILURE, EXIT_USAGE
from tests.cli.fake_openai import fake_openai, text_reply
from tests.cli.launch_support import agent_command, call, run_agent, text, write_script


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def _one_error_line(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("agent: error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def _config(text_: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "agentshell" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_)
    return path


def test_tool_arguments_nested_300_deep_are_answered_and_the_run_goes_on(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("read_file", path=_nested(300))], [text("done")]])
    proc = run_agent("launch", "-m", model, "-p", "go", "--output-format", "stream-json", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["type"] for e in events] == ["init", "tool_call", "tool_result", "text", "result"]
    assert events[2]["is_error"] and "nest deeper than 64 levels" in events[2]["output"]


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_a_script_nested_2000_deep_is_one_line(tmp_path: Path, output_format: str) -> None:
    script = tmp_path / "deep.json"
    script.write_text("[" * 2000 + "]" * 2000)
    proc = run_agent("launch", "-m", f"scripted:{script}", "-p", "go", "--output-format", output_format, cwd=tmp_path)
    assert proc.returncode == EXIT_FAILURE
    _one_error_line(proc.stderr, "nests too deep")
    if output_format == "json":
        result = json.loads(proc.stdout)
        assert result["type"] == "result" and result["is_error"] and "nests too deep" in result["error"]


@pytest.mark.parametrize(
    ("setting", "env"),
    [
        ("context_threshold = 5", {}),
        ("context_threshold = 0", {}),
        ("", {"AGENT_CONTEXT_THRESHOLD": "nan"}),
        ("bash_timeout = nan", {}),
        ("bash_timeout = -1", {}),
        ("bash_timeout = 0", {}),
        ("bash_timeout = inf", {}),
        ("temperature = -5.0", {}),
    ],
)
def test_out_of_range_settings_are_refused(tmp_path: Path, setting: str, env: dict[str, str]) -> None:
    _config(setting + "\n")
    model = write_script(tmp_path, [[text("never")]])
    proc = subprocess.run(
        agent_command("launch", "-m", model, "-p", "go", "--output-format", "json"),
        cwd=tmp_path,
        env={**os.environ, **env},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    key = (setting or "context_threshold").split(" ")[0]
    assert proc.returncode == EXIT_USAGE, proc.stderr
    _one_error_line(proc.stderr, f"invalid setting {key}")
    assert json.loads(proc.stdout)["exit_code"] == EXIT_USAGE


@pytest.mark.parametrize("value", ["nan", "inf", "-5"])
def test_bad_temperatures_never_reach_the_server(tmp_path: Path, value: str) -> None:
    with fake_openai([text_reply("never")]) as server:
        proc = run_agent(
            "launch", "-m", "openai:fake", "--base-url", server.base_url, "-p", "go", f"--temperature={value}",
            cwd=tmp_path,
        )  # fmt: skip
    assert proc.returncode == EXIT_USAGE
    _one_error_line(proc.stderr, "invalid setting temperature", "--temperature")
    assert server.bodies == []


def test_a_config_file_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "agentshell" / "config.toml"
    path.mkdir(parents=True)
    proc = run_agent("launch", "-m", write_script(tmp_path, [[text("never")]]), "-p", "go", cwd=tmp_path)
    assert proc.returncode == EXIT_USAGE
    _one_error_line(proc.stderr, str(path), "is not a file")


def _on_a_full_disk(data_home: Path) -> list[str] | None:
    """A command prefix that mounts a 64 KiB tmpfs on ``data_home`` for the agent it runs, or None."""
    bwrap = shutil.which("bwrap")
    if bwrap is not None:
        probe = subprocess.run(
            [bwrap, "--dev-bind", "/", "/", "--size", "65536", "--tmpfs", str(data_home), "true"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return [bwrap, "--dev-bind", "/", "/", "--size", "65536", "--tmpfs", str(data_home), "--"]
    return None


@pytest.mark.parametrize("output_format", ["json", "stream-json"])
def test_a_full_disk_mid_run_still_ends_in_a_result(tmp_path: Path, output_format: str) -> None:
    data_home = tmp_path / "data"
    data_home.mkdir()
    prefix = _on_a_full_disk(data_home)
    if prefix is None:
        pytest.skip("needs bubblewrap (bwrap --size --tmpfs) to put the sessions on a tiny file system")
    big = tmp_path / "big.txt"
    big.write_text("".join(f"line {i} of a file larger than the disk\n" for i in range(3000)))
    model = write_script(tmp_path, [[call("read_file", path=str(big))], [text("never reached")]])
    proc = subprocess.run(
        [*prefix, *agent_command("launch", "-m", model, "-p", "go", "--output-format", output_format)],
        cwd=tmp_path,
        env={**os.environ, "XDG_DATA_HOME": str(data_home), "NO_COLOR": "1"},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_FAILURE, proc.stderr
    _one_error_line(proc.stderr, "No space left on device")
    if output_format == "json":
        result = json.loads(proc.stdout)
    else:
        events = [json.loads(line) for line in proc.stdout.splitlines()]
        assert events[-2]["type"] == "error" and "No space left" in events[-2]["message"]
        result = events[-1]
    assert result["type"] == "result" and result["is_error"] and result["exit_code"] == EXIT_FAILURE
    assert "No space left on device" in result["error"]


def test_an_unavailable_sandbox_is_refused_with_how_to_install_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with bash and no bwrap
    bin_dir.mkdir()
    bash = shutil.which("bash")
    assert bash is not None
    (bin_dir / "bash").symlink_to(bash)
    model = write_script(tmp_path, [[call("bash", command="echo ran > ran.txt")], [text("done")]])
    for flags in (["--sandbox"], ["--sandbox-allow-net", "pypi.org"]):
        proc = subprocess.run(
            agent_command("launch", "-m", model, "-p", "go", "--permission-mode", "yolo", *flags),
            cwd=tmp_path,
            env={**os.environ, "PATH": str(bin_dir)},
            input="",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == EXIT_FAILURE
        _one_error_line(proc.stderr, "--sandbox", "bubblewrap", "apt-get install bubblewrap")
        assert not (tmp_path / "ran.txt").exists()
