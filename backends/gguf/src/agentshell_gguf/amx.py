"""llama.cpp on CPUs with Intel AMX: loading weights so that its AMX kernel is never used.

A llama.cpp built natively on a machine with AMX (Sapphire Rapids and newer
Xeons, most cloud VMs) crashes with SIGSEGV in ``ggml_backend_amx_mul_mat``
(ggml-org/llama.cpp#20824, closed without a fix; stanfordnlp/dspy#10079 removed
the AMX build variant for the same crash). That kernel is reached only through
an *extra buffer type* the weights are placed in at load time. Loading with
``llama_model_params.use_extra_bufts = False`` keeps every weight in plain CPU
buffers, so the AMX path is never taken and the answers stay the same.

Extra buffer types also carry llama.cpp's weight repacking (Q4_0, Q4_K, IQ4_NL,
Q8_0… reordered for AVX2/AVX-512 matrix products), so turning them off costs
speed on those types (benchmarks/gguf_amx.py measures it). The protection is
therefore applied where the crash can happen: a CPU that reports AMX running a
llama.cpp built with AMX (or one whose build cannot be read). The ``extra_buffers``
option of the gguf backend overrides it: ``off`` always protects, ``on`` never.

Who builds llama-cpp-python themselves can also leave AMX out of the build (see
backends/gguf/README.md): ``CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON …"``
without ``-DGGML_AMX_INT8=ON``.

``llama_cpp.Llama`` builds its model parameters inside its constructor from
``llama_model_default_params()``, with no argument for the field; the guard below
wraps that function while a model loads (tests and benchmarks use :func:`open_llama`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from agentshell.protocol import BackendError

Setting = Literal["auto", "on", "off"]
SETTINGS: tuple[Setting, ...] = ("auto", "on", "off")
AMX_CPU_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")
_BUILD_AMX = re.compile(r"\bAMX_INT8\s*=\s*1\b")
_BUILD_INFO = re.compile(r"\bCPU\s*:")  # llama_print_system_info lists the CPU backend's features after this

_guard = threading.Lock()
_last: dict[str, Protection] = {}


def setting_of(value: Any) -> Setting:
    """The ``extra_buffers`` option, checked: ``auto`` (the default), ``on`` or ``off``."""
    if value is None or value == "":
        return "auto"
    text = str(value).strip().lower()
    for setting in SETTINGS:
        if text == setting:
            return setting
    raise BackendError(f"gguf option extra_buffers must be one of auto, on, off, got {value!r}")


def read_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""  # not Linux: no AMX path known to crash there


def cpu_has_amx(cpuinfo: str) -> bool:
    """Whether the ``flags`` of /proc/cpuinfo name an AMX feature."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and any(flag in value.split() for flag in AMX_CPU_FLAGS):
            return True
    return False


def build_has_amx(system_info: str) -> bool | None:
    """Whether llama.cpp was built with its AMX kernel (``AMX_INT8 = 1``); None when the text says nothing."""
    if _BUILD_AMX.search(system_info):
        return True
    return False if _BUILD_INFO.search(system_info) else None


@dataclass(frozen=True)
class Protection:
    """How weights are loaded on this machine, and why (``agent doctor`` shows :meth:`describe`)."""

    setting: Setting
    cpu_amx: bool
    build_amx: bool | None
    extra_buffers: bool  # load with extra buffer types (repacking, and AMX where built)

    def describe(self) -> str:
        if self.setting != "auto":
            how = "without extra buffer types" if not self.extra_buffers else "with extra buffer types"
            return f"extra_buffers = {self.setting}: weights load {how}"
        if not self.cpu_amx:
            return "no AMX on this CPU: weights load as usual (repacked)"
        if not self.extra_buffers:
            build = "built with AMX" if self.build_amx else "build unknown"
            return (
                f"AMX CPU, llama.cpp {build}: weights load without extra buffer types "
                "(avoids the AMX crash, llama.cpp #20824)"
            )
        return "AMX CPU, llama.cpp built without AMX: weights load as usual (repacked)"


def decide(setting: Setting = "auto", *, cpuinfo: str | None = None, system_info: str | None = None) -> Protection:
    """Whether extra buffer types are safe here. ``cpuinfo`` and ``system_info`` default to this machine's."""
    cpu = cpu_has_amx(read_cpuinfo() if cpuinfo is None else cpuinfo)
    build = build_has_amx(system_info) if system_info is not None else None
    if setting == "on":
        extra = True
    elif setting == "off":
        extra = False
    else:
        extra = not cpu or build is False
    return Protection(setting=setting, cpu_amx=cpu, build_amx=build, extra_buffers=extra)


def system_info(llama_cpp: ModuleType) -> str:
    try:
        raw = llama_cpp.llama_print_system_info()
    except (AttributeError, OSError):
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def machine_protection(llama_cpp: ModuleType, setting: Setting = "auto") -> Protection:
    """The decision for this machine and this llama.cpp; remembered for :func:`last_protection`."""
    protection = decide(setting, system_info=system_info(llama_cpp))
    _last["protection"] = protection
    return protection


def last_protection() -> Protection | None:
    """What the last load in this process decided (None before any)."""
    return _last.get("protection")


@contextmanager
def weights_guard(llama_cpp: ModuleType, protection: Protection) -> Iterator[None]:
    """While inside, every ``llama_cpp.Llama`` built loads its weights as ``protection`` says."""
    if protection.extra_buffers:
        yield
        return
    module = llama_cpp.llama_cpp  # the ctypes layer whose function Llama.__init__ calls
    with _guard:
        original = _install(module)
        try:
            yield
        finally:
            setattr(module, "llama_model_default_params", original)  # noqa: B010


def open_llama(llama_cpp: ModuleType, *args: Any, setting: Setting = "auto", **kwargs: Any) -> Any:
    """``llama_cpp.Llama(*args, **kwargs)`` with the weights loaded safely for this machine."""
    with weights_guard(llama_cpp, machine_protection(llama_cpp, setting)):
        return llama_cpp.Llama(*args, **kwargs)


def protect_process(llama_cpp: ModuleType, setting: Setting = "auto") -> Protection:
    """For a process that builds its own models (``python -m llama_cpp.server``): protect every load for good."""
    protection = machine_protection(llama_cpp, setting)
    if not protection.extra_buffers:
        _install(llama_cpp.llama_cpp)
    return protection


def _install(module: ModuleType) -> Any:
    """Make ``module.llama_model_default_params`` return parameters without extra buffer types; returns the original."""
    original = module.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    setattr(module, "llama_model_default_params", without_extra_buffers)  # noqa: B010 (a module, typed loosely)
    return original
