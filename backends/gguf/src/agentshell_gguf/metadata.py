"""What a GGUF file says about its model, read without loading the weights.

:mod:`agentshell_gguf.header` parses the key/value header and the tensor index
only, so listing a folder of multi-gigabyte models stays fast. Every way
a file can be unusable (missing, not GGUF, truncated, an architecture llama.cpp
does not know) becomes one protocol error here, before llama.cpp sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentshell.protocol import BackendError, ModelNotFound
from agentshell_gguf.header import HeaderError, read_header, tensor_nbytes

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
    truncated = BackendError(
        f"{path} is truncated or corrupt ({human_size(size)} on disk)",
        hint="the download was probably interrupted; download the file again",
    )
    try:
        header = read_header(path)
        tensor_end = max((header.data_start + t.offset + tensor_nbytes(t) for t in header.tensors), default=0)
    except (HeaderError, OSError, ValueError) as exc:
        raise truncated from exc
    if tensor_end > size or not header.tensors:
        raise truncated
    fields = header.fields

    arch = fields.get("general.architecture")
    if not isinstance(arch, str):
        raise BackendError(f"{path} has no general.architecture entry", hint="the file is not a model GGUF")

    def arch_int(key: str, default: int = 0) -> int:
        value = fields.get(f"{arch}.{key}")
        if isinstance(value, list):  # per-layer values (some hybrid models): the largest is the safe estimate
            value = max((v for v in value if isinstance(v, int)), default=None)
        return int(value) if isinstance(value, int) else default

    def token(key: str) -> str:
        token_id = fields.get(key)
        if not isinstance(token_id, int):
            return ""
        try:
            return header.token_text(path, token_id)
        except (HeaderError, OSError):
            return ""

    template = fields.get("tokenizer.chat_template")
    name = fields.get("general.name")
    head_count = arch_int("attention.head_count", 1)
    return GGUFMetadata(
        path=path,
        architecture=arch,
        display_name=name if isinstance(name, str) else None,
        context_length=arch_int("context_length") or None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        parameter_count=sum(t.n_elements for t in header.tensors),
        file_type=file_type_name(fields.get("general.file_type")),
        size_bytes=size,
        bos_token=token("tokenizer.ggml.bos_token_id"),
        eos_token=token("tokenizer.ggml.eos_token_id"),
        block_count=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        head_count=head_count,
        head_count_kv=arch_int("attention.head_count_kv", head_count),
    )


def file_type_name(file_type: object) -> str | None:
    if not isinstance(file_type, int):
        return None
    from gguf import LlamaFileType

    try:
        return LlamaFileType(file_type).name.removeprefix("MOSTLY_")
    except ValueError:
        return None


def known_architectures() -> frozenset[str]:
    """Architectures the installed ``gguf`` package (kept in step with llama.cpp) knows."""
    from gguf import MODEL_ARCH_NAMES

    return frozenset(MODEL_ARCH_NAMES.values())
