"""Read a llama-architecture GGUF file into float32 numpy weights and tokenizer data.

Quantized tensors are dequantized once at load with ``gguf.quants``, exactly.
By default a file with block-quantized weights runs with llama.cpp's own
arithmetic (llamacpp_numerics.py: activations rounded before each product,
llama.cpp's summation order); ``match_llama_cpp=False`` keeps plain float32.
Anything the engine cannot run (another architecture, a tensor type or tensor
it does not know) is refused with one line that says so, before any large
allocation.

GGUF stores a matrix with ggml's dimension order (ne0 = input width first), so
``reader.tensors[i].data`` comes back in numpy order (out, in); the loader
transposes to (in, out) because the engine computes ``x @ w``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentshell.protocol import BackendError, ModelNotFound
from agentshell_builtin.llamacpp_numerics import (
    ACTIVATION_FORMAT,
    LlamaCppOps,
    Matrix,
    QuantizedMatrix,
    fuse,
    scale_min_matrix,
)
from agentshell_builtin.model import FLOAT32, Array, LayerWeights, Llama, LlamaConfig, LlamaWeights

SUPPORTED_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K")
_LAYER_TENSORS = (
    "attn_norm",
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_norm",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
)
_MIN_BLOCKS = {"Q4_1": 20, "Q5_1": 24}  # block bytes of the types with a minimum: fp16 d, fp16 m, then the quants
_BLOCK_NAME = re.compile(r"blk\.(\d+)\.(\w+)\.weight")


class UnsupportedModel(BackendError):
    """The file is a valid GGUF the built-in engine cannot run."""


@dataclass(frozen=True)
class VocabData:
    """What tokenizer.py needs, straight from the ``tokenizer.ggml.*`` keys."""

    model: str  # tokenizer.ggml.model: "gpt2" is byte-level BPE
    pre: str  # tokenizer.ggml.pre: which pre-tokenizer splits text before BPE
    tokens: list[str]
    token_types: list[int]  # 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
    merges: list[str]  # "left right", in priority order
    bos_id: int | None
    eos_id: int | None
    eot_id: int | None
    add_bos: bool
    add_eos: bool


@dataclass
class GGUFModel:
    path: Path
    config: LlamaConfig
    weights: LlamaWeights
    vocab: VocabData
    chat_template: str | None
    details: dict[str, str] = field(default_factory=dict)  # name, quantization, parameters, for display
    numerics: str = "float32"  # "llama.cpp": operations in llama.cpp's order and rounding (llamacpp_numerics.py)

    def build(self) -> Llama:
        return Llama(self.config, self.weights, LlamaCppOps() if self.numerics == "llama.cpp" else FLOAT32)


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


_reader_class: Any = None


def _reader_type() -> Any:
    """gguf.GGUFReader over a plain ndarray view of its memory map.

    Slicing an ``np.memmap`` runs Python code for every slice, and reading a
    vocabulary takes a quarter of a million slices: 3 s for SmolLM2's header,
    1 s this way. Same pages, no copy.
    """
    global _reader_class
    if _reader_class is None:
        from gguf import GGUFReader

        class PlainViewReader(GGUFReader):
            @property
            def data(self) -> Any:
                return self._plain

            @data.setter
            def data(self, value: Any) -> None:
                self._plain = np.asarray(value)

        _reader_class = PlainViewReader
    return _reader_class


def _open(path: Path) -> Any:
    if not path.is_file():
        raise ModelNotFound(f"no model file at {path}", hint="give the path of a .gguf file")
    try:
        return _reader_type()(str(path), "r")
    except Exception as exc:  # the reader raises ValueError, struct errors, OSError... for bad files
        raise BackendError(f"{path} is not a readable GGUF file: {exc}") from exc


def read_vocab(reader: Any) -> VocabData:
    model = str(_field(reader, "tokenizer.ggml.model", ""))
    tokens = _field(reader, "tokenizer.ggml.tokens")
    if not tokens:
        raise UnsupportedModel("the GGUF file has no tokenizer (tokenizer.ggml.tokens is missing)")

    def opt_int(key: str) -> int | None:
        v = _field(reader, key)
        return None if v is None else int(v)

    types = _field(reader, "tokenizer.ggml.token_type") or [1] * len(tokens)
    return VocabData(
        model=model,
        pre=str(_field(reader, "tokenizer.ggml.pre", "default")),
        tokens=list(tokens),
        token_types=[int(t) for t in types],
        merges=list(_field(reader, "tokenizer.ggml.merges") or []),
        bos_id=opt_int("tokenizer.ggml.bos_token_id"),
        eos_id=opt_int("tokenizer.ggml.eos_token_id"),
        eot_id=opt_int("tokenizer.ggml.eot_token_id"),
        add_bos=bool(_field(reader, "tokenizer.ggml.add_bos_token", False)),
        add_eos=bool(_field(reader, "tokenizer.ggml.add_eos_token", False)),
    )


def read_config(reader: Any, tensor_names: set[str]) -> LlamaConfig:
    arch = str(_field(reader, "general.architecture", "?"))
    if arch != "llama":
        raise UnsupportedModel(
            f"the built-in engine runs llama-architecture models, this file is {arch!r}",
            hint="run it with --model gguf:PATH instead",
        )

    def key(name: str, default: Any = None) -> Any:
        v = _field(reader, f"llama.{name}", default)
        if v is None:
            raise UnsupportedModel(f"the GGUF file lacks the key llama.{name}")
        return v

    n_embd, n_head = int(key("embedding_length")), int(key("attention.head_count"))
    head_dim = int(key("attention.key_length", n_embd // n_head))
    scaling = str(_field(reader, "llama.rope.scaling.type", "none"))
    if scaling not in ("none", "linear"):
        raise UnsupportedModel(f"rope scaling {scaling!r} is not supported by the built-in engine (none, linear are)")
    factor = float(_field(reader, "llama.rope.scaling.factor", 0.0) or 0.0)
    vocab = _field(reader, "tokenizer.ggml.tokens") or []
    n_vocab = int(_field(reader, "llama.vocab_size", len(vocab)))
    return LlamaConfig(
        vocab_size=n_vocab,
        n_layer=int(key("block_count")),
        n_embd=n_embd,
        n_head=n_head,
        n_kv_head=int(key("attention.head_count_kv", n_head)),
        head_dim=head_dim,
        ffn_dim=int(key("feed_forward_length")),
        context_length=int(key("context_length", 2048)),
        rope_dim=int(key("rope.dimension_count", head_dim)),
        rope_base=float(key("rope.freq_base", 10000.0)),
        rope_scale=1.0 / factor if scaling == "linear" and factor > 0 else 1.0,
        norm_eps=float(key("attention.layer_norm_rms_epsilon", 1e-5)),
        tied_output="output.weight" not in tensor_names,
    )


def _check_tensors(reader: Any, cfg: LlamaConfig) -> None:
    known = {"token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight"}
    for t in reader.tensors:
        m = _BLOCK_NAME.fullmatch(t.name)
        ok = t.name in known or (m is not None and int(m[1]) < cfg.n_layer and m[2] in _LAYER_TENSORS)
        if not ok:
            raise UnsupportedModel(f"tensor {t.name!r} is not part of the llama layout the built-in engine runs")
        if t.tensor_type.name not in SUPPORTED_TYPES:
            raise UnsupportedModel(
                f"tensor {t.name} is {t.tensor_type.name}, which the built-in engine cannot dequantize "
                f"(supported: {', '.join(SUPPORTED_TYPES)})"
            )
    if cfg.n_head % cfg.n_kv_head or cfg.rope_dim > cfg.head_dim or cfg.rope_dim % 2:
        raise UnsupportedModel("the file's head counts or rope dimensions are inconsistent")


def _dequantize(t: Any) -> Array:
    from gguf import quants

    out = quants.dequantize(t.data, t.tensor_type)
    shape = tuple(int(d) for d in reversed(t.shape.tolist()))
    return np.array(out, dtype=np.float32).reshape(shape)  # a copy: the reader's memmap can go


def _block_minimums(t: Any) -> Array | None:
    """The fp16 minimum m of each 32-weight block of a Q4_1/Q5_1 matrix, (out, in/32), else None."""
    size = _MIN_BLOCKS.get(t.tensor_type.name)
    if size is None:
        return None
    raw = np.ascontiguousarray(t.data).reshape(-1, size)  # one row per block
    rows = int(t.shape[1]) if len(t.shape) > 1 else 1
    return raw[:, 2:4].copy().view(np.float16).astype(np.float32).reshape(rows, -1)


def load_gguf(
    path: str | Path, on_progress: Callable[[int, int], None] | None = None, *, match_llama_cpp: bool = True
) -> GGUFModel:
    """Read, check and dequantize a whole file. ``on_progress(done, total)`` follows the tensors.

    ``match_llama_cpp``: for a file with block-quantized weights (Q*), compute
    the way llama.cpp's CPU backend does (llamacpp_numerics.py), so the logits
    agree with llama.cpp's; False computes in plain float32. F32, F16 and BF16
    files always use float32: nothing there is rounded to 8 bits, so float32
    agrees closely with llama.cpp already, and with the training code exactly.
    """
    p = Path(path).expanduser()
    reader = _open(p)
    by_name = {t.name: t for t in reader.tensors}
    cfg = read_config(reader, set(by_name))
    vocab = read_vocab(reader)
    if vocab.model != "gpt2":
        raise UnsupportedModel(
            f"the built-in engine's tokenizer reads byte-level BPE (gpt2) vocabularies, this file's is {vocab.model!r}",
            hint="run it with --model gguf:PATH instead",
        )
    _check_tensors(reader, cfg)
    exact = match_llama_cpp and any(
        t.tensor_type.name not in ("F32", "F16", "BF16") for t in reader.tensors if len(t.shape) > 1
    )
    total = len(by_name)
    done = 0

    def tensor(name: str) -> Any:
        nonlocal done
        t = by_name.get(name)
        if t is None:
            raise UnsupportedModel(f"the GGUF file lacks the tensor {name}")
        done += 1
        if on_progress is not None:
            on_progress(done, total)
        return t

    def take(name: str) -> Array:
        return _dequantize(tensor(name))

    def matrix(*names: str) -> Matrix:
        """The named (out_i, in) tensors side by side as one (in, sum out_i) matrix for ``x @ w``."""
        types = [by_name[n].tensor_type.name if n in by_name else "?" for n in names]
        if exact and all(t in ("Q4_1", "Q5_1", "Q5_0", "Q8_0") for t in types):  # reproduced bit for bit
            ts = [tensor(n) for n in names]
            if any(len(t.shape) != 2 or int(t.shape[0]) != int(ts[0].shape[0]) for t in ts):
                raise UnsupportedModel(f"the weights {', '.join(names)} do not have the shapes the metadata announces")
            return scale_min_matrix([(np.asarray(t.data), t.tensor_type.name) for t in ts])
        ws = [take(n) for n in names]
        if ws[0].ndim != 2 or any(w.shape[1] != ws[0].shape[1] for w in ws):
            raise UnsupportedModel(f"the weights {', '.join(names)} do not have the shapes the metadata announces")
        if not exact or all(t == "F32" for t in types):
            return np.ascontiguousarray(np.concatenate(ws).T)
        parts = [(w.T, t, _transposed(_block_minimums(by_name[n]))) for w, t, n in zip(ws, types, names, strict=True)]
        return fuse(parts)

    token_embd = take("token_embd.weight")  # (V, C)
    if token_embd.shape != (cfg.vocab_size, cfg.n_embd):
        raise UnsupportedModel(f"token_embd has shape {token_embd.shape}, expected {(cfg.vocab_size, cfg.n_embd)}")
    layers = []
    for i in range(cfg.n_layer):
        pre = f"blk.{i}."
        layers.append(
            LayerWeights(
                attn_norm=take(pre + "attn_norm.weight"),
                wqkv=matrix(pre + "attn_q.weight", pre + "attn_k.weight", pre + "attn_v.weight"),  # (C, (nh+2nkv) hs)
                wo=matrix(pre + "attn_output.weight"),  # (nh hs, C)
                ffn_norm=take(pre + "ffn_norm.weight"),
                w_gate_up=matrix(pre + "ffn_gate.weight", pre + "ffn_up.weight"),  # (C, 2F)
                w_down=matrix(pre + "ffn_down.weight"),  # (F, C)
            )
        )
        expected = (cfg.n_embd, (cfg.n_head + 2 * cfg.n_kv_head) * cfg.head_dim)
        if layers[-1].wqkv.shape != expected or layers[-1].w_gate_up.shape != (cfg.n_embd, 2 * cfg.ffn_dim):
            raise UnsupportedModel(f"the weights of block {i} do not have the shapes the metadata announces")
    output = _output_matrix(by_name, token_embd, cfg, exact, take)  # (C, V)
    freqs = take("rope_freqs.weight") if "rope_freqs.weight" in by_name else None
    weights = LlamaWeights(token_embd, layers, take("output_norm.weight"), output, freqs)

    quant = sorted({t.tensor_type.name for t in reader.tensors if len(t.shape) > 1})
    n_params = sum(int(t.n_elements) for t in reader.tensors)
    details = {
        "name": str(_field(reader, "general.name", p.stem)),
        "family": "llama",
        "parameters": f"{n_params / 1e6:.1f}M",
        "quantization": "+".join(quant),
        "engine": "numpy, llama.cpp's arithmetic" if exact else "numpy float32",
    }
    template = _field(reader, "tokenizer.chat_template")
    numerics = "llama.cpp" if exact else "float32"
    return GGUFModel(p, cfg, weights, vocab, None if template is None else str(template), details, numerics)


def _transposed(a: Array | None) -> Array | None:
    return None if a is None else np.ascontiguousarray(a.T)


def _output_matrix(
    by_name: dict[str, Any], token_embd: Array, cfg: LlamaConfig, exact: bool, take: Callable[[str], Array]
) -> Matrix:
    """The (C, V) output projection: a view of the embedding table when tied, else the file's own matrix."""
    name = "token_embd.weight" if cfg.tied_output else "output.weight"
    w = token_embd.T if cfg.tied_output else np.ascontiguousarray(take(name).T)
    wtype = by_name[name].tensor_type.name
    if not exact or wtype == "F32":
        return w
    return QuantizedMatrix(w, ((w.shape[1], ACTIVATION_FORMAT[wtype]),), _transposed(_block_minimums(by_name[name])))
