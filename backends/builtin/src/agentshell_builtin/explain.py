"""What ``agent explain`` shows: one forward pass of the engine, step by step.

The numbers come from the engine itself: the same :meth:`Llama.forward` that
chats, with an attention hook that records each layer's probabilities. The
first step runs the whole prompt (prefill); each further step (``--steps``)
runs only the token just chosen, against the KV cache, which is how generation
really proceeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from agentshell_builtin.backend import LoadedModel

TOP_K = 10
MAX_COLUMNS = 24  # positions shown in a heat-map row at most; older ones are summed into one column


@dataclass
class Candidate:
    id: int
    text: str
    prob: float


@dataclass
class Step:
    """One pass through the model and the token it led to."""

    position: int  # position of the last token, whose next token is predicted
    tokens: list[int]  # ids fed in this pass (the prompt, then one token per step)
    attention: Any  # (n_layer, n_head, S) float32: where the last token looked, per layer and head
    top: list[Candidate]
    chosen: Candidate


@dataclass
class Explanation:
    model: str
    config: dict[str, Any]
    prompt_ids: list[int]
    pieces: list[str]  # text of every token: the prompt's, then each chosen one
    embedding_shape: tuple[int, int]  # (V, C) of the table
    steps: list[Step] = field(default_factory=list)


def explain(
    loaded: LoadedModel,
    model_name: str,
    prompt: str,
    *,
    steps: int = 1,
    temperature: float = 0.0,
    seed: int | None = None,
) -> Explanation:
    """Run the prompt and ``steps`` generated tokens, recording attention and probabilities."""
    import dataclasses

    import numpy as np

    from agentshell_builtin.model import Sampler, SamplerSettings, softmax

    llama, tok = loaded.llama, loaded.tokenizer
    cfg = llama.config
    ids = tok.encode(prompt, add_special=True, parse_special=True)
    if not ids:
        raise ValueError("the prompt is empty: give some text to explain")
    total = len(ids) + steps
    if total > cfg.context_length:
        raise ValueError(f"{total} tokens exceed the model's context of {cfg.context_length}")
    sampler = Sampler(SamplerSettings(temperature=temperature, top_k=0, top_p=1.0, min_p=0.0), seed)
    cache = llama.new_cache(total)
    out = Explanation(
        model=model_name,
        config=dataclasses.asdict(cfg),
        prompt_ids=ids,
        pieces=[tok.piece(i) for i in ids],
        embedding_shape=(int(llama.weights.token_embd.shape[0]), int(llama.weights.token_embd.shape[1])),
    )
    feed = ids
    for _ in range(steps):
        rows: list[Any] = []

        def record(_layer: int, att: Any, rows: list[Any] = rows) -> None:
            rows.append(att[0, :, -1].copy())  # (nh, S): the last token's row of every head

        logits = llama.forward(feed, cache, last_only=True, attention_hook=record)
        probs = softmax(logits[0, -1])
        order = np.argsort(-probs, kind="stable")[:TOP_K]
        top = [Candidate(int(i), tok.piece(int(i)), float(probs[i])) for i in order]
        chosen_id = sampler.sample(logits[0, -1], cache.tokens)
        chosen = Candidate(chosen_id, tok.piece(chosen_id), float(probs[chosen_id]))
        out.steps.append(Step(cache.length - 1, list(feed), np.stack(rows), top, chosen))
        out.pieces.append(chosen.text)
        feed = [chosen_id]
    return out


# --------------------------------------------------------------------------- JSON


def to_json(ex: Explanation, layer: int | None = None, head: int | None = None) -> dict[str, Any]:
    """The raw numbers; ``layer``/``head`` keep only that slice of the attention."""
    steps = []
    for st in ex.steps:
        att = st.attention
        layers = range(att.shape[0]) if layer is None else [layer]
        heads = range(att.shape[1]) if head is None else [head]
        steps.append(
            {
                "position": st.position,
                "input_ids": st.tokens,
                "attention": [
                    {"layer": li, "head": hi, "weights": [round(float(w), 6) for w in att[li, hi]]}
                    for li in layers
                    for hi in heads
                ],
                "top": [{"id": c.id, "text": c.text, "prob": round(c.prob, 6)} for c in st.top],
                "chosen": {"id": st.chosen.id, "text": st.chosen.text, "prob": round(st.chosen.prob, 6)},
            }
        )
    return {
        "model": ex.model,
        "config": ex.config,
        "tokens": [{"id": i, "text": ex.pieces[n]} for n, i in enumerate(ex.prompt_ids)],
        "embedding": {
            "table_shape": list(ex.embedding_shape),
            "output_shape": [len(ex.prompt_ids), ex.embedding_shape[1]],
        },
        "steps": steps,
    }


# --------------------------------------------------------------------------- terminal


def _label(text: str, width: int) -> str:
    shown = text.replace("\n", "↵").replace("\t", "⇥").replace(" ", "·") or "∅"
    return shown[: width - 1] + "…" if len(shown) > width else shown


def _shade(p: float) -> str:
    level = round(40 + 215 * min(max(p, 0.0), 1.0) ** 0.5)  # sqrt: small weights stay visible
    return f"on rgb({level // 4},{level // 2},{level})"


def _heat_row(weights: Any, width: int, hidden: int) -> Any:
    """One shaded cell per position; the first ``hidden`` positions share one cell."""
    from rich.text import Text

    row = Text()
    if hidden > 0:
        rest = float(weights[:hidden].sum())
        row.append(f"{rest * 100:>{width - 1}.0f} ", style=_shade(rest))
        weights = weights[hidden:]
    for w in weights:
        row.append(f"{float(w) * 100:>{width - 1}.0f} ", style=_shade(float(w)))
    return row


def render(ex: Explanation, console: Console, layer: int | None = None, head: int | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    cfg = ex.config
    console.rule(
        f"[bold]{ex.model}[/]: {cfg['n_layer']} layers, {cfg['n_head']} heads "
        f"({cfg['n_kv_head']} key/value), width {cfg['n_embd']}, vocabulary {cfg['vocab_size']}"
    )

    console.print("\n[bold]1. Text becomes tokens[/] (byte-level BPE, the file's own vocabulary)")
    toks = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    toks.add_column("pos", justify="right")
    toks.add_column("id", justify="right")
    toks.add_column("token")
    for pos, tid in enumerate(ex.prompt_ids):
        toks.add_row(str(pos), str(tid), repr(ex.pieces[pos]))
    console.print(toks)

    V, C = ex.embedding_shape
    T = len(ex.prompt_ids)
    console.print(
        f"\n[bold]2. Tokens become vectors[/]: each id picks a row of the embedding table "
        f"({V} × {C}) → x has shape ({T}, {C})"
    )
    console.print(f"   then {cfg['n_layer']} blocks: x = x + attention(norm(x)); x = x + mlp(norm(x))")

    for n, st in enumerate(ex.steps):
        where = "the prompt" if n == 0 else f"step {n + 1}: only the new token, against the KV cache"
        console.print(
            f"\n[bold]3. Attention[/] ({where}): where position {st.position} "
            f"({ex.pieces[st.position]!r}) looks, in % per earlier token"
        )
        console.print(_attention_grid(ex, st, layer, head, console.width))
        console.print(f"\n[bold]4. Next-token probabilities[/] (softmax of the logits, top {len(st.top)})")
        bars = Table(show_header=False, box=None, pad_edge=False)
        bars.add_column(justify="right")
        bars.add_column()
        bars.add_column(justify="right")
        for c in st.top:
            bar = "█" * max(1, round(c.prob * 40)) if c.prob >= 0.0125 else "▏"
            bars.add_row(
                repr(c.text), Text(bar, style="green" if c.id == st.chosen.id else "cyan"), f"{c.prob * 100:5.1f}%"
            )
        console.print(bars)
        console.print(f"\n[bold]5. Chosen[/]: {st.chosen.text!r} (id {st.chosen.id}, {st.chosen.prob * 100:.1f}%)")
    generated = "".join(ex.pieces[len(ex.prompt_ids) :])
    console.print(f"\n[bold]Text so far[/]: {''.join(ex.pieces[: len(ex.prompt_ids)])}[green]{generated}[/]")


def _attention_grid(
    ex: Explanation, st: Step, layer: int | None, head: int | None, console_width: int
) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    att = st.attention  # (n_layer, n_head, S)
    S = att.shape[-1]
    longest = max(len(_label(p, 99)) for p in ex.pieces[max(0, S - MAX_COLUMNS) : S])
    width = 1 + min(8, max(4, longest))  # a cell and its separating space
    columns = min(S, MAX_COLUMNS, max(4, (console_width - 10) // width))
    first = S - columns + 1 if columns < S else 0  # positions before `first` are summed into the first cell
    header = Text(" " * 9)
    if first:
        header.append(_label(f"0-{first - 1}", width - 1).rjust(width - 1) + " ", style="dim")
    for pos in range(first, S):
        header.append(_label(ex.pieces[pos], width - 1).rjust(width - 1) + " ", style="bold")
    lines: list[RenderableType] = [header]
    layers = range(att.shape[0]) if layer is None else [layer]
    heads = range(att.shape[1]) if head is None else [head]
    for li in layers:
        for hi in heads:
            row = Text(f"L{li:<3}H{hi:<3} ", style="dim")
            row.append_text(_heat_row(att[li, hi], width, first))
            lines.append(row)
    if layer is not None or head is not None:
        for li in layers:
            for hi in heads:
                best = att[li, hi].argsort()[::-1][:5]
                looks = ", ".join(f"{ex.pieces[int(p)]!r}@{int(p)} {att[li, hi, p] * 100:.0f}%" for p in best)
                lines.append(Text(f"  layer {li} head {hi} looks most at: {looks}"))
    return Group(*lines)
