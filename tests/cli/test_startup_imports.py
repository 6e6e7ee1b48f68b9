"""`agent --version` and `agent launch --help` never import a backend library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
