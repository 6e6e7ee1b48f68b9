"""`agent --version` and `agent launch --help` never import a backend library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.launch_support import text, write_script

HEAVY_LIBRARIES = ("numpy", "llama_cpp", "ollama", "httpx", "openai", "gguf")
BACKEND_LIBRARIES = (
    *HEAVY_LIBRARIES,
    "agentshell_builtin",
    "agentshell_gguf",
    "agentshell_ollama",
    "agentshell_openai",
    "agentshell_chatformat",
    "agentshell.loop.agent",
    "agentshell.tools",
)

PROBE = """
import contextlib, io, json, sys
from agentshell.cli.app import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
roots = sorted({name.split(".")[0] for name in sys.modules} | {n for n in sys.modules if n.startswith("agentshell.")})
print(json.dumps({"code": code, "modules": roots, "out": out.getvalue()}))
"""


@pytest.mark.parametrize("argv", [["--version"], ["launch", "--help"], ["--help"]])
def test_no_backend_library_on_startup_paths(argv: list[str]) -> None:
    # `agent --help` finds backend-contributed commands, which imports those packages' (light) __init__.
    forbidden = set(HEAVY_LIBRARIES if argv == ["--help"] else BACKEND_LIBRARIES)
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, timeout=60)
    report = json.loads(proc.stdout)
    assert report["code"] in (0, None)
    assert report["out"].strip()
    loaded = set(report["modules"])
    assert not loaded & forbidden, sorted(loaded & forbidden)
    if argv == ["--version"]:
        assert not loaded & {"typer", "click", "rich", "pydantic"}, "the --version fast path grew"


def test_a_text_run_imports_no_event_models_no_json_writer_no_shell_and_no_editor_protocol(tmp_path: Path) -> None:
    """-p with text output is one run of the API's Agent whose result is printed: it loads neither the event
    models nor the JSON writing, the custom-command machinery, the REPL's rendering or the ACP SDK
    (benchmarks/ollama_stream.py measures the rest)."""
    model = write_script(tmp_path, [[text("hello")]])
    argv = ["launch", "-m", model, "-p", "hi"]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path
    )
    report = json.loads(proc.stdout)
    assert report["code"] in (0, None) and report["out"] == "hello\n"
    loaded = set(report["modules"])
    assert {"agentshell.api.agent", "agentshell.api.result"} <= loaded  # built on the API
    unwanted = {
        "agentshell.api.events",
        "agentshell.cli.jsonout",
        "agentshell.cli.custom_commands",
        "agentshell.cli.render",
        "acp",
        # without a config file, project hooks or MCP servers, their readers stay unloaded
        "tomllib",
        "agentshell.extensions.mcp_config",
        "agentshell.extensions.project_hooks",
    }
    assert not loaded & unwanted, sorted(loaded & unwanted)
