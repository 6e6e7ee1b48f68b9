"""CallRecovery: field reports recovered at every split, ordinary answers never, and the rules in between."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from agentshell_chatformat import CallRecovery, ToolCallParser, coalesce
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import MalformedToolCall, TextDelta, ToolCall, ToolSpec
from tests.backends.chatformat.toolcall_fixtures import (
    FieldCase,
    field_cases,
    ordinary_answers,
    ordinary_tools,
    specs,
)

FIELD = field_cases()
ORDINARY = ordinary_answers()
TOOLS = ordinary_tools()


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"call_{next(counter)}"


def run(chunks: list[str], tools: list[ToolSpec], **kwargs: Any) -> tuple[str, list[Any], str]:
    """(text shown while streaming, the events of finish(), all text shown)."""
    recovery = CallRecovery(tools, id_factory=ids(), **kwargs)
    streamed = "".join(e.text for chunk in chunks for e in recovery.feed(chunk))
    final = recovery.finish()
    shown = streamed + "".join(e.text for e in final if isinstance(e, TextDelta))
    return streamed, [e for e in final if not isinstance(e, TextDelta)], shown


def calls_of(events: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]


# --------------------------------------------------------------------------- the field reports


@pytest.mark.parametrize("case", FIELD, ids=lambda c: c.name)
def test_field_report_recovered_at_every_split(case: FieldCase) -> None:
    for cut in range(len(case.text) + 1):
        _, calls, shown = run([case.text[:cut], case.text[cut:]], case.tools)
        assert calls_of(calls) == case.calls, cut
        assert shown == case.shown, cut


@pytest.mark.parametrize("case", FIELD, ids=lambda c: c.name)
def test_field_report_one_character_at_a_time(case: FieldCase) -> None:
    streamed, calls, shown = run(list(case.text), case.tools)
    assert calls_of(calls) == case.calls
    assert shown == case.shown
    assert case.shown.startswith(streamed)  # nothing shown while streaming is taken back


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELD), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_field_report_under_any_chunking(case: FieldCase, cuts: list[int]) -> None:
    points = sorted({min(c, len(case.text)) for c in cuts})
    chunks = [case.text[a:b] for a, b in zip([0, *points], [*points, len(case.text)], strict=True)]
    _, calls, shown = run(chunks, case.tools)
    assert calls_of(calls) == case.calls
    assert shown == case.shown


@pytest.mark.parametrize("case", FIELD, ids=lambda c: c.name)
def test_field_report_is_text_when_its_tools_are_not_offered(case: FieldCase) -> None:
    _, calls, shown = run([case.text], TOOLS[:1])
    assert calls == [] and shown == case.text


# --------------------------------------------------------------------------- ordinary answers


@pytest.mark.parametrize(("name", "text"), ORDINARY, ids=[n for n, _ in ORDINARY])
def test_ordinary_answer_stays_text_at_every_split(name: str, text: str) -> None:
    for cut in range(len(text) + 1):
        _, calls, shown = run([text[:cut], text[cut:]], TOOLS)
        assert calls == [], cut
        assert shown == text, cut


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ORDINARY), st.lists(st.integers(min_value=0, max_value=600), max_size=10))
def test_ordinary_answer_under_any_chunking(answer: tuple[str, str], cuts: list[int]) -> None:
    text = answer[1]
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    _, calls, shown = run(chunks, TOOLS)
    assert calls == [] and shown == text


def test_prose_is_shown_while_it_streams() -> None:
    text = dict(ORDINARY)["06-tool-names-in-prose.md"]
    streamed, _, _ = run(list(text), TOOLS)
    assert len(streamed) >= len(text) - 2  # only a possible "<" or line start is held at the very end


def test_prose_before_a_call_is_shown_before_the_call_ends() -> None:
    recovery = CallRecovery(specs({"bash": {"command": "string"}}))
    shown = recovery.feed('Let me look.\n<tool_call>\n{"name": "bash", ')
    assert "".join(e.text for e in shown) == "Let me look.\n"
    assert recovery.feed('"arguments": {"command": "ls"}}') == []


# --------------------------------------------------------------------------- rules and forms

BASH = specs({"bash": {"command": "string", "timeout": "integer"}, "read_file": {"path": "string"}})


def test_a_name_not_offered_stays_text_while_an_offered_one_is_run() -> None:
    text = (
        '<tool_call>{"name": "web_search", "arguments": {}}</tool_call>\n'
        '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>'
    )
    _, calls, shown = run([text], BASH)
    assert calls_of(calls) == [("bash", {"command": "ls"})]
    assert shown == '<tool_call>{"name": "web_search", "arguments": {}}</tool_call>\n'


def test_a_malformed_call_to_an_offered_tool_is_reported_to_the_model() -> None:
    _, calls, shown = run(['<tool_call>{"name": "bash", "arguments": {"command": "ls"</tool_call>'], BASH)
    assert shown == ""
    assert len(calls) == 1 and isinstance(calls[0], MalformedToolCall)
    assert calls[0].name == "bash" and "could not read the tool call" in calls[0].error


def test_a_malformed_xml_call_is_reported_to_the_model() -> None:
    _, calls, _ = run(["<tool_call>\n<function=bash\n<parameter=command>ls</parameter>\n</tool_call>"], BASH)
    assert len(calls) == 1 and isinstance(calls[0], MalformedToolCall) and calls[0].name == "bash"
    assert "not closed" in calls[0].error


def test_arguments_that_are_not_an_object_are_malformed() -> None:
    _, calls, _ = run(['{"name": "bash", "arguments": "ls -la"}'], BASH)
    assert len(calls) == 1 and isinstance(calls[0], MalformedToolCall) and calls[0].name == "bash"


def test_xml_values_are_typed_by_the_schema() -> None:
    tool = ToolSpec(
        name="configure",
        description="",
        parameters={
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "ratio": {"type": "number"},
                "on": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "meta": {"type": "object"},
                "label": {"type": "string"},
                "maybe": {"type": ["integer", "null"]},
                "code": {"type": "string"},
            },
        },
    )
    text = (
        "<function=configure>\n<parameter=count>\n42\n</parameter>\n<parameter=ratio>0.5</parameter>\n"
        "<parameter=on>True</parameter>\n<parameter=tags>['a', 'b']</parameter>\n"
        '<parameter=meta>{"k": 1}</parameter>\n<parameter=label>\n007\n</parameter>\n'
        "<parameter=maybe>null</parameter>\n<parameter=code>\ndef f():\n    return 1\n</parameter>\n"
        "<parameter=extra>7</parameter>\n</function>"
    )
    _, calls, _ = run([text], [tool])
    assert calls_of(calls) == [
        (
            "configure",
            {
                "count": 42,
                "ratio": 0.5,
                "on": True,
                "tags": ["a", "b"],
                "meta": {"k": 1},
                "label": "007",
                "maybe": None,
                "code": "def f():\n    return 1",
                "extra": 7,
            },
        )
    ]


def test_a_value_that_does_not_fit_its_type_stays_a_string_for_the_tool_to_reject() -> None:
    _, calls, _ = run(["<function=bash><parameter=timeout>soon</parameter></function>"], BASH)
    assert calls_of(calls) == [("bash", {"timeout": "soon"})]


def test_several_bare_calls_and_a_list_of_calls() -> None:
    one = '{"name": "bash", "arguments": {"command": "ls"}}\n{"name": "read_file", "parameters": {"path": "a"}}'
    two = '[{"name": "bash", "arguments": {"command": "ls"}}, {"name": "read_file", "arguments": {"path": "a"}}]'
    for text in (one, two):
        _, calls, shown = run([text], BASH)
        assert [name for name, _ in calls_of(calls)] == ["bash", "read_file"] and shown == ""


def test_openai_shaped_bare_call() -> None:
    text = '{"type": "function", "function": {"name": "bash", "arguments": "{\\"command\\": \\"ls\\"}"}}'
    _, calls, _ = run([text], BASH)
    assert calls_of(calls) == [("bash", {"command": "ls"})]


def test_bare_json_that_is_only_part_of_the_reply_stays_text() -> None:
    text = '{"name": "bash", "arguments": {"command": "ls"}}\nThat is the call I would make.'
    _, calls, shown = run([text], BASH)
    assert calls == [] and shown == text


def test_a_call_inside_an_unclosed_fence_stays_text() -> None:
    text = 'Example:\n```\n<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>\n'
    _, calls, shown = run([text], BASH)
    assert calls == [] and shown == text


def test_text_after_a_call_is_kept_and_whitespace_between_calls_dropped() -> None:
    text = (
        'Checking.\n<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>\n\n'
        '<tool_call>{"name": "read_file", "arguments": {"path": "x"}}</tool_call>\n\nThen I will report.'
    )
    _, calls, shown = run(list(text), BASH)
    assert [name for name, _ in calls_of(calls)] == ["bash", "read_file"]
    assert shown == "Checking.\nThen I will report."


def test_answer_key_unwraps_a_constrained_answer() -> None:
    _, calls, shown = run(['{"answer": "It is 4."}'], BASH, answer_key="answer")
    assert calls == [] and shown == "It is 4."
    _, calls, _ = run(['{"name": "bash", "arguments": {"command": "ls"}}'], BASH, answer_key="answer")
    assert calls_of(calls) == [("bash", {"command": "ls"})]


def test_notice_names_the_recovered_calls() -> None:
    recovery = CallRecovery(BASH)
    recovery.feed('{"name": "bash", "arguments": {"command": "ls"}}')
    assert recovery.notice() is None  # nothing decided before the end
    recovery.finish()
    notice = recovery.notice()
    assert notice is not None and notice.level == "info" and notice.text == "recovered 1 tool call from text: bash"


def test_the_stream_parser_reads_xml_bodies_typed_by_its_tools() -> None:
    parser = ToolCallParser(id_factory=ids(), tools=BASH)
    events = coalesce(
        parser.feed("<tool_call>\n<function=bash>\n<parameter=timeout>\n5\n</parameter>\n</function>\n</tool_call>")
        + parser.finish()
    )
    assert events == [ToolCall(id="call_1", name="bash", arguments={"timeout": 5})]


def test_the_stream_parser_leaves_a_tag_in_inline_code_as_text() -> None:
    text = "Wrap calls in `<tool_call>` tags, like `<tool_call>{}</tool_call>`."
    for cut in range(len(text) + 1):
        parser = ToolCallParser(id_factory=ids(), tools=BASH)
        events = coalesce(parser.feed(text[:cut]) + parser.feed(text[cut:]) + parser.finish())
        assert events == [TextDelta(text=text)], cut


def test_recovered_calls_say_so() -> None:
    recovery = CallRecovery(BASH)
    recovery.feed('{"name": "bash", "arguments": {"command": "ls"}}')
    (call,) = recovery.finish()
    assert isinstance(call, ToolCall) and call.recovered
