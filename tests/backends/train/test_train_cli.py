"""``agent train`` end to end on a plain text file, resume, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentshell_train.cli_train import app
from typer.testing import CliRunner

TEXT = (
    "The quick brown fox jumps over the lazy dog. A stitch in time saves nine. "
    "To be or not to be, that is the question. All that glitters is not gold.\n"
) * 60


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.slow
def test_train_on_plain_text_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadpoolctl import threadpool_limits

    data = tmp_path / "book.txt"
    data.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "m.gguf"
    common = ["--data", str(data), "--out", str(out), "--vocab", "320", "--seq-len", "32", "--batch-size", "4"]
    with threadpool_limits(1):
        code, output = _invoke(*common, "--steps", "4", "--threads", "2")
        assert code == 0, output
        assert "held-out loss" in output and "wrote" in output and "2 threads" in output
        assert out.is_file()
        meta = json.loads((tmp_path / "m.ckpt.json").read_text())
        assert meta["state"]["step"] == 4

        code, output = _invoke("--out", str(out), "--resume", "--steps", "6", "--lr", "5e-4")
        assert code == 0, output
        assert "resuming at step 4" in output
    meta = json.loads((tmp_path / "m.ckpt.json").read_text())
    assert meta["state"]["step"] == 6 and meta["train"]["steps"] == 6
    assert meta["train"]["lr"] == 5e-4  # --lr on resume sets a new peak for the stretched schedule

    from agentshell_builtin.gguf_loader import load_gguf

    model = load_gguf(out)
    assert model.config.vocab_size == 320


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/nonexistent/file.txt"], "no such file"),
        (["--config", "huge"], "unknown config"),
        (["--resume"], "nothing to resume"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = _invoke(*args, "--out", str(tmp_path / "m.gguf"))
    assert code == 1
    assert message in output
    assert "Traceback" not in output


def test_too_short_text_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "short.txt"
    data.write_text("hello", encoding="utf-8")
    code, output = _invoke("--data", str(data), "--out", str(tmp_path / "m.gguf"))
    assert code == 1 and "too short" in output


@pytest.mark.slow
def test_agent_train_is_a_registered_command() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "agentshell", "train", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "--resume" in proc.stdout and "--config" in proc.stdout
