"""Checkpoints of ``agent train``: weights, Adam moments and the run's state, so ``--resume`` continues exactly."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from agentshell_train.optim import AdamW
from agentshell_train.train import ModelConfig, Params, TrainConfig, TrainState


def save_checkpoint(
    path: Path,
    params: Params,
    opt: AdamW,
    state: TrainState,
    cfg: ModelConfig,
    t: TrainConfig,
    extra: dict[str, Any] | None = None,
) -> None:
    """``path``.npz (weights and Adam moments) + ``path``.json (configs, step, history); written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"p/{k}": v for k, v in params.items()}
    arrays.update({f"m/{k}": v for k, v in opt.m.items()})
    arrays.update({f"v/{k}": v for k, v in opt.v.items()})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path.with_name(path.name + ".npz"))
    meta = {"model": asdict(cfg), "train": asdict(t), "state": asdict(state), **(extra or {})}
    tmpj = path.with_name(path.name + ".tmp.json")
    tmpj.write_text(json.dumps(meta), encoding="utf-8")
    tmpj.replace(path.with_name(path.name + ".json"))


def load_checkpoint(path: Path) -> tuple[Params, AdamW, TrainState, ModelConfig, TrainConfig, dict[str, Any]]:
    meta = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    with np.load(path.with_name(path.name + ".npz")) as z:
        params = {k[2:]: z[k] for k in z.files if k.startswith("p/")}
        opt = AdamW(
            {k[2:]: z[k] for k in z.files if k.startswith("m/")}, {k[2:]: z[k] for k in z.files if k.startswith("v/")}
        )
    cfg = ModelConfig(**meta.pop("model"))
    t = TrainConfig(**meta.pop("train"))
    state = TrainState(**meta.pop("state"))
    return params, opt, state, cfg, t, meta
