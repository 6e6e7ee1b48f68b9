"""Failures that need llama.cpp (or its absence) to show: each is one clear line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from agentshell_gguf import GGUFBackend

from agentshell.protocol import BackendError, BackendUnavailable, ChatOptions, Message, Notice

HI = [Message(role="user", content="hi")]


def test_unsupported_architecture(tmp_path: Path, fast_options: dict[str, int]) -> None:
    from gguf import GGUFWriter

    path = tmp_path / "odd.gguf"
    writer = GGUFWriter(path, "agentshell-nonexistent")
    writer.add_context_length(128)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    backend = GGUFBackend(fast_options)
    assert backend.describe(str(path)).details["architecture"] == "agentshell-nonexistent"
    with pytest.raises(BackendError) as info:
        list(backend.chat(str(path), HI, options=ChatOptions()))
    assert str(info.value) == (
        "odd.gguf uses the architecture 'agentshell-nonexistent', which this llama.cpp cannot run "
        "(upgrade llama-cpp-python, or use another build of the model)"
    )


def test_missing_extra_says_how_to_install(
    smollm2: Path, monkeypatch: pytest.MonkeyPatch, fast_options: dict[str, int]
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what `import llama_cpp` sees without the extra
    backend = GGUFBackend(fast_options)
    with pytest.raises(BackendUnavailable) as info:
        list(backend.chat(str(smollm2), HI, options=ChatOptions()))
    assert "llama.cpp is not installed" in str(info.value) and "'agentshell-cli[gguf]'" in str(info.value)
    usable, detail = backend.health()
    assert not usable and "'agentshell-cli[gguf]'" in detail


def test_health_reports_the_engine(smollm2: Path, tmp_path: Path) -> None:
    (tmp_path / "m.gguf").symlink_to(smollm2)
    usable, detail = GGUFBackend({"model_dirs": str(tmp_path)}).health()
    assert usable and detail.startswith("llama.cpp 0.3.") and f"1 GGUF file(s) in {tmp_path}" in detail


@pytest.mark.slow
def test_gpu_layers_without_gpu_support_says_so(smollm2: Path, fast_options: dict[str, int]) -> None:
    import llama_cpp

    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp can offload to a GPU")
    backend = GGUFBackend({**fast_options, "gpu_layers": 99, "context_length": 512})
    try:
        events = list(backend.chat(str(smollm2), HI, options=ChatOptions(max_tokens=1, temperature=0)))
    finally:
        loaded = backend.loaded_model()
        if loaded is not None:
            loaded.close()
    (warning,) = [e for e in events if isinstance(e, Notice) and e.level == "warning"]
    assert warning.text.startswith("--gpu-layers 99 ignored: this llama.cpp was built without GPU support")
    assert events[-1].type == "done"
