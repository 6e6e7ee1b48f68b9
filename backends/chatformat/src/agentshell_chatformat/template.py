"""Rendering a GGUF's ``tokenizer.chat_template`` the way Hugging Face does.

GGUF files carry the Jinja template their model was trained with. Rendering it
exactly (same environment options, same helpers) is what makes a model answer
well, so this mirrors ``transformers``' ``apply_chat_template``: a sandboxed,
immutable jinja2 environment with ``trim_blocks``/``lstrip_blocks``, the
``loopcontrols`` extension, ``raise_exception``, ``strftime_now`` and a
``tojson`` that keeps non-ASCII text readable.

What the template cannot express is filled in with the text format of
:mod:`agentshell_chatformat.toolformat`: tool descriptions in the system prompt,
earlier calls as ``<tool_call>`` text, results as ``<tool_response>`` user turns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn

from agentshell.protocol import BackendError, Message, ToolSpec, function_tool_json
from agentshell_chatformat.toolformat import (
    TOOL_CALL_OPEN,
    format_tool_call,
    format_tool_response,
    tools_system_prompt,
)

DEFAULT_CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML, for GGUF files that carry no template (the most common format among small instruct models)."""

# End-of-turn markers used by common template families; any that the template writes is a stop string.
_TURN_END_MARKERS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>")
_TOOL_ROLE = re.compile(r"""["'](?:tool|ipython)["']""")


class ChatTemplateError(BackendError):
    """The model's chat template cannot be compiled, or refused the conversation."""


def _raise_exception(message: str) -> NoReturn:
    raise ChatTemplateError(f"the model's chat template refused the conversation: {message}")


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _environment() -> Any:
    import jinja2.ext
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(jinja2.ext.Extension):
        """HF's ``{% generation %}`` marks assistant text for training masks; for rendering it is a no-op."""

        tags = {"generation"}  # noqa: RUF012 (jinja2 declares it as a plain attribute)

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols, GenerationTag]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


class ChatTemplate:
    """A compiled chat template plus what it can express; see the package docstring."""

    def __init__(self, source: str | None, *, bos_token: str = "", eos_token: str = "") -> None:
        import jinja2
        from jinja2 import meta

        self.source = source or DEFAULT_CHATML
        self.bos_token = bos_token
        self.eos_token = eos_token
        env = _environment()
        try:
            parsed = env.parse(self.source)
            self._template = env.from_string(self.source)
        except jinja2.TemplateError as exc:
            raise ChatTemplateError(
                f"the model's chat template cannot be compiled: {exc}",
                hint="the GGUF file's tokenizer.chat_template is broken; try another file",
            ) from None
        variables = meta.find_undeclared_variables(parsed)
        self.supports_tools = "tools" in variables and TOOL_CALL_OPEN in self.source
        self.supports_tool_role = bool(_TOOL_ROLE.search(self.source))
        self.supports_tool_calls = "tool_calls" in self.source
        stops = [m for m in _TURN_END_MARKERS if m in self.source]
        if eos_token and eos_token not in stops:
            stops.append(eos_token)
        self.stop: tuple[str, ...] = tuple(stops)

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        add_generation_prompt: bool = True,
        *,
        enable_thinking: bool | None = None,
    ) -> str:
        """The prompt text for ``messages``, ending with the assistant header when ``add_generation_prompt``.

        ``enable_thinking`` is passed to templates that read it (Qwen3 writes an empty
        ``<think></think>`` into the prompt when it is false); None leaves it undefined.
        """
        import jinja2

        turns = self._turns(messages, tools)
        context: dict[str, Any] = {
            "messages": turns,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        }
        if enable_thinking is not None:
            context["enable_thinking"] = enable_thinking
        if tools and self.supports_tools:
            context["tools"] = [function_tool_json(t) for t in tools]
        try:
            return str(self._template.render(**context))
        except ChatTemplateError:
            raise
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ChatTemplateError(f"the model's chat template failed on this conversation: {exc}") from None

    def _turns(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        for message in messages:
            if message.role == "tool" and not self.supports_tool_role:
                response = format_tool_response(message.content)
                previous = turns[-1] if turns else None
                if previous is not None and previous.get("_tool_responses"):
                    previous["content"] += "\n" + response  # one user turn per batch of results
                else:
                    turns.append({"role": "user", "content": response, "_tool_responses": True})
                continue
            turn: dict[str, Any] = {"role": message.role, "content": message.content}
            if message.role == "tool":
                turn["name"] = message.name
                turn["tool_call_id"] = message.tool_call_id
            if message.tool_calls:
                if self.supports_tool_calls:
                    turn["tool_calls"] = [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in message.tool_calls
                    ]
                else:
                    calls = "\n".join(format_tool_call(c) for c in message.tool_calls)
                    turn["content"] = f"{message.content}\n{calls}" if message.content else calls
            turns.append(turn)
        for turn in turns:
            turn.pop("_tool_responses", None)
        if tools and not self.supports_tools:
            instructions = tools_system_prompt(tools)
            if turns and turns[0]["role"] == "system":
                system = turns[0]["content"]
                turns[0]["content"] = f"{system}\n\n{instructions}" if system else instructions
            else:
                turns.insert(0, {"role": "system", "content": instructions})
        return turns
