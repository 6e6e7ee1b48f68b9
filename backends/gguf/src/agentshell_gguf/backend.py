"""The ``gguf`` backend: local GGUF files run in-process by llama.cpp.

Construction is free; metadata is read on demand without loading weights; the
weights are loaded on the first chat (with a ``loading`` notice) and kept for
the next turns, so llama.cpp's KV cache reuses the shared prompt prefix.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from agentshell_chatformat import ChatTemplate, prompt_opens_thinking

from agentshell.protocol import (
    BackendError,
    BackendFailure,
    ChatOptions,
    ContextOverflow,
    Event,
    Message,
    ModelInfo,
    Notice,
    ToolSpec,
    host_of,
)
from agentshell_gguf.amx import machine_protection, setting_of
from agentshell_gguf.engine import (
    DEFAULT_CONTEXT,
    LoadedModel,
    available_memory,
    configure_logging,
    gpu_offload_supported,
    import_llama_cpp,
    load_failure,
    load_model,
    physical_cores,
    plan_context,
)
from agentshell_gguf.generation import Sampling, Turn, grammar_loads, run_turn
from agentshell_gguf.grammar import tool_call_gbnf
from agentshell_gguf.locate import gguf_files, model_dirs, resolve_model
from agentshell_gguf.manifest import claims_model
from agentshell_gguf.metadata import GGUFMetadata, human_count, human_size, read_metadata

GPU_HINT = "reinstall llama-cpp-python with GPU support, e.g. CMAKE_ARGS='-DGGML_CUDA=on' pip install llama-cpp-python"


def _thinking_wanted(options: ChatOptions) -> bool | None:
    """``enable_thinking`` for templates that switch reasoning on and off (Qwen3); None leaves their default."""
    if options.think is None:
        return None
    return options.think != "off"


def _int_option(options: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = options.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BackendError(f"gguf option {key} must be a whole number, got {value!r}") from None


TOOL_CHOICES = ("auto", "first", "required")
FIRST_BY_DEFAULT_BELOW = 1_000_000_000  # parameters: under this, a model without a tools template gets "first"


def _tool_choice(value: Any, what: str) -> str | None:
    """A checked tool_choice, or None for "the default for this model" (see :meth:`GGUFBackend.default_tool_choice`)."""
    if value is None or value == "" or value == "default":
        return None
    if value not in TOOL_CHOICES:
        raise BackendError(f"{what} must be one of {', '.join(TOOL_CHOICES)}, got {value!r}")
    return str(value)


class GGUFBackend:
    """Options: ``model_dirs``, ``context_length``, ``gpu_layers``, ``threads``, ``max_memory`` (bytes),
    ``tool_choice``, ``extra_buffers`` (``auto``/``on``/``off``, see :mod:`agentshell_gguf.amx`), ``debug``.

    ``tool_choice`` (also per request in ``ChatOptions.extra``): ``auto`` lets the
    model decide; ``first`` makes the reply to each user message start with a
    tool call (then the model answers freely after the results: for small models
    that never start a call on their own); ``required`` forces a call every time.
    Unset, it is ``first`` for models under 1B parameters whose chat template does
    not teach tool calls, and ``auto`` for the others (:meth:`default_tool_choice`).
    ``ChatOptions.extra["constrained"] = False`` turns grammar decoding off (for comparisons).
    """

    name = "gguf"

    def __init__(self, options: Mapping[str, Any]) -> None:
        agent = host_of(options)
        self._dirs = model_dirs(options.get("model_dirs"), agent.data_dir if agent else None)
        self._context_length = _int_option(options, "context_length", DEFAULT_CONTEXT) or DEFAULT_CONTEXT
        self._gpu_layers = _int_option(options, "gpu_layers", 0) or 0
        self._threads = _int_option(options, "threads", None)
        self._max_memory = _int_option(options, "max_memory", None)
        self._debug = bool(options.get("debug", False))
        self._tool_choice = _tool_choice(options.get("tool_choice"), "gguf option tool_choice")
        self._extra_buffers = setting_of(options.get("extra_buffers"))  # auto | on | off: see agentshell_gguf.amx
        self._loaded: LoadedModel | None = None
        self._vocab: tuple[Path, Any] | None = None  # a vocabulary-only llama.cpp model, for count_tokens
        self._templates: dict[tuple[Path, str | None], ChatTemplate] = {}
        self._grammars: dict[str, str | None] = {}
        self._meta_cache: dict[Path, tuple[tuple[Path, int, int], GGUFMetadata]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ discovery

    def claims(self, model: str) -> bool:
        return claims_model(model)

    def _metadata(self, model: str) -> GGUFMetadata:
        return self._read(resolve_model(model, self._dirs))

    def _read(self, path: Path) -> GGUFMetadata:
        """Metadata, re-read only when the file changed (parsing a 150k-token vocabulary is not free)."""
        try:
            stat = path.stat()
            key = (path.resolve(), stat.st_size, stat.st_mtime_ns)
        except OSError:
            return read_metadata(path)  # raises the clear error for a missing or unreadable file
        cached = self._meta_cache.get(key[0])
        if cached is not None and cached[0] == key:
            return cached[1]
        meta = read_metadata(path)
        self._meta_cache[key[0]] = (key, meta)
        return meta

    def _info(self, meta: GGUFMetadata) -> ModelInfo:
        details = {"architecture": meta.architecture, "parameters": human_count(meta.parameter_count)}
        if meta.file_type:
            details["quantization"] = meta.file_type
        details["size"] = human_size(meta.size_bytes)
        details["template"] = "own chat template" if meta.chat_template else "no chat template (ChatML)"
        details["path"] = str(meta.path)
        template_text = meta.chat_template or ""
        return ModelInfo(
            name=meta.name,
            backend=self.name,
            context_length=meta.context_length,
            # A template that writes <think> belongs to a reasoning model (Qwen3, DeepSeek-R1 distills).
            capabilities=frozenset({"completion", "tools"} | ({"thinking"} if "<think>" in template_text else set())),
            details=details,
        )

    def describe(self, model: str) -> ModelInfo:
        return self._info(self._metadata(model))

    def list_models(self) -> list[ModelInfo]:
        infos = []
        for path in gguf_files(self._dirs):
            try:
                infos.append(self._info(self._read(path)))
            except BackendFailure:
                continue  # a broken file in the folder must not hide the others
        return infos

    def health(self) -> tuple[bool, str]:
        try:
            llama_cpp = import_llama_cpp()
        except BackendFailure as exc:
            return False, str(exc)
        device = "GPU offload available" if gpu_offload_supported(llama_cpp) else "CPU only"
        count = len(gguf_files(self._dirs))
        where = ", ".join(str(d) for d in self._dirs) or "no model folder"
        weights = machine_protection(llama_cpp, self._extra_buffers).describe()
        return True, f"llama.cpp {llama_cpp.__version__} ({device}); {weights}; {count} GGUF file(s) in {where}"

    # ------------------------------------------------------------------ loading

    def _template(self, meta: GGUFMetadata) -> ChatTemplate:
        key = (meta.path, meta.chat_template)
        template = self._templates.get(key)
        if template is None:
            template = ChatTemplate(meta.chat_template, bos_token=meta.bos_token, eos_token=meta.eos_token)
            self._templates[key] = template
        return template

    def _ensure_loaded(self, llama_cpp: ModuleType, meta: GGUFMetadata, wanted_ctx: int) -> Iterator[Event]:
        loaded = self._loaded
        if loaded is not None and loaded.serves(meta, wanted_ctx):
            return
        if loaded is not None:
            self._loaded = None
            loaded.close()
        gpu_layers = self._gpu_layers
        if gpu_layers and not gpu_offload_supported(llama_cpp):
            yield Notice(
                level="warning",
                text=f"--gpu-layers {gpu_layers} ignored: this llama.cpp was built without GPU support ({GPU_HINT})",
            )
            gpu_layers = 0
        budget = self._max_memory if self._max_memory is not None else available_memory()
        n_ctx = plan_context(meta, wanted=wanted_ctx, memory_budget=budget, gpu_layers=gpu_layers)
        yield Notice(level="loading", text=f"loading {meta.name} ({human_size(meta.size_bytes)})…")
        self._drop_vocab()
        self._loaded = load_model(
            llama_cpp,
            meta,
            n_ctx=n_ctx,
            n_threads=self._threads or physical_cores(),
            gpu_layers=gpu_layers,
            seed=None,
            extra_buffers=self._extra_buffers,
        )
        self._loaded.requested_ctx = wanted_ctx

    @staticmethod
    def default_tool_choice(meta: GGUFMetadata, template: ChatTemplate) -> str:
        """``first`` for a small model whose template does not teach tool calls, else ``auto``.

        Such a model learned tool calls (if at all) from fine-tuning data that a system
        prompt cannot recall reliably: SmolLM2-135M opens a call on its own in 1 of
        100 BFCL requests. It is only useful as an agent if the reply to a request
        starts with a call. Larger models follow the format from the system prompt,
        and forcing a call on every message ("hi") would hurt them.
        """
        if template.supports_tools or meta.parameter_count >= FIRST_BY_DEFAULT_BELOW:
            return "auto"
        return "first"

    def loaded_model(self) -> LoadedModel | None:
        """The model currently in memory (benchmarks read its llama.cpp handle and settings)."""
        return self._loaded

    # ------------------------------------------------------------------ chat

    def _grammar(self, llama_cpp: ModuleType, llm: Any, tools: Sequence[ToolSpec], *, several: bool) -> str | None:
        """The tools' GBNF, checked once by llama.cpp itself (a grammar it rejects would crash the sampler)."""
        key = json.dumps([several, [t.model_dump() for t in tools]], sort_keys=True)
        if key not in self._grammars:
            text = tool_call_gbnf(tools, several_blocks=several)
            self._grammars[key] = text if text is not None and grammar_loads(llama_cpp, llm, text) else None
        return self._grammars[key]

    def _prompt_tokens(self, llm: Any, template: ChatTemplate, prompt: str) -> list[int]:
        # The template writes the BOS token itself when the model wants one; never add a second.
        starts_with_bos = bool(template.bos_token) and prompt.startswith(template.bos_token)
        add_bos = bool(llm._model.add_bos_token()) and not starts_with_bos
        return list(llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True))

    def count_tokens(self, model: str, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        """Exact prompt length; without the weights in memory, llama.cpp loads the vocabulary only (kept)."""
        meta = self._metadata(model)
        template = self._template(meta)
        prompt = template.render(messages, tools)
        loaded = self._loaded
        if loaded is not None and loaded.meta.path == meta.path:
            return len(self._prompt_tokens(loaded.llm, template, prompt))
        if self._vocab is None or self._vocab[0] != meta.path:
            llama_cpp = import_llama_cpp()
            configure_logging(llama_cpp, debug=self._debug)
            try:
                vocab = llama_cpp.Llama(model_path=str(meta.path), vocab_only=True, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise load_failure(meta, exc) from None
            self._drop_vocab()
            self._vocab = (meta.path, vocab)
        return len(self._prompt_tokens(self._vocab[1], template, prompt))

    def _drop_vocab(self) -> None:
        if self._vocab is not None:
            self._vocab[1].close()
            self._vocab = None

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions,
    ) -> Iterator[Event]:
        started = time.perf_counter()
        meta = self._metadata(model)
        template = self._template(meta)
        prompt = template.render(messages, tools, enable_thinking=_thinking_wanted(options))
        llama_cpp = import_llama_cpp()
        configure_logging(llama_cpp, debug=self._debug)
        with self._lock:
            was_loaded = self._loaded
            yield from self._ensure_loaded(llama_cpp, meta, options.context_length or self._context_length)
            loaded = self._loaded
            assert loaded is not None
            llm = loaded.llm
            prompt_tokens = self._prompt_tokens(llm, template, prompt)
            if len(prompt_tokens) >= loaded.n_ctx:
                raise ContextOverflow(
                    f"the conversation is {len(prompt_tokens)} tokens but {meta.name} is loaded with a "
                    f"{loaded.n_ctx}-token window",
                    hint="compact the conversation (/compact) or raise the gguf context_length option",
                )
            if options.seed is not None:
                llm.set_seed(options.seed)
            room = loaded.n_ctx - len(prompt_tokens)
            constrained = bool(options.extra.get("constrained", True))
            tool_choice = (
                _tool_choice(options.extra.get("tool_choice"), "the tool_choice option")
                or self._tool_choice
                or self.default_tool_choice(meta, template)
            )
            force = bool(tools) and (
                tool_choice == "required" or (tool_choice == "first" and bool(messages) and messages[-1].role == "user")
            )
            grammar = self._grammar(llama_cpp, llm, tools, several=not force) if tools else None
            if tools and grammar is None:
                yield Notice(level="warning", text="the tools' schemas do not fit llama.cpp's grammar; decoding freely")
            turn = Turn(
                llm=llm,
                prompt_tokens=prompt_tokens,
                stops=template.stop,
                sampling=Sampling.from_options(options),
                max_tokens=min(options.max_tokens, room) if options.max_tokens else room,
                parse_tools=bool(tools),
                grammar=grammar if constrained or force else None,
                started=started,
                load_ms=loaded.load_ms if loaded is not was_loaded else None,
                force_call=force and grammar is not None,
                thinking_opened=prompt_opens_thinking(prompt),
                tools=tuple(tools),
                debug=self._debug,
            )
            yield from run_turn(llama_cpp, turn)
