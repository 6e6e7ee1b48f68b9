"""What a GGUF file says about its model, read without loading the weights.

``gguf.GGUFReader`` memory-maps the file and parses the header and tensor
index only, so listing a folder of multi-gigabyte models stays fast. Every way
a file can be unusable (missing, not GGUF, truncated, an architecture llama.cpp
does not know) becomes one protocol error here, before llama.cpp sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshell.protocol import BackendError, ModelNotFound

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class GGUFMetadata:
    path: Path
    architecture: str
    display_name: str | None  # general.name
    context_length: int | None  # trained context window
    chat_template: str | None
    parameter_count: int
    file_type: str | None  # "Q4_1", "F16"...
    size_bytes: int
    bos_token: str
    eos_token: str
    block_count: int
    embedding_length: int
    head_count: int
    head_count_kv: int

    @property
    def name(self) -> str:
        return self.path.stem

    def kv_bytes_per_token(self) -> int:
        """F16 K and V for every layer: what one token of context costs in memory."""
        head_dim = self.embedding_length // max(self.head_count, 1)
        return 2 * 2 * self.block_count * self.head_count_kv * head_dim


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_count(n: int) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}".replace(".0", "")
    return str(n)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def _token(reader: Any, key: str) -> str:
    token_id = _field(reader, key)
    field = reader.fields.get("tokenizer.ggml.tokens")
    if not isinstance(token_id, int) or field is None:
        return ""
    try:
        return str(field.contents(token_id))
    except (IndexError, ValueError, UnicodeDecodeError):
        return ""


def _check_header(path: Path) -> int:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise ModelNotFound(
            f"no such GGUF file: {path}", hint="check the path, or list known models with: agent models --backend gguf"
        ) from None
    except IsADirectoryError:
        raise ModelNotFound(f"{path} is a folder, not a GGUF file", hint="name the .gguf file inside it") from None
    except OSError as exc:
        raise BackendError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise BackendError(
            f"{path} is not a GGUF file (it does not start with the GGUF signature)",
            hint="download a .gguf build of the model, e.g. from Hugging Face",
        )
    return size


def read_metadata(path: Path) -> GGUFMetadata:
    """Parse the header and tensor index; raise a protocol error saying what is wrong with the file."""
    size = _check_header(path)
    from gguf import GGUFReader, LlamaFileType

    truncated = BackendError(
        f"{path} is truncated or corrupt ({human_size(size)} on disk)",
        hint="the download was probably interrupted; download the file again",
    )
    try:
        reader = GGUFReader(path)
    except (ValueError, IndexError, OverflowError, KeyError) as exc:
        raise truncated from exc
    tensor_end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if tensor_end > size or not reader.tensors:
        raise truncated

    arch = _field(reader, "general.architecture")
    if not isinstance(arch, str):
        raise BackendError(f"{path} has no general.architecture entry", hint="the file is not a model GGUF")
    file_type = _field(reader, "general.file_type")
    try:
        type_name: str | None = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    except ValueError:
        type_name = None
    template = _field(reader, "tokenizer.chat_template")

    def arch_int(key: str, default: int = 0) -> int:
        value = _field(reader, f"{arch}.{key}")
        return int(value) if isinstance(value, int) else default

    head_count = arch_int("attention.head_count", 1)
    return GGUFMetadata(
        path=path,
        architecture=arch,
        display_name=_field(reader, "general.name") if isinstance(_field(reader, "general.name"), str) else None,
        context_length=arch_int("context_length") or None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        parameter_count=sum(int(t.n_elements) for t in reader.tensors),
        file_type=type_name,
        size_bytes=size,
        bos_token=_token(reader, "tokenizer.ggml.bos_token_id"),
        eos_token=_token(reader, "tokenizer.ggml.eos_token_id"),
        block_count=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        head_count=head_count,
        head_count_kv=arch_int("attention.head_count_kv", head_count),
    )


def known_architectures() -> frozenset[str]:
    """Architectures the installed ``gguf`` package (kept in step with llama.cpp) knows."""
    from gguf import MODEL_ARCH_NAMES

    return frozenset(MODEL_ARCH_NAMES.values())
