"""install/install.sh from this checkout into a temporary HOME, then the installed `agent` runs a turn.

uv works offline from the developer's (or CI's) cache, so the test needs no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "install" / "install.sh"
SHIPPED_MODEL = ROOT / "backends" / "builtin" / "src" / "agentshell_builtin" / "models" / "agentshell-tiny.gguf"


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False)


@pytest.fixture
def home_env(tmp_path: Path) -> dict[str, str]:
    uv = shutil.which("uv")
    if uv is None or shutil.which("sh") is None:
        pytest.skip("install.sh test needs uv and sh")
    # The autouse fixture points XDG_CACHE_HOME at an empty directory; ask for the real uv cache.
    real = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True, env=real).stdout.strip()
    home = tmp_path / "home"
    home.mkdir()
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), SHELL="/bin/bash", UV_CACHE_DIR=cache, UV_OFFLINE="1", UV_NO_PROGRESS="1")
    return env


def test_install_run_reinstall_uninstall(home_env: dict[str, str], tmp_path: Path) -> None:
    home = Path(home_env["HOME"])
    first = run(["sh", str(SCRIPT), "--from", str(ROOT)], home_env, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    agent = home / ".local" / "bin" / "agent"
    assert agent.exists()
    assert f'export PATH="{home}/.local/bin:$PATH"' in (home / ".bashrc").read_text()

    version = run([str(agent), "--version"], home_env, tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("agent 0.")

    # From a checkout: the locked versions of agentshell-cli's dependencies, none of the dev group, no editable links.
    python = home / ".local" / "share" / "agentshell" / "venv" / "bin" / "python"
    probe = "import importlib.util as u, agentshell; print(u.find_spec('pytest') is None, agentshell.__file__)"
    where = run([str(python), "-c", probe], home_env, tmp_path)
    assert where.stdout.startswith("True ") and str(ROOT) not in where.stdout, where.stdout + where.stderr

    # One turn end to end through the installed environment (scripted backend: deterministic, no model needed).
    script = tmp_path / "turn.json"
    script.write_text(json.dumps([[{"type": "text", "text": "installed and answering"}]]))
    turn = run([str(agent), "launch", "--model", f"scripted:{script}", "-p", "hello"], home_env, tmp_path)
    assert turn.returncode == 0 and "installed and answering" in turn.stdout, turn.stderr

    # The shipped built-in model: a real turn once the file exists, until then one clear line.
    builtin = run([str(agent), "launch", "--model", "builtin", "-p", "hello"], home_env, tmp_path)
    if SHIPPED_MODEL.is_file():
        assert builtin.returncode == 0 and builtin.stdout.strip(), builtin.stderr
    else:
        assert builtin.returncode == 1 and "model is not installed" in builtin.stderr
        assert "Traceback" not in builtin.stderr and len(builtin.stderr.strip().splitlines()) == 1

    # Idempotent: a second run succeeds and adds nothing to the shell startup files.
    again = run(["sh", str(SCRIPT), "--from", str(ROOT)], home_env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert (home / ".bashrc").read_text().count("agentshell installer") == 1

    gone = run(["sh", str(SCRIPT), "--uninstall"], home_env, tmp_path)
    assert gone.returncode == 0 and "uninstalled" in gone.stdout
    assert not agent.exists() and "agentshell installer" not in (home / ".bashrc").read_text()
    assert "nothing to do" in run(["sh", str(SCRIPT), "--uninstall"], home_env, tmp_path).stdout


def test_bad_options_are_one_line(home_env: dict[str, str], tmp_path: Path) -> None:
    bad = run(["sh", str(SCRIPT), "--frobnicate"], home_env, tmp_path)
    assert bad.returncode == 1 and "unknown option --frobnicate" in bad.stderr
    missing = run(["sh", str(SCRIPT), "--from", str(tmp_path)], home_env, tmp_path)
    assert missing.returncode == 1 and "not an agentshell checkout" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
