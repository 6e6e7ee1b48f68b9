"""A fast reader for a GGUF file's header: key/value metadata and the tensor index.

``gguf.GGUFReader`` turns every entry of the vocabulary and merge arrays into
numpy objects, which takes seconds per file (6 s for SmolLM2's 49k tokens);
listing a models folder must not. This reader walks the same layout with
``struct`` over a memory map, keeps scalars and short arrays, and keeps of the
long string arrays only the entries asked for (the BOS/EOS token texts).

Layout (GGUF v2/v3, little-endian): magic, version u32, tensor count u64, kv
count u64; each kv is a string key, a u32 type and a value; each tensor info is
a string name, u32 dims, u64 shape[dims], u32 ggml type, u64 offset; tensor
data starts at the next multiple of ``general.alignment`` (default 32).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_KEEP_ARRAY = 64  # longer arrays (vocabularies, merges, scores) are skipped, not materialized


class HeaderError(ValueError):
    """The bytes do not follow the GGUF layout (a truncated or damaged file)."""


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class GGUFHeader:
    version: int
    fields: dict[str, Any]
    tensors: list[TensorInfo]
    data_start: int
    tokens_offset: int | None = None  # where tokenizer.ggml.tokens' strings begin, for token_text()

    def token_text(self, path: Path, token_id: int) -> str:
        """The text of one vocabulary entry, read from the file on demand."""
        if self.tokens_offset is None or token_id < 0:
            return ""
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            reader = _Reader(buf, self.tokens_offset)
            for _ in range(token_id):
                reader.skip_string()
            return reader.string()


class _Reader:
    def __init__(self, buf: Any, pos: int = 0) -> None:
        self.buf, self.pos, self.size = buf, pos, len(buf)

    def unpack(self, fmt: str) -> Any:
        n = struct.calcsize(fmt)
        if self.pos + n > self.size:
            raise HeaderError("the file ends inside its header")
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        if self.pos + n > self.size:
            raise HeaderError("the file ends inside its header")
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.unpack("<Q")
        self.pos += n
        if self.pos > self.size:
            raise HeaderError("the file ends inside its header")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind = self.unpack("<I")
            count = self.unpack("<Q")
            if count > _KEEP_ARRAY:
                self.skip_array(item_kind, count)
                return None
            return [self.value(item_kind) for _ in range(count)]
        raise HeaderError(f"unknown metadata value type {kind}")

    def skip_array(self, item_kind: int, count: int) -> None:
        if item_kind in _SCALARS:
            self.pos += struct.calcsize(_SCALARS[item_kind]) * count
        elif item_kind == _STRING:
            buf, pos, size = self.buf, self.pos, self.size
            unpack = struct.unpack_from
            for _ in range(count):
                if pos + 8 > size:
                    raise HeaderError("the file ends inside its header")
                pos += 8 + unpack("<Q", buf, pos)[0]
            self.pos = pos
        else:
            for _ in range(count):
                self.value(item_kind)
        if self.pos > self.size:
            raise HeaderError("the file ends inside its header")


def read_header(path: Path) -> GGUFHeader:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        reader = _Reader(buf)
        if reader.unpack("<4s") != b"GGUF":
            raise HeaderError("not a GGUF file")
        version = reader.unpack("<I")
        if version not in (2, 3):
            raise HeaderError(f"unsupported GGUF version {version}")
        tensor_count = reader.unpack("<Q")
        kv_count = reader.unpack("<Q")
        if tensor_count > 1_000_000 or kv_count > 1_000_000:
            raise HeaderError("implausible tensor or key count")
        fields: dict[str, Any] = {}
        tokens_offset: int | None = None
        for _ in range(kv_count):
            key = reader.string()
            kind = reader.unpack("<I")
            if key == "tokenizer.ggml.tokens" and kind == _ARRAY:
                tokens_offset = reader.pos + 12  # after the item type (u32) and count (u64)
            fields[key] = reader.value(kind)
        tensors = []
        for _ in range(tensor_count):
            name = reader.string()
            n_dims = reader.unpack("<I")
            if n_dims > 8:
                raise HeaderError(f"tensor {name} has {n_dims} dimensions")
            shape = tuple(reader.unpack("<Q") for _ in range(n_dims))
            tensors.append(TensorInfo(name, shape, reader.unpack("<I"), reader.unpack("<Q")))
        alignment = fields.get("general.alignment", 32)
        if not isinstance(alignment, int) or alignment <= 0:
            alignment = 32
        data_start = -(-reader.pos // alignment) * alignment
        return GGUFHeader(version, fields, tensors, data_start, tokens_offset)


def tensor_nbytes(tensor: TensorInfo) -> int:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(tensor.ggml_type)]
    except (ValueError, KeyError):
        raise HeaderError(f"tensor {tensor.name} has an unknown type {tensor.ggml_type}") from None
    return tensor.n_elements // block * type_size
