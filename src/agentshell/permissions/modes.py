"""The permission modes and the kinds of tool they govern, each defined once.

The modes serve the config file, the ``--permission-mode`` flag and the gate; the kinds serve the
tools, which declare one, and the gate, which decides by it. Only ``typing`` is imported, so
``agent launch --help`` can list the modes without loading the gate.
What each mode allows is decided in :mod:`agentshell.permissions.gate`; docs/tools-and-permissions.md
explains them for people:

- ``ask``: reads run, edits and commands ask first (denied when nobody can be asked);
- ``accept-edits``: edits inside the workspace run too, commands still ask;
- ``read-only``: only read tools run, nothing else is even asked;
- ``yolo``: everything runs that no ``--deny`` rule forbids.
"""

from __future__ import annotations

from typing import Literal, get_args

PermissionMode = Literal["ask", "accept-edits", "read-only", "yolo"]
PERMISSION_MODES: tuple[PermissionMode, ...] = get_args(PermissionMode)

ToolKind = Literal["read", "edit", "execute"]  # what a tool does, as far as the gate is concerned
