"""Configuration: defaults < TOML file < environment variables < command-line flags.

Each layer overrides the one before it, key by key:

1. defaults (the :class:`Settings` field defaults);
2. the TOML file, ``$XDG_CONFIG_HOME/agentshell/config.toml`` (``agent config path``), or the file
   named by ``AGENT_CONFIG``;
3. environment variables (:data:`ENV_VARS`: ``AGENT_MODEL``, ``OLLAMA_HOST``, ``OLLAMA_API_KEY``...);
4. flags given on the command line (``--model``, ``--permission-mode``...).

Every effective value remembers where it came from, so ``agent config show``
can answer "why is it this?". Secrets (API keys) are loaded like any other value
but are never printed (masked as ``****``) and are redacted from everything agentshell writes.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentshell.errors import EXIT_USAGE, UserError
from agentshell.permissions.modes import PermissionMode
from agentshell.redact import add_secret, is_secret

DEFAULT_MODEL = "builtin"


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("agentshell", appauthor=False))


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("agentshell", appauthor=False))


def config_path() -> Path:
    override = os.environ.get("AGENT_CONFIG")
    return Path(override).expanduser() if override else config_dir() / "config.toml"


class EndpointConfig(BaseModel):
    """A named OpenAI-compatible server, used as ``--model NAME:MODEL``."""

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

    model: str = DEFAULT_MODEL
    """Model used when ``--model`` is not given."""
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
    context_threshold: float = 0.8
    """Share of the context window at which older turns are compacted."""
    temperature: float | None = None
    """Sampling temperature; the backend's default when unset."""
    seed: int | None = None
    """Sampling seed, for reproducible runs where the backend supports it."""
    bash_timeout: float = 120.0
    """Seconds before a ``bash`` tool call is killed."""
    backends: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-backend options, e.g. ``[backends.ollama] host = "..."``."""
    endpoints: dict[str, EndpointConfig] = Field(default_factory=dict)
    """Named OpenAI-compatible servers."""


# Environment variable -> dotted key. Keys under backends.* go to that backend's options.
ENV_VARS: dict[str, str] = {
    "AGENT_MODEL": "model",
    "AGENT_BACKEND": "backend",
    "AGENT_PERMISSION_MODE": "permission_mode",
    "AGENT_MAX_TURNS": "max_turns",
    "AGENT_CONTEXT_THRESHOLD": "context_threshold",
    "OLLAMA_HOST": "backends.ollama.host",
    "OLLAMA_API_KEY": "backends.ollama.api_key",
    "OPENAI_BASE_URL": "backends.openai.base_url",
    "OPENAI_API_KEY": "backends.openai.api_key",
}


class ConfigError(UserError):
    """A config file or value that cannot be used; the message says which and why."""

    exit_code = EXIT_USAGE


@dataclass
class Config:
    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)  # dotted key -> "default" | "file:..." | "env:X" | "flag:--x"
    path: Path | None = None

    def backend_options(self, debug: bool = False) -> dict[str, dict[str, Any]]:
        """Options per backend for :class:`agentshell.registry.BackendPool`."""
        options: dict[str, dict[str, Any]] = {name: dict(v) for name, v in self.settings.backends.items()}
        options.setdefault("*", {})["debug"] = debug
        if self.settings.endpoints:
            options.setdefault("openai", {})["endpoints"] = {
                k: v.model_dump() for k, v in self.settings.endpoints.items()
            }
        return options


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


def load_config(flags: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Merge the layers. ``flags`` maps dotted keys to values the user gave on the command line."""
    environ = os.environ if environ is None else environ
    path = config_path()
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    if path.is_file():
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

    for var, key in ENV_VARS.items():
        if environ.get(var):
            _set_dotted(merged, key, environ[var])
            sources[key] = f"env:{var}"

    for key, value in (flags or {}).items():
        if value is None:
            continue
        _set_dotted(merged, key, value)
        sources[key] = f"flag:--{key.rsplit('.', 1)[-1].replace('_', '-')}"

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        origin = sources.get(where, "config")
        raise ConfigError(f"invalid setting {where} (from {origin}): {first['msg']}") from exc
    return Config(settings=settings, sources=sources, path=path)


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


def credential_env_vars(settings: Settings) -> tuple[str, ...]:
    """The environment variables that hold agentshell's own credentials, kept from the commands tools run."""
    named = [var for var, key in ENV_VARS.items() if is_secret(key)]
    return (*named, *(e.api_key_env for e in settings.endpoints.values() if e.api_key_env))
