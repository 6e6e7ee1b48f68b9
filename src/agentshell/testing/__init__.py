"""Test doubles that ship with the package: the scripted backend (``scripted.py``).

It is a real backend (entry point ``scripted``) so that tests and scripts can
replay a conversation through the real CLI without a model.
"""
