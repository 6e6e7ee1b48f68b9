"""The field reports and ordinary answers of tests/fixtures/toolcall_text, as tools, texts and expected calls.

Shared by the chatformat, ollama, openai and gguf tests and by benchmarks/toolcall_recovery.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshell.protocol import ToolSpec

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "toolcall_text"


def specs(tools: dict[str, dict[str, str]]) -> list[ToolSpec]:
    """ToolSpecs from ``{name: {parameter: json type}}``, every parameter required."""
    return [
        ToolSpec(
            name=name,
            description=f"the {name} tool",
            parameters={
                "type": "object",
                "properties": {key: {"type": kind} for key, kind in parameters.items()},
                "required": list(parameters),
            },
        )
        for name, parameters in tools.items()
    ]


@dataclass(frozen=True)
class FieldCase:
    name: str
    text: str
    tools: list[ToolSpec]
    calls: list[tuple[str, dict[str, Any]]]
    shown: str  # the text the user must see


def field_cases() -> list[FieldCase]:
    cases = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
    return [
        FieldCase(
            name=name,
            text=(FIXTURES / "field" / name).read_text(encoding="utf-8"),
            tools=specs(case["tools"]),
            calls=[(call[0], call[1]) for call in case["calls"]],
            shown=case["text"],
        )
        for name, case in sorted(cases.items())
    ]


def ordinary_answers() -> list[tuple[str, str]]:
    folder = FIXTURES / "ordinary"
    return [(path.name, path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.md"))]


def ordinary_tools() -> list[ToolSpec]:
    return specs(json.loads((FIXTURES / "ordinary" / "tools.json").read_text(encoding="utf-8")))
