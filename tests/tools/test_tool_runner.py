"""ToolRunner: whatever the model sends, it gets a readable result and the loop goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import BaseTool, ToolArgs, ToolContext, ToolResult, ToolRunner, default_tools

Run = Callable[..., ToolResult]


def test_specs_are_flat_json_schemas_with_descriptions(ws: Path, ctx: ToolContext) -> None:
    runner = ToolRunner(default_tools(), ctx, PermissionGate("ask", ws))
    specs = runner.specs()
    assert [s.name for s in specs] == ["read_file", "write_file", "edit_file", "list_dir", "glob", "grep", "bash"]
    for spec in specs:
        text = json.dumps(spec.parameters)
        assert "$ref" not in text and "$defs" not in text and '"title"' not in text
        assert spec.parameters["type"] == "object"
        assert spec.description
        for name, prop in spec.parameters["properties"].items():
            assert prop.get("description"), f"{spec.name}.{name} has no description"
            assert "anyOf" not in prop, f"{spec.name}.{name}: optional fields are shown as their plain type"
    read = specs[0].parameters
    assert read["properties"]["offset"] == {
        "type": "integer",
        "minimum": 1,
        "description": "Line number to start reading from (1 = first line). Omit to start at the top.",
    }
    assert read["required"] == ["path"]


class Nested(BaseModel):
    depth: int


class NestedArgs(ToolArgs):
    inner: Nested
    items: list[Nested] = Field(default_factory=list)


class NestedTool(BaseTool[NestedArgs]):
    name = "nested"
    description = "test tool with nested models"
    kind = "read"

    def run(self, args: NestedArgs, ctx: ToolContext) -> ToolResult:
        raise RuntimeError("boom")


def test_nested_models_are_inlined_and_tool_crashes_are_reported(ws: Path, ctx: ToolContext) -> None:
    runner = ToolRunner([NestedTool()], ctx, PermissionGate("yolo", ws))
    schema = runner.specs()[0].parameters
    assert schema["properties"]["inner"]["properties"]["depth"]["type"] == "integer"
    assert schema["properties"]["items"]["items"]["properties"]["depth"]["type"] == "integer"
    result = runner.execute("nested", {"inner": {"depth": 1}})
    assert result.is_error and "RuntimeError: boom" in result.output


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("delete_everything", {}, "unknown tool 'delete_everything'. Available tools: bash, edit_file"),
        ("read_file", {}, "path: Field required"),
        ("read_file", {"path": 42}, "path: Input should be a valid string"),
        ("read_file", {"path": "a", "offset": "ten"}, "offset: Input should be a valid integer"),
        ("read_file", {"path": "a", "offset": 0}, "offset: Input should be greater than or equal to 1"),
        ("read_file", {"file_path": "a"}, "file_path: Extra inputs are not permitted"),
        (
            "edit_file",
            {"path": "a", "old_string": ["x"], "new_string": "y"},
            "old_string: Input should be a valid string",
        ),
        ("bash", {"command": None}, "command: Input should be a valid string"),
        ("grep", {"pattern": "x", "ignore_case": "maybe"}, "ignore_case: Input should be a valid boolean"),
    ],
)
def test_malformed_calls_become_error_results(run: Run, name: str, arguments: dict[str, object], expected: str) -> None:
    result = run(name, **arguments)
    assert result.is_error
    assert expected in result.output


def test_arguments_that_are_not_an_object(ws: Path, ctx: ToolContext) -> None:
    runner = ToolRunner(default_tools(), ctx, PermissionGate("yolo", ws))
    result = runner.execute("read_file", ["a.txt"])  # type: ignore[arg-type]
    assert result.is_error and "must be a JSON object" in result.output
    assert "must be a JSON object, got str" in runner.execute("read_file", "a.txt").output  # type: ignore[arg-type]
    (ws / "a.txt").write_text("x\n")
    assert runner.execute("read_file", '{"path": "a.txt"}').output == "     1\tx"  # type: ignore[arg-type]
    assert runner.execute("read_file", "[" * 100_000).is_error  # type: ignore[arg-type]


def test_lenient_where_harmless_numbers_as_strings(ws: Path, run: Run) -> None:
    (ws / "a.txt").write_text("1\n2\n3\n")
    result = run("read_file", path="a.txt", offset="2", limit="1")
    assert result.output.splitlines()[0] == "     2\t2"
    assert "Continue with offset=3" in result.output


def test_explicit_nulls_for_optional_fields_are_accepted(ws: Path, run: Run) -> None:
    (ws / "a.txt").write_text("1\n")
    assert run("read_file", path="a.txt", offset=None, limit=None).output == "     1\t1"
    assert run("grep", pattern="1", include=None).output == "a.txt:1: 1"


class SloppyTool(NestedTool):
    name = "sloppy"

    def run(self, args: NestedArgs, ctx: ToolContext) -> ToolResult:
        return "plain text"  # type: ignore[return-value]


def test_a_tool_returning_the_wrong_type_is_reported(ws: Path, ctx: ToolContext) -> None:
    result = ToolRunner([SloppyTool()], ctx, PermissionGate("yolo", ws)).execute("sloppy", {"inner": {"depth": 1}})
    assert result.is_error and "returned str, not a ToolResult" in result.output


def test_the_type_parameter_is_the_argument_model() -> None:
    assert NestedTool.Args is NestedArgs and SloppyTool.Args is NestedArgs
    assert {type(t).__name__: t.Args.__name__ for t in default_tools()} == {
        "ReadFile": "ReadFileArgs",
        "WriteFile": "WriteFileArgs",
        "EditFile": "EditFileArgs",
        "ListDir": "ListDirArgs",
        "Glob": "GlobArgs",
        "Grep": "GrepArgs",
        "Bash": "BashArgs",
    }
