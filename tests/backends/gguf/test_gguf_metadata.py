"""Reading GGUF files without llama.cpp, and every way a file can be unusable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from agentshell_gguf import GGUFBackend
from agentshell_gguf.engine import CONTEXT_STEP, plan_context
from agentshell_gguf.locate import resolve_model
from agentshell_gguf.metadata import read_metadata

from agentshell.protocol import HOST_OPTION, BackendError, Host, ModelNotFound


@pytest.mark.slow
def test_metadata_matches_the_gguf_library(smollm2: Path) -> None:
    from gguf import GGUFReader

    meta = read_metadata(smollm2)
    reader = GGUFReader(smollm2)

    def field(key: str) -> object:
        return reader.fields[key].contents()

    assert meta.architecture == field("general.architecture") == "llama"
    assert meta.context_length == field("llama.context_length") == 8192
    assert meta.chat_template == field("tokenizer.chat_template")
    assert meta.parameter_count == sum(int(t.n_elements) for t in reader.tensors)
    assert meta.file_type == "Q4_1"
    tokens = reader.fields["tokenizer.ggml.tokens"]
    assert meta.eos_token == tokens.contents(field("tokenizer.ggml.eos_token_id")) == "<|im_end|>"
    assert meta.bos_token == tokens.contents(field("tokenizer.ggml.bos_token_id"))
    assert (meta.block_count, meta.head_count, meta.head_count_kv) == (30, 9, 3)


def test_describe_and_list_without_loading(smollm2: Path, tmp_path: Path) -> None:
    (tmp_path / "smol").mkdir()
    (tmp_path / "smol" / "SmolLM2-135M.gguf").symlink_to(smollm2)
    (tmp_path / "broken.gguf").write_text("not a model")
    backend = GGUFBackend({"model_dirs": [str(tmp_path)]})
    (info,) = backend.list_models()  # the broken file is skipped, not fatal
    assert info.name == "SmolLM2-135M" and info.backend == "gguf"
    assert info.context_length == 8192 and info.supports_tools
    assert info.details["architecture"] == "llama"
    assert info.details["quantization"] == "Q4_1"
    assert info.details["parameters"] == "134.5M"
    assert info.details["size"] == "98.4 MB"
    assert backend.describe("smollm2-135m").name == "SmolLM2-135M"  # by name, any case
    assert backend.describe("smol").name == "SmolLM2-135M"  # a unique part of the name
    assert backend.loaded_model() is None


def test_the_default_model_folder_is_in_the_agents_data_dir(smollm2: Path, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "SmolLM2-135M.gguf").symlink_to(smollm2)
    backend = GGUFBackend({HOST_OPTION: Host(version="test", data_dir=tmp_path)})
    assert [info.name for info in backend.list_models()] == ["SmolLM2-135M"]
    with pytest.raises(ModelNotFound, match="none is set"):  # without the agent's host there is no folder
        GGUFBackend({}).describe("SmolLM2-135M")


def test_claims_gguf_paths_only() -> None:
    backend = GGUFBackend({})
    assert backend.claims("./models/qwen2.5-7b-q4_k_m.gguf")
    assert backend.claims("~/m/X.GGUF")
    assert not backend.claims("qwen3:8b")
    assert not backend.claims("builtin")


def test_unknown_name_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as info:
        resolve_model("mistral", [tmp_path])
    assert str(tmp_path) in str(info.value) and "agent models --backend gguf" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="no such GGUF file"):
        GGUFBackend({}).describe(str(tmp_path / "nope.gguf"))


def test_not_a_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.gguf"
    path.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(BackendError) as info:
        GGUFBackend({}).describe(str(path))
    assert str(info.value) == (
        f"{path} is not a GGUF file (it does not start with the GGUF signature) "
        "(download a .gguf build of the model, e.g. from Hugging Face)"
    )


@pytest.mark.parametrize("keep", [24, 2_000_000, 60_000_000])
def test_truncated_file(smollm2: Path, tmp_path: Path, keep: int) -> None:
    path = tmp_path / "cut.gguf"
    with smollm2.open("rb") as src, path.open("wb") as dst:
        dst.write(src.read(keep))
    with pytest.raises(BackendError, match=r"is truncated or corrupt .*download the file again"):
        read_metadata(path)


def test_context_plan_is_bounded_and_a_multiple_of_256(smollm2: Path) -> None:
    meta = read_metadata(smollm2)
    assert plan_context(meta, wanted=32768, memory_budget=None, gpu_layers=0) == 8192  # the trained window
    assert plan_context(meta, wanted=3000, memory_budget=None, gpu_layers=0) == 2816
    tight = meta.size_bytes + 300 * 1024 * 1024  # weights + overhead + a little KV room
    planned = plan_context(meta, wanted=32768, memory_budget=tight, gpu_layers=0)
    assert planned % CONTEXT_STEP == 0 and planned < 8192
    assert meta.size_bytes + planned * meta.kv_bytes_per_token() <= tight


def test_model_larger_than_free_memory(smollm2: Path) -> None:
    backend = GGUFBackend({"max_memory": 64_000_000})
    from agentshell.protocol import ChatOptions, Message

    with pytest.raises(BackendError) as info:
        list(backend.chat(str(smollm2), [Message(role="user", content="hi")], options=ChatOptions()))
    assert "but only 64.0 MB is free" in str(info.value) and "smaller quantization" in str(info.value)
    assert backend.loaded_model() is None


def test_copy_in_model_dir_is_found_by_file_name(smollm2: Path, tmp_path: Path) -> None:
    shutil.copy(smollm2, tmp_path / "tiny.gguf")
    assert resolve_model("tiny.gguf", [tmp_path]) == tmp_path / "tiny.gguf"
    assert resolve_model("tiny", [tmp_path]) == tmp_path / "tiny.gguf"


def test_bad_option_is_one_line() -> None:
    with pytest.raises(BackendError, match="gguf option threads must be a whole number, got 'many'"):
        GGUFBackend({"threads": "many"})
    with pytest.raises(BackendError, match="tool_choice must be one of auto, first, required"):
        GGUFBackend({"tool_choice": "always"})
