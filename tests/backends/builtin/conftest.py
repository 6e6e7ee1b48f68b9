"""Shared fixtures for the built-in engine: the SmolLM2 file and a tiny random model.

Session-scoped: loading SmolLM2 costs seconds, and every test that needs it can share one copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.builtin.builtin_gguf_fixtures import small_bpe_vocab, smollm2_path, write_llama_gguf


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread: on a shared 2-core runner, BLAS threads that spin are many times slower."""
    from agentshell_builtin.backend import blas_threads

    with blas_threads(1):
        yield


@pytest.fixture(scope="session")
def smollm2_file() -> Path:
    return smollm2_path()


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 2-layer random llama (GQA, untied output) in F32 with a 600-token BPE vocabulary."""
    tokens, types, merges = small_bpe_vocab(600)
    path = tmp_path_factory.mktemp("tiny") / "tiny.gguf"
    yield write_llama_gguf(
        path, n_layer=2, n_embd=64, n_head=4, n_kv_head=2, ffn_dim=128, tokens=tokens, token_types=types, merges=merges
    )
