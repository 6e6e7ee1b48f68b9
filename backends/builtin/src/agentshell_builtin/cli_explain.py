"""``agent explain``: watch the built-in engine predict the next token."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

app = typer.Typer(add_completion=False)

EXAMPLE = "The animal didn't cross the street because it"


@app.command()
def explain(
    prompt: Annotated[str, typer.Argument(help="Text whose next token the model predicts; '-' reads stdin.")] = EXAMPLE,
    model: Annotated[
        str,
        typer.Option("--model", "-m", envvar="AGENT_EXPLAIN_MODEL", help="builtin, or builtin:PATH.gguf (any llama)."),
    ] = "builtin",
    layer: Annotated[int | None, typer.Option("--layer", "-l", help="Show only this layer (0-based).", min=0)] = None,
    head: Annotated[int | None, typer.Option("--head", help="Show only this attention head (0-based).", min=0)] = None,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Generate this many tokens, explaining each.", min=1)] = 1,
    temperature: Annotated[
        float, typer.Option("--temperature", "-t", help="0 picks the most likely token.", min=0.0)
    ] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed (with --temperature > 0).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw numbers as JSON.")] = False,
) -> None:
    """Show, step by step, how the built-in engine turns text into its next token.

    Tokens and ids, the embedding lookup, where the last token's attention goes in
    every layer and head (a heat map), the top-10 next tokens and the one chosen.
    """
    from rich.console import Console
    from rich.text import Text

    from agentshell.protocol import BackendFailure

    err = Console(stderr=True)
    if prompt == "-":
        prompt = sys.stdin.read().rstrip("\n")  # the newline that ends piped text is not part of the prompt
    try:
        from agentshell_builtin.backend import load_model, model_path
        from agentshell_builtin.explain import explain as run_explain
        from agentshell_builtin.explain import render, to_json

        path = model_path(model)
        with err.status(f"loading {path.name}", spinner="dots"):
            loaded = load_model(path)
        cfg = loaded.llama.config
        if layer is not None and layer >= cfg.n_layer:
            raise typer.BadParameter(f"the model has layers 0..{cfg.n_layer - 1}", param_hint="--layer")
        if head is not None and head >= cfg.n_head:
            raise typer.BadParameter(f"the model has heads 0..{cfg.n_head - 1}", param_hint="--head")
        name = model if model.startswith("builtin") else f"builtin:{model}"
        result = run_explain(loaded, name, prompt, steps=steps, temperature=temperature, seed=seed)
    except (BackendFailure, ValueError) as exc:
        err.print(Text.assemble(("error: ", "red"), str(exc)), soft_wrap=True)  # str(exc) may hold [brackets]
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted", soft_wrap=True)
        raise typer.Exit(130) from None
    if as_json:
        sys.stdout.write(json.dumps(to_json(result, layer, head), ensure_ascii=False) + "\n")
    else:
        render(result, Console(), layer, head)
