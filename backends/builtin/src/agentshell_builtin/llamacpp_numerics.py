"""The arithmetic of llama.cpp's CPU backend, reproduced in numpy for quantized files.

Why this exists. llama.cpp never multiplies a quantized weight by a float32
activation. Before each product it rounds the activation row to the weight
type's ``vec_dot_type`` (ggml-cpu.c, ``type_traits_cpu``), then takes integer
dot products block by block:

* Q4_1, Q5_1 weights: Q8_1, blocks of 32 with ``d = amax/127`` stored as fp16,
  ``q = round_half_even(x * 127/amax)`` and ``s = fp16(d * Σq)``
  (``quantize_row_q8_1``, arch/x86/quants.c, the AVX path this build takes);
* Q8_0, Q4_0, Q5_0: Q8_0, the same blocks without ``s``;
* K-quants: Q8_K, blocks of 256, float32 scale, ``q = round(-127/max * x)``
  with ``max`` the signed element of largest magnitude (``quantize_row_q8_K_ref``);
* F16 and BF16: the activation rounded to that type.

Rounding to 8 bits is discontinuous: an activation that lands within one float32
ulp of a rounding boundary goes one way or the other depending on the last bit
of every operation before it, and a single step of 1/254 of the block's largest
value then spreads through every later layer and, through the KV cache, every
later position. Emulating only the rounding (x_q @ W in float32) makes each
product agree with llama.cpp to 1e-6, yet SmolLM2 Q4_1's logits still differed
by up to 1.5 with 97% top-1 agreement, exactly as without it. So for Q4_1,
Q5_1, Q5_0 and Q8_0 this module reproduces *every* operation bit for bit, in ggml's order:

* ``ggml_vec_dot_q4_1_q8_1`` (``_q5_1_q8_1``, ``_q5_0_q8_0``, ``_q8_0_q8_0`` and llamafile's
  tinyBLAS_Q0 for prompts: the same order): 8 lanes of 4 integer products per block, each
  lane accumulated over blocks with fused multiply-adds, then ``hsum_float_8``,
  plus the minimums' sum ``Σ m_w s``;
* RMSNorm with a float64 sum of squares; rope with libm's ``sinf``/``cosf`` and
  ggml's repeated ``theta *= theta_scale``, rotated with fused multiply-adds;
* attention scores as ``ggml_vec_dot_f32`` (4×16 lanes), the softmax with
  ``ggml_v_expf``'s polynomial and float64 block sums, the weighted sum of
  values as llamafile's tinyBLAS (prefill) or ``ggml_vec_dot_f32`` (decode);
* SwiGLU with ``ggml_v_silu``.

A fused multiply-add ``a*b + c`` is computed in float64 and rounded once: the
product of two float32 is exact in float64, so the only difference from the
hardware instruction would be a double rounding, which needs an inexact float64
sum that also lands on a float32 tie.

Other quantized types take other kernels (repacked 8x8 GEMMs for Q4_0 and
Q4_K, ``ggml_vec_dot_q6_K_q8_K``...): for them only the activation rounding is
reproduced (``QuantizedMatrix``), which makes single products agree to float32
summation order but cannot stop the spread described above. The output
projection of every file also uses this cheaper path: logits feed nothing
back, and computing all of a prompt's logits exactly would take minutes.

What is reproduced is the x86 build with AVX2 and AVX-512 (16-lane float
vectors) of the llama.cpp that llama-cpp-python 0.3.36 vendors, read from its
source and checked tensor by tensor (tests/backends/builtin/test_builtin_parity_layers.py).
llama.cpp built for another CPU sums in other orders; there the agreement is
that of the rounding alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
f32, f64 = np.float32, np.float64

# weight type -> the format llama.cpp converts activations to before multiplying (ggml-cpu.c, vec_dot_type)
ACTIVATION_FORMAT = {
    "F32": "f32", "F16": "f16", "BF16": "bf16",
    "Q8_0": "q8_0", "Q4_0": "q8_0", "Q5_0": "q8_0",
    "Q4_1": "q8_1", "Q5_1": "q8_1",
    "Q4_K": "q8_K", "Q5_K": "q8_K", "Q6_K": "q8_K",
}  # fmt: skip


# --------------------------------------------------------------------------- float32 building blocks


def fma(a: Any, b: Any, c: Any) -> Array:
    """``a*b + c`` rounded once to float32, like ``_mm512_fmadd_ps``."""
    with np.errstate(invalid="ignore"):  # inf - inf inside exp of a masked score: a NaN the caller replaces
        out: Array = (np.asarray(a, f64) * b + c).astype(f32)
    return out


def reduce16(v: Array) -> Array:
    """``_mm512_reduce_add_ps`` over the last axis (16 lanes), in GCC's order: halves, quarters, pairs."""
    a = v[..., 8:] + v[..., :8]
    b = a[..., 4:] + a[..., :4]
    c = b[..., :2] + b[..., 2:]
    out: Array = c[..., 0] + c[..., 1]
    return out


def hsum8(v: Array) -> Array:
    """``hsum_float_8`` over the last axis (8 lanes)."""
    a = v[..., 4:] + v[..., :4]
    b = a[..., :2] + a[..., 2:]
    out: Array = b[..., 0] + b[..., 1]
    return out


def _fp16(x: Array) -> Array:
    """Round to the nearest fp16 and back (F16C's ``_cvtss_sh`` rounds half to even, so does numpy)."""
    return x.astype(np.float16).astype(f32)


def _bf16(x: Array) -> Array:
    """Round to bfloat16 and back, half to even, like ``ggml_compute_fp32_to_bf16``."""
    u = np.ascontiguousarray(x, dtype=f32).view(np.uint32)
    rounded = (u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) & np.uint32(0xFFFF0000)
    out: Array = np.where(np.isnan(x), x, rounded.view(f32)).astype(f32, copy=False)
    return out


def _c(hexfloat: str) -> np.float32:
    return f32(float.fromhex(hexfloat))


def v_expf(x: Array) -> Array:
    """``ggml_v_expf`` (AVX512): exp by a degree-5 polynomial and ``scalef``, within 1.5 ulp of expf."""
    r = _c("0x1.8p23")
    z = fma(x, _c("0x1.715476p+0"), r)
    n = z - r  # round(x / ln 2)
    b = fma(-n, _c("0x1.7f7d1cp-20"), fma(-n, _c("0x1.62e4p-1"), x))
    u = b * b
    j = fma(
        fma(fma(_c("0x1.0e4020p-7"), b, _c("0x1.573e2ep-5")), u, fma(_c("0x1.555e66p-3"), b, _c("0x1.fffdb6p-2"))),
        u,
        fma(_c("0x1.ffffecp-1"), b, f32(1.0)),
    )
    with np.errstate(over="ignore", invalid="ignore"):
        res = np.ldexp(j, np.clip(n, -300, 300).astype(np.int32)).astype(f32)
        out: Array = np.where(np.abs(n) > f32(192), np.where(n <= 0, f32(0), f32(np.inf)), res).astype(f32)
    return out


# --------------------------------------------------------------------------- rounding activations


def round_q8_32(x: Array) -> tuple[Array, Array, Array]:
    """Q8_0/Q8_1 blocks of 32 along the last axis: quants q (..., nb, 32), fp16 scale d16 and s16 (..., nb)."""
    xb = x.reshape(*x.shape[:-1], -1, 32)
    amax = np.abs(xb).max(axis=-1, keepdims=True)
    d = amax / f32(127.0)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, f32(127.0) / amax, f32(0.0)).astype(f32)
    q = np.rint(xb * inv)  # _mm256_round_ps(_MM_ROUND_NEAREST): half to even, like np.rint
    return q, _fp16(d[..., 0]), _fp16(d[..., 0] * q.sum(axis=-1, dtype=f32))


def round_q8_k(x: Array) -> Array:
    """Q8_K rounding of the last axis in blocks of 256 (float32 scale), as values d*q."""
    xb = x.reshape(*x.shape[:-1], -1, 256)
    at = np.abs(xb).argmax(axis=-1)[..., None]  # the first element of largest magnitude, as the C loop finds it
    signed_max = np.take_along_axis(xb, at, axis=-1)
    with np.errstate(divide="ignore"):
        iscale = np.where(signed_max != 0, f32(-127.0) / signed_max, f32(0.0)).astype(f32)
        d = np.where(signed_max != 0, f32(1.0) / iscale, f32(0.0)).astype(f32)
    q = np.minimum(np.rint(xb * iscale), f32(127.0))  # nearest_int() rounds half to even too
    out: Array = (q * d).reshape(x.shape)
    return out


def round_activation(x: Array, fmt: str) -> tuple[Array, Array | None]:
    """x as llama.cpp rounds it for a weight whose vec_dot_type is ``fmt``; for q8_1 also s - d·Σq per block."""
    if fmt in ("q8_0", "q8_1"):
        q, d16, s16 = round_q8_32(x)
        xq: Array = (q * d16[..., None]).reshape(x.shape)
        return xq, (s16 - d16 * q.sum(axis=-1, dtype=f32)) if fmt == "q8_1" else None
    if fmt == "q8_K":
        return round_q8_k(x), None
    if fmt == "f16":
        return _fp16(x), None
    if fmt == "bf16":
        return _bf16(x), None
    return x, None


# --------------------------------------------------------------------------- quantized matrices


@dataclass
class QuantizedMatrix:
    """A weight (in, out) dequantized exactly; x is rounded like llama.cpp before ``x @ w``.

    A fused matrix (q, k and v side by side) can join tensors of different types:
    ``parts`` gives the end column and activation format of each run of columns.
    With exact dequantized weights, ``x_q @ W`` equals llama.cpp's integer form
    except for Q8_1's fp16 ``s``, added back as ``(s - d Σq) @ mins``.
    """

    w: Array  # (in, out)
    parts: tuple[tuple[int, str], ...]  # (end column, activation format)
    mins: Array | None = None  # (in/32, out) Q4_1/Q5_1 block minimums, zero in other columns

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.w.shape[0]), int(self.w.shape[1]))

    @property
    def nbytes(self) -> int:
        return int(self.w.nbytes + (0 if self.mins is None else self.mins.nbytes))

    def apply(self, x: Array) -> Array:
        rounded = {fmt: round_activation(x, fmt) for fmt in {fmt for _, fmt in self.parts}}
        if len(self.parts) == 1:
            y: Array = rounded[self.parts[0][1]][0] @ self.w
        else:
            bounds = [0] + [end for end, _ in self.parts]
            pieces = zip(bounds, bounds[1:], self.parts, strict=False)
            y = np.concatenate([rounded[fmt][0] @ self.w[:, a:b] for a, b, (_, fmt) in pieces], axis=-1)
        correction = rounded.get("q8_1", (x, None))[1]
        if correction is not None and self.mins is not None:
            y += correction @ self.mins
        return y


@dataclass
class ScaleMinMatrix:
    """Q4_1/Q5_1/Q5_0/Q8_0 weights as integer quants, multiplied exactly like ``ggml_vec_dot_q4_1_q8_1``.

    ``q`` is (in, out) with the quants as float32 (exact), so that the
    integer products of one lane (4 consecutive inputs of a block) are a small
    batched matrix product; ``d`` and ``m`` are the fp16 scale and minimum of
    each (block, output).
    """

    q: Array  # (in, out) quants: 0..15 (Q4_1), 0..31 (Q5_1), -16..15 (Q5_0), -128..127 (Q8_0)
    d: Array  # (in/32, out)
    m: Array  # (in/32, out), 0 for Q5_0/Q8_0: adding m*s = 0 leaves ggml's sum as it is

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.q.shape[0]), int(self.q.shape[1]))

    @property
    def nbytes(self) -> int:
        return int(self.q.nbytes + self.d.nbytes + self.m.nbytes)

    def apply(self, x: Array) -> Array:
        lead, n_in = x.shape[:-1], x.shape[-1]
        x2 = x.reshape(-1, n_in)  # (N, in)
        out = np.empty((x2.shape[0], self.q.shape[1]), f32)
        step = max(1, 1_000_000 // (self.q.shape[1] * n_in // 4))  # rows per pass: ~8 MB of lane products
        for i in range(0, x2.shape[0], step):
            out[i : i + step] = self._rows(x2[i : i + step])
        return out.reshape(*lead, -1)

    def _rows(self, x: Array) -> Array:
        N = x.shape[0]
        nb, n_out = self.d.shape
        qa, da, sa = round_q8_32(x)  # (N, nb, 32), (N, nb), (N, nb)
        lanes = np.ascontiguousarray(qa.reshape(N, nb * 8, 4).transpose(1, 0, 2))  # (nb*8, N, 4): lane k of block
        xy = (lanes @ self.q.reshape(nb * 8, 4, n_out)).reshape(nb, 8, N, n_out)  # b sums inputs 4k..4k+3: exact
        d0d1 = da.T[:, :, None].astype(f64) * self.d[:, None, :]  # (nb, N, out): fp16 x fp16, exact
        tmp = np.empty((8, N, n_out), f64)
        np.multiply(xy[0], d0d1[0], out=tmp)  # d_w d_a Σq_w q_a: exact in float64
        acc = tmp.astype(f32)
        for b in range(1, nb):  # acc = fma(d0d1, xy, acc), block after block, rounded to float32 each time
            np.multiply(xy[b], d0d1[b], out=tmp)
            tmp += acc
            acc[...] = tmp
        summs = (sa.T[:, :, None] * self.m[:, None, :]).sum(axis=0)  # Σ m s: exact products, summed in block order
        out: Array = hsum8(acc.transpose(1, 2, 0)) + summs
        return out


Matrix = Array | QuantizedMatrix | ScaleMinMatrix


def fuse(matrices: list[tuple[Array, str, Array | None]]) -> QuantizedMatrix:
    """Join (in, out_i) dequantized weights side by side, each with its type and optional block minimums."""
    w = np.ascontiguousarray(np.concatenate([m for m, _, _ in matrices], axis=1))
    parts: list[tuple[int, str]] = []
    end = 0
    for m, wtype, _ in matrices:
        end += m.shape[1]
        fmt = ACTIVATION_FORMAT[wtype]
        if parts and parts[-1][1] == fmt:
            parts[-1] = (end, fmt)
        else:
            parts.append((end, fmt))
    mins = None
    if any(mn is not None for _, _, mn in matrices):
        nb = w.shape[0] // 32
        mins = np.ascontiguousarray(
            np.concatenate([np.zeros((nb, m.shape[1]), f32) if mn is None else mn for m, _, mn in matrices], axis=1)
        )
    return QuantizedMatrix(w, tuple(parts), mins)


def scale_min_matrix(tensors: list[tuple[npt.NDArray[np.uint8], str]]) -> ScaleMinMatrix:
    """Q4_1/Q5_1/Q5_0/Q8_0 tensors (raw rows of blocks, type name) side by side.

    A Q4_1/Q5_1 block is fp16 d, fp16 m, for Q5_1 32 high bits, then 16 bytes of
    nibbles: input j < 16 is the low nibble of byte j, input j + 16 its high
    nibble. Q5_0 is Q5_1 without m, its quants offset by -16. A Q8_0 block is
    fp16 d and 32 signed bytes.
    """
    qs, ds, ms = [], [], []
    for raw, wtype in tensors:
        if wtype == "Q8_0":
            blocks = np.ascontiguousarray(raw).reshape(raw.shape[0], -1, 34)
            ds.append(blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(f32).T)
            ms.append(np.zeros_like(ds[-1]))
            qs.append(blocks[..., 2:].copy().view(np.int8).reshape(raw.shape[0], -1).T.astype(f32))
            continue
        size, high_at = {"Q4_1": (20, None), "Q5_1": (24, 4), "Q5_0": (22, 2)}[wtype]
        blocks = np.ascontiguousarray(raw).reshape(raw.shape[0], -1, size)  # (out, nb, bytes)
        ds.append(blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(f32).T)
        if wtype == "Q5_0":
            ms.append(np.zeros_like(ds[-1]))
        else:
            ms.append(blocks[..., 2:4].copy().view(np.float16)[..., 0].astype(f32).T)
        nib = blocks[..., size - 16 :]
        q = np.concatenate([nib & 15, nib >> 4], axis=-1).astype(np.int16)  # (out, nb, 32)
        if high_at is not None:
            high = blocks[..., high_at : high_at + 4].copy().view("<u4")  # (out, nb, 1): bit j = input j's fifth bit
            q |= (((high >> np.arange(32, dtype=np.uint32)) & 1) << 4).astype(np.int16)
        if wtype == "Q5_0":
            q -= 16
        qs.append(q.reshape(raw.shape[0], -1).T.astype(f32))
    return ScaleMinMatrix(
        np.ascontiguousarray(np.concatenate(qs, axis=1)),
        np.ascontiguousarray(np.concatenate(ds, axis=1)),
        np.ascontiguousarray(np.concatenate(ms, axis=1)),
    )


# --------------------------------------------------------------------------- the other operations


_libm: Any = None


def _libm_f(name: str) -> Any:
    """libm's float function ``name`` (sinf, cosf, powf): ggml calls them, numpy's own differ by an ulp."""
    global _libm
    if _libm is None:
        _libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        for fn, nargs in (("sinf", 1), ("cosf", 1), ("powf", 2)):
            getattr(_libm, fn).restype = ctypes.c_float
            getattr(_libm, fn).argtypes = [ctypes.c_float] * nargs
    return getattr(_libm, name)


class LlamaCppOps:
    """RMSNorm, rope, attention and SwiGLU in the order and precision of ggml's CPU kernels."""

    name = "llama.cpp"

    def rms_norm(self, x: Array, weight: Array, eps: float) -> Array:
        ss = np.square(x).astype(f64).sum(axis=-1, keepdims=True)  # ggml_float sum of float squares
        mean = (ss / x.shape[-1]).astype(f32)
        out: Array = (x * (f32(1.0) / np.sqrt(mean + f32(eps)))) * weight
        return out

    def rope_tables(self, rope_dim: int, base: float, scale: float, positions: npt.NDArray[np.int64],
                    freq_factors: Array | None) -> tuple[Array, Array]:  # fmt: skip
        theta_scale = f32(_libm_f("powf")(f32(base), f32(-2.0) / f32(rope_dim)))
        theta = positions.astype(f32)
        cols = []
        for _ in range(rope_dim // 2):  # ggml_rope_cache_init: theta *= theta_scale, pair after pair
            cols.append(theta)
            theta = theta * theta_scale
        angles = np.stack(cols, axis=-1)  # (T, rope_dim/2)
        if freq_factors is not None:
            angles = angles / freq_factors
        angles = f32(scale) * angles  # rope_yarn: freq_scale * theta_extrap
        sinf, cosf = np.frompyfunc(_libm_f("sinf"), 1, 1), np.frompyfunc(_libm_f("cosf"), 1, 1)
        return cosf(angles).astype(f32), sinf(angles).astype(f32)

    def apply_rope(self, x: Array, cos: Array, sin: Array) -> Array:
        r = cos.shape[-1] * 2
        x0, x1 = x[..., 0:r:2], x[..., 1:r:2]
        out = np.empty_like(x)
        out[..., 0:r:2] = fma(x0, cos, -(x1 * sin))  # how GCC contracts x0*cos - x1*sin
        out[..., 1:r:2] = fma(x0, sin, x1 * cos)
        out[..., r:] = x[..., r:]
        return out

    def scores(self, q: Array, keys: Array) -> Array:
        """q·k as ``ggml_vec_dot_f32``: 4 accumulators of 16 lanes per 64 dims, then a fixed tree."""
        hs = q.shape[-1]
        if hs % 64:
            return q @ keys.swapaxes(-1, -2)
        rows = []
        for t in range(0, q.shape[-2], 16):  # bounds the (.., 16, S, hs) product buffer
            rows.append(_vec_dot_f32(q[..., t : t + 16, None, :], keys[..., None, :, :]))
        return np.concatenate(rows, axis=-2)

    def softmax(self, att: Array, scale: float) -> Array:
        """``ggml_soft_max``: scaled, ``ggml_v_expf``, float64 sum of 16-lane block sums, one reciprocal."""
        S = att.shape[-1]
        w = np.full((*att.shape[:-1], S + -S % 16), -np.inf, f32)  # masked tail up to whole 16-lane blocks
        np.multiply(att, f32(scale), out=w[..., :S])
        e = v_expf(w - w.max(axis=-1, keepdims=True))
        blocks = reduce16(e.reshape(*e.shape[:-1], -1, 16)).astype(f64)
        total = np.zeros(blocks.shape[:-1], f64)
        for i in range(blocks.shape[-1]):
            total += blocks[..., i]
        out: Array = (e * (1.0 / total).astype(f32)[..., None])[..., :S]
        return out

    def weighted_values(self, att: Array, values: Array) -> Array:
        """att @ values: tinyBLAS (16 lanes over positions) for a prompt, ``ggml_vec_dot_f32`` for one token."""
        S = att.shape[-1]
        S64 = S + -S % 64  # zero weights up to whole 64-wide steps: they add nothing, lanes stay aligned
        a = np.zeros((*att.shape[:-1], 1, S64), f32)  # (..., T, 1, S')
        a[..., 0, :S] = att
        v = np.zeros((*values.shape[:-2], 1, values.shape[-1], S64), f32)  # (..., 1, hs, S')
        v[..., 0, :, :S] = values.swapaxes(-1, -2)
        if att.shape[-2] == 1:
            return _vec_dot_f32(a, v)  # (..., 1, hs)
        acc = np.zeros((*np.broadcast_shapes(a.shape[:-1], v.shape[:-1]), 16), f32)
        for k in range(0, S64, 16):
            acc = fma(a[..., k : k + 16], v[..., k : k + 16], acc)
        return reduce16(acc)

    def swiglu(self, gate: Array, up: Array) -> Array:
        with np.errstate(over="ignore"):
            out: Array = (gate / (f32(1.0) + v_expf(f32(0.0) - gate))) * up
        return out


def _vec_dot_f32(x: Array, y: Array) -> Array:
    """``ggml_vec_dot_f32`` (AVX512) over the last axis, a multiple of 64, broadcasting x against y."""
    n = x.shape[-1]
    acc: Array | None = None
    for i in range(0, n, 64):
        xs = x[..., i : i + 64].reshape(*x.shape[:-1], 4, 16)
        ys = y[..., i : i + 64].reshape(*y.shape[:-1], 4, 16)
        acc = (xs * ys) if acc is None else fma(xs, ys, acc)
    assert acc is not None
    a = acc[..., :2, :] + acc[..., 2:, :]
    return reduce16(a[..., 0, :] + a[..., 1, :])
