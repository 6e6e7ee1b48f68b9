"""``agent explain``: the numbers it shows are the engine's, and it fails with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentshell_builtin.backend import load_model
from agentshell_builtin.cli_explain import app
from agentshell_builtin.model import softmax
from typer.testing import CliRunner

runner = CliRunner()


def explain_json(tiny_file: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["--model", f"builtin:{tiny_file}", "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_json_has_tokens_attention_and_probabilities(tiny_file: Path) -> None:
    data = explain_json(tiny_file, "Once upon a time")
    loaded = load_model(tiny_file)
    ids = loaded.tokenizer.encode("Once upon a time", parse_special=True)
    assert [t["id"] for t in data["tokens"]] == ids
    assert data["embedding"] == {"table_shape": [600, 64], "output_shape": [len(ids), 64]}
    (step,) = data["steps"]
    cfg = loaded.llama.config
    assert len(step["attention"]) == cfg.n_layer * cfg.n_head
    for row in step["attention"]:
        assert len(row["weights"]) == len(ids)
        assert abs(sum(row["weights"]) - 1) < 1e-4
    # the probabilities are the engine's own: softmax of a plain forward pass
    llama = loaded.llama
    probs = softmax(llama.forward(ids, llama.new_cache(len(ids)), last_only=True)[0, -1])
    best = np.argsort(-probs)[:10]
    assert [c["id"] for c in step["top"]] == [int(i) for i in best]
    assert step["top"][0]["prob"] == pytest.approx(float(probs[best[0]]), abs=1e-6)
    assert step["chosen"]["id"] == step["top"][0]["id"]  # greedy by default


def test_steps_extend_the_cache_one_token_at_a_time(tiny_file: Path) -> None:
    data = explain_json(tiny_file, "--steps", "3", "--layer", "1", "--head", "2", "Hello there")
    steps = data["steps"]
    n = len(data["tokens"])
    assert [s["position"] for s in steps] == [n - 1, n, n + 1]
    assert [len(s["input_ids"]) for s in steps] == [n, 1, 1]
    assert steps[1]["input_ids"] == [steps[0]["chosen"]["id"]]
    for s in steps:
        (row,) = s["attention"]
        assert (row["layer"], row["head"]) == (1, 2)
        assert len(row["weights"]) == s["position"] + 1


def test_terminal_rendering(tiny_file: Path) -> None:
    result = runner.invoke(app, ["--model", f"builtin:{tiny_file}", "--layer", "0", "The cat"])
    assert result.exit_code == 0, result.output
    for part in (
        "1. Text becomes tokens",
        "2. Tokens become vectors",
        "(600 × 64)",
        "3. Attention",
        "L0  H3",
        "layer 0 head 1 looks most at",
        "4. Next-token probabilities",
        "5. Chosen",
    ):
        assert part in result.stdout


def test_bad_layer_and_missing_model(tiny_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--model", f"builtin:{tiny_file}", "--layer", "9", "x"])
    assert result.exit_code == 2
    assert "layers 0..1" in result.output
    result = runner.invoke(app, ["--model", f"builtin:{tmp_path / 'none.gguf'}", "x"])
    assert result.exit_code == 1
    assert "no GGUF file at" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_agent_explain_command(tiny_file: Path) -> None:
    """The real entry point: `agent explain` is found through the agentshell.commands entry point."""
    agent = Path(sys.executable).parent / "agent"
    proc = subprocess.run(
        [str(agent), "explain", "--model", f"builtin:{tiny_file}", "--json", "--steps", "2", "A"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["steps"]) == 2
    proc = subprocess.run(
        [str(agent), "explain", "--model", "builtin:/no/such/model.gguf", "x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "no GGUF file at" in proc.stderr


@pytest.mark.slow
def test_explain_on_smollm2_golden(smollm2_file: Path) -> None:
    """llama2.c-style golden check on a real model: the tokens, and the continuation SmolLM2 picks."""
    data = explain_json(smollm2_file, "--steps", "2", "The animal didn't cross the street because it")
    assert [t["text"] for t in data["tokens"]] == [
        "The",
        " animal",
        " didn",
        "'t",
        " cross",
        " the",
        " street",
        " because",
        " it",
    ]
    assert [t["id"] for t in data["tokens"]] == [504, 3161, 3683, 982, 3050, 260, 7280, 975, 357]
    assert data["embedding"]["table_shape"] == [49152, 576]
    assert len(data["steps"][0]["attention"]) == 30 * 9
    assert [s["chosen"]["text"] for s in data["steps"]] == [" was", " too"]
