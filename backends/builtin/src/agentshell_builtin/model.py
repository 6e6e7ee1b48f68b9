"""A Llama transformer in plain numpy, read top to bottom.

The path of one token: its id picks a row of the embedding table; the vector
goes through ``n_layer`` blocks, each of them

    x = x + attention(rms_norm(x))     # look back at earlier tokens
    x = x + mlp(rms_norm(x))           # think about what was found

then a last norm, and a product with the output matrix gives one logit per
vocabulary entry. The sampler turns logits into the next token.

Everything is float32 and batched: the whole prompt goes through in one pass
(prefill), then one token at a time against the KV cache (decode). There is no
Python loop over heads or positions, only over layers (llama.cpp's numerics add
loops over 32-input blocks and over memory-bounded chunks of rows).

Shapes: B batch, T new tokens, S tokens in the cache (past + new), C model width,
nh query heads, nkv key/value heads, g = nh // nkv heads per group, hs head size,
F feed-forward width, V vocabulary.

Weights are the GGUF tensors as stored (see gguf_loader.py), including the Q/K
row permutation llama.cpp's converters apply, which is why rope rotates
*adjacent* pairs (2i, 2i+1) here, exactly like llama.cpp's "normal" rope.
How the arithmetic is done is one object, ``ops``: ``Float32Ops`` below is the
formulas as written; for quantized files the loader picks ``LlamaCppOps``
(llamacpp_numerics.py), the same operations in llama.cpp's order and rounding,
because there the last bit decides how llama.cpp rounds the next activation.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from agentshell_builtin.llamacpp_numerics import Matrix

Array = npt.NDArray[np.float32]
AttentionHook = Callable[[int, Array], None]  # (layer, probabilities (B, nh, T, S)) -> None


@dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int = 49152  # V: rows of the embedding table
    n_layer: int = 30  # transformer blocks
    n_embd: int = 576  # C: width of the residual stream
    n_head: int = 9  # nh: query heads
    n_kv_head: int = 3  # nkv: key/value heads (grouped-query attention when < n_head)
    head_dim: int = 64  # hs: width of one head
    ffn_dim: int = 1536  # F: hidden width of the SwiGLU feed-forward
    context_length: int = 8192  # positions the model was trained for
    rope_dim: int = 64  # leading dims of each head that rope rotates (usually hs)
    rope_base: float = 10000.0  # theta base of the rotary frequencies
    rope_scale: float = 1.0  # linear rope scaling: positions are multiplied by this
    norm_eps: float = 1e-5  # epsilon inside RMSNorm
    tied_output: bool = True  # logits use the embedding table when the file has no output matrix


@dataclass
class LayerWeights:
    """One block's weights, laid out (in, out) so that ``x @ w`` is the projection."""

    attn_norm: Array  # (C,)
    wqkv: Matrix  # (C, nh*hs + 2*nkv*hs): q, k and v projections side by side, one matmul
    wo: Matrix  # (nh*hs, C)
    ffn_norm: Array  # (C,)
    w_gate_up: Matrix  # (C, 2F): gate and up projections side by side
    w_down: Matrix  # (F, C)


@dataclass
class LlamaWeights:
    token_embd: Array  # (V, C)
    layers: list[LayerWeights]
    output_norm: Array  # (C,)
    output: Matrix  # (C, V): a transposed view of token_embd when tied
    rope_freq_factors: Array | None = None  # (rope_dim/2,) llama-3 style per-frequency divisors

    def nbytes(self) -> int:
        matrices: list[Matrix] = [self.token_embd, self.output_norm]
        output = getattr(self.output, "w", self.output)
        if not (isinstance(output, np.ndarray) and np.shares_memory(output, self.token_embd)):
            matrices.append(self.output)
        for lw in self.layers:
            matrices += [lw.attn_norm, lw.wqkv, lw.wo, lw.ffn_norm, lw.w_gate_up, lw.w_down]
        return sum(int(m.nbytes) for m in matrices)


def linear(x: Array, w: Matrix) -> Array:
    """``x @ w``; a quantized file's matrix first rounds x the way llama.cpp does."""
    out: Array = x @ w if isinstance(w, np.ndarray) else w.apply(x)
    return out


# --------------------------------------------------------------------------- the arithmetic


class Ops(Protocol):
    """The operations whose rounding differs between plain numpy and llama.cpp."""

    name: str

    def rms_norm(self, x: Array, weight: Array, eps: float) -> Array: ...
    def rope_tables(self, rope_dim: int, base: float, scale: float, positions: npt.NDArray[np.int64],
                    freq_factors: Array | None) -> tuple[Array, Array]: ...  # fmt: skip
    def apply_rope(self, x: Array, cos: Array, sin: Array) -> Array: ...
    def scores(self, q: Array, keys: Array) -> Array: ...
    def softmax(self, att: Array, scale: float) -> Array: ...
    def weighted_values(self, att: Array, values: Array) -> Array: ...
    def swiglu(self, gate: Array, up: Array) -> Array: ...


class Float32Ops:
    """Each formula as written, in float32 numpy."""

    name = "float32"

    def rms_norm(self, x: Array, weight: Array, eps: float) -> Array:
        """Scale each vector to unit root-mean-square, then by a learned gain per channel."""
        ms = np.mean(np.square(x), axis=-1, keepdims=True)  # (B, T, 1)
        out: Array = (x * (1.0 / np.sqrt(ms + eps)) * weight).astype(np.float32, copy=False)  # (B, T, C)
        return out

    def rope_tables(self, rope_dim: int, base: float, scale: float, positions: npt.NDArray[np.int64],
                    freq_factors: Array | None) -> tuple[Array, Array]:  # fmt: skip
        """cos and sin of ``position * theta_i`` for each rotated pair i, shape (T, rope_dim/2).

        theta_i = base^(-2i/rope_dim) is built by repeated float32 multiplication,
        the way llama.cpp builds it.
        """
        half = rope_dim // 2
        theta_scale = np.float32(base) ** np.float32(-2.0 / rope_dim)
        inv_freq = np.cumprod(np.concatenate([[np.float32(1.0)], np.full(half - 1, theta_scale, np.float32)]))
        inv_freq = inv_freq.astype(np.float32)
        if freq_factors is not None:
            inv_freq = inv_freq / freq_factors
        pos = positions.astype(np.float32) * np.float32(scale)
        angles = pos[:, None] * inv_freq[None, :]  # (T, half)
        return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)

    def apply_rope(self, x: Array, cos: Array, sin: Array) -> Array:
        """Rotate adjacent pairs (x[2i], x[2i+1]) of each head by the angle of the token's position."""
        B, H, T, _ = x.shape
        r = cos.shape[-1] * 2  # dims that rotate; the rest pass through
        pairs = x[..., :r].reshape(B, H, T, r // 2, 2)
        x0, x1 = pairs[..., 0], pairs[..., 1]  # (B, H, T, r/2)
        out = np.empty_like(x)
        rot = out[..., :r].reshape(B, H, T, r // 2, 2)  # a view: writing it fills out
        rot[..., 0] = x0 * cos - x1 * sin
        rot[..., 1] = x0 * sin + x1 * cos
        out[..., r:] = x[..., r:]
        return out

    def scores(self, q: Array, keys: Array) -> Array:
        out: Array = q @ keys.swapaxes(-1, -2)
        return out

    def softmax(self, att: Array, scale: float) -> Array:
        scaled = att * np.float32(scale)
        e = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
        out: Array = e / e.sum(axis=-1, keepdims=True)
        return out

    def weighted_values(self, att: Array, values: Array) -> Array:
        out: Array = att @ values
        return out

    def swiglu(self, gate: Array, up: Array) -> Array:
        """silu(gate) * up: the gate decides how much of each hidden unit passes."""
        with np.errstate(over="ignore"):  # exp(-gate) overflows to inf for gate < -88: silu is then -0, as it should be
            out: Array = (gate / (1.0 + np.exp(-gate)) * up).astype(np.float32, copy=False)
        return out


FLOAT32 = Float32Ops()


def rms_norm(x: Array, weight: Array, eps: float) -> Array:
    return FLOAT32.rms_norm(x, weight, eps)


# --------------------------------------------------------------------------- KV cache


@dataclass
class KVCache:
    """Keys and values of every position seen so far, preallocated for ``max_len`` tokens."""

    k: Array  # (n_layer, B, nkv, max_len, hs)
    v: Array  # (n_layer, B, nkv, max_len, hs)
    length: int = 0  # positions filled
    tokens: list[int] = field(default_factory=list)  # the ids that filled them (batch row 0)

    @classmethod
    def allocate(cls, cfg: LlamaConfig, max_len: int, batch: int = 1) -> KVCache:
        shape = (cfg.n_layer, batch, cfg.n_kv_head, max_len, cfg.head_dim)
        return cls(np.zeros(shape, np.float32), np.zeros(shape, np.float32))

    @property
    def max_len(self) -> int:
        return int(self.k.shape[3])

    def truncate(self, length: int) -> None:
        """Forget positions from ``length`` on, so a shared prefix is not computed twice."""
        self.length = min(self.length, length)
        del self.tokens[self.length :]


# --------------------------------------------------------------------------- attention


def attention(
    x: Array,
    lw: LayerWeights,
    cfg: LlamaConfig,
    cache: KVCache,
    layer: int,
    rope: tuple[Array, Array],
    ops: Ops,
    hook: AttentionHook | None,
) -> Array:
    """Grouped-query causal self-attention of the T new tokens over all S cached ones."""
    B, T, _ = x.shape  # (B, T, C)
    nh, nkv, hs = cfg.n_head, cfg.n_kv_head, cfg.head_dim
    g = nh // nkv
    qkv = linear(x, lw.wqkv)  # (B, T, (nh + 2 nkv) hs)
    q = qkv[..., : nh * hs].reshape(B, T, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, T, hs)
    k = qkv[..., nh * hs : (nh + nkv) * hs].reshape(B, T, nkv, hs).transpose(0, 2, 1, 3)  # (B, nkv, T, hs)
    v = qkv[..., (nh + nkv) * hs :].reshape(B, T, nkv, hs).transpose(0, 2, 1, 3)  # (B, nkv, T, hs)
    q, k = ops.apply_rope(q, *rope), ops.apply_rope(k, *rope)

    start = cache.length
    S = start + T
    cache.k[layer, :, :, start:S] = k
    cache.v[layer, :, :, start:S] = v
    keys = cache.k[layer, :, :, :S]  # (B, nkv, S, hs)
    values = cache.v[layer, :, :, :S]  # (B, nkv, S, hs)

    # each group of g query heads shares one key/value head: broadcast over the group axis
    qg = q.reshape(B, nkv, g, T, hs)  # (B, nkv, g, T, hs)
    att = ops.scores(qg, keys[:, :, None])  # (B, nkv, g, T, S)
    # causal mask: new token i sits at position start+i and may only see positions <= start+i
    future = np.arange(S)[None, :] > (start + np.arange(T))[:, None]  # (T, S)
    att = np.where(future, np.float32(-np.inf), att)
    att = ops.softmax(att, 1.0 / np.sqrt(hs))  # (B, nkv, g, T, S), rows sum to 1
    if hook is not None:
        hook(layer, att.reshape(B, nh, T, S))
    y = ops.weighted_values(att, values[:, :, None])  # (B, nkv, g, T, hs)
    y = y.reshape(B, nh, T, hs).transpose(0, 2, 1, 3).reshape(B, T, nh * hs)  # (B, T, nh*hs)
    return linear(y, lw.wo)  # (B, T, C)


# --------------------------------------------------------------------------- feed-forward (SwiGLU)


def mlp(x: Array, lw: LayerWeights, cfg: LlamaConfig, ops: Ops) -> Array:
    """down(silu(gate(x)) * up(x)): the gate decides how much of each hidden unit passes."""
    gu = linear(x, lw.w_gate_up)  # (B, T, 2F)
    gate, up = gu[..., : cfg.ffn_dim], gu[..., cfg.ffn_dim :]  # (B, T, F) each
    return linear(ops.swiglu(gate, up), lw.w_down)  # (B, T, C)


# --------------------------------------------------------------------------- block


def block(
    x: Array,
    lw: LayerWeights,
    cfg: LlamaConfig,
    cache: KVCache,
    layer: int,
    rope: tuple[Array, Array],
    ops: Ops,
    hook: AttentionHook | None,
) -> Array:
    x = x + attention(ops.rms_norm(x, lw.attn_norm, cfg.norm_eps), lw, cfg, cache, layer, rope, ops, hook)
    return x + mlp(ops.rms_norm(x, lw.ffn_norm, cfg.norm_eps), lw, cfg, ops)  # (B, T, C)


# --------------------------------------------------------------------------- model


class Llama:
    """The whole model: embedding, blocks, final norm, output projection."""

    def __init__(self, config: LlamaConfig, weights: LlamaWeights, ops: Ops = FLOAT32) -> None:
        self.config = config
        self.weights = weights
        self.ops = ops

    def new_cache(self, max_len: int, batch: int = 1) -> KVCache:
        return KVCache.allocate(self.config, max_len, batch)

    def embed(self, tokens: npt.NDArray[np.int64]) -> Array:
        return self.weights.token_embd[tokens]  # (B, T) ids -> (B, T, C) rows of the table

    def forward(
        self,
        tokens: Sequence[int] | npt.NDArray[np.int64],
        cache: KVCache,
        *,
        last_only: bool = False,
        attention_hook: AttentionHook | None = None,
    ) -> Array:
        """Run new tokens through the model after what ``cache`` already holds.

        ``tokens`` is (T,) or (B, T). Returns logits (B, T, V), or (B, 1, V) with
        ``last_only`` (a prompt only needs the logits of its last position).
        ``attention_hook`` receives each layer's attention probabilities.
        """
        cfg, ops = self.config, self.ops
        idx = np.asarray(tokens, dtype=np.int64)
        if idx.ndim == 1:
            idx = idx[None, :]
        T = idx.shape[1]  # idx is (B, T)
        if cache.length + T > cache.max_len:
            raise ValueError(f"{cache.length + T} tokens do not fit a cache of {cache.max_len}")
        if idx.size and (idx.min() < 0 or idx.max() >= cfg.vocab_size):
            raise ValueError(f"token id out of range for a vocabulary of {cfg.vocab_size}")
        positions = np.arange(cache.length, cache.length + T, dtype=np.int64)
        rope = ops.rope_tables(cfg.rope_dim, cfg.rope_base, cfg.rope_scale, positions, self.weights.rope_freq_factors)

        x = self.embed(idx)  # (B, T, C)
        for layer, lw in enumerate(self.weights.layers):
            x = block(x, lw, cfg, cache, layer, rope, ops, attention_hook)
        cache.length += T
        cache.tokens.extend(int(t) for t in idx[0])

        if last_only:
            x = x[:, -1:, :]  # (B, 1, C)
        x = ops.rms_norm(x, self.weights.output_norm, cfg.norm_eps)
        return linear(x, self.weights.output)  # (B, T, V)

    def greedy(self, prompt: Sequence[int], max_new: int, stop_ids: Collection[int] = ()) -> list[int]:
        """The most likely continuation, token by token: what tests and evals compare against llama.cpp."""
        cache = self.new_cache(len(prompt) + max_new)
        logits = self.forward(prompt, cache, last_only=True)[0, -1]
        out: list[int] = []
        while len(out) < max_new:
            out.append(int(np.argmax(logits)))
            if out[-1] in stop_ids:
                return out[:-1]
            if len(out) < max_new:
                logits = self.forward(out[-1:], cache)[0, -1]
        return out


# --------------------------------------------------------------------------- sampler


@dataclass(frozen=True)
class SamplerSettings:
    temperature: float = 0.8  # 0 means greedy: always the most likely token
    top_k: int = 40  # keep the k most likely tokens (0: all)
    top_p: float = 0.95  # keep the smallest set whose probability reaches p (1: all)
    min_p: float = 0.05  # drop tokens less likely than min_p times the best one (0: none)
    repeat_penalty: float = 1.0  # > 1 makes tokens seen in the last repeat_last_n less likely
    repeat_last_n: int = 64  # how far back the repetition penalty looks


class Sampler:
    """Turns a row of logits into one token id; deterministic for a given seed."""

    def __init__(self, settings: SamplerSettings, seed: int | None = None) -> None:
        self.settings = settings
        self.rng = np.random.default_rng(seed)

    def penalize(self, logits: Array, history: Sequence[int]) -> Array:
        """llama.cpp's rule: divide positive logits by the penalty, multiply negative ones."""
        s = self.settings
        if s.repeat_penalty == 1.0 or not history or s.repeat_last_n == 0:
            return logits
        seen = np.unique(np.asarray(history[-s.repeat_last_n :], dtype=np.int64))
        out = logits.copy()
        vals = out[seen]
        out[seen] = np.where(vals > 0, vals / s.repeat_penalty, vals * s.repeat_penalty)
        return out

    def probabilities(self, logits: Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Candidate ids and their renormalised probabilities after top-k, top-p and min-p."""
        s = self.settings
        order = np.argsort(-logits, kind="stable")
        if s.top_k > 0:
            order = order[: s.top_k]
        z = logits[order].astype(np.float64) / max(s.temperature, 1e-6)
        p = np.exp(z - z[0])
        p /= p.sum()
        if s.top_p < 1.0:
            keep = int(np.searchsorted(np.cumsum(p), s.top_p)) + 1
            order, p = order[:keep], p[:keep]
        if s.min_p > 0.0:
            keep_mask = p >= s.min_p * p[0]
            order, p = order[keep_mask], p[keep_mask]
        return order, p / p.sum()

    def sample(self, logits: Array, history: Sequence[int] = ()) -> int:
        logits = self.penalize(logits, history)
        if self.settings.temperature <= 0.0:
            return int(np.argmax(logits))
        ids, p = self.probabilities(logits)
        return int(ids[self.rng.choice(len(ids), p=p)])


def softmax(logits: Array) -> Array:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    p: Array = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return p
