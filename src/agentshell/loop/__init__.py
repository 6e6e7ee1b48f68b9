"""The agent loop: one request in, events and tool calls out, until the model answers.

Front ends (``cli/``) drive it (``agent.py``); it reaches tools, transcripts and the
screen through the ports in ``ports.py``, reports in the types of ``outcomes.py``,
and reaches models only through ``agentshell/protocol.py``.
"""
