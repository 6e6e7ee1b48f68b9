"""The ``builtin`` backend: chat with any llama GGUF file on the numpy engine.

``builtin`` alone is the model shipped inside this package; ``builtin:PATH.gguf``
is any llama-architecture file. Files are loaded once per process and kept,
together with their KV cache: the next turn of a conversation starts with the
same prompt as the last one, so only the new tokens are computed.

Prompts are rendered with the file's own chat template and tool calls are read
back from the text, both through ``agentshell_chatformat``, like the gguf backend.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentshell.protocol import (
    BackendError,
    ChatOptions,
    ContextOverflow,
    Done,
    Event,
    Message,
    ModelInfo,
    ModelNotFound,
    Notice,
    StopReason,
    Timings,
    ToolCall,
    ToolSpec,
    Usage,
)
from agentshell_builtin.manifest import NAME, claims_model

if TYPE_CHECKING:
    from agentshell_builtin.gguf_loader import GGUFModel
    from agentshell_builtin.model import KVCache, Llama, SamplerSettings
    from agentshell_builtin.tokenizer import Tokenizer

SHIPPED_FILE = "agentshell-tiny.gguf"
DEFAULT_CONTEXT = 4096  # the KV cache is preallocated: a window, not the model's whole trained length
PREFILL_CHUNK = 512  # prompt tokens per forward pass, bounding the (T, S) attention matrices
_LOADING_NOTICE_BYTES = 20_000_000


_thread_controller: Any = None


def blas_threads(n: int | None) -> AbstractContextManager[Any]:
    """Limit numpy's BLAS to ``n`` threads inside a ``with`` block.

    Decoding multiplies vectors by matrices: memory-bound, so one thread reads
    about as fast as two, and an oversubscribed machine makes spinning BLAS
    threads many times slower. Prefill multiplies matrices and uses them all.
    """
    global _thread_controller
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    if _thread_controller is None:
        _thread_controller = ThreadpoolController()
    limit: AbstractContextManager[Any] = _thread_controller.limit(limits=n, user_api="blas")
    return limit


def default_threads() -> int:
    """Half the cores for prefill: BLAS threads that outnumber free cores spin and slow everything down."""
    return max(1, (os.cpu_count() or 2) // 2)


def shipped_model_path() -> Path:
    return Path(str(files("agentshell_builtin").joinpath("models", SHIPPED_FILE)))


def model_path(model: str) -> Path:
    """The file a model string names: ``builtin`` (the shipped model) or a path, with or without ``builtin:``."""
    name = model.removeprefix(f"{NAME}:")
    if name in ("", NAME):
        path = shipped_model_path()
        if not path.is_file():
            raise ModelNotFound(
                f"the built-in model is not installed ({SHIPPED_FILE} is missing from agentshell_builtin/models)",
                hint="reinstall agentshell-cli, or run a file of your own: --model builtin:PATH.gguf",
            )
        return path
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelNotFound(f"no GGUF file at {path}", hint="give an existing path: --model builtin:PATH.gguf")
    return path


@dataclass
class PromptFormat:
    """Messages to token ids: the file's chat template and tokenizer, without its weights."""

    tokenizer: Tokenizer
    template: Any  # agentshell_chatformat.ChatTemplate

    @classmethod
    def create(cls, tokenizer: Tokenizer, template_source: str | None) -> PromptFormat:
        from agentshell_chatformat import ChatTemplate

        def text(tid: int | None) -> str:
            return tokenizer.tokens[tid] if tid is not None and 0 <= tid < tokenizer.vocab_size else ""

        template = ChatTemplate(template_source, bos_token=text(tokenizer.bos_id), eos_token=text(tokenizer.eos_id))
        return cls(tokenizer, template)

    def ids(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[int]:
        return self.tokenizer.encode(self.template.render(messages, tools), add_special=True, parse_special=True)


@dataclass
class LoadedModel:
    """A model ready to run: weights, tokenizer, chat template and the last conversation's cache."""

    gguf: GGUFModel
    llama: Llama
    tokenizer: Tokenizer
    load_ms: float
    format: PromptFormat
    cache: KVCache | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prefill(self, ids: Sequence[int], window: int, threads: int | None = None) -> Any:
        """Bring the cache to ``ids`` (reusing the common prefix) and return the last position's logits."""
        if self.cache is None or self.cache.max_len != window:
            self.cache = self.llama.new_cache(window)
        cache = self.cache
        common = 0
        for a, b in zip(cache.tokens, ids, strict=False):
            if a != b:
                break
            common += 1
        cache.truncate(min(common, len(ids) - 1))  # at least one token runs, to get fresh logits
        logits = None
        with blas_threads(threads):
            for start in range(cache.length, len(ids), PREFILL_CHUNK):
                logits = self.llama.forward(ids[start : start + PREFILL_CHUNK], cache, last_only=True)
        assert logits is not None
        return logits[0, -1]


_models: dict[tuple[Path, bool], LoadedModel] = {}
_formats: dict[Path, PromptFormat] = {}
_described: dict[tuple[Path, float], ModelInfo] = {}
_models_lock = threading.Lock()


NUMERICS = ("float32", "llama.cpp")


def exact_numerics(setting: object = None) -> bool:
    """Whether to reproduce llama.cpp's arithmetic on quantized files (``numerics`` option, else the
    ``AGENT_BUILTIN_NUMERICS`` environment variable). It costs 5-25x the time, so float32 is the default."""
    value = str(setting or os.environ.get("AGENT_BUILTIN_NUMERICS") or "float32")
    if value not in NUMERICS:
        raise BackendError(f"unknown numerics {value!r} for the built-in engine; use one of: {', '.join(NUMERICS)}")
    return value == "llama.cpp"


def load_model(path: Path, numerics: object = None) -> LoadedModel:
    """Load (once per process and numerics) and return the model in ``path``."""
    from agentshell_builtin.gguf_loader import load_gguf
    from agentshell_builtin.tokenizer import Tokenizer

    key, exact = path.resolve(), exact_numerics(numerics)
    with _models_lock:
        loaded = _models.get((key, exact))
        if loaded is None:
            t0 = time.perf_counter()
            gguf = load_gguf(key, match_llama_cpp=exact)
            fmt = _formats.get(key) or PromptFormat.create(Tokenizer(gguf.vocab), gguf.chat_template)
            _formats[key] = fmt
            loaded = LoadedModel(gguf, gguf.build(), fmt.tokenizer, (time.perf_counter() - t0) * 1000, fmt)
            _models[(key, exact)] = loaded
        return loaded


def prompt_format(path: Path) -> PromptFormat:
    """The tokenizer and template of ``path``; reads only the header when the weights are not loaded."""
    from agentshell_builtin.gguf_loader import _field, _open, read_vocab
    from agentshell_builtin.tokenizer import Tokenizer

    key = path.resolve()
    with _models_lock:
        fmt = _formats.get(key)
        if fmt is None:
            reader = _open(key)
            template = _field(reader, "tokenizer.chat_template")
            fmt = PromptFormat.create(Tokenizer(read_vocab(reader)), None if template is None else str(template))
            _formats[key] = fmt
        return fmt


def is_loaded(path: Path) -> bool:
    return any(key == path.resolve() for key, _ in _models)


def _sampler_settings(options: ChatOptions, defaults: Mapping[str, Any]) -> SamplerSettings:
    from agentshell_builtin.model import SamplerSettings

    extra = {**defaults, **options.extra}

    def pick(value: Any, key: str, default: Any) -> Any:
        return value if value is not None else extra.get(key, default)

    try:
        return SamplerSettings(
            temperature=float(pick(options.temperature, "temperature", 0.0)),
            top_k=int(pick(options.top_k, "top_k", 40)),
            top_p=float(pick(options.top_p, "top_p", 0.95)),
            min_p=float(extra.get("min_p", 0.05)),
            repeat_penalty=float(extra.get("repeat_penalty", 1.0)),
            repeat_last_n=int(extra.get("repeat_last_n", 64)),
        )
    except (TypeError, ValueError) as exc:
        raise BackendError(f"invalid sampling option for the built-in engine: {exc}") from None


class BuiltinBackend:
    """Backend protocol implementation; construction is free, the first chat loads the file."""

    name = NAME

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self._options = dict(options or {})

    def claims(self, model: str) -> bool:
        return claims_model(model)

    def health(self) -> tuple[bool, str]:
        if shipped_model_path().is_file():
            return True, f"numpy engine; shipped model {SHIPPED_FILE} present"
        return True, f"numpy engine; the shipped model is missing, run a file with --model {NAME}:PATH.gguf"

    def list_models(self) -> list[ModelInfo]:
        if not shipped_model_path().is_file():
            return []
        return [self.describe(NAME)]

    def describe(self, model: str) -> ModelInfo:
        """Read from the file's header only (cached), so asking does not load the weights."""
        from agentshell_builtin.gguf_loader import _field, _open, read_config

        path = model_path(model)
        key = (path.resolve(), path.stat().st_mtime)
        info = _described.get(key)
        if info is None:
            reader = _open(path)
            cfg = read_config(reader, {t.name for t in reader.tensors})
            template = _field(reader, "tokenizer.chat_template")
            quant = sorted({t.tensor_type.name for t in reader.tensors if len(t.shape) > 1})
            details = {
                "family": "llama",
                "file": str(path),
                "engine": "numpy float32",
                "size": f"{path.stat().st_size / 1e6:.1f} MB",
                "quantization": "+".join(quant),
                "trained_context": str(cfg.context_length),
                "template": "from the file" if template else "ChatML (default)",
            }
            name = NAME if model.removeprefix(f"{NAME}:") in ("", NAME) else f"{NAME}:{path}"
            window = min(int(self._options.get("context_length") or DEFAULT_CONTEXT), cfg.context_length)
            info = ModelInfo(
                name=name,
                backend=NAME,
                context_length=window,
                capabilities=frozenset({"completion", "tools"}),
                details=details,
            )
            _described[key] = info
        return info

    # ------------------------------------------------------------------ prompt

    def count_tokens(self, model: str, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        return len(prompt_format(model_path(model)).ids(messages, tools))

    # ------------------------------------------------------------------ chat

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions,
    ) -> Iterator[Event]:
        path = model_path(model)
        fresh = not is_loaded(path)
        if fresh and path.stat().st_size > _LOADING_NOTICE_BYTES:
            yield Notice(level="loading", text=f"loading {path.name} into the numpy engine")
        loaded = load_model(path, self._options.get("numerics"))
        with loaded.lock:
            yield from self._generate(loaded, messages, tools, options, loaded.load_ms if fresh else None)

    def _generate(
        self,
        loaded: LoadedModel,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        options: ChatOptions,
        load_ms: float | None,
    ) -> Iterator[Event]:
        from agentshell_chatformat import StopScanner, ToolCallParser

        from agentshell_builtin.loops import LoopGuard
        from agentshell_builtin.model import Sampler
        from agentshell_builtin.tokenizer import StreamDecoder

        template = loaded.format.template
        ids = loaded.format.ids(messages, tools)
        window = min(
            options.context_length or int(self._options.get("context_length", DEFAULT_CONTEXT)),
            loaded.gguf.config.context_length,
        )
        if len(ids) >= window:
            raise ContextOverflow(
                f"the prompt is {len(ids)} tokens, the built-in engine's window is {window}",
                hint="start a new session, or raise the window with --context-length (memory grows with it)",
            )
        sampler = Sampler(_sampler_settings(options, self._options), options.seed)
        max_new = window - len(ids)
        if options.max_tokens is not None:
            max_new = min(max_new, max(options.max_tokens, 0))

        t0 = time.perf_counter()
        threads = int(self._options.get("threads") or default_threads())
        decode_threads = int(self._options.get("decode_threads") or 1)
        logits = loaded.prefill(ids, window, threads)
        prompt_ms = (time.perf_counter() - t0) * 1000
        cache = loaded.cache
        assert cache is not None

        decoder = StreamDecoder(loaded.tokenizer)
        stops = StopScanner(template.stop)
        parser = ToolCallParser()
        guard = LoopGuard() if self._options.get("stop_loops", True) is not False else None
        stop_reason: StopReason = "length"
        produced, first_ms, called = 0, None, False
        t1 = time.perf_counter()

        def emit(text: str) -> Iterator[Event]:
            nonlocal called
            for event in parser.feed(text):
                called = called or isinstance(event, ToolCall)
                yield event

        while produced < max_new:
            tid = sampler.sample(logits, cache.tokens)
            produced += 1
            if first_ms is None:
                first_ms = (time.perf_counter() - t0) * 1000
            if tid in loaded.tokenizer.stop_ids:
                stop_reason = "stop"
                break
            yield from emit(stops.feed(decoder.feed(tid)))
            if stops.stopped:
                stop_reason = "stop"
                break
            if guard is not None and guard.feed(tid):
                yield Notice(
                    level="warning",
                    text=f"the model was repeating a {guard.period}-token block; stopped it after {produced} tokens",
                )
                break
            if produced >= max_new:
                break
            with blas_threads(decode_threads):
                logits = loaded.llama.forward([tid], cache, last_only=True)[0, -1]
        yield from emit(stops.feed(decoder.flush()) + stops.flush())
        for event in parser.finish():
            called = called or isinstance(event, ToolCall)
            yield event
        gen_ms = (time.perf_counter() - t1) * 1000
        yield Done(
            stop_reason="tool_calls" if called else stop_reason,
            usage=Usage(prompt_tokens=len(ids), completion_tokens=produced),
            timings=Timings(load_ms=load_ms, prompt_ms=prompt_ms, generation_ms=gen_ms, first_token_ms=first_ms),
        )
