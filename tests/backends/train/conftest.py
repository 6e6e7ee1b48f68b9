"""Training tests run numpy's BLAS on one thread, as the engine's tests do (tests/backends/builtin/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread() -> Iterator[None]:
    """On a shared 2-core runner, BLAS threads that spin are many times slower; tests that want threads ask."""
    from agentshell_builtin.backend import blas_threads

    with blas_threads(1):
        yield
