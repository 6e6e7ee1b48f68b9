"""A llama.cpp grammar for the inside of ``<tool_call>…</tool_call>``, built from the tools' JSON schemas.

Once the model has written ``<tool_call>``, decoding continues under this
grammar: a JSON object whose ``name`` is one of the tool names and whose
``arguments`` match that tool's parameter schema, then the closing tag; then
either the end of the turn or, when the model opened the call itself, another
``<tool_call>`` block (several calls may also share one block as a JSON list).
A small model can still choose badly, but it can no longer write something
that does not parse or validate; :mod:`agentshell_gguf.closing` makes sure it
also ends.

The schema-to-GBNF conversion is llama.cpp's own (shipped in llama-cpp-python);
a parameter schema it cannot convert falls back to "any JSON object" for that
tool rather than losing constrained decoding for every tool.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from agentshell.protocol import ToolSpec

# JSON forbids raw control characters in strings; llama.cpp's converter allows them.
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'
# One tagged block holding a call or a JSON list of calls (the form SmolLM2 was trained on). When the
# model opened the call itself, more blocks may follow, separated by newlines only; when the backend
# forced the opening (tool_choice required/first), the one block ends the turn, because a model that
# did not choose to call writes variations of the same call until the budget runs out. Free text after
# a call is never allowed: that is where small models ramble.
_BLOCK_RULES = (
    'block ::= "\\n"? calls "\\n"? "</tool_call>"\ncalls ::= call | "[" "\\n"? call ( "," [ \\n]? call )* "\\n"? "]"'
)
_ONE_BLOCK = "root ::= block"
_SEVERAL_BLOCKS = 'root ::= block ( "\\n"? "\\n"? "<tool_call>" block )*'


def _call_schema(tool: ToolSpec, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": parameters},
        "required": ["name", "arguments"],
    }


def _convertible(schema: dict[str, Any]) -> bool:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf = json_schema_to_gbnf(json.dumps(schema))
    except Exception:  # the converter raises bare Exceptions and assertion errors on schemas it cannot handle
        return False
    return nesting_depth(gbnf) <= MAX_NESTING


# llama.cpp's converter writes {0,N} repetitions as N nested optional groups, and llama.cpp's grammar
# parser recurses once per level: a maxLength of 4096 crashes the process. Large bounds are left to the
# tool's own argument validation instead.
_BOUND_KEYS = ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties")
_MAX_BOUND = 32
MAX_NESTING = 96


def _loosen(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_loosen(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _BOUND_KEYS and isinstance(value, int) and value > _MAX_BOUND:
            continue
        out[key] = value if key in ("enum", "const", "default", "examples") else _loosen(value)
    return out


def nesting_depth(gbnf: str) -> int:
    """Deepest parenthesis nesting, a proxy for the recursion llama.cpp's grammar parser will need."""
    depth = deepest = 0
    closing: str | None = None  # '"' inside a literal, "]" inside a character class
    escaped = False
    for ch in gbnf:
        if closing is not None:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == closing:
                closing = None
            continue
        if ch == '"':
            closing = '"'
        elif ch == "[":
            closing = "]"
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _parameters(tool: ToolSpec) -> dict[str, Any]:
    parameters = _loosen(dict(tool.parameters)) if tool.parameters else {}
    parameters.setdefault("type", "object")
    if parameters.get("type") == "object" and "properties" not in parameters:
        parameters["additionalProperties"] = True
    return parameters


def tool_call_gbnf(tools: Sequence[ToolSpec], *, several_blocks: bool = True) -> str | None:
    """GBNF text for what follows ``<tool_call>``: calls to ``tools`` and the closing tag; None without tools.

    ``several_blocks``: further ``<tool_call>`` blocks may follow the first.
    """
    if not tools:
        return None
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    alternatives = []
    for tool in tools:
        schema = _call_schema(tool, _parameters(tool))
        if not _convertible(schema):
            schema = _call_schema(tool, {"type": "object", "additionalProperties": True})
        alternatives.append(schema)
    combined = alternatives[0] if len(alternatives) == 1 else {"oneOf": alternatives}
    gbnf = json_schema_to_gbnf(json.dumps(combined), prop_order=["name", "arguments"])
    gbnf = re.sub(r"^root ::=", "call ::=", gbnf, count=1, flags=re.MULTILINE)
    gbnf = gbnf.replace(_LOOSE_CHAR, _STRICT_CHAR)
    root = _SEVERAL_BLOCKS if several_blocks else _ONE_BLOCK
    return f"{root}\n{_BLOCK_RULES}\n{gbnf}"
