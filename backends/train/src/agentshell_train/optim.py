"""The optimizer of ``agent train``: AdamW with decoupled weight decay and a warm-up + cosine schedule.

Apart from train.py (the model and its loop) so that each stays a size one can read at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from agentshell_train.train import TrainConfig

Params = dict[str, NDArray[Any]]


def lr_at(step: int, t: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to lr × min_lr_ratio."""
    if step < t.warmup:
        return t.lr * (step + 1) / t.warmup
    progress = min(1.0, (step - t.warmup) / max(1, t.steps - t.warmup))
    return t.lr * (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class AdamW:
    m: Params
    v: Params

    @classmethod
    def for_params(cls, params: Params) -> AdamW:
        return cls({k: np.zeros_like(x) for k, x in params.items()}, {k: np.zeros_like(x) for k, x in params.items()})

    def step(self, params: Params, grads: Params, lr: float, step: int, t: TrainConfig) -> float:
        """One decoupled-weight-decay Adam update after global-norm clipping; returns the pre-clip norm."""
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        scale = min(1.0, t.clip / (norm + 1e-6))
        c1 = 1 - t.beta1 ** (step + 1)
        c2 = 1 - t.beta2 ** (step + 1)
        for k, p in params.items():
            g = grads[k] * scale
            m, v = self.m[k], self.v[k]
            m *= t.beta1
            m += (1 - t.beta1) * g
            v *= t.beta2
            v += (1 - t.beta2) * (g * g)
            if p.ndim == 2 and k != "token_embd.weight":  # decay would shrink rare tokens' embeddings to nothing
                p *= 1 - lr * t.weight_decay
            p -= lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)
        return norm
