"""Generated projects (projects.py): realistic layouts, reproducible to the byte, split-aware names."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from agentshell_train.names import DIRS, STEMS, WORDS
from agentshell_train.phrasings import Split, split_pool
from agentshell_train.project_files import VOCAB, Ctx, held_only
from agentshell_train.projects import MAX_FILES, MIN_FILES, STYLES, draw_project, make_project

SEEDS = range(200)
_POOLS = (DIRS, STEMS, WORDS)
HELD_ONLY = held_only()  # names.py has "window" as a training WORDS entry and a held-out STEMS one
# conventional layout names a real project has whatever the split: docs/, cmd/, docker-compose.yml
CONVENTIONAL = {"docs", "models", "assets", "cmd", "docker"}


def _on_disk(root: Path) -> tuple[list[str], list[str], dict[str, bytes]]:
    files, dirs = [], []
    for here, subdirs, names in os.walk(root):
        rel = Path(here).relative_to(root).as_posix()
        dirs += [f"{rel}/{d}" if rel != "." else d for d in subdirs]
        files += [f"{rel}/{n}" if rel != "." else n for n in names]
    return sorted(files), sorted(dirs), {f: (root / f).read_bytes() for f in files}


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_same_rng_state_writes_the_same_tree_byte_for_byte(tmp_path: Path, split: Split) -> None:
    trees = []
    for copy in ("a", "b"):
        root = tmp_path / copy
        root.mkdir()
        ws = make_project(random.Random(f"7-{split}"), root, split)
        files, dirs, data = _on_disk(root)
        assert files == sorted(ws.files) and dirs == sorted(ws.dirs)  # every file is listed, every folder too
        trees.append(data)
    assert trees[0] == trees[1]
    other = tmp_path / "c"
    other.mkdir()
    make_project(random.Random(f"8-{split}"), other, split)
    assert _on_disk(other)[2] != trees[0]


def test_every_style_appears_and_trees_are_listed_in_full(tmp_path: Path) -> None:
    styles = set()
    for seed in range(40):
        root = tmp_path / str(seed)
        root.mkdir()
        ws = make_project(random.Random(seed), root, "train")
        files, dirs, _ = _on_disk(root)
        assert (files, dirs) == (sorted(ws.files), sorted(ws.dirs))
    for seed in SEEDS:
        styles.add(draw_project(random.Random(seed), "train")[0])
    assert styles == set(STYLES)


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_files_are_ascii_text_of_3_to_40_lines_in_shallow_trees(split: Split) -> None:
    counts = []
    for seed in SEEDS:
        _, files = draw_project(random.Random(seed), split)
        counts.append(len(files))
        assert MIN_FILES <= len(files) <= MAX_FILES
        for path, content in files.items():
            assert path.count("/") <= 3 and not path.startswith("/") and ".." not in path.split("/"), path
            assert content.isascii() and content.endswith("\n"), path
            assert 3 <= len(content.splitlines()) <= 40, (path, len(content.splitlines()))
    assert max(counts) >= 12  # not all toy-sized


def test_trees_mix_conventional_layouts_with_names_the_model_must_copy() -> None:
    known = {w for p in _POOLS for w in p} | set(VOCAB)
    names = [tok for seed in SEEDS for path in draw_project(random.Random(seed), "train")[1] for tok in path.split("/")]
    assert {"src", "tests", "docs", "scripts", "README.md", "package.json", "go.mod", "Cargo.toml"} <= set(names)
    invented = [n for n in names if re.split(r"[._-]", n)[0] not in known and not n[0].isupper()]
    assert 0.2 < len(invented) / len(names) < 0.8


def test_training_trees_never_name_things_with_heldout_names() -> None:
    for seed in SEEDS:
        for path in draw_project(random.Random(seed), "train")[1]:
            leaked = set(re.split(r"[/._-]", path)) & HELD_ONLY
            assert leaked <= CONVENTIONAL, (path, leaked)


def test_pool_drawn_words_follow_the_split() -> None:
    rng = random.Random(3)
    train = [Ctx(rng, "train").word() for _ in range(2000)]
    held = [Ctx(rng, "heldout").word() for _ in range(2000)]
    assert not set(train) & HELD_ONLY
    heldout_names = {w.replace("-", "_") for p in _POOLS for w in split_pool(p, "heldout")}
    assert set(held) <= heldout_names | set(VOCAB)
    assert set(held) & HELD_ONLY and set(train) - set(VOCAB) - {w for p in _POOLS for w in p}  # invented in train


def _toolbox(root: Path) -> Callable[..., tuple[str, bool]]:
    """agentshell's own tools, run without asking, as the corpus runs them."""
    from agentshell.permissions.gate import PermissionGate
    from agentshell.tools import ToolContext, ToolRunner, default_tools

    runner = ToolRunner(default_tools(), ToolContext(root.resolve()), PermissionGate("yolo", root.resolve()))

    def call(name: str, **arguments: str) -> tuple[str, bool]:
        result = runner.execute(name, arguments)
        return result.output, result.is_error

    return call


def test_agentshell_tools_list_read_and_search_the_project(tmp_path: Path) -> None:
    for seed in range(6):
        root = tmp_path / str(seed)
        root.mkdir()
        ws = make_project(random.Random(seed), root, "train" if seed % 2 else "heldout")
        tools = _toolbox(root)
        for d in [".", *ws.dirs]:
            out, err = tools("list_dir", path=d)
            assert not err, out
        for f in ws.files:
            out, err = tools("read_file", path=f)
            assert not err and out.splitlines()[0].split("\t", 1)[-1] == (root / f).read_text().splitlines()[0]
        word = re.findall(r"[a-z]{4,}", (root / ws.files[-1]).read_text())[0]
        out, err = tools("grep", pattern=word, path=".")
        assert not err and ws.files[-1] in out, out
