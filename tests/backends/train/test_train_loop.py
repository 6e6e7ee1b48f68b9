"""The training loop: the loss falls, runs are deterministic, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from agentshell_train.bpe import train_bpe
from agentshell_train.checkpoint import load_checkpoint, save_checkpoint
from agentshell_train.corpus import encode_segments, generate, render_segments
from agentshell_train.optim import AdamW, lr_at
from agentshell_train.rows import Rows, chunk_stream, pack_documents
from agentshell_train.train import ModelConfig, TrainConfig, TrainState, init_params, train

CFG = ModelConfig(vocab_size=400, dim=48, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=96, context=128)


@pytest.fixture(scope="module")
def chat_rows() -> tuple[Rows, Rows]:
    convs = [render_segments(c) for c in generate(11, 160)]
    tok = train_bpe(("".join(t for t, _ in c) for c in convs), CFG.vocab_size)
    docs = [encode_segments(c, tok.encode) for c in convs]
    return pack_documents(docs[:150], 128, 0), pack_documents(docs[150:], 128, 0)


def test_packing_keeps_documents_whole() -> None:
    rows = pack_documents([([1, 2, 3], [0, 1, 1]), ([4, 5], [0, 1]), ([6] * 6, [1] * 6)], seq_len=5, pad_id=0)
    assert rows.ids.tolist() == [[1, 2, 3, 4, 5, 0], [6, 6, 6, 6, 6, 6]]
    assert rows.doc.tolist() == [[0, 0, 0, 1, 1, -1], [2] * 6]
    assert rows.weight.tolist() == [[0, 1, 1, 0, 1, 0], [1] * 6]
    text = chunk_stream(list(range(11)), seq_len=4)
    assert text.ids.tolist() == [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8]]
    assert text.weight[:, 0].tolist() == [0, 0]


def test_copied_tokens_weigh_more_but_template_tokens_do_not() -> None:
    from agentshell_train.rows import emphasize_copies

    # document 0: prompt [5, 7], answer [7, 9, 1]; document 1: prompt [9], answer [5, 9]; token 1 is "template"
    ids = np.array([[5, 7, 7, 9, 1, 9, 5, 9, 1, 1, 1, 1]])
    weight = np.array([[0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]], np.float32)
    doc = np.array([[0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]])
    out = emphasize_copies(Rows(ids, weight, doc), factor=3.0, common=1)
    assert out.weight.tolist() == [[0, 0, 3, 1, 1, 0, 1, 3, 1, 1, 1, 1]]


def test_schedule_warms_up_then_decays() -> None:
    t = TrainConfig(steps=100, warmup=10, lr=1e-3, min_lr_ratio=0.1)
    assert lr_at(0, t) == pytest.approx(1e-4)
    assert lr_at(9, t) == pytest.approx(1e-3)
    assert lr_at(55, t) == pytest.approx(0.55e-3, rel=0.01)
    assert lr_at(100, t) == pytest.approx(1e-4)


@pytest.mark.slow
def test_smoke_training_lowers_the_loss(chat_rows: tuple[Rows, Rows]) -> None:
    rows, held = chat_rows
    from threadpoolctl import threadpool_limits

    t = TrainConfig(seq_len=128, batch_size=4, steps=30, warmup=5, lr=6e-3, eval_every=30, eval_rows=16, seed=0)
    params = init_params(CFG, 0)
    with threadpool_limits(1):  # one BLAS thread: on a shared 2-core box, two spinning threads run 5× slower
        state = train(params, AdamW.for_params(params), TrainState(), CFG, t, rows, held)
    first = np.mean([h["loss"] for h in state.history[:3]])
    last = np.mean([h["loss"] for h in state.history[-3:]])
    assert first > 5.0  # ≈ ln(400) at the start
    assert last < first - 2.0
    assert state.history[-1]["eval"] < first - 1.5


def test_resumed_run_equals_an_uninterrupted_one(tmp_path: Path, chat_rows: tuple[Rows, Rows]) -> None:
    rows, _ = chat_rows
    t = TrainConfig(seq_len=128, batch_size=2, accum=2, steps=4, warmup=2, lr=3e-3, seed=7)
    cfg = replace(CFG, n_layers=1)

    straight = init_params(cfg, 3)
    train(straight, AdamW.for_params(straight), TrainState(), cfg, t, rows, None)

    first = init_params(cfg, 3)
    opt, state = AdamW.for_params(first), TrainState()
    train(first, opt, state, cfg, replace(t, steps=2), rows, None)
    save_checkpoint(tmp_path / "m.ckpt", first, opt, state, cfg, t)
    params, opt2, state2, cfg2, t2, _ = load_checkpoint(tmp_path / "m.ckpt")
    assert (cfg2, t2, state2.step) == (cfg, t, 2)
    train(params, opt2, state2, cfg2, t2, rows, None)
    assert state2.step == 4
    for k in straight:
        np.testing.assert_array_equal(params[k], straight[k], err_msg=k)


def test_threads_share_a_batch_and_agree_with_one_thread(chat_rows: tuple[Rows, Rows]) -> None:
    """Shards on threads sum to the whole batch's gradient, and a threaded run repeats exactly."""
    rows, held = chat_rows
    t = TrainConfig(seq_len=128, batch_size=3, accum=2, steps=3, warmup=1, lr=3e-3, eval_every=3, eval_rows=6, seed=5)
    cfg = replace(CFG, n_layers=1)
    runs = []
    for threads in (1, 2, 2):
        params = init_params(cfg, 1)
        state = train(params, AdamW.for_params(params), TrainState(), cfg, t, rows, held, threads=threads)
        runs.append((params, state))
    (one, s1), (two, s2), (again, _) = runs
    assert s2.history[-1]["eval"] == pytest.approx(s1.history[-1]["eval"], rel=1e-4)
    for k in one:
        np.testing.assert_allclose(two[k], one[k], rtol=0, atol=1e-5, err_msg=k)
        np.testing.assert_array_equal(again[k], two[k], err_msg=k)
    assert not np.array_equal(one["blk.0.attn_q.weight"], init_params(cfg, 1)["blk.0.attn_q.weight"])
