"""The tool-call grammar: built from real tool schemas, accepted by llama.cpp, bounded in depth."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentshell_gguf.grammar import MAX_NESTING, nesting_depth, tool_call_gbnf

from agentshell.permissions.gate import PermissionGate
from agentshell.protocol import ToolSpec
from agentshell.tools import ToolContext, ToolRunner, default_tools


@pytest.fixture(scope="module")
def vocab(smollm2: Path) -> object:
    import llama_cpp
    from agentshell_gguf.engine import configure_logging

    configure_logging(llama_cpp, debug=False)
    return llama_cpp.Llama(model_path=str(smollm2), vocab_only=True, verbose=False)


def test_agent_tools_give_a_grammar_llama_cpp_accepts(vocab: object, tmp_path: Path) -> None:
    import llama_cpp
    from agentshell_gguf.generation import grammar_loads

    runner = ToolRunner(default_tools(), ToolContext(workspace=tmp_path), PermissionGate("read-only", tmp_path))
    gbnf = tool_call_gbnf(runner.specs())
    assert gbnf is not None
    assert nesting_depth(gbnf) <= MAX_NESTING  # maxLength 4096 would nest 4096 deep and crash llama.cpp
    for spec in runner.specs():
        assert f'"\\"{spec.name}\\""' in gbnf  # each name is a literal: no other name can be written
    assert grammar_loads(llama_cpp, vocab, gbnf)
    assert not grammar_loads(llama_cpp, vocab, "root ::= missing-rule")


def test_unconvertible_schema_falls_back_to_any_object() -> None:
    broken_ref = {"type": "object", "properties": {"x": {"$ref": "#/nowhere"}}}
    gbnf = tool_call_gbnf([ToolSpec(name="odd", description="", parameters=broken_ref)])
    assert gbnf is not None and '"\\"odd\\""' in gbnf
    assert "arguments ::= object" in gbnf  # any JSON object, still constrained to parse


def test_nesting_depth_ignores_literals_and_classes() -> None:
    assert nesting_depth('root ::= "((((" [(] ( a ( b ) )') == 2
    assert tool_call_gbnf([]) is None
