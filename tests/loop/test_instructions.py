"""System prompt: base instructions plus AGENTS.md / CLAUDE.md, capped, never crashing on odd files."""

from __future__ import annotations

import os
from pathlib import Path

from agentshell.loop.instructions import MAX_INSTRUCTION_CHARS, project_instructions, system_prompt
from agentshell.protocol import ToolSpec

TOOLS = [ToolSpec(name=n, description=n, parameters={"type": "object"}) for n in ("read_file", "bash")]


def test_base_prompt_names_the_workspace_and_the_tools(tmp_path: Path) -> None:
    prompt = system_prompt(tmp_path, TOOLS)
    assert str(tmp_path) in prompt and "coding agent" in prompt
    assert "Your tools: read_file, bash." in prompt
    assert "Project instructions" not in prompt
    assert len(prompt) < 1500  # small models have small windows
    assert "no tools" in system_prompt(tmp_path, [])


def test_agents_md_and_claude_md_are_included_in_that_order(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Run tests with `make check`.\n")
    (tmp_path / "CLAUDE.md").write_text("Never touch vendor/.\n")
    prompt = system_prompt(tmp_path, TOOLS)
    assert prompt.index("from AGENTS.md\n\nRun tests with `make check`.") < prompt.index(
        "from CLAUDE.md\n\nNever touch vendor/."
    )


def test_symlinked_or_identical_claude_md_is_included_once(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Use tabs.")
    os.symlink("AGENTS.md", tmp_path / "CLAUDE.md")
    assert [n for n, _ in project_instructions(tmp_path)] == ["AGENTS.md"]
    (tmp_path / "CLAUDE.md").unlink()
    (tmp_path / "CLAUDE.md").write_text("Use tabs.\n")
    assert system_prompt(tmp_path, TOOLS).count("Use tabs.") == 1


def test_huge_instructions_are_capped_with_a_visible_cut(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("rule\n" * 100_000)
    (tmp_path / "CLAUDE.md").write_text("more\n" * 100_000)
    found = project_instructions(tmp_path)
    total = sum(len(t) for _, t in found)
    assert total <= MAX_INSTRUCTION_CHARS + 200
    assert "AGENTS.md was cut here" in found[0][1]
    assert len(system_prompt(tmp_path, TOOLS)) < MAX_INSTRUCTION_CHARS + 2000


def test_odd_files_never_crash(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_bytes(b"caf\xe9 \xff\xfe rules")  # not UTF-8
    (tmp_path / "CLAUDE.md").mkdir()  # a directory, not a file
    prompt = system_prompt(tmp_path, TOOLS)
    assert "caf� �� rules" in prompt
    missing = tmp_path / "gone"
    assert "Project instructions" not in system_prompt(missing, TOOLS)
    (tmp_path / "AGENTS.md").write_text("   \n")
    assert project_instructions(tmp_path) == []


def test_a_fifo_or_dangling_link_is_skipped_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "AGENTS.md")  # opening it for reading would block forever
    os.symlink(tmp_path / "missing.md", tmp_path / "CLAUDE.md")
    assert project_instructions(tmp_path) == []


# --------------------------------------------------------------------------- agent init


def _init(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from agentshell.cli.app import build_cli

    result = CliRunner().invoke(build_cli(), ["init", *args])
    return result.exit_code, result.output


def test_init_writes_a_starter_that_the_prompt_then_carries(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text("[package]\n")
    code, out = _init(str(tmp_path))
    assert code == 0 and out == f"wrote {tmp_path.resolve() / 'AGENTS.md'}\n"
    text = (tmp_path / "AGENTS.md").read_text()
    assert "`cargo test`" in text and "a Rust project" in text
    assert "## Commands" in system_prompt(tmp_path, TOOLS)


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("mine, hand-written")
    code, out = _init(str(tmp_path))
    assert code == 2 and "already exists" in out and "--force" in out
    assert (tmp_path / "AGENTS.md").read_text() == "mine, hand-written"
    code, _ = _init(str(tmp_path), "--force")
    assert code == 0 and "## Boundaries" in (tmp_path / "AGENTS.md").read_text()


def test_init_force_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("not yours")
    ws = tmp_path / "ws"
    ws.mkdir()
    os.symlink(outside, ws / "AGENTS.md")
    assert _init(str(ws))[0] == 2
    assert _init(str(ws), "--force")[0] == 0
    assert outside.read_text() == "not yours" and not (ws / "AGENTS.md").is_symlink()


def test_init_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    code, out = _init(str(tmp_path / "nope"))
    assert code == 2 and "is not a directory" in out and "Traceback" not in out
