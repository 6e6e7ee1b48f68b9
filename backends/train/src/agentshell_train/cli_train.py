"""``agent train``: train a small Llama in numpy and write it as GGUF.

Without ``--data`` it trains on the built-in agent corpus (the shipped model's
recipe); with ``--data`` on any UTF-8 text file, or on a ``.jsonl`` corpus of
rendered conversations (``{"segments": [[text, trained], ...]}`` per line, what
:func:`agentshell_train.corpus.write_corpus` writes). Next to ``--out`` it keeps
``NAME.ckpt.npz/json`` (weights, optimizer, step) and ``NAME.data.npz`` (the
tokenized rows and the tokenizer), so ``--resume`` continues exactly where it stopped.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from agentshell_train.bpe import BPETokenizer
    from agentshell_train.rows import Rows

app = typer.Typer(add_completion=False)


class TrainInputError(Exception):
    """Bad input from the user; str() is the one line to show."""


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(1)


def _paths(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.stem + ".ckpt"), out.with_name(out.stem + ".data.npz")


def _cores() -> int:
    """CPU cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


LONG_TURNS = 8  # requests per conversation of the long-context phase: about 2,000 tokens with their results


def _long_docs(seed: int, count: int) -> list[Any]:
    """Conversations of LONG_TURNS requests in one workspace, for the long rows (see train.TrainConfig)."""
    from agentshell_train import corpus

    return [corpus.render_segments(c) for c in corpus.generate(seed, count, "train", workers=8, turns=LONG_TURNS)]


def _read_data(data: Path | None, corpus_size: int, seed: int) -> tuple[str, list[Any], list[Any]]:
    """("chat", train segments, held-out segments) or ("text", [text], [])."""
    from agentshell_train import corpus

    if data is None:
        n_held = max(50, corpus_size // 50)
        train = [corpus.render_segments(c) for c in corpus.generate(seed, corpus_size, "train", workers=8)]
        held = [corpus.render_segments(c) for c in corpus.generate(seed, n_held, "heldout", workers=8)]
        return "chat", train, held
    if not data.is_file():
        raise TrainInputError(f"no such file: {data} (pass a UTF-8 text file or a .jsonl corpus)")
    try:
        text = data.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TrainInputError(f"{data} is not UTF-8 text") from None
    if data.suffix == ".jsonl":
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                segs = [(str(t), bool(w)) for t, w in json.loads(line)["segments"]]
            except (ValueError, KeyError, TypeError):
                raise TrainInputError(f'{data}:{n}: expected {{"segments": [[text, trained], ...]}}') from None
            docs.append(segs)
        if len(docs) < 2:
            raise TrainInputError(f"{data} holds fewer than 2 conversations")
        cut = max(1, len(docs) // 20)
        return "chat", docs[:-cut], docs[-cut:]
    if len(text) < 100:
        raise TrainInputError(f"{data} is too short to train on ({len(text)} characters)")
    return "text", [text], []


def _data_spec(
    data: Path | None, corpus_size: int, seed: int, vocab: int, seq_len: int, long: tuple[int, int]
) -> dict[str, Any]:
    """What the prepared rows depend on: a cache with the same spec is reused instead of rebuilt."""
    source: Any = None
    if data is not None and data.is_file():
        st = data.stat()
        source = [str(data.resolve()), st.st_size, st.st_mtime_ns]
    return {
        "data": source,
        "corpus_size": corpus_size if data is None else None,
        "seed": seed,
        "vocab": vocab,
        "seq_len": seq_len,
        "long": list(long) if data is None and long[0] else None,
        "tokenizer": "space-apart",
    }


def _prepare(
    data: Path | None, corpus_size: int, seed: int, vocab: int, seq_len: int, long: tuple[int, int], cache: Path
) -> tuple[BPETokenizer, Rows, Rows, str, Rows | None]:
    """Tokenizer and rows; ``long`` = (row length, conversations) of the long-context phase, (0, 0) for none."""
    import numpy as np

    spec = _data_spec(data, corpus_size, seed, vocab, seq_len, long)
    if cache.is_file():
        try:
            prepared = _load_prepared(cache)
        except (OSError, ValueError, KeyError):
            prepared = None
        if prepared is not None and prepared[4] == spec:
            return (*prepared[:4], prepared[5])

    from agentshell_train.bpe import train_bpe
    from agentshell_train.corpus import encode_segments
    from agentshell_train.rows import chunk_stream, pack_documents

    mode, train_docs, held_docs = _read_data(data, corpus_size, seed)
    long_rows: Rows | None = None
    if mode == "chat":
        tok = train_bpe(("".join(t for t, _ in d) for d in train_docs[:20000]), vocab, space_apart=True)
        pad = tok.id_of("<|endoftext|>")
        train_rows = pack_documents([encode_segments(d, tok.encode) for d in train_docs], seq_len, pad)
        held_rows = pack_documents([encode_segments(d, tok.encode) for d in held_docs], seq_len, pad)
        if data is None and long[0]:
            docs = [encode_segments(d, tok.encode) for d in _long_docs(seed, long[1])]
            long_rows = pack_documents(docs, long[0], pad)
    else:
        text = train_docs[0]
        tok = train_bpe([text[:5_000_000]], vocab)
        ids = tok.encode(text, specials=False)
        cut = len(ids) - max(seq_len + 1, len(ids) // 20)
        if cut < seq_len + 1:
            raise TrainInputError(f"the text has only {len(ids)} tokens; need at least {2 * (seq_len + 1)}")
        train_rows, held_rows = chunk_stream(ids[:cut], seq_len), chunk_stream(ids[cut:], seq_len)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        train_ids=train_rows.ids,
        train_w=train_rows.weight,
        train_doc=train_rows.doc,
        held_ids=held_rows.ids,
        held_w=held_rows.weight,
        held_doc=held_rows.doc,
        **_long_arrays(long_rows),
        tokenizer=np.array(json.dumps({"tokens": tok.tokens, "merges": tok.merges, "mode": mode, "spec": spec})),
    )
    return tok, train_rows, held_rows, mode, long_rows


def _long_arrays(rows: Rows | None) -> dict[str, Any]:
    return {"long_ids": rows.ids, "long_w": rows.weight, "long_doc": rows.doc} if rows is not None else {}


def _load_prepared(cache: Path) -> tuple[BPETokenizer, Rows, Rows, str, Any, Rows | None]:
    import numpy as np

    from agentshell_train.bpe import BPETokenizer
    from agentshell_train.rows import Rows

    with np.load(cache) as z:
        meta = json.loads(str(z["tokenizer"]))
        train_rows = Rows(z["train_ids"], z["train_w"], z["train_doc"])
        held_rows = Rows(z["held_ids"], z["held_w"], z["held_doc"])
        long_rows = Rows(z["long_ids"], z["long_w"], z["long_doc"]) if "long_ids" in z else None
    tok = BPETokenizer(meta["tokens"], [(a, b) for a, b in meta["merges"]])
    return tok, train_rows, held_rows, str(meta["mode"]), meta.get("spec"), long_rows


@app.command()
def train(
    data: Annotated[
        Path | None,
        typer.Option(help="UTF-8 text file or .jsonl conversation corpus; default: generate the built-in agent corpus"),
    ] = None,
    config: Annotated[str, typer.Option(help="model size: tiny or small")] = "tiny",
    out: Annotated[Path, typer.Option(help="where to write the GGUF model")] = Path("model.gguf"),
    resume: Annotated[bool, typer.Option(help="continue from the checkpoint next to --out")] = False,
    steps: Annotated[int | None, typer.Option(help="optimizer steps (default: the config's)")] = None,
    vocab: Annotated[int, typer.Option(help="BPE vocabulary size, specials included")] = 1536,
    seq_len: Annotated[int, typer.Option(help="tokens per training row")] = 256,
    long_seq_len: Annotated[
        int, typer.Option(help="agent corpus: tokens per row of a final long-context phase (0 = none)")
    ] = 0,
    long_steps: Annotated[int, typer.Option(help="the last steps, trained on long multi-request conversations")] = 0,
    batch_size: Annotated[int | None, typer.Option(help="rows per step (default: the config's)")] = None,
    lr: Annotated[float | None, typer.Option(help="peak learning rate (default: the config's)")] = None,
    corpus_size: Annotated[int, typer.Option(help="conversations to generate when --data is not given")] = 20000,
    seed: Annotated[int, typer.Option(help="seed of the corpus, the initialization and the batches")] = 0,
    max_minutes: Annotated[float | None, typer.Option(help="stop (checkpoint and export) after this long")] = None,
    f16: Annotated[bool, typer.Option(help="store matrices as F16 (half the file size)")] = False,
    copy_weight: Annotated[
        float,
        typer.Option(
            help="chat data: loss weight of answer tokens copied from the request or a tool result (1 = no emphasis)"
        ),
    ] = 4.0,
    threads: Annotated[
        int | None,
        typer.Option(
            help="threads that share each batch (default: one per CPU core); a run is reproducible for a given number"
        ),
    ] = None,
) -> None:
    """Train a small Llama on text or on agent conversations, in numpy, and write a GGUF both engines load."""
    try:
        _run(
            data,
            config,
            out,
            resume,
            steps,
            vocab,
            seq_len,
            (long_seq_len, long_steps),
            batch_size,
            lr,
            corpus_size,
            seed,
            max_minutes,
            f16,
            copy_weight,
            threads,
        )
    except TrainInputError as exc:
        _fail(str(exc))


def _run(
    data: Path | None,
    config: str,
    out: Path,
    resume: bool,
    steps: int | None,
    vocab: int,
    seq_len: int,
    long: tuple[int, int],
    batch_size: int | None,
    lr: float | None,
    corpus_size: int,
    seed: int,
    max_minutes: float | None,
    f16: bool,
    copy_weight: float,
    threads: int | None,
) -> None:
    from rich.console import Console

    from agentshell_train import train as T
    from agentshell_train.checkpoint import load_checkpoint, save_checkpoint
    from agentshell_train.export import export_gguf
    from agentshell_train.optim import AdamW
    from agentshell_train.rows import emphasize_copies

    console = Console(stderr=True)
    if config not in T.CONFIGS:
        raise TrainInputError(f"unknown config {config!r}; choose one of: {', '.join(T.CONFIGS)}")
    if vocab < 300 or seq_len < 8:
        raise TrainInputError("--vocab must be at least 300 and --seq-len at least 8")
    if long[0] and (long[0] < seq_len or not 0 < long[1] < (steps or 10**9)):
        raise TrainInputError("--long-seq-len must be at least --seq-len, with --long-steps between 1 and --steps")
    if threads is not None and threads < 1:
        raise TrainInputError("--threads must be at least 1")
    ckpt, cache = _paths(out)
    if resume:
        if not ckpt.with_name(ckpt.name + ".json").is_file() or not cache.is_file():
            raise TrainInputError(f"nothing to resume: {ckpt}.json or {cache} is missing (train without --resume)")
        params, opt, state, cfg, tc, _ = load_checkpoint(ckpt)
        if steps is not None:
            tc = replace(tc, steps=steps)
        if lr is not None:  # a new peak for the rest of the (stretched) cosine schedule
            tc = replace(tc, lr=lr)
        tok, train_rows, held_rows, mode, _, long_rows = _load_prepared(cache)
        console.print(f"resuming at step {state.step} of {tc.steps}")
    else:
        cfg, tc = T.CONFIGS[config]
        with console.status("preparing data and training the tokenizer…"):
            n_long = long[1] * tc.long_batch_size  # rows the long phase draws, each row about one conversation
            tok, train_rows, held_rows, mode, long_rows = _prepare(
                data, corpus_size, seed, vocab, seq_len, (long[0], n_long if long[0] else 0), cache
            )
        cfg = replace(cfg, vocab_size=len(tok.tokens), context=max(cfg.context, seq_len, long[0]))
        tc = replace(
            tc,
            seq_len=seq_len,
            seed=seed,
            steps=steps or tc.steps,
            batch_size=batch_size or tc.batch_size,
            lr=lr or tc.lr,
            long_seq_len=long[0] if long_rows is not None else 0,
            long_steps=long[1] if long_rows is not None else 0,
        )
        tc = replace(tc, warmup=min(tc.warmup, max(1, tc.steps // 10)), eval_every=min(tc.eval_every, tc.steps))
        params = T.init_params(cfg, seed)
        opt = AdamW.for_params(params)
        state = T.TrainState()
    n_threads = min(threads or _cores(), tc.batch_size)
    trained_tokens = int((train_rows.weight > 0).sum())
    if mode == "chat" and copy_weight != 1.0:
        train_rows = emphasize_copies(train_rows, factor=copy_weight, common=80)
        if long_rows is not None:
            long_rows = emphasize_copies(long_rows, factor=copy_weight, common=80)
    console.print(
        f"{mode} data: {len(train_rows)} rows × {tc.seq_len} tokens ({trained_tokens} trained), "
        f"held-out {len(held_rows)} rows; vocab {cfg.vocab_size}; {T.count_params(params) / 1e6:.2f}M parameters; "
        f"{n_threads} thread{'s' if n_threads > 1 else ''}"
    )

    def save() -> None:
        save_checkpoint(ckpt, params, opt, state, cfg, tc)

    deadline = time.monotonic() + max_minutes * 60 if max_minutes else None
    started = time.perf_counter()
    last_eval: list[float] = []
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("train", total=tc.steps, completed=state.step, info="")

        def on_step(r: T.StepReport) -> None:
            if r.eval_loss is not None:
                last_eval.append(r.eval_loss)
                console.print(f"step {r.step}: loss {r.loss:.3f}, held-out loss {r.eval_loss:.3f}")
            held = f" held-out {last_eval[-1]:.3f}" if last_eval else ""
            progress.update(
                task, completed=r.step, info=f"loss {r.loss:.3f}{held} · {r.tokens_per_s:,.0f} tok/s · lr {r.lr:.1e}"
            )

        try:
            T.train(
                params,
                opt,
                state,
                cfg,
                tc,
                train_rows,
                held_rows,
                on_step=on_step,
                on_checkpoint=save,
                checkpoint_every=100,
                should_stop=(lambda: time.monotonic() > deadline) if deadline else None,
                threads=n_threads,
                long_rows=long_rows,
            )
        except KeyboardInterrupt:
            save()
            console.print(f"interrupted at step {state.step}; continue with: agent train --out {out} --resume")
            raise typer.Exit(130) from None
    save()
    final_eval = T.eval_loss(params, cfg, held_rows, tc.eval_rows, tc.batch_size)
    export_gguf(out, params, cfg, tok, f16=f16, name=out.stem)
    recent = [h["loss"] for h in state.history[-20:]]
    train_loss = sum(recent) / max(1, len(recent))
    console.print(
        f"[bold]done[/]: {state.step}/{tc.steps} steps in {state.seconds / 60:.1f} min of training "
        f"({(time.perf_counter() - started) / 60:.1f} min this run); train loss {train_loss:.3f} (last 20 steps), "
        f"held-out loss {final_eval:.3f}; wrote {out} ({out.stat().st_size / 1e6:.1f} MB)"
    )
    if state.step < tc.steps:
        console.print(f"stopped early; continue with: agent train --out {out} --resume")
