"""BPE training, and the tokenizer as llama.cpp rebuilds it from the exported GGUF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentshell_train.bpe import BPETokenizer, bytes_to_unicode, pretokenize, train_bpe
from agentshell_train.corpus import generate, render
from agentshell_train.export import export_gguf
from agentshell_train.train import ModelConfig, init_params

SAMPLES = [
    "Hello world! It's a test, isn't it? They'll say we've done it.",
    "def main():\n    return parse_args(argv[1:])  # comment\n\n\n",
    "  leading spaces,\ttabs\tand trailing   \n",
    "numbers 3.14159 and 2026-11-28 and 1000000",
    'JSON: {"name": "read_file", "arguments": {"path": "src/app.py"}}',
    "<|im_start|>user\nlist src<|im_end|>\n<|im_start|>assistant\n",
    "snake_case_name __dunder__ a_b",
    "café naïve résumé",
]


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    return [render(c) for c in generate(5, 60)] + SAMPLES


@pytest.fixture(scope="module")
def tokenizer(corpus_texts: list[str]) -> BPETokenizer:
    return train_bpe(corpus_texts, 700)


def test_byte_alphabet_is_gpt2s() -> None:
    table = bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert table[ord("A")] == "A"
    assert table[ord(" ")] == "Ġ"
    assert table[ord("\n")] == "Ċ"


def test_pretokenizer_splits_like_gpt2() -> None:
    assert pretokenize("Hello world's  end\n") == ["Hello", " world", "'s", " ", " end", "\n"]
    assert pretokenize("a_b 12ab") == ["a", "_", "b", " 12", "ab"]


def test_vocabulary_layout_and_round_trip(tokenizer: BPETokenizer, corpus_texts: list[str]) -> None:
    assert len(tokenizer.tokens) == 700
    assert tokenizer.tokens[:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert len(set(tokenizer.tokens)) == len(tokenizer.tokens)
    for a, b in tokenizer.merges:  # every merge joins tokens that exist before it
        assert tokenizer.tokens.index(a) < tokenizer.tokens.index(a + b)
        assert tokenizer.tokens.index(b) < tokenizer.tokens.index(a + b)
    for text in corpus_texts:
        ids = tokenizer.encode(text)
        assert tokenizer.decode(ids) == text
    assert tokenizer.encode("<|im_end|>") == [2]
    assert len(tokenizer.encode("<|im_end|>", specials=False)) > 1


def test_training_is_deterministic_and_compresses(corpus_texts: list[str], tokenizer: BPETokenizer) -> None:
    again = train_bpe(corpus_texts, 700)
    assert again.tokens == tokenizer.tokens and again.merges == tokenizer.merges
    text = corpus_texts[0]
    assert len(tokenizer.encode(text)) < len(text.encode()) / 2  # realistic project files compress less than toy ones


def _vocab_only(path: Path) -> Any:
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(str(path), vocab_only=True, verbose=False)


def test_space_apart_keeps_names_the_same_after_a_space(corpus_texts: list[str]) -> None:
    tok = train_bpe(corpus_texts, 700, space_apart=True)
    assert all(t.strip("Ġ") == "" or "Ġ" not in t for t in tok.tokens)
    assert tok.encode(" parser.py")[1:] == tok.encode('"parser.py')[1:] == tok.encode("parser.py")


@pytest.mark.slow
@pytest.mark.parametrize("space_apart", [False, True])
def test_llama_cpp_and_the_engine_tokenize_exactly_like_training(
    tmp_path: Path, corpus_texts: list[str], space_apart: bool
) -> None:
    tokenizer = train_bpe(corpus_texts, 700, space_apart=space_apart)
    cfg = ModelConfig(vocab_size=len(tokenizer.tokens), dim=16, n_layers=1, n_heads=2, n_kv_heads=1, ffn_dim=16)
    path = tmp_path / "tok.gguf"
    export_gguf(path, init_params(cfg, 0), cfg, tokenizer)
    llm = _vocab_only(path)
    from agentshell_builtin.gguf_loader import load_gguf
    from agentshell_builtin.tokenizer import Tokenizer

    engine = Tokenizer(load_gguf(path).vocab)
    for text in corpus_texts[:30] + SAMPLES:
        ours = tokenizer.encode(text)
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == ours, text
        assert engine.encode(text, add_special=False, parse_special=True) == ours, text
    assert np.array_equal(np.array(tokenizer.token_types[:3]), [3, 3, 3])
