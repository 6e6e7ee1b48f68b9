"""Qwen's XML tool-call body: ``<function=NAME><parameter=K>V</parameter></function>``.

Qwen3-Coder and Qwen3.5 write calls this way (their chat templates teach it);
the parameter values are raw text, not JSON, so a value is typed here by the
tool's JSON schema, as Qwen's reference parser (``qwen3coder_tool_parser.py``)
does: a string stays text, integers, numbers and booleans are converted, objects
and arrays are read as (near-)JSON. A value that does not convert stays a
string, so the tool's own argument check tells the model what is wrong.

Models also drop closing tags (``<parameter=filepath> test.txt`` followed by the
next parameter, continuedev/continue#13057): a value ends at ``</parameter>``,
at the next ``<parameter=``, at ``</function>`` or at the end of the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentshell.protocol import ToolSpec
from agentshell_chatformat.nearjson import NearJSONError, loads_lenient

FUNCTION_OPEN = "<function="
FUNCTION_CLOSE = "</function>"
PARAMETER_OPEN = "<parameter="
PARAMETER_CLOSE = "</parameter>"

_FUNCTION_TAG = re.compile(r"<function=([^>\n]*)>")
_PARAMETER_TAG = re.compile(r"<parameter=([^>\n]*)>")
_NAME_START = re.compile(r"<function=\s*[\"']?([\w.\-]+)")

XML_REMINDER = (
    "write the call as <tool_call>\\n<function=TOOL_NAME>\\n<parameter=NAME>\\nvalue\\n</parameter>\\n"
    "</function>\\n</tool_call>"
)


@dataclass
class XmlCall:
    """One ``<function=…>`` block: its name and typed arguments, or the reason it could not be read."""

    name: str
    raw: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _unquote(name: str) -> str:
    return name.strip().strip("\"'").strip()


def _raw_value(text: str) -> str:
    """One newline on each side belongs to the tags; a one-line value loses its surrounding spaces too."""
    if text.startswith("\n"):
        text = text[1:]
    if text.endswith("\n"):
        text = text[:-1]
    return text if "\n" in text else text.strip()


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            return [t for option in options if isinstance(option, Mapping) for t in _types(option)]
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return ["string"]
    return []


def typed_value(raw: str, schema: Mapping[str, Any] | None) -> Any:
    """``raw`` converted to the first type of ``schema`` it fits; the string itself when none fits."""
    value = _raw_value(raw)
    types = _types(schema) if schema is not None else []
    if not types:
        # No declared type: a JSON scalar or structure is taken as such, anything else is text.
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded
    word = value.strip()
    for kind in types:
        if kind == "string":
            return value
        if kind == "integer":
            try:
                return int(word)
            except ValueError:
                try:
                    number = float(word)
                except ValueError:
                    continue
                if number.is_integer():
                    return int(number)
        elif kind == "number":
            try:
                return int(word)
            except ValueError:
                try:
                    return float(word)
                except ValueError:
                    continue
        elif kind == "boolean":
            if word.lower() in ("true", "false"):
                return word.lower() == "true"
        elif kind == "null":
            if word.lower() in ("null", "none", ""):
                return None
        elif kind in ("object", "array"):
            try:
                decoded = loads_lenient(word)
            except NearJSONError:
                continue
            if isinstance(decoded, dict if kind == "object" else list):
                return decoded
    return value


def _property_schema(tool: ToolSpec | None, name: str) -> Mapping[str, Any] | None:
    if tool is None:
        return None
    properties = tool.parameters.get("properties")
    if isinstance(properties, Mapping):
        schema = properties.get(name)
        if isinstance(schema, Mapping):
            return schema
    return None


def _parameters(body: str, tool: ToolSpec | None) -> tuple[dict[str, Any], str | None]:
    arguments: dict[str, Any] = {}
    tags = list(_PARAMETER_TAG.finditer(body))
    for index, tag in enumerate(tags):
        name = _unquote(tag.group(1))
        if not name:
            return arguments, f"a <parameter=…> tag has no name; {XML_REMINDER}"
        end = tags[index + 1].start() if index + 1 < len(tags) else len(body)
        value = body[tag.end() : end]
        closing = value.find(PARAMETER_CLOSE)
        if closing >= 0:
            value = value[:closing]
        arguments[name] = typed_value(value, _property_schema(tool, name))
    return arguments, None


def parse_function_calls(body: str, tools: Mapping[str, ToolSpec]) -> list[XmlCall]:
    """Every ``<function=…>`` block in ``body``, in order; text around and between them is ignored."""
    calls: list[XmlCall] = []
    starts = [m.start() for m in re.finditer(re.escape(FUNCTION_OPEN), body)]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(body)
        chunk = body[start:end]
        closing = chunk.find(FUNCTION_CLOSE)
        if closing >= 0:
            chunk = chunk[: closing + len(FUNCTION_CLOSE)]
        tag = _FUNCTION_TAG.match(chunk)
        if tag is None:
            guess = _NAME_START.match(chunk)
            name = guess.group(1) if guess else ""
            error = f"the <function=…> tag is not closed with '>'; {XML_REMINDER}"
            calls.append(XmlCall(name=name, raw=chunk.strip(), error=error))
            continue
        name = _unquote(tag.group(1))
        inner = chunk[tag.end() :]
        if inner.endswith(FUNCTION_CLOSE):
            inner = inner[: -len(FUNCTION_CLOSE)]
        arguments, problem = _parameters(inner, tools.get(name))
        calls.append(XmlCall(name=name, raw=chunk.strip(), arguments=arguments, error=problem))
    return calls
