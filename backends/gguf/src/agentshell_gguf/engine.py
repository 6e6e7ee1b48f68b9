"""llama.cpp through llama-cpp-python: importing it, quieting it, sizing and loading a model.

llama.cpp writes its own log lines to stderr from C; ``Llama(verbose=False)``
still lets some through, so the process-wide callback is replaced with one
that keeps the last lines in memory (for error messages) and prints them only
in debug mode.
"""

from __future__ import annotations

import collections
import ctypes
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from agentshell.protocol import BackendError, BackendUnavailable
from agentshell_gguf.amx import Setting, open_llama
from agentshell_gguf.manifest import INSTALL_HINT
from agentshell_gguf.metadata import GGUFMetadata, human_size, known_architectures

CONTEXT_STEP = 256  # llama.cpp rounds n_ctx up to this; llama-cpp-python's buffers do not, so we round ourselves
DEFAULT_CONTEXT = 32768
MIN_CONTEXT = 512
RUNTIME_OVERHEAD = 256 * 1024 * 1024  # compute buffers, scratch, Python: a floor, not a measurement

_recent_log: collections.deque[str] = collections.deque(maxlen=40)
_log_state: dict[str, Any] = {"callback": None, "debug": None}


def import_llama_cpp() -> ModuleType:
    try:
        import llama_cpp
    except ImportError as exc:
        raise BackendUnavailable(f"llama.cpp is not installed ({exc})", hint=INSTALL_HINT) from None
    except OSError as exc:  # the shared library exists but cannot be loaded
        raise BackendUnavailable(f"llama.cpp cannot be loaded: {exc}", hint=INSTALL_HINT) from None
    return llama_cpp


def configure_logging(llama_cpp: ModuleType, *, debug: bool) -> None:
    """Route llama.cpp's log lines into memory (and to stderr in debug mode)."""
    if _log_state["debug"] == debug:
        return

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", errors="replace")
        _recent_log.append(line)
        if debug:
            sys.stderr.write(line)

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _log_state["callback"] = callback  # ctypes calls into it for the life of the process
    _log_state["debug"] = debug


def recent_log_error() -> str | None:
    """The last meaningful line llama.cpp logged, for the user-facing error."""
    for line in reversed(_recent_log):
        text = line.strip()
        if text and ("error" in text.lower() or "failed" in text.lower() or "unknown" in text.lower()):
            return text
    return None


def gpu_offload_supported(llama_cpp: ModuleType) -> bool:
    return bool(llama_cpp.llama_supports_gpu_offload())


def available_memory() -> int | None:
    """Bytes of RAM that can be used without swapping (MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def physical_cores() -> int:
    """Physical cores this process may use: hyper-threads slow llama.cpp's matrix products down."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores: set[tuple[str, str]] = set()
    try:
        physical = core = ""
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical = value.strip()
                elif key == "core id":
                    core = value.strip()
                    cores.add((physical, core))
    except OSError:
        pass
    return max(1, min(usable, len(cores) or usable))


def plan_context(meta: GGUFMetadata, *, wanted: int, memory_budget: int | None, gpu_layers: int) -> int:
    """n_ctx: the smallest of the trained window, what was asked for, and what fits in memory; a multiple of 256.

    Raises when even the weights do not fit.
    """
    trained = meta.context_length or wanted
    n_ctx = min(trained, wanted)
    if memory_budget is not None:
        weights = (
            0 if gpu_layers < 0 else meta.size_bytes * max(0, meta.block_count - gpu_layers) // max(meta.block_count, 1)
        )
        spare = memory_budget - weights - RUNTIME_OVERHEAD
        per_token = meta.kv_bytes_per_token() or 1
        if spare < per_token * MIN_CONTEXT:
            raise BackendError(
                f"{meta.name} needs about {human_size(weights + RUNTIME_OVERHEAD + per_token * MIN_CONTEXT)} "
                f"of memory but only {human_size(memory_budget)} is free",
                hint="close other programs, or use a smaller quantization of the model (e.g. Q4_K_M)",
            )
        n_ctx = min(n_ctx, spare // per_token)
    n_ctx = max(MIN_CONTEXT, n_ctx)
    return n_ctx - n_ctx % CONTEXT_STEP if n_ctx >= CONTEXT_STEP else CONTEXT_STEP


@dataclass
class LoadedModel:
    meta: GGUFMetadata
    llm: Any  # llama_cpp.Llama
    n_ctx: int
    n_threads: int
    gpu_layers: int
    load_ms: float
    requested_ctx: int = 0  # the window asked for; memory may have granted less

    def serves(self, meta: GGUFMetadata, wanted_ctx: int) -> bool:
        """Whether this load can answer a request for ``wanted_ctx`` without reloading."""
        if self.meta.path != meta.path:
            return False
        return self.n_ctx >= min(wanted_ctx, meta.context_length or wanted_ctx) or wanted_ctx <= self.requested_ctx

    def close(self) -> None:
        self.llm.close()


def load_model(
    llama_cpp: ModuleType,
    meta: GGUFMetadata,
    *,
    n_ctx: int,
    n_threads: int,
    gpu_layers: int,
    seed: int | None,
    extra_buffers: Setting = "auto",
) -> LoadedModel:
    """The weights in memory; on a CPU with AMX without llama.cpp's extra buffer types (:mod:`agentshell_gguf.amx`)."""
    started = time.perf_counter()
    _recent_log.clear()
    try:
        llm = open_llama(
            llama_cpp,
            setting=extra_buffers,
            model_path=str(meta.path),
            n_ctx=n_ctx,
            n_batch=min(512, n_ctx),
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_gpu_layers=gpu_layers,
            seed=seed if seed is not None else llama_cpp.LLAMA_DEFAULT_SEED,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise load_failure(meta, exc) from None
    return LoadedModel(meta, llm, n_ctx, n_threads, gpu_layers, (time.perf_counter() - started) * 1000, n_ctx)


def load_failure(meta: GGUFMetadata, exc: BaseException) -> BackendError:
    detail = recent_log_error()
    if (detail and "unknown model architecture" in detail) or meta.architecture not in known_architectures():
        return BackendError(
            f"{meta.path.name} uses the architecture {meta.architecture!r}, which this llama.cpp cannot run",
            hint="upgrade llama-cpp-python, or use another build of the model",
        )
    return BackendError(
        f"llama.cpp could not load {Path(meta.path).name}: {detail or exc}",
        hint="run with --debug to see llama.cpp's log",
    )
