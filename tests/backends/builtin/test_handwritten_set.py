"""The hand-written request set stays what its README says: complete, consistent, unchanged.

See tests/fixtures/handwritten_requests/README.md. Nothing here runs the model on the
whole set; that is benchmarks/handwritten_eval.py.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from tests.backends.builtin.handwritten_set import (
    DATA_FILES,
    EXPECTED_SHA256,
    SET_DIR,
    TOOLS,
    Call,
    Item,
    SetError,
    Workspace,
    call_matches,
    git_available,
    load_items,
    load_workspaces,
    normalise,
    quotes_result,
    run_reference,
    sha256,
)

MIN_ITEMS = 300
MIN_PER_TOOL = 20
MIN_NO_CALL = 20  # each of no_tool and refuse_or_ask


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_items()


@pytest.fixture(scope="module")
def workspaces() -> dict[str, Workspace]:
    return load_workspaces()


def test_data_files_have_the_recorded_hashes() -> None:
    readme = (SET_DIR / "README.md").read_text(encoding="utf-8")
    for path in DATA_FILES:
        digest = sha256(path)
        assert digest == EXPECTED_SHA256[path.name], f"{path.name} changed: see {SET_DIR / 'README.md'}"
        assert digest in readme, f"README.md does not state the sha256 of {path.name}"


def test_the_set_is_large_and_covers_every_tool(items: list[Item]) -> None:
    assert len(items) >= MIN_ITEMS
    expects = Counter(item.expect for item in items)
    assert expects["no_tool"] >= MIN_NO_CALL and expects["refuse_or_ask"] >= MIN_NO_CALL
    per_tool = Counter(item.reference.name for item in items if item.expect == "tool")
    assert {name: per_tool[name] for name in TOOLS if per_tool[name] < MIN_PER_TOOL} == {}


def test_items_use_every_workspace_and_only_known_ones(items: list[Item], workspaces: dict[str, Workspace]) -> None:
    used = {item.workspace for item in items}
    assert used == set(workspaces)
    assert len(workspaces) >= 5


def test_every_listed_call_is_one_the_tool_accepts(items: list[Item]) -> None:
    bad = [(item.id, call) for item in items for call in item.calls if normalise(call.name, call.arguments) is None]
    assert bad == []


def _problem(item: Item, ws: Workspace) -> str | None:
    """Why the reference call's path does not fit the workspace, or None."""
    files = set(ws.files)
    dirs = {"."} | {str(Path(f).parents[i].as_posix()) for f in files for i in range(len(Path(f).parents) - 1)}
    args = normalise(item.reference.name, item.reference.arguments)
    assert args is not None
    path = args.get("path")
    name = item.reference.name
    if name == "bash" or not isinstance(path, str):
        return None
    if path.startswith(("/", "..")):
        return f"{path} is outside the workspace"
    if item.tool_error:
        return f"{path} exists, but the item expects the call to fail" if path in files | dirs else None
    if name in ("read_file", "edit_file") and path not in files:
        return f"no file {path}"
    if name in ("list_dir", "glob") and path not in dirs:
        return f"no directory {path}"
    if name == "grep" and path not in files | dirs:
        return f"no file or directory {path}"
    if name == "write_file" and (path in dirs or str(Path(path).parent.as_posix()) in files):
        return f"{path} cannot be written as a file"
    return None


def test_each_expected_path_exists_in_its_workspace(items: list[Item], workspaces: dict[str, Workspace]) -> None:
    problems = {}
    for item in items:
        if item.expect == "tool":
            problem = _problem(item, workspaces[item.workspace])
            if problem:
                problems[item.id] = problem
    assert problems == {}


@pytest.mark.parametrize(
    ("name", "given", "accepted"),
    [
        ("list_dir", {"path": "./src/"}, {"path": "src"}),
        ("list_dir", {}, {"path": "."}),
        ("list_dir", {"path": ""}, {"path": "."}),
        ("grep", {"pattern": "TODO", "path": "."}, {"pattern": "TODO"}),
        ("grep", {"pattern": "x", "include": "./*.py"}, {"pattern": "x", "include": "*.py"}),
        ("glob", {"pattern": "./src/*.rs"}, {"pattern": "src/*.rs"}),
        ("bash", {"command": "  wc   -l a.py "}, {"command": "wc -l a.py"}),
        ("write_file", {"path": "a.txt", "content": "hi\n"}, {"path": "a.txt", "content": "hi"}),
        ("read_file", {"path": "src//a.py"}, {"path": "src/a.py"}),
    ],
)
def test_documented_equivalences_match(name: str, given: dict[str, object], accepted: dict[str, object]) -> None:
    assert call_matches(name, given, [Call(name, accepted)])


@pytest.mark.parametrize(
    ("name", "given", "accepted"),
    [
        ("read_file", {"path": "App.py"}, {"path": "app.py"}),  # paths are case-sensitive
        ("read_file", {"path": "a.py", "limit": 10}, {"path": "a.py"}),  # an extra argument changes the call
        ("read_file", {"file_path": "a.py"}, {"path": "a.py"}),  # the tool rejects unknown fields
        ("grep", {"pattern": "todo"}, {"pattern": "TODO"}),
        ("grep", {"pattern": "TODO", "ignore_case": True}, {"pattern": "TODO"}),
        ("bash", {"command": "echo hi"}, {"command": "echo hi there"}),
        ("write_file", {"path": "a.txt", "content": "hi "}, {"path": "a.txt", "content": "hi"}),
        (
            "edit_file",
            {"path": "a", "old_string": "x ", "new_string": "y"},
            {"path": "a", "old_string": "x", "new_string": "y"},
        ),
    ],
)
def test_other_differences_do_not_match(name: str, given: dict[str, object], accepted: dict[str, object]) -> None:
    assert not call_matches(name, given, [Call(name, accepted)])


def test_another_tool_matches_only_when_listed() -> None:
    listing = Call("list_dir", {"path": "src"})
    assert not call_matches("bash", {"command": "ls src"}, [listing])
    assert call_matches("bash", {"command": "ls src"}, [listing, Call("bash", {"command": "ls src"})])


def test_answers_are_judged_by_every_quote(items: list[Item]) -> None:
    item = next(i for i in items if i.expect == "tool" and len(i.quote) >= 2)
    assert quotes_result(" ".join(item.quote), item)
    assert not quotes_result(item.quote[0], item)


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "requests.jsonl"
    bad.write_text(
        '{"id": "x-1", "workspace": "w", "request": "hi", "expect": "maybe", "calls": [], "quote": [], "tags": ["t"]}\n'
    )
    with pytest.raises(SetError, match=r"requests\.jsonl:1: expect"):
        load_items(bad)


@pytest.mark.slow
def test_every_quote_is_in_the_real_result_of_the_reference_call(
    items: list[Item], workspaces: dict[str, Workspace], tmp_path: Path
) -> None:
    """The quotes were written by hand; this proves each one is what the real tool really returns."""
    problems = {}
    for item in items:
        if item.expect != "tool" or (workspaces[item.workspace].git_message and not git_available()):
            continue
        output, is_error = run_reference(item, workspaces[item.workspace].build(tmp_path / item.id))
        missing = [q for q in item.quote if q not in output]
        if missing or is_error != item.tool_error:
            problems[item.id] = (missing, is_error, output[:200])
    assert problems == {}


def _benchmark() -> ModuleType:
    path = Path(__file__).resolve().parents[3] / "benchmarks" / "handwritten_eval.py"
    spec = importlib.util.spec_from_file_location("handwritten_eval", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_one_item_runs_end_to_end_through_the_builtin_backend(
    items: list[Item], workspaces: dict[str, Workspace], tmp_path: Path
) -> None:
    from agentshell_builtin.backend import shipped_model_path

    if not shipped_model_path().is_file():
        pytest.skip("the shipped model is not installed")
    item = next(i for i in items if i.expect == "tool" and i.reference.name == "list_dir")
    outcome = _benchmark().Runner(shipped_model_path()).run(item, workspaces[item.workspace], tmp_path)
    assert outcome.reply.error == "" and (outcome.reply.calls or outcome.reply.text.strip())
    assert outcome.answer is not None and outcome.answer.error == ""
    assert outcome.answer.text.strip() or outcome.answer.calls
    assert isinstance(outcome.call_ok, bool) and isinstance(outcome.answer_ok, bool)
