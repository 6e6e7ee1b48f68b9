"""Reading the almost-JSON that small models write inside ``<tool_call>`` tags.

Strict JSON is tried first. Failing that, one pass over the text rewrites the
usual slips into JSON without touching string contents: single-quoted strings,
trailing commas, Python's ``True``/``False``/``None``, and code fences around
the object. Anything still unreadable raises :class:`NearJSONError` whose
message says where it broke, because that message goes back to the model.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"^\s*(?:```|~~~)[\w+-]*[ \t]*\n?(?P<body>.*?)\n?[ \t]*(?:```|~~~)\s*$", re.DOTALL)
_PY_WORDS = {"True": "true", "False": "false", "None": "null"}
_JSON_WORDS = {"true", "false", "null", *_PY_WORDS}


class NearJSONError(ValueError):
    pass


def strip_fences(text: str) -> str:
    match = _FENCE.match(text)
    return match.group("body") if match else text


def _requote(text: str) -> str:
    """Rewrite near-JSON into JSON, leaving the contents of strings alone."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif ch == "'":
            j = i + 1
            chars: list[str] = []
            while j < n and text[j] != "'":
                if text[j] == "\\" and j + 1 < n:
                    # \' is legal in a single-quoted string but not in JSON.
                    chars.append("'" if text[j + 1] == "'" else text[j : j + 2])
                    j += 2
                    continue
                chars.append('\\"' if text[j] == '"' else text[j])
                j += 1
            out.append('"' + "".join(chars) + '"')
            i = j + 1
        elif ch == ",":
            k = i + 1
            while k < n and text[k].isspace():
                k += 1
            if k < n and text[k] in "}]":
                i += 1  # trailing comma
                continue
            out.append(ch)
            i += 1
        elif ch.isalpha():
            k = i
            while k < n and (text[k].isalnum() or text[k] == "_"):
                k += 1
            word = text[i:k]
            m = k
            while m < n and text[m].isspace():
                m += 1
            if m < n and text[m] == ":" and word not in _JSON_WORDS:
                out.append(f'"{word}"')  # an unquoted key
            else:
                out.append(_PY_WORDS.get(word, word))
            i = k
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def loads_lenient(text: str) -> Any:
    """Parse one JSON value, forgiving the slips listed in the module docstring."""
    body = strip_fences(text.strip()).strip()
    if not body:
        raise NearJSONError("the tool call is empty")
    try:
        return json.loads(body, strict=False)
    except json.JSONDecodeError as strict_error:
        try:
            return json.loads(_requote(body), strict=False)
        except json.JSONDecodeError:
            raise NearJSONError(
                f"invalid JSON: {strict_error.msg} at line {strict_error.lineno} column {strict_error.colno}"
            ) from None


def loads_many(text: str) -> list[Any]:
    """Several JSON values written one after another (some models put two calls in one block)."""
    body = strip_fences(text.strip()).strip()
    decoder = json.JSONDecoder(strict=False)  # raw newlines inside strings are a common slip
    values: list[Any] = []
    pos = 0
    try:
        while pos < len(body):
            value, end = decoder.raw_decode(body, pos)
            values.append(value)
            pos = end
            while pos < len(body) and (body[pos].isspace() or body[pos] == ","):
                pos += 1
    except json.JSONDecodeError:
        return [loads_lenient(body)]
    if not values:
        raise NearJSONError("the tool call is empty")
    return values
