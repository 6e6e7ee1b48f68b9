"""The workspace's distributions and the installers agree on names, versions and members.

The installers check `agent --version` against agentshell-core's version and install the members by
name for pip, so a rename or a version bump in one place only must fail here rather than on a user's machine.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import agentshell

ROOT = Path(__file__).resolve().parents[2]
CLI = "agentshell-cli"


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;@ (]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _members() -> dict[str, tuple[Path, dict[str, Any]]]:
    """Distribution name -> (folder relative to the root, [project] table), the root included."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = {root["project"]["name"]: (Path("."), root["project"])}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for pyproject in sorted(ROOT.glob(f"{pattern}/pyproject.toml")):
            project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
            found[project["name"]] = (pyproject.parent.relative_to(ROOT), project)
    return found


def test_one_version_everywhere_and_it_is_the_banner() -> None:
    versions = {name: project["version"] for name, (_, project) in _members().items()}
    assert set(versions.values()) == {agentshell.__version__}, versions


def test_our_dependencies_name_workspace_members_never_the_unrelated_agentshell() -> None:
    members = _members()
    for name, (folder, project) in members.items():
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        ours = {_name(r) for r in requirements if _name(r).startswith("agentshell")}
        assert "agentshell" not in ours, f"{folder}/pyproject.toml depends on the PyPI project named agentshell"
        assert ours <= set(members), (name, ours - set(members))


def test_only_the_cli_distribution_provides_agent() -> None:
    providers = {name: p.get("scripts", {}) for name, (_, p) in _members().items() if "agent" in p.get("scripts", {})}
    assert providers == {CLI: {"agent": "agentshell.cli.app:main"}}


def test_every_distribution_has_its_readme() -> None:
    for name, (folder, project) in _members().items():
        assert "readme" in project, name
        assert (ROOT / folder / project["readme"]).is_file(), name


def _closure(name: str, members: dict[str, tuple[Path, dict[str, Any]]]) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += [_name(r) for r in members[current][1].get("dependencies", []) if _name(r) in members]
    return seen


def test_the_installers_name_the_cli_distribution_and_every_member_it_needs() -> None:
    members = _members()
    needed = {str(members[name][0]) for name in _closure(CLI, members)} - {"."}
    sh = (ROOT / "install" / "install.sh").read_text(encoding="utf-8")
    ps1 = (ROOT / "install" / "install.ps1").read_text(encoding="utf-8")
    assert f'DIST="{CLI}"' in sh and f'$Dist = "{CLI}"' in ps1
    sh_members = re.search(r'^MEMBERS="([^"]*)"', sh, re.M)
    ps1_members = re.search(r"^\$Members = @\(([^)]*)\)", ps1, re.M)
    assert sh_members and ps1_members
    assert set(sh_members.group(1).split()) == needed
    assert set(re.findall(r'"([^"]+)"', ps1_members.group(1))) == needed
    # The extra, installed by --with-gguf, is the one member outside the closure.
    assert {_name(r) for r in members[CLI][1]["optional-dependencies"]["gguf"]} == {"agentshell-gguf"}
