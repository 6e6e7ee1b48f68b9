"""The protocol is the only bridge: a backend imports ``agentshell.protocol`` and nothing else of the agent.

A static check over every backend distribution's source (``backends/*/src``), so a
stray ``from agentshell.config import ...`` fails here even inside a function that
no test runs. Checked: the distributions with an ``agentshell.backends`` entry point,
and ``agentshell-chatformat``, which they share. The training stack (backends/train)
is not a backend: it runs the agent's real tools and says so in its dependencies.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

BACKENDS = Path(__file__).resolve().parents[2] / "backends"
SHARED_BY_BACKENDS = ("chatformat",)
ALLOWED = "agentshell.protocol"


def backend_distributions() -> list[Path]:
    found = []
    for project in sorted(BACKENDS.glob("*/pyproject.toml")):
        data = tomllib.loads(project.read_text(encoding="utf-8"))
        entry_points = data.get("project", {}).get("entry-points", {})
        if "agentshell.backends" in entry_points or project.parent.name in SHARED_BY_BACKENDS:
            found.append(project.parent)
    return found


def agent_imports(source: Path) -> list[str]:
    """``module:line`` for every import of the agent layer other than the protocol."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            # ``from agentshell import protocol`` is the protocol; ``from agentshell import config`` is not.
            if node.module == "agentshell":
                modules = [f"agentshell.{alias.name}" for alias in node.names]
            else:
                modules = [node.module]
        else:
            continue
        for module in modules:
            if (module == "agentshell" or module.startswith("agentshell.")) and module != ALLOWED:
                bad.append(f"{module}:{node.lineno}")
    return bad


def test_every_backend_distribution_is_checked() -> None:
    names = [d.name for d in backend_distributions()]
    assert {"builtin", "chatformat", "gguf", "ollama", "openai"} <= set(names), names


@pytest.mark.parametrize("distribution", backend_distributions(), ids=lambda d: d.name)
def test_backend_imports_only_the_protocol(distribution: Path) -> None:
    sources = sorted((distribution / "src").rglob("*.py"))
    assert sources
    offenders = {str(s.relative_to(BACKENDS)): bad for s in sources if (bad := agent_imports(s))}
    assert offenders == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from agentshell.protocol import Host\n"
        "def f():\n    from agentshell.config import data_dir\n    import agentshell.cli.failures\n"
        "from agentshell import protocol, __version__\n",
        encoding="utf-8",
    )
    found = sorted(agent_imports(module), key=lambda m: m.rsplit(":", 1)[1])
    assert found == ["agentshell.config:3", "agentshell.cli.failures:4", "agentshell.__version__:5"]
