"""File checkpoints of every request in a shadow git repository; undo and rewind (docs/checkpoints.md).

Modules, bottom up: ``gitcmd`` runs git with a clean environment, ``manifest`` keeps what a
git tree cannot, ``shadow`` is the per-workspace repository, ``timeline`` the ordered record
of requests, checkpoints, changes and rewinds, ``restore`` plans and applies a restore
without following symlinks, ``journal`` makes a rewind survive SIGKILL, ``rewind`` chooses
what to undo and refuses to overwrite the user's edits, ``prune`` keeps the disk use
capped, and ``recorder`` is what the front ends hold while the agent works.

Nothing is imported here: importing the package costs nothing until a checkpoint is taken.
"""
