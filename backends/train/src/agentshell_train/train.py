"""Training the built-in Llama in numpy: forward with caches, the backward pass by hand, AdamW.

The model is the one ``agentshell_builtin/model.py`` runs and llama.cpp loads: token embedding →
N × (RMSNorm → causal grouped-query attention with rotary positions → residual →
RMSNorm → SwiGLU → residual) → RMSNorm → logits through the (tied) embedding.
Parameters live in a dict keyed by their GGUF tensor names, with weights shaped
(out, in) as GGUF and PyTorch store them, so export writes them as they are.

RoPE rotates adjacent pairs (2i, 2i+1), which is llama.cpp's "normal" rope for the
llama architecture, so exported Q/K weights need no permutation.

Sections: config → parameters → layer forward/backward → loss → optimizer → loop → checkpoints. The
training rows (packing, copy emphasis) are built in ``rows.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentshell_train.optim import AdamW, lr_at
from agentshell_train.rows import Rows

Array = NDArray[Any]
Params = dict[str, Array]

# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 1536  # byte-level BPE vocabulary, specials included
    dim: int = 192  # residual stream width
    n_layers: int = 4
    n_heads: int = 6  # query heads; head_dim = dim / n_heads
    n_kv_heads: int = 2  # key/value heads shared by groups of query heads (GQA)
    ffn_dim: int = 512  # SwiGLU hidden width
    context: int = 512  # longest sequence the exported model accepts
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    tied: bool = True  # output projection = token embedding

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


@dataclass(frozen=True)
class TrainConfig:
    seq_len: int = 256  # tokens per training row
    long_seq_len: int = 0  # tokens per row of the final long-context phase (0: no such phase)
    long_steps: int = 0  # the last steps that train on long rows: whole multi-request conversations
    long_batch_size: int = 2
    batch_size: int = 8  # rows per micro-batch
    accum: int = 1  # micro-batches per optimizer step
    steps: int = 2000
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup: int = 100
    weight_decay: float = 0.1  # on weight matrices only: not on norm gains, not on the token embedding
    beta1: float = 0.9
    beta2: float = 0.98
    clip: float = 1.0  # global gradient-norm clip
    eval_every: int = 100
    eval_rows: int = 64
    seed: int = 0


CONFIGS: dict[str, tuple[ModelConfig, TrainConfig]] = {
    "tiny": (ModelConfig(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, ffn_dim=384), TrainConfig(steps=1500)),
    "small": (ModelConfig(dim=192, n_layers=4, n_heads=6, n_kv_heads=3, ffn_dim=512), TrainConfig(steps=3000, lr=2e-3)),
}

# ----------------------------------------------------------------------------- parameters


def init_params(cfg: ModelConfig, seed: int, dtype: Any = np.float32) -> Params:
    """Normal(0, 0.02) weights; residual output projections scaled down by sqrt(2 × layers), as in GPT-2."""
    rng = np.random.default_rng(seed)
    d, hd = cfg.dim, cfg.head_dim
    out_std = 0.02 / math.sqrt(2 * cfg.n_layers)

    def w(shape: tuple[int, ...], std: float = 0.02) -> Array:
        return (rng.standard_normal(shape) * std).astype(dtype)

    p: Params = {"token_embd.weight": w((cfg.vocab_size, d))}
    for i in range(cfg.n_layers):
        b = f"blk.{i}."
        p[b + "attn_norm.weight"] = np.ones(d, dtype)
        p[b + "attn_q.weight"] = w((cfg.n_heads * hd, d))
        p[b + "attn_k.weight"] = w((cfg.n_kv_heads * hd, d))
        p[b + "attn_v.weight"] = w((cfg.n_kv_heads * hd, d))
        p[b + "attn_output.weight"] = w((d, cfg.n_heads * hd), out_std)
        p[b + "ffn_norm.weight"] = np.ones(d, dtype)
        p[b + "ffn_gate.weight"] = w((cfg.ffn_dim, d))
        p[b + "ffn_up.weight"] = w((cfg.ffn_dim, d))
        p[b + "ffn_down.weight"] = w((d, cfg.ffn_dim), out_std)
    p["output_norm.weight"] = np.ones(d, dtype)
    if not cfg.tied:
        p["output.weight"] = w((cfg.vocab_size, d))
    return p


def count_params(params: Params) -> int:
    return sum(int(v.size) for v in params.values())


# ----------------------------------------------------------------------------- layers


def rmsnorm(x: Array, g: Array, eps: float) -> tuple[Array, Array]:
    r = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)  # (N, 1)
    return x * r * g, r


def rmsnorm_backward(dy: Array, x: Array, r: Array, g: Array) -> tuple[Array, Array]:
    dg = np.sum(dy * x * r, axis=0)
    dn = dy * g
    dx = r * dn - x * (r**3) * np.mean(dn * x, axis=-1, keepdims=True)
    return dx, dg


def rope_tables(cfg: ModelConfig, T: int, dtype: Any) -> tuple[Array, Array]:
    inv = cfg.rope_base ** (-np.arange(0, cfg.head_dim, 2, dtype=np.float64) / cfg.head_dim)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]  # (T, hd/2)
    return np.cos(ang).astype(dtype), np.sin(ang).astype(dtype)


def rope(x: Array, cos: Array, sin: Array, inverse: bool = False) -> Array:
    """Rotate pairs (2i, 2i+1) of the last axis; ``inverse`` applies the transpose (the backward pass)."""
    s = -sin if inverse else sin
    xe, xo = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = xe * cos - xo * s
    out[..., 1::2] = xe * s + xo * cos
    return out


def attention_mask(doc: Array) -> Array:
    """Additive mask (B, 1, T, T): causal, and a position sees only tokens of its own packed document."""
    T = doc.shape[1]
    causal = np.tril(np.ones((T, T), dtype=bool))
    same = doc[:, :, None] == doc[:, None, :]
    return np.where(causal[None] & same, 0.0, -1e9)[:, None].astype(np.float32)


def _silu_parts(a: Array) -> tuple[Array, Array]:
    sig = 1.0 / (1.0 + np.exp(-a))
    return a * sig, sig


def block_forward(
    p: Params, i: int, cfg: ModelConfig, x: Array, B: int, T: int, mask: Array, cos: Array, sin: Array
) -> tuple[Array, dict[str, Array]]:
    """One transformer block on x (B*T, d); returns the output and what the backward pass needs."""
    b = f"blk.{i}."
    H, KV, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    g = H // KV
    h, r1 = rmsnorm(x, p[b + "attn_norm.weight"], cfg.norm_eps)
    q = (h @ p[b + "attn_q.weight"].T).reshape(B, T, H, hd).transpose(0, 2, 1, 3)  # (B, H, T, hd)
    k = (h @ p[b + "attn_k.weight"].T).reshape(B, T, KV, hd).transpose(0, 2, 1, 3)  # (B, KV, T, hd)
    v = (h @ p[b + "attn_v.weight"].T).reshape(B, T, KV, hd).transpose(0, 2, 1, 3)
    # query head j reads key/value head j // g (as llama.cpp does): fold each group's g heads into one
    # longer query axis, so no copy of k and v is made and the batched products are g times larger
    q = rope(q, cos, sin) * (1.0 / math.sqrt(hd))
    k = rope(k, cos, sin)
    s = (q.reshape(B, KV, g * T, hd) @ k.transpose(0, 1, 3, 2)).reshape(B, KV, g, T, T)
    s += mask[:, :, None]  # mask (B, 1, T, T) → (B, 1, 1, T, T)
    s -= s.max(axis=-1, keepdims=True)
    P = np.exp(s, out=s)
    P *= 1.0 / P.sum(axis=-1, keepdims=True)
    y = (P.reshape(B, KV, g * T, T) @ v).reshape(B, H, T, hd).transpose(0, 2, 1, 3).reshape(B * T, H * hd)
    x2 = x + y @ p[b + "attn_output.weight"].T
    h2, r2 = rmsnorm(x2, p[b + "ffn_norm.weight"], cfg.norm_eps)
    a = h2 @ p[b + "ffn_gate.weight"].T  # (B*T, F)
    u = h2 @ p[b + "ffn_up.weight"].T
    act, sig = _silu_parts(a)
    m = act * u
    out = x2 + m @ p[b + "ffn_down.weight"].T
    cache = {
        "x": x,
        "r1": r1,
        "h": h,
        "q": q,
        "k": k,
        "v": v,
        "P": P,
        "y": y,
        "x2": x2,
        "r2": r2,
        "h2": h2,
        "a": a,
        "u": u,
        "act": act,
        "sig": sig,
        "m": m,
    }
    return out, cache


def block_backward(
    p: Params,
    i: int,
    cfg: ModelConfig,
    dout: Array,
    c: dict[str, Array],
    B: int,
    T: int,
    cos: Array,
    sin: Array,
    grads: Params,
) -> Array:
    b = f"blk.{i}."
    H, KV, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    g = H // KV
    # feed-forward: out = x2 + (silu(a) * u) @ Wd.T
    grads[b + "ffn_down.weight"] = dout.T @ c["m"]
    dm = dout @ p[b + "ffn_down.weight"]
    du = dm * c["act"]
    da = dm * c["u"] * c["sig"] * (1.0 + c["a"] * (1.0 - c["sig"]))
    grads[b + "ffn_gate.weight"] = da.T @ c["h2"]
    grads[b + "ffn_up.weight"] = du.T @ c["h2"]
    dh2 = da @ p[b + "ffn_gate.weight"] + du @ p[b + "ffn_up.weight"]
    dx2, grads[b + "ffn_norm.weight"] = rmsnorm_backward(dh2, c["x2"], c["r2"], p[b + "ffn_norm.weight"])
    dx2 += dout
    # attention: x2 = x + y @ Wo.T
    grads[b + "attn_output.weight"] = dx2.T @ c["y"]
    dy = (dx2 @ p[b + "attn_output.weight"]).reshape(B, T, H, hd).transpose(0, 2, 1, 3)  # (B, H, T, hd)
    P = c["P"].reshape(B, KV, g * T, T)
    dyg = dy.reshape(B, KV, g * T, hd)
    ds = dyg @ c["v"].transpose(0, 1, 3, 2)  # dP (B, KV, g*T, T)
    dv = P.transpose(0, 1, 3, 2) @ dyg  # (B, KV, T, hd): the g heads of a group sum here
    ds *= P
    ds -= P * ds.sum(axis=-1, keepdims=True)  # softmax backward: P * (dP - sum(dP * P))
    dq = (ds @ c["k"]).reshape(B, H, T, hd) * (1.0 / math.sqrt(hd))
    dk = ds.transpose(0, 1, 3, 2) @ c["q"].reshape(B, KV, g * T, hd)  # q was stored scaled
    dq, dk = rope(dq, cos, sin, inverse=True), rope(dk, cos, sin, inverse=True)
    dq = dq.transpose(0, 2, 1, 3).reshape(B * T, H * hd)
    dk = dk.transpose(0, 2, 1, 3).reshape(B * T, KV * hd)
    dv = dv.transpose(0, 2, 1, 3).reshape(B * T, KV * hd)
    h = c["h"]
    grads[b + "attn_q.weight"] = dq.T @ h
    grads[b + "attn_k.weight"] = dk.T @ h
    grads[b + "attn_v.weight"] = dv.T @ h
    dh = dq @ p[b + "attn_q.weight"] + dk @ p[b + "attn_k.weight"] + dv @ p[b + "attn_v.weight"]
    dx, grads[b + "attn_norm.weight"] = rmsnorm_backward(dh, c["x"], c["r1"], p[b + "attn_norm.weight"])
    return dx + dx2


# ----------------------------------------------------------------------------- model


def hidden_states(p: Params, cfg: ModelConfig, ids: Array, doc: Array | None = None) -> tuple[Array, list[Any]]:
    B, T = ids.shape
    dtype = p["token_embd.weight"].dtype
    doc = np.zeros((B, T), np.int32) if doc is None else doc
    mask = attention_mask(doc).astype(dtype)
    cos, sin = rope_tables(cfg, T, dtype)
    x = p["token_embd.weight"][ids.reshape(-1)]  # (B*T, d)
    caches = []
    for i in range(cfg.n_layers):
        x, c = block_forward(p, i, cfg, x, B, T, mask, cos, sin)
        caches.append(c)
    hn, r = rmsnorm(x, p["output_norm.weight"], cfg.norm_eps)
    return hn, [caches, x, r, cos, sin]


def logits(p: Params, cfg: ModelConfig, ids: Array) -> Array:
    """Logits (B, T, V) for every position: what the tests compare with llama.cpp and the engine."""
    hn, _ = hidden_states(p, cfg, ids)
    out = p.get("output.weight", p["token_embd.weight"])
    return (hn @ out.T).reshape(*ids.shape, -1)


def loss_and_grads(
    p: Params, cfg: ModelConfig, ids: Array, targets: Array, weights: Array, doc: Array | None = None
) -> tuple[float, Params]:
    """Weighted next-token cross-entropy, sum(w × nll), and its gradient for every parameter.

    Only positions with a non-zero weight reach the output layer, so masked-out
    prompt tokens cost nothing there.
    """
    B, T = ids.shape
    hn, (caches, xf, rf, cos, sin) = hidden_states(p, cfg, ids, doc)
    w = weights.reshape(-1)
    sel = np.flatnonzero(w)
    out_name = "output.weight" if "output.weight" in p else "token_embd.weight"
    W = p[out_name]
    hs = hn[sel]
    z = hs @ W.T  # (n, V)
    z -= z.max(axis=-1, keepdims=True)
    ez = np.exp(z)
    se = ez.sum(axis=-1, keepdims=True)
    tgt = targets.reshape(-1)[sel]
    ws = w[sel].astype(z.dtype)
    nll = np.log(se[:, 0]) - z[np.arange(sel.size), tgt]
    loss = float(np.sum(ws * nll))
    dz = ez / se
    dz[np.arange(sel.size), tgt] -= 1.0
    dz *= ws[:, None]

    grads: Params = {}
    grads[out_name] = dz.T @ hs
    dhn = np.zeros_like(hn)
    dhn[sel] = dz @ W
    dx, grads["output_norm.weight"] = rmsnorm_backward(dhn, xf, rf, p["output_norm.weight"])
    for i in reversed(range(cfg.n_layers)):
        dx = block_backward(p, i, cfg, dx, caches[i], B, T, cos, sin, grads)
    demb = np.zeros_like(p["token_embd.weight"])
    np.add.at(demb, ids.reshape(-1), dx)
    if out_name == "token_embd.weight":
        grads[out_name] += demb
    else:
        grads["token_embd.weight"] = demb
    return loss, grads


# ----------------------------------------------------------------------------- loop


@dataclass
class TrainState:
    step: int = 0
    tokens: int = 0  # trained (weighted) target tokens seen
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)  # {"step", "loss", "eval"?}


@dataclass(frozen=True)
class StepReport:
    step: int
    loss: float
    lr: float
    grad_norm: float
    tokens_per_s: float  # input positions processed per second
    eval_loss: float | None


def _batch_nll(params: Params, cfg: ModelConfig, rows: Rows, idx: Array) -> tuple[float, float]:
    """(sum of weight × nll, sum of weight) over the rows ``idx``: forward only."""
    x, y, w, d = rows.batch(idx)
    hn, _ = hidden_states(params, cfg, x, d)
    out = params.get("output.weight", params["token_embd.weight"])
    flat = w.reshape(-1)
    sel = np.flatnonzero(flat)
    z = hn[sel] @ out.T
    z -= z.max(axis=-1, keepdims=True)
    nll = np.log(np.exp(z).sum(-1)) - z[np.arange(sel.size), y.reshape(-1)[sel]]
    return float(np.sum(flat[sel] * nll)), float(flat[sel].sum())


def eval_loss(
    params: Params, cfg: ModelConfig, rows: Rows, n_rows: int, batch: int, pool: ThreadPoolExecutor | None = None
) -> float:
    """Mean held-out nll per weighted token over the first ``n_rows`` rows, batches spread over ``pool``."""
    n = min(n_rows, len(rows))
    chunks = [np.arange(s, min(s + batch, n)) for s in range(0, n, batch)]
    parts = list(
        pool.map(lambda i: _batch_nll(params, cfg, rows, i), chunks)
        if pool
        else (_batch_nll(params, cfg, rows, i) for i in chunks)
    )
    return sum(t for t, _ in parts) / max(sum(w for _, w in parts), 1e-9)


def sharded_grads(
    params: Params, cfg: ModelConfig, rows: Rows, shards: list[Array], total_w: float, pool: ThreadPoolExecutor | None
) -> tuple[float, Params]:
    """Loss and gradient of the rows of all ``shards`` together, one shard per thread of ``pool``.

    numpy releases the GIL inside its kernels, so threads with one BLAS thread each run the shards in
    parallel; the loss is a sum over tokens, so the shards' gradients add up to the whole batch's. They
    are summed in shard order, so a run is deterministic for a given number of threads.
    """

    def shard(part: Array) -> tuple[float, Params]:
        x, y, w, d = rows.batch(part)
        return loss_and_grads(params, cfg, x, y, w / total_w, d)

    results = list(pool.map(shard, shards)) if pool is not None and len(shards) > 1 else [shard(s) for s in shards]
    loss, grads = results[0]
    for part, g in results[1:]:
        loss += part
        for k, v in g.items():
            grads[k] += v
    return loss, grads


def train(
    params: Params,
    opt: AdamW,
    state: TrainState,
    cfg: ModelConfig,
    t: TrainConfig,
    train_rows: Rows,
    heldout: Rows | None,
    *,
    on_step: Callable[[StepReport], None] | None = None,
    on_checkpoint: Callable[[], None] | None = None,
    checkpoint_every: int = 200,
    should_stop: Callable[[], bool] | None = None,
    threads: int = 1,
    long_rows: Rows | None = None,
) -> TrainState:
    """Run optimizer steps from ``state.step`` up to ``t.steps``; deterministic for (seed, step, threads), so a
    resumed run draws exactly the batches the uninterrupted one would have.

    With ``threads`` > 1 each batch is split across that many threads and BLAS is held to one thread
    each: on small matrices a second BLAS thread gains nothing, and both together would oversubscribe.
    The last ``t.long_steps`` steps draw from ``long_rows``: attention costs grow with the square of the
    row, so most steps are short and only the end teaches the model to work deep in its window.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        with threadpool_limits(1 if pool is not None else None, user_api="blas"):
            _loop(
                params,
                opt,
                state,
                cfg,
                t,
                train_rows,
                long_rows,
                heldout,
                pool,
                threads,
                on_step,
                on_checkpoint,
                checkpoint_every,
                should_stop,
            )
    finally:
        if pool is not None:
            pool.shutdown()
    return state


def _loop(
    params: Params,
    opt: AdamW,
    state: TrainState,
    cfg: ModelConfig,
    t: TrainConfig,
    train_rows: Rows,
    long_rows: Rows | None,
    heldout: Rows | None,
    pool: ThreadPoolExecutor | None,
    threads: int,
    on_step: Callable[[StepReport], None] | None,
    on_checkpoint: Callable[[], None] | None,
    checkpoint_every: int,
    should_stop: Callable[[], bool] | None,
) -> None:
    while state.step < t.steps:
        if should_stop is not None and should_stop():
            break
        t0 = time.perf_counter()
        rng = np.random.default_rng([t.seed, state.step])
        long = long_rows is not None and state.step >= t.steps - t.long_steps
        rows, batch, seq = (
            (long_rows, t.long_batch_size, t.long_seq_len) if long else (train_rows, t.batch_size, t.seq_len)
        )
        assert rows is not None
        idx = rng.integers(0, len(rows), size=(t.accum, batch))
        total_w = float(sum(rows.weight[i, 1:].sum() for i in idx)) or 1.0
        grads: Params = {}
        loss = 0.0
        for micro in idx:
            shards = [s for s in np.array_split(micro, threads) if s.size]
            part, g = sharded_grads(params, cfg, rows, shards, total_w, pool)
            loss += part
            for k, v in g.items():
                if k in grads:
                    grads[k] += v
                else:
                    grads[k] = v
        lr = lr_at(state.step, t)
        norm = opt.step(params, grads, lr, state.step, t)
        dt = time.perf_counter() - t0
        state.step += 1
        state.tokens += int(total_w)
        state.seconds += dt
        ev = None
        if heldout is not None and (state.step % t.eval_every == 0 or state.step == t.steps):
            ev = eval_loss(params, cfg, heldout, t.eval_rows, t.batch_size, pool)
        rec: dict[str, float] = {"step": state.step, "loss": loss}
        if ev is not None:
            rec["eval"] = ev
        state.history.append(rec)
        if on_step is not None:
            on_step(StepReport(state.step, loss, lr, norm, t.accum * batch * seq / dt, ev))
        if on_checkpoint is not None and (state.step % checkpoint_every == 0 or state.step == t.steps):
            on_checkpoint()
