"""Training speed of the numpy trainer against plain numpy matrix products of the same shapes.

Achieved GFLOP/s counts the usual 6 × parameters × tokens per second (forward 2,
backward 4) for one full optimizer step (forward, hand-written backward, AdamW).
The reference runs, in the same process and with the same BLAS threads, exactly
the matrix products a step would need for those FLOPs: for every weight W (out, in)
and N = batch × sequence positions, X @ W.T, dY @ W and dY.T @ X. The ratio is
what the attention, the element-wise work and Python cost on top of pure GEMMs.

With ``--threads N`` (what ``agent train --threads`` does) the batch is split across
N threads with one BLAS thread each, and the reference is the faster of the same
GEMMs on N BLAS threads or split across N threads the same way. The one-thread step
is measured too, and the speed-up printed against it.

    uv run python benchmarks/train_speed.py [--config tiny|small] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from agentshell_train.optim import AdamW
from agentshell_train.rows import Rows
from agentshell_train.train import CONFIGS, TrainState, count_params, init_params, sharded_grads
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
    ap.add_argument("--threads", type=int, default=2, help="training threads (each with one BLAS thread)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    cfg, t = CONFIGS[args.config]
    B, T = t.batch_size, t.seq_len
    N = B * T
    params = init_params(cfg, 0)
    opt = AdamW.for_params(params)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, cfg.vocab_size, (B, T + 1)).astype(np.int32)
    weights = (rng.random((B, T + 1)) < 0.35).astype(np.float32)  # the corpus trains on about a third of positions
    doc = np.repeat(np.arange(2), (T + 1) // 2 + 1)[None, : T + 1].repeat(B, 0)  # two packed documents per row
    rows = Rows(ids, weights, doc.astype(np.int32))
    total_w = float(weights[:, 1:].sum())
    state = TrainState()
    pool = ThreadPoolExecutor(args.threads) if args.threads > 1 else None

    def step_on(threads: int) -> Callable[[], None]:
        shards = [s for s in np.array_split(np.arange(B), threads) if s.size]

        def step() -> None:
            _, grads = sharded_grads(params, cfg, rows, shards, total_w, pool if threads > 1 else None)
            opt.step(params, grads, 1e-4, state.step, t)

        return step

    mats = {k: v for k, v in params.items() if v.ndim == 2}
    xs = {k: rng.standard_normal((N, v.shape[1])).astype(np.float32) for k, v in mats.items()}
    dys = {k: rng.standard_normal((N, v.shape[0])).astype(np.float32) for k, v in mats.items()}

    def gemms(lo: int = 0, hi: int = N) -> None:
        for k, w in mats.items():
            x, dy = xs[k][lo:hi], dys[k][lo:hi]
            y = x @ w.T
            _ = dy @ w
            _ = dy.T @ x
            del y

    def split_gemms() -> None:
        cuts = np.linspace(0, N, args.threads + 1).astype(int)
        assert pool is not None
        list(pool.map(lambda i: gemms(cuts[i], cuts[i + 1]), range(args.threads)))

    gemm_flops = sum(6 * N * w.size for w in mats.values())
    n_params = count_params(params)
    with threadpool_limits(1):
        one_s = _best(step_on(1), args.repeat)
        step_s = _best(step_on(args.threads), args.repeat) if args.threads > 1 else one_s
        gemm_s = _best(split_gemms, args.repeat) if args.threads > 1 else _best(gemms, args.repeat)
    with threadpool_limits(args.threads):
        gemm_s = min(gemm_s, _best(gemms, args.repeat))
    if pool is not None:
        pool.shutdown()
    tok_s = N / step_s
    achieved = 6 * n_params * tok_s / 1e9
    reference = gemm_flops / gemm_s / 1e9
    print(
        f"config {args.config}: {n_params / 1e6:.2f}M parameters, batch {B} × {T} tokens, "
        f"{args.threads} training thread(s)"
    )
    print(
        f"training step: {step_s * 1000:.0f} ms = {tok_s:,.0f} tokens/s = {achieved:.1f} GFLOP/s (6 × params × tok/s)"
    )
    if args.threads > 1:
        print(f"one thread: {one_s * 1000:.0f} ms; speed-up with {args.threads} threads: {one_s / step_s:.2f}×")
    print(f"numpy GEMMs of the same shapes: {gemm_s * 1000:.0f} ms = {reference:.1f} GFLOP/s")
    print(f"ratio: {achieved / reference:.2f} of plain numpy matmul (target ≥ 0.30)")


if __name__ == "__main__":
    main()
