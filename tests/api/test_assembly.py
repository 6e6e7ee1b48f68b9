"""api/assembly.py: what the configuration knows reaches the tools through their context, never by import."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentshell.api.assembly import LaunchOptions, assemble
from tests.cli.launch_support import text, write_script


def test_commands_never_see_agentshells_own_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'bash_pass_env = ["MY_OWN_TOKEN", "GPU_BOX_KEY"]\n'
        '[endpoints.gpu]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "GPU_BOX_KEY"\n'
    )
    monkeypatch.setenv("AGENT_CONFIG", str(config))
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-secret-ollama")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-openai")
    monkeypatch.setenv("GPU_BOX_KEY", "sk-secret-endpoint")
    monkeypatch.setenv("MY_OWN_TOKEN", "the user's own, for their tools")
    monkeypatch.setenv("MY_OTHER_TOKEN", "not named in bash_pass_env")
    model = write_script(tmp_path, [[text("done")]])
    parts = assemble(
        LaunchOptions(model=model, permission_mode="yolo", workspace=tmp_path), ask=None, notice=lambda line: None
    )
    try:
        out = parts.tools.execute("bash", {"command": "env"}).output
    finally:
        parts.close()
    assert "sk-secret" not in out
    # bash_pass_env lets the user's own credentials through (what a command prints is redacted all the same)...
    assert "MY_OWN_TOKEN=[REDACTED:MY_OWN_TOKEN]" in out
    assert "MY_OTHER_TOKEN" not in out  # ...no other credential-looking variable passes, agentshell's never
