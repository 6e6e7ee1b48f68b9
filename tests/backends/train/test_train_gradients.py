"""The hand-written backward pass against finite differences, in float64, for every parameter tensor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from agentshell_train.train import ModelConfig, init_params, loss_and_grads


def _numeric_grad(
    p: dict[str, Any], cfg: ModelConfig, name: str, args: tuple[Any, ...], picks: Any, eps: float = 1e-6
) -> Any:
    """Central differences at the entries ``picks`` of the flattened tensor."""
    flat = p[name].reshape(-1)
    out = np.zeros(len(picks))
    for n, j in enumerate(picks):
        orig = flat[j]
        flat[j] = orig + eps
        lp, _ = loss_and_grads(p, cfg, *args)
        flat[j] = orig - eps
        lm, _ = loss_and_grads(p, cfg, *args)
        flat[j] = orig
        out[n] = (lp - lm) / (2 * eps)
    return out


@pytest.mark.parametrize(
    ("tied", "n_kv_heads"),
    [(True, 2), (False, 4)],
    ids=["tied-gqa", "untied-mha"],
)
def test_every_gradient_matches_finite_differences(tied: bool, n_kv_heads: int) -> None:
    cfg = ModelConfig(vocab_size=19, dim=8, n_layers=2, n_heads=4, n_kv_heads=n_kv_heads, ffn_dim=12, tied=tied)
    p = init_params(cfg, seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    for k in p:  # away from the init's symmetric point (unit norms) so every term of every gradient matters
        p[k] = p[k] + rng.standard_normal(p[k].shape) * 0.3
    B, T = 2, 7
    ids = rng.integers(0, cfg.vocab_size, (B, T))
    targets = rng.integers(0, cfg.vocab_size, (B, T))
    weights = rng.random((B, T))
    weights[0, 2] = 0.0  # a masked position
    doc = np.array([[0, 0, 0, 1, 1, 1, 1], [0] * 7])  # two packed documents in the first row
    args = (ids, targets, weights, doc)
    _, grads = loss_and_grads(p, cfg, *args)
    assert sorted(grads) == sorted(p)
    for name in p:
        # 16 entries per tensor (all of the small ones) keep the test quick; every tensor is checked
        size = p[name].size
        picks = np.arange(size) if size <= 16 else rng.choice(size, 16, replace=False)
        numeric = _numeric_grad(p, cfg, name, args, picks)
        analytic = grads[name].reshape(-1)[picks]
        scale = np.abs(numeric).max() + 1e-12
        assert np.abs(numeric - analytic).max() / scale < 1e-5, name


def test_documents_packed_in_one_row_do_not_see_each_other() -> None:
    cfg = ModelConfig(vocab_size=11, dim=8, n_layers=1, n_heads=2, n_kv_heads=1, ffn_dim=8)
    p = init_params(cfg, seed=3, dtype=np.float64)
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    w = np.zeros((1, 6))
    w[0, 5] = 1.0
    doc = np.array([[0, 0, 0, 1, 1, 1]])
    base, _ = loss_and_grads(p, cfg, ids, ids, w, doc)
    changed = ids.copy()
    changed[0, 0] = 9  # another first document must not change the second one's loss
    other, _ = loss_and_grads(p, cfg, changed, ids, w, doc)
    assert other == pytest.approx(base, abs=1e-12)
    together, _ = loss_and_grads(p, cfg, changed, ids, w, np.zeros((1, 6), int))
    assert together != pytest.approx(base, abs=1e-6)
