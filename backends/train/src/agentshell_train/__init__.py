"""Training agentshell's built-in model: the agent corpus, byte-level BPE, a numpy Llama trainer, GGUF export.

Kept apart from the engine (``agentshell_builtin``) because building the corpus runs agentshell's own tools:
training depends on the agent layer, inference does not. ``agent train`` is ``cli_train.py``; the recipe
of the shipped model is in ``agentshell_builtin/models/README.md``.
"""
