"""The input and output formats of a scripted run, defined once for the ``--output-format`` flag and the writer.

Only ``typing`` is imported, so ``agent launch --help`` lists the choices without loading the loop.
docs/scripting.md describes each format; :mod:`agentshell.api.events` holds the JSON schema.
"""

from __future__ import annotations

from typing import Literal

OutputFormat = Literal["text", "json", "stream-json"]
InputFormat = Literal["text", "stream-json"]  # stream-json: cli/stream_input.py
