"""Configuration: defaults < TOML file < environment variables < command-line flags.

Each layer overrides the one before it, key by key:

1. defaults (the :class:`Settings` field defaults);
2. the TOML file, ``$XDG_CONFIG_HOME/agentshell/config.toml`` (``agent config path``), or the file
   named by ``AGENT_CONFIG``, which must then exist (the default file may be missing: defaults apply);
3. environment variables: the agent's own (:data:`ENV_VARS`: ``AGENT_MODEL``...) and those each
   installed backend declares in its manifest (``OLLAMA_HOST``...), see :func:`environment_variables`;
4. flags given on the command line (``--model``, ``--permission-mode``...; ``--host`` and the other
   backend flags go to the backends whose manifests take them).

Nothing here names a backend: what reaches ``[backends.NAME]`` from the environment,
the flags and the top-level tables (``endpoints``) is what backend NAME declares.

Every effective value remembers where it came from, so ``agent config show``
can answer "why is it this?". Secrets (API keys) are loaded like any other value
but are never printed (masked as ``****``) and are redacted from everything agentshell writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentshell.errors import EXIT_USAGE, UserError
from agentshell.extensions.settings import HookConfig, HookEvent, McpServerConfig, ServerName
from agentshell.permissions.modes import PermissionMode
from agentshell.protocol import Host
from agentshell.redact import add_secret, is_secret

if TYPE_CHECKING:
    from agentshell.registry import BackendPool


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("agentshell", appauthor=False))


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("agentshell", appauthor=False))


def config_path() -> Path:
    override = os.environ.get("AGENT_CONFIG")
    return Path(override).expanduser() if override else config_dir() / "config.toml"


MAX_BASH_TIMEOUT = 86_400.0
# Where common tools keep credentials; a sandboxed command sees empty ones (docs/tools-and-permissions.md#sandbox).
DEFAULT_SANDBOX_HIDE = (
    "~/.ssh",
    "~/.gnupg",
    "~/.aws",
    "~/.azure",
    "~/.config/gcloud",
    "~/.config/gh",
    "~/.docker/config.json",
    "~/.kube",
    "~/.netrc",
    "~/.git-credentials",
    "~/.pypirc",
    "~/.npmrc",
    "~/.ollama",
)


class EndpointConfig(BaseModel):
    """A named OpenAI-compatible server, used as ``--model NAME:MODEL`` (the backend whose manifest lists
    ``endpoints`` among its sections receives the table)."""

    model_config = ConfigDict(extra="forbid")
    base_url: str
    """Root of the API, e.g. ``http://gpu-box:8000/v1``."""
    api_key_env: str | None = None
    """Name of the environment variable that holds the API key (the key itself never goes in the file)."""
    context_length: int | None = None
    """Context window to assume when the server does not report one."""


class Settings(BaseModel):
    """Everything a user can configure. Field docstrings are the documentation."""

    model_config = ConfigDict(extra="forbid")

    model: str = ""
    """Model used when ``--model`` is not given; unset, the one an installed backend offers (:func:`default_model`)."""
    backend: str | None = None
    """Force a backend instead of resolving it from the model string."""
    permission_mode: PermissionMode = "ask"
    """ask | accept-edits | read-only | yolo."""
    allow: list[str] = Field(default_factory=list)
    """Permission rules that allow without asking, e.g. ``bash(git status*)``."""
    deny: list[str] = Field(default_factory=list)
    """Permission rules that always deny, e.g. ``bash(rm *)``."""
    max_turns: int = 50
    """Upper bound on model requests in one run of the loop."""
    context_threshold: float = Field(0.8, gt=0, le=1, allow_inf_nan=False)
    """Share of the context window at which older turns are compacted: more than 0, at most 1."""
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)
    """Sampling temperature, 0 to 2; the backend's default when unset."""
    seed: int | None = None
    """Sampling seed, for reproducible runs where the backend supports it."""
    bash_timeout: float = Field(120.0, gt=0, le=MAX_BASH_TIMEOUT, allow_inf_nan=False)
    """Seconds before a ``bash`` tool call is killed: more than 0, at most a day."""
    bash_pass_env: list[str] = Field(default_factory=list)
    """Credential-looking variables commands still get, e.g. ``["GH_TOKEN"]`` (by default they get none;
    what a command prints is redacted either way). agentshell's own keys never pass."""
    sandbox: bool | None = None
    """Run every bash call in the OS sandbox (docs/tools-and-permissions.md#sandbox): true refuses to start
    when none can run, false never sandboxes; unset, yolo mode (and ``sandbox_allow_net``) turn it on where
    one can run."""
    sandbox_allow_net: list[str] = Field(default_factory=list)
    """Hosts sandboxed commands may reach over HTTP(S) through agentshell's proxy: ``pypi.org``,
    ``github.com:443``, ``*.example.com``. Everything else has no network."""
    sandbox_writable: list[str] = Field(default_factory=list)
    """Paths the sandbox leaves writable besides the workspace, e.g. ``["~/.cache"]`` for package managers."""
    sandbox_hide: list[str] = Field(default_factory=lambda: list(DEFAULT_SANDBOX_HIDE))
    """Paths the sandbox replaces with empty ones (credential stores); agentshell's own config and data
    directories are always hidden."""
    backends: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-backend options, e.g. ``[backends.ollama] host = "..."``."""
    endpoints: dict[str, EndpointConfig] = Field(default_factory=dict)
    """Named OpenAI-compatible servers."""
    mcp_servers: dict[ServerName, McpServerConfig] = Field(default_factory=dict)
    """MCP servers whose tools the model may call, ``[mcp_servers.NAME]`` (docs/extensions.md)."""
    hooks: dict[HookEvent, list[HookConfig]] = Field(default_factory=dict)
    """Commands run at the agent's events, ``[[hooks.PreToolUse]]`` (docs/extensions.md#hooks)."""


# The agent's own environment variables -> dotted key; the backends' come from their manifests.
ENV_VARS: dict[str, str] = {
    "AGENT_MODEL": "model",
    "AGENT_BACKEND": "backend",
    "AGENT_PERMISSION_MODE": "permission_mode",
    "AGENT_MAX_TURNS": "max_turns",
    "AGENT_CONTEXT_THRESHOLD": "context_threshold",
    "AGENT_SANDBOX": "sandbox",
}


def environment_variables() -> dict[str, str]:
    """Every environment variable the configuration reads -> its dotted key (``backends.NAME.KEY`` for a backend's)."""
    from agentshell.registry import manifests

    found = dict(ENV_VARS)
    for name, manifest in manifests().items():
        for var, key in manifest.environment.items():
            found.setdefault(var, f"backends.{name}.{key}")
    return found


def default_model() -> str:
    """The model of a fresh install: the first, in claim order, that an installed backend offers (the built-in one)."""
    from agentshell.registry import manifests

    return next((m.default_model for m in manifests().values() if m.default_model), "")


def agent_host() -> Host:
    """What the agent lends each backend it builds (see :class:`agentshell.protocol.Host`)."""
    from agentshell import __version__

    return Host(version=__version__, data_dir=data_dir())


class ConfigError(UserError):
    """A config file or value that cannot be used; the message says which and why."""

    exit_code = EXIT_USAGE


@dataclass
class Config:
    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)  # dotted key -> "default" | "file:..." | "env:X" | "flag:--x"
    path: Path | None = None

    def backend_options(self, debug: bool = False) -> dict[str, dict[str, Any]]:
        """Options per backend for :class:`agentshell.registry.BackendPool`, with the top-level tables each declares."""
        from agentshell.registry import manifests

        options: dict[str, dict[str, Any]] = {name: dict(v) for name, v in self.settings.backends.items()}
        options.setdefault("*", {})["debug"] = debug
        dumped = self.settings.model_dump()
        for name, manifest in manifests().items():
            for section in manifest.sections:
                if dumped.get(section):
                    options.setdefault(name, {})[section] = dumped[section]
        return options

    def backend_pool(self, debug: bool = False) -> BackendPool:
        """The backends of one run, built from this configuration with the agent's :class:`Host`."""
        from agentshell.registry import BackendPool

        return BackendPool(self.backend_options(debug), host=agent_host())


def _set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    backend_flags: Mapping[str, Any] | None = None,
) -> Config:
    """Merge the layers. ``flags`` maps dotted keys to values the user gave on the command line;
    ``backend_flags`` maps a backend flag (``host`` for ``--host``) to its value, for every backend that takes it."""
    environ = os.environ if environ is None else environ
    path = config_path()
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    if path.exists() and not path.is_file():
        raise ConfigError(f"{path} is not a file; remove it, or point AGENT_CONFIG at a TOML file")
    if not path.exists() and os.environ.get("AGENT_CONFIG"):  # a typo must not mean the defaults, unnoticed
        raise ConfigError(
            f"AGENT_CONFIG names {path}, which does not exist; "
            "create it, or unset AGENT_CONFIG to use the default config file"
        )
    if path.is_file():
        import tomllib  # only when there is a file: a run without one does not load the parser

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        flat: dict[str, Any] = {}
        _flatten("", data, flat)
        for key, value in flat.items():
            _set_dotted(merged, key, value)
            sources[key] = f"file:{path}"
            if is_secret(key) and isinstance(value, str):
                add_secret(value, key)  # a key kept in the file must not leak into transcripts either

    for var, key in environment_variables().items():
        if environ.get(var):
            _set_dotted(merged, key, environ[var])
            sources[key] = f"env:{var}"

    given = _route_backend_flags(backend_flags or {})
    given += [(key, value, key.rsplit(".", 1)[-1]) for key, value in (flags or {}).items()]
    for key, value, flag in given:
        if value is None:
            continue
        _set_dotted(merged, key, value)
        sources[key] = f"flag:--{flag.replace('_', '-')}"

    if not merged.get("model"):
        merged["model"] = default_model()
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        origin = sources.get(where, "config")
        if first["type"] == "extra_forbidden":
            hint = _did_you_mean(first["loc"])
            raise ConfigError(f"invalid setting {where} (from {origin}): no such setting{hint}") from exc
        raise ConfigError(f"invalid setting {where} (from {origin}): {first['msg']}") from exc
    return Config(settings=settings, sources=sources, path=path)


def _did_you_mean(loc: Sequence[int | str]) -> str:
    """ "; did you mean max_turns?" for a mistyped key, found among the keys of the section it is in."""
    import difflib

    section: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = section.model_fields.get(str(part))
        inner = field.annotation if field is not None else None
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return "; `agent config` lists the settings"
        section = inner
    known = list(section.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else "; `agent config` lists the settings"


def effective_items(config: Config) -> list[tuple[str, Any, str]]:
    """(dotted key, value, source) for every setting, sorted by key; secret values are masked as ``****``."""
    flat: dict[str, Any] = {}
    _flatten("", config.settings.model_dump(), flat)
    rows = []
    for key in sorted(flat):
        value = flat[key]
        if is_secret(key) and value:
            value = "****"
        rows.append((key, value, config.sources.get(key, "default")))
    return rows


def effective_values(config: Config) -> list[tuple[str, str, str]]:
    """(key, shown value, source) for every setting, secrets masked."""
    return [
        (key, repr(value) if isinstance(value, str) and value != "****" else str(value), source)
        for key, value, source in effective_items(config)
    ]


def _route_backend_flags(values: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``{"host": URL}`` -> ``("backends.NAME.KEY", URL, "host")`` for each backend whose manifest takes ``--host``."""
    if all(v is None for v in values.values()):
        return []  # the usual case: no backend flag given, no manifest read
    from agentshell.registry import manifests

    return [
        (f"backends.{name}.{key}", values[flag], flag)
        for name, manifest in manifests().items()
        for flag, key in manifest.flags.items()
        if values.get(flag) is not None
    ]


def credential_env_vars(settings: Settings) -> tuple[str, ...]:
    """The environment variables that hold agentshell's own credentials, kept from the commands tools run."""
    named = [var for var, key in environment_variables().items() if is_secret(key)]
    return (*named, *(e.api_key_env for e in settings.endpoints.values() if e.api_key_env))
