"""The agent loop: one request in, events and tool calls out, until the model answers.

Front ends (``cli/``) drive it; it reaches tools through ports defined in
``observer.py`` and models only through ``agentshell/protocol.py``.
"""
