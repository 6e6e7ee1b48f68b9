"""install/install.sh links `agent` only for this project: not the unrelated PyPI `agentshell`, not an impostor.

The fakes are wheels written here (no build backend, no network): uv and pip install them offline, and
a second fake distribution stands in for agentshell-core through a local find-links folder.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "install" / "install.sh"
STRANGER_BANNER = "agentshell 0.0.7 - A shell for your agent."


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=240, check=False)


def write_wheel(
    folder: Path,
    name: str,
    version: str,
    files: dict[str, str],
    *,
    scripts: dict[str, str] | None = None,
    requires: tuple[str, ...] = (),
) -> Path:
    """A pure-Python wheel with a correct RECORD, so both uv and pip install it as they would a real one."""
    stem = name.replace("-", "_")
    info = f"{stem}-{version}.dist-info"
    entries = dict(files)
    requires_dist = "".join(f"Requires-Dist: {r}\n" for r in requires)
    entries[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires_dist}"
    entries[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if scripts:
        console = "".join(f"{k} = {v}\n" for k, v in scripts.items())
        entries[f"{info}/entry_points.txt"] = f"[console_scripts]\n{console}"
    record = []
    for path, text in entries.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in entries.items():
            zf.writestr(path, text)
    return wheel


def banner_module(banner: str) -> dict[str, str]:
    """An `agentshell.cli.app:main` that prints someone else's banner."""
    main = f"def main():\n    print({banner!r})\n"
    return {"agentshell/__init__.py": "", "agentshell/cli/__init__.py": "", "agentshell/cli/app.py": main}


@pytest.fixture
def home_env(tmp_path: Path) -> dict[str, str]:
    uv = shutil.which("uv")
    if uv is None or shutil.which("sh") is None:
        pytest.skip("install.sh test needs uv and sh")
    real = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True, env=real).stdout.strip()
    home = tmp_path / "home"
    home.mkdir()
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), SHELL="/bin/bash", UV_CACHE_DIR=cache, UV_OFFLINE="1", UV_NO_PROGRESS="1")
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def nothing_linked(env: dict[str, str]) -> bool:
    home = Path(env["HOME"])
    return not (home / ".local" / "bin" / "agent").exists() and not (home / ".bashrc").exists()


def test_the_unrelated_pypi_agentshell_is_refused_before_anything_is_fetched(
    home_env: dict[str, str], tmp_path: Path
) -> None:
    stranger = write_wheel(
        tmp_path / "wheels",
        "agentshell",
        "0.0.7",
        {"agentshell/__init__.py": "", "agentshell/shell.py": f"def main():\n    print({STRANGER_BANNER!r})\n"},
        scripts={"agent": "agentshell.shell:main"},
    )
    for source in ("agentshell", "agentshell[gguf]", "agentshell==0.0.7", str(stranger)):
        refused = run(["sh", str(SCRIPT), "--from", source], home_env, tmp_path)
        assert refused.returncode == 1, (source, refused.stdout, refused.stderr)
        assert "is not agentshell" in refused.stderr and "agentshell-cli" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
        assert nothing_linked(home_env)


@pytest.mark.parametrize("mode", ["uv", pytest.param("venv", marks=pytest.mark.slow)])  # venv: pip, ~8 s
def test_an_agent_with_another_banner_is_refused_and_nothing_is_linked(
    home_env: dict[str, str], tmp_path: Path, mode: str
) -> None:
    """Right distribution names, someone else's `agent`: the banner check refuses it in both install modes."""
    wheels = tmp_path / "wheels"
    write_wheel(wheels, "agentshell-core", "0.1.0", {})
    impostor = write_wheel(
        wheels,
        "agentshell-cli",
        "0.1.0",
        banner_module(STRANGER_BANNER),
        scripts={"agent": "agentshell.cli.app:main"},
        requires=("agentshell-core",),
    )
    env = {**home_env, "UV_FIND_LINKS": str(wheels), "PIP_FIND_LINKS": str(wheels)}
    cmd = ["sh", str(SCRIPT), "--from", str(impostor)] + (["--no-uv"] if mode == "venv" else [])
    refused = run(cmd, env, tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert STRANGER_BANNER in refused.stderr and "not the banner of agentshell 'agent 0.1.0'" in refused.stderr
    assert "refused" in refused.stderr and "nothing was linked" in refused.stderr
    assert nothing_linked(env)
    assert not (Path(env["HOME"]) / ".local" / "share" / "agentshell" / "venv").exists()


def test_an_agentshell_cli_without_the_core_is_refused(home_env: dict[str, str], tmp_path: Path) -> None:
    lone = write_wheel(
        tmp_path / "wheels", "agentshell-cli", "0.1.0", banner_module("agent 0.1.0"), scripts={"agent": "x:main"}
    )
    refused = run(["sh", str(SCRIPT), "--from", str(lone)], home_env, tmp_path)
    assert refused.returncode == 1 and "agentshell-core is not there" in refused.stderr, refused.stderr
    assert nothing_linked(home_env)


def test_without_from_it_says_where_to_install_from(home_env: dict[str, str], tmp_path: Path) -> None:
    """agentshell-cli is not on PyPI yet: the default install fails with one line naming this checkout."""
    failed = run(["sh", str(SCRIPT)], home_env, tmp_path)
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert "agentshell-cli could not be installed from PyPI: it is not published there yet" in last
    assert f"--from {ROOT}" in last
    assert nothing_linked(home_env)
