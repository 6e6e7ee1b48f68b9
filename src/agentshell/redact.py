"""Keep credentials out of everything agentshell writes: transcripts, logs, JSON output.

A model can echo an API key back (``env`` in a bash tool, a config file it read),
so redaction happens at the writer, not at the source. What counts as a secret:

- the value of every environment variable whose name looks like a credential
  (contains KEY, TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIAL) and is at least
  :data:`MIN_SECRET_LENGTH` characters long (shorter values would mask ordinary words);
- values registered with :func:`add_secret` (API keys read from the config file).

Each occurrence becomes ``[REDACTED:NAME]`` so a reader still knows what was there.
Settings are judged by name too (:func:`is_secret`): their values are masked in
``agent config show``. Variables are judged by name alone (:func:`is_secret_variable`,
whatever their length) to keep them out of the programs agentshell starts
(:func:`credential_free_env`: bash commands and hooks).

Tool results are redacted before they enter the conversation (``loop/agent.py``),
so what is sent to a model server never holds a key a command printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from typing import Any

MIN_SECRET_LENGTH = 8
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)

# Names that match the pattern but never hold credentials; masking their values would
# mangle ordinary output (paths, terminal names).
_NOT_SECRETS = frozenset({"GPG_AGENT_INFO", "SSH_AUTH_SOCK", "KEYTIMEOUT", "TOKENIZERS_PARALLELISM"})

# A setting whose last dotted part contains one of these holds a credential (``backends.ollama.api_key``).
SECRET_KEYS = ("api_key", "token", "password", "secret")

_registered: dict[str, str] = {}  # value -> label
_cache_key: tuple[object, ...] | None = None
_cache_pattern: re.Pattern[str] | None = None
_cache_labels: dict[str, str] = {}


def is_secret(key: str) -> bool:
    """Whether the setting named by dotted ``key`` holds a credential."""
    leaf = key.rsplit(".", 1)[-1].lower()
    if leaf.endswith("_env"):
        return False  # ``api_key_env`` names the variable that holds the key; the name is not a secret
    return any(s in leaf for s in SECRET_KEYS)


def is_secret_variable(name: str) -> bool:
    """Whether environment variable ``name`` looks like a credential (``OPENAI_API_KEY``, ``GH_TOKEN``...)."""
    return name not in _NOT_SECRETS and SECRET_NAME.search(name) is not None


def credential_free_env(
    environ: Mapping[str, str] | None = None, *, hidden: Collection[str] = (), passed: Collection[str] = ()
) -> dict[str, str]:
    """``environ`` (this process's by default) without credentials, for a program agentshell starts.

    ``hidden`` (agentshell's own credentials, whatever their names) never passes; other credential-looking
    variables pass only when ``passed`` names them (``bash_pass_env``). Used by tools/shell.py and
    extensions/hooks.py, so a command and a hook see the same environment.
    """
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k not in hidden and (k in passed or not is_secret_variable(k))}


def add_secret(value: str, label: str = "secret") -> None:
    """Mask ``value`` from now on, e.g. an API key that came from the config file rather than the environment."""
    if len(value) >= MIN_SECRET_LENGTH:
        _registered[value] = label


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """value -> label of every secret that would be masked now."""
    env = os.environ if environ is None else environ
    found = dict(_registered)
    for name, value in env.items():
        if len(value) >= MIN_SECRET_LENGTH and is_secret_variable(name):
            found[value] = name
    return found


def _pattern() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    global _cache_key, _cache_pattern, _cache_labels
    # Scanning the environment costs ~100 µs; comparing a snapshot of it costs ~3 µs, and redact()
    # runs on every streamed event. The raw mapping avoids decoding every value on each call.
    raw_env = getattr(os.environ, "_data", os.environ)
    key = (tuple(raw_env.items()), tuple(_registered.items()))
    if key != _cache_key:
        secrets = secret_values()
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(secrets, key=len, reverse=True)
        _cache_pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
        _cache_labels = secrets
        _cache_key = key
    return _cache_pattern, _cache_labels


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``[REDACTED:NAME]``."""
    if len(text) < MIN_SECRET_LENGTH:
        return text
    pattern, labels = _pattern()
    if pattern is None:
        return text
    return pattern.sub(lambda m: f"[REDACTED:{labels[m.group(0)]}]", text)


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value with secrets masked in every string, dict keys included."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(v) for v in obj)
    return obj


class StreamRedactor:
    """Redacts text that arrives in pieces (streamed tokens), where one secret spans several pieces.

    ``feed`` returns what is safe to show now and holds back only a tail that could be the start
    of a secret (usually nothing, so streaming is not delayed); ``flush`` returns the rest at the
    end of the stream. No complete secret ever comes out, however the text was split.
    """

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> str:
        data = self._pending + text
        pattern, labels = _pattern()
        if pattern is None:
            self._pending = ""
            return data
        cut = len(data)
        for secret in labels:  # the earliest start of a secret that the data ends in the middle of
            for k in range(min(len(secret) - 1, len(data)), 0, -1):
                if len(data) - k < cut and data.endswith(secret[:k]):
                    cut = len(data) - k
                    break
        for match in pattern.finditer(data):  # never cut through a whole secret
            if match.start() < cut < match.end():
                cut = match.start()
        self._pending = data[cut:]
        return redact(data[:cut])

    def flush(self) -> str:
        data, self._pending = self._pending, ""
        return redact(data)
