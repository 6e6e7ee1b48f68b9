"""The json / stream-json schema is a contract with other programs: any change shows here.

``tests/fixtures/agent_output_schema.json`` is a reviewed copy of
``agent_output_schema()``. Adding a field means updating the copy on purpose
(and, for a removal or rename, ``SCHEMA_VERSION``).
"""

from __future__ import annotations

import json
from pathlib import Path

from agentshell.api import agent_output_schema

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "agent_output_schema.json"


def test_output_schema_matches_the_reviewed_copy() -> None:
    assert agent_output_schema() == json.loads(GOLDEN.read_text())
