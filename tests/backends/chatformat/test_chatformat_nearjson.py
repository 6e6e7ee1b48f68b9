"""Near-JSON as small models write it."""

from __future__ import annotations

import pytest
from agentshell_chatformat import NearJSONError, loads_lenient


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{'a': 'b'}", {"a": "b"}),
        ("{'a': \"it's\"}", {"a": "it's"}),
        ("{'say': 'he said \"hi\"'}", {"say": 'he said "hi"'}),
        ('{"a": [1, 2,],}', {"a": [1, 2]}),
        ("{'t': True, 'f': False, 'n': None}", {"t": True, "f": False, "n": None}),
        ('{key: "value", other: 2}', {"key": "value", "other": 2}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('{"s": "True, None, x: y,}"}', {"s": "True, None, x: y,}"}),
    ],
)
def test_reads(source: str, expected: object) -> None:
    assert loads_lenient(source) == expected


@pytest.mark.parametrize("source", ["", "   ", '{"a": ', "{'a' 1}"])
def test_unreadable_says_where(source: str) -> None:
    with pytest.raises(NearJSONError):
        loads_lenient(source)
