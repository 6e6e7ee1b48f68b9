"""The permission gate: modes, allow/deny rules and the approval question (``gate.py``)."""
