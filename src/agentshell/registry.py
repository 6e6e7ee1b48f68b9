"""Backend discovery and model-string resolution; no backend is named here.

Backends are found through the ``agentshell.backends`` entry point group. What
each declares about itself (its :class:`~agentshell.protocol.BackendManifest`:
claim priority, claim test, environment variables, flags, hints) is read from
the module its entry point names, which stays cheap to import; the backend
itself is built only when it is used, so ``agent --version`` never pays for
backends and resolving ``qwen3`` builds only the backend that claims it.
Tests and embedding programs register extra backends with :func:`register`,
the same record the entry-point loader makes.

Resolution of a model string (docs/architecture.md explains it for people):

1. ``--backend NAME`` forces that backend; the model string is passed unchanged
   (a leading ``NAME:`` is removed).
2. ``NAME:rest`` where NAME is an installed backend goes to that backend with ``rest``.
3. Otherwise the first backend whose claim test is true, in **claim order**:
   ascending ``claim_priority`` as each backend declares it, ties broken by
   name. A backend that declares none gets
   :data:`~agentshell.protocol.DEFAULT_CLAIM_PRIORITY`, after the backends that
   claim specific names and before a catch-all
   (:data:`~agentshell.protocol.CATCH_ALL_PRIORITY`).

A backend that is not installed but that the user-facing distribution offers as
an extra (a requirement on ``agentshell-NAME`` under ``[project.optional-dependencies]``)
is named, with the command that installs it, in the error that a missing
backend causes: :func:`install_hint`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from agentshell.errors import EXIT_USAGE, UserError
from agentshell.protocol import (
    HOST_OPTION,
    MANIFEST_ATTRIBUTE,
    Backend,
    BackendFactory,
    BackendManifest,
    BackendUnavailable,
    Host,
)

ENTRY_POINT_GROUP = "agentshell.backends"
COMMAND_NAME = "agent"  # the console script whose distribution is the one users install
BACKEND_DISTRIBUTION_PREFIX = "agentshell-"  # agentshell-NAME provides the backend NAME


class UnknownBackend(BackendUnavailable, UserError):
    """No installed backend by that name: the user typed it, so a usage error (see agentshell/errors.py)."""

    exit_code = EXIT_USAGE


@dataclass
class _Entry:
    name: str
    load: Callable[[], BackendFactory]  # lazy: imports the backend
    read_manifest: Callable[[], BackendManifest]  # lazy: imports only the entry point's module
    distribution: str | None = None  # who installed it, for the "reinstall" hint
    factory: BackendFactory | None = None
    manifest: BackendManifest | None = None


_registered: dict[str, _Entry] = {}
_discovered = False


def register(name: str, factory: BackendFactory, manifest: BackendManifest | None = None) -> None:
    """Add (or replace) a backend by name; without a manifest it gets the defaults."""
    declared = manifest or BackendManifest()
    _registered[name] = _Entry(name, lambda: factory, lambda: declared, factory=factory, manifest=declared)


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _manifest_reader(module_name: str) -> Callable[[], BackendManifest]:
    def read() -> BackendManifest:
        try:
            module = import_module(module_name)
        except ImportError:
            return BackendManifest()  # loading it will fail too, and say how to repair it
        declared = getattr(module, MANIFEST_ATTRIBUTE, None)
        return declared if isinstance(declared, BackendManifest) else BackendManifest()

    return read


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _registered:
            dist = ep.dist.name if ep.dist is not None else None
            _registered[ep.name] = _Entry(ep.name, ep.load, _manifest_reader(ep.module), distribution=dist)


def manifest(name: str) -> BackendManifest:
    """What an installed backend declares (the defaults for one that declares nothing)."""
    _discover()
    entry = _registered.get(name)
    if entry is None:
        raise UnknownBackend(f"no backend named {name!r}", hint=install_hint(name))
    if entry.manifest is None:
        entry.manifest = entry.read_manifest()
    return entry.manifest


def backend_names() -> list[str]:
    """Installed backends in claim order (see the module docstring)."""
    _discover()
    return sorted(_registered, key=lambda name: (manifest(name).claim_priority, name))


def manifests() -> dict[str, BackendManifest]:
    """Every installed backend's manifest, in claim order; no backend is built."""
    return {name: manifest(name) for name in backend_names()}


# --------------------------------------------------------------------------- backends that are not installed

_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def optional_backends() -> dict[str, tuple[str, str]]:
    """Backend name -> (distribution, extra) for every extra of the distribution that provides ``agent``.

    Read from installed metadata, so the agent layer learns that ``gguf`` exists
    from ``agentshell-cli[gguf]`` without naming it.
    """
    found = entry_points(group="console_scripts", name=COMMAND_NAME)
    dist = next((ep.dist for ep in found if ep.dist is not None), None)
    if dist is None:
        return {}
    offered: dict[str, tuple[str, str]] = {}
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        extra = _EXTRA_MARKER.search(marker)
        name = _REQUIREMENT_NAME.match(spec)
        if extra is None or name is None:
            continue
        project = re.sub(r"[-_.]+", "-", name.group(1)).lower()
        if project.startswith(BACKEND_DISTRIBUTION_PREFIX):
            offered[project.removeprefix(BACKEND_DISTRIBUTION_PREFIX)] = (dist.name, extra.group(1))
    return offered


def install_hint(name: str) -> str:
    """For a backend that is not installed: how to install it, else which backends are."""
    offered = optional_backends().get(name)
    if offered is not None:
        return f"install it: {_install_command(*offered)}"
    return f"installed backends: {', '.join(backend_names()) or 'none'}"


def _install_command(distribution: str, extra: str) -> str:
    target = f"'{distribution}[{extra}]'"
    return f"uv tool install {target}, or pip install {target}"


def _not_installed() -> list[str]:
    """One phrase per offered backend that is missing: it might be the one the user wanted."""
    _discover()
    offered = sorted(optional_backends().items())
    return [
        f"{name} is not installed: {_install_command(*where)}" for name, where in offered if name not in _registered
    ]


# --------------------------------------------------------------------------- one run's backends


class BackendPool:
    """Backend instances for one run, created on first use with their options.

    ``options`` maps a backend name to its options (config section plus flags);
    the key ``"*"`` holds options every backend sees (``debug``). ``host`` is
    lent to every backend under :data:`~agentshell.protocol.HOST_OPTION`.
    """

    def __init__(self, options: Mapping[str, Mapping[str, Any]] | None = None, host: Host | None = None) -> None:
        self._options = dict(options or {})
        self._host = host
        self._instances: dict[str, Backend] = {}

    def options(self, name: str) -> dict[str, Any]:
        """What backend ``name`` is built with: the shared options, its own, and the host."""
        merged = {**self._options.get("*", {}), **self._options.get(name, {})}
        if self._host is not None:
            merged[HOST_OPTION] = self._host
        return merged

    def get(self, name: str) -> Backend:
        if name in self._instances:
            return self._instances[name]
        _discover()
        entry = _registered.get(name)
        if entry is None:
            raise UnknownBackend(f"no backend named {name!r}", hint=install_hint(name))
        if entry.factory is None:
            try:
                entry.factory = entry.load()
            except ImportError as exc:
                repair = f"reinstall {entry.distribution}" if entry.distribution else "reinstall it"
                raise BackendUnavailable(
                    f"backend {name!r} is installed but cannot be imported: {exc}",
                    hint=manifest(name).install_hint or repair,
                ) from exc
        backend = entry.factory(self.options(name))
        self._instances[name] = backend
        return backend

    def claims(self, name: str, model: str) -> bool:
        """Whether backend ``name`` claims ``model``: its manifest's test when it has one, else its instance's."""
        test = manifest(name).claims
        if test is not None:
            return test(model, self.options(name))
        return self.get(name).claims(model)

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
            if self.claims(name, model):
                return self.get(name), model
        advice = ["name one with --backend NAME or NAME:MODEL", f"installed: {', '.join(names) or 'none'}"]
        raise UnknownBackend(
            f"no installed backend accepts the model {model!r}", hint="; ".join(advice + _not_installed())
        )
