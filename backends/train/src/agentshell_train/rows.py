"""Training rows: conversations or plain text cut into fixed-length rows with per-token loss weights.

A row holds seq_len + 1 tokens (inputs are [:-1], targets [1:]), a weight per token (0 = not trained
on) and the index of the packed document each token belongs to, so attention never crosses documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


@dataclass
class Rows:
    """Training rows of seq_len + 1 tokens: inputs are [:-1], targets [1:]."""

    ids: Array  # (R, T+1) int32
    weight: Array  # (R, T+1) float32: weight of predicting this token (0 = not trained on)
    doc: Array  # (R, T+1) int32: packed-document index; attention never crosses documents

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def batch(self, idx: Array) -> tuple[Array, Array, Array, Array]:
        ids = self.ids[idx]
        return ids[:, :-1], ids[:, 1:], self.weight[idx, 1:], self.doc[idx, :-1]


def pack_documents(docs: list[tuple[list[int], list[float]]], seq_len: int, pad_id: int) -> Rows:
    """Whole documents packed greedily into rows (in order); longer ones are cut at the row length."""
    L = seq_len + 1
    rows_ids, rows_w, rows_doc = [], [], []
    cur_ids: list[int] = []
    cur_w: list[float] = []
    cur_doc: list[int] = []

    def flush() -> None:
        pad = L - len(cur_ids)
        rows_ids.append(cur_ids + [pad_id] * pad)
        rows_w.append(cur_w + [0.0] * pad)
        rows_doc.append(cur_doc + [-1] * pad)

    for n, (ids, w) in enumerate(docs):
        ids, w = ids[:L], w[:L]
        if len(cur_ids) + len(ids) > L:
            flush()
            cur_ids, cur_w, cur_doc = [], [], []
        cur_ids += ids
        cur_w += w
        cur_doc += [n] * len(ids)
    if cur_ids:
        flush()
    return Rows(np.array(rows_ids, np.int32), np.array(rows_w, np.float32), np.array(rows_doc, np.int32))


def emphasize_copies(rows: Rows, factor: float = 4.0, common: int = 200) -> Rows:
    """Multiply by ``factor`` the weight of trained tokens that repeat a token of their document's prompt.

    In agent conversations the hard tokens are the copied ones (a file name from the request into the
    call, a line of the tool result into the answer); the template around them is easy and would
    otherwise dominate the loss, so the copying circuits form late. The ``common`` most frequent trained
    tokens (the template's own) are never emphasized.
    """
    ids, weight, doc = rows.ids, rows.weight.copy(), rows.doc
    counts = np.bincount(ids[weight > 0], minlength=int(ids.max()) + 1)
    frequent = np.argsort(counts)[-common:]
    for r in range(ids.shape[0]):
        for d in np.unique(doc[r]):
            if d < 0:
                continue
            pos = np.flatnonzero(doc[r] == d)
            trained = weight[r, pos] > 0
            context = np.setdiff1d(ids[r, pos[~trained]], frequent)
            hit = pos[trained & np.isin(ids[r, pos], context)]
            weight[r, hit] *= factor
    return Rows(ids, weight, doc)


def chunk_stream(ids: list[int], seq_len: int) -> Rows:
    """Plain text: consecutive windows of one token stream, every token trained on."""
    L = seq_len + 1
    n = max(1, (len(ids) - 1) // seq_len)
    arr = np.array(ids + [0] * (n * seq_len + 1 - len(ids)) if len(ids) < n * seq_len + 1 else ids, np.int32)
    rows = np.stack([arr[i * seq_len : i * seq_len + L] for i in range(n)])
    weight = np.ones(rows.shape, np.float32)
    weight[:, 0] = 0.0
    if len(ids) < L:
        weight[0, len(ids) :] = 0.0
    return Rows(rows, weight, np.zeros(rows.shape, np.int32))
