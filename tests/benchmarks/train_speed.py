"""Training speed of the numpy trainer against plain numpy matrix products of the same shapes.

Achieved GFLOP/s counts the usual 6 × parameters × tokens per second (forward 2,
backward 4) for one full optimizer step (forward, hand-written backward, AdamW).
The reference runs, in the same process and with the same BLAS threads, exactly
the matrix products a step would need for those FLOPs: for every weight W (out, in)
and N = batch × sequence positions, X @ W.T, dY @ W and dY.T @ X. The ratio is
what the attention, the element-wise work and Python cost on top of pure GEMMs.

    uv run python tests/benchmarks/train_speed.py [--config tiny|small] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from agentshell_builtin.train import CONFIGS, AdamW, TrainState, count_params, init_params, loss_and_grads
from threadpoolctl import threadpool_limits


def _best(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny", choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for both measurements")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    cfg, t = CONFIGS[args.config]
    B, T = t.batch_size, t.seq_len
    N = B * T
    params = init_params(cfg, 0)
    opt = AdamW.for_params(params)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, cfg.vocab_size, (B, T))
    targets = rng.integers(0, cfg.vocab_size, (B, T))
    weights = (rng.random((B, T)) < 0.35).astype(np.float32)  # the corpus trains on about a third of positions
    weights /= weights.sum()
    doc = np.repeat(np.arange(2), T // 2)[None].repeat(B, 0)  # two packed documents per row
    state = TrainState()

    def step() -> None:
        _, grads = loss_and_grads(params, cfg, ids, targets, weights, doc)
        opt.step(params, grads, 1e-4, state.step, t)

    mats = {k: v for k, v in params.items() if v.ndim == 2}
    xs = {k: rng.standard_normal((N, v.shape[1])).astype(np.float32) for k, v in mats.items()}
    dys = {k: rng.standard_normal((N, v.shape[0])).astype(np.float32) for k, v in mats.items()}

    def gemms() -> None:
        for k, w in mats.items():
            y = xs[k] @ w.T
            _ = dys[k] @ w
            _ = dys[k].T @ xs[k]
            del y

    gemm_flops = sum(6 * N * w.size for w in mats.values())
    n_params = count_params(params)
    with threadpool_limits(args.threads):
        step_s = _best(step, args.repeat)
        gemm_s = _best(gemms, args.repeat)
    tok_s = N / step_s
    achieved = 6 * n_params * tok_s / 1e9
    reference = gemm_flops / gemm_s / 1e9
    print(f"config {args.config}: {n_params / 1e6:.2f}M parameters, batch {B} × {T} tokens, "
          f"{args.threads} BLAS thread(s)")
    print(f"training step: {step_s * 1000:.0f} ms = {tok_s:,.0f} tokens/s = {achieved:.1f} GFLOP/s "
          "(6 × params × tok/s)")
    print(f"numpy GEMMs of the same shapes: {gemm_s * 1000:.0f} ms = {reference:.1f} GFLOP/s")
    print(f"ratio: {achieved / reference:.2f} of plain numpy matmul (target ≥ 0.30)")


if __name__ == "__main__":
    main()
