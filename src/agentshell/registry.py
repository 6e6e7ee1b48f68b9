"""Backend discovery and model-string resolution.

Backends are found through the ``agentshell.backends`` entry point group and
are only imported when first needed, so ``agent --version`` never pays for them.
Tests and embedding programs register extra backends with :func:`register`,
the same call the entry-point loader makes.

Resolution of a model string (docs/architecture.md explains it for people):

1. ``--backend NAME`` forces that backend; the model string is passed unchanged
   (a leading ``NAME:`` is removed).
2. ``NAME:rest`` where NAME is an installed backend goes to that backend with ``rest``.
3. Otherwise the first backend whose ``claims()`` is true, in the fixed order
   :data:`CLAIM_ORDER`, then any third-party backends alphabetically, then
   ``ollama`` last as the catch-all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from agentshell.errors import EXIT_USAGE, UserError
from agentshell.protocol import Backend, BackendFactory, BackendUnavailable

ENTRY_POINT_GROUP = "agentshell.backends"
CLAIM_ORDER = ("builtin", "gguf", "openai")
CATCH_ALL = "ollama"

# How to install a backend that is known but missing, for the error line.
INSTALL_HINTS = {
    "gguf": "install the llama.cpp backend: uv tool install 'agentshell[gguf]' (or pip install 'agentshell[gguf]')",
}


class UnknownBackend(BackendUnavailable, UserError):
    """No installed backend by that name: the user typed it, so a usage error (see agentshell/errors.py)."""

    exit_code = EXIT_USAGE


@dataclass
class _Entry:
    name: str
    load: Any  # () -> BackendFactory, lazy
    factory: BackendFactory | None = None


_registered: dict[str, _Entry] = {}
_discovered = False


def register(name: str, factory: BackendFactory) -> None:
    """Add (or replace) a backend by name."""
    _registered[name] = _Entry(name, lambda: factory, factory)


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _registered:
            _registered[ep.name] = _Entry(ep.name, ep.load)


def backend_names() -> list[str]:
    """Installed backends in claim order."""
    _discover()
    names = set(_registered)
    fixed = [n for n in CLAIM_ORDER if n in names]
    others = sorted(n for n in names if n not in CLAIM_ORDER and n != CATCH_ALL)
    last = [CATCH_ALL] if CATCH_ALL in names else []
    return fixed + others + last


class BackendPool:
    """Backend instances for one run, created on first use with their options.

    ``options`` maps a backend name to its options (config section plus flags);
    the key ``"*"`` holds options every backend sees (``debug``).
    """

    def __init__(self, options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._options = dict(options or {})
        self._instances: dict[str, Backend] = {}

    def get(self, name: str) -> Backend:
        if name in self._instances:
            return self._instances[name]
        _discover()
        entry = _registered.get(name)
        if entry is None:
            hint = INSTALL_HINTS.get(name, f"installed backends: {', '.join(backend_names()) or 'none'}")
            raise UnknownBackend(f"no backend named {name!r}", hint=hint)
        if entry.factory is None:
            try:
                entry.factory = entry.load()
            except ImportError as exc:
                raise BackendUnavailable(
                    f"backend {name!r} is installed but cannot be imported: {exc}",
                    hint=INSTALL_HINTS.get(name, "reinstall agentshell"),
                ) from exc
        assert entry.factory is not None
        merged = {**self._options.get("*", {}), **self._options.get(name, {})}
        backend = entry.factory(merged)
        self._instances[name] = backend
        return backend

    def resolve(self, model: str, backend: str | None = None) -> tuple[Backend, str]:
        """Return the backend for ``model`` and the model name that backend expects."""
        names = backend_names()
        if backend is not None:
            prefix = f"{backend}:"
            return self.get(backend), model[len(prefix) :] if model.startswith(prefix) else model
        head, sep, rest = model.partition(":")
        if sep and head in names and rest:
            return self.get(head), rest
        for name in names:
            candidate = self.get(name)
            if candidate.claims(model):
                return candidate, model
        raise UnknownBackend(
            f"no installed backend accepts the model {model!r}",
            hint="name one with --backend, or install the ollama backend",
        )
