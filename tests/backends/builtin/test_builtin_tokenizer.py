"""The tokenizer against llama.cpp's, on SmolLM2 (pre ``smollm``) and on a ``gpt-2`` pre-tokenizer file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agentshell_builtin.gguf_loader import UnsupportedModel, VocabData, _open, read_vocab
from agentshell_builtin.tokenizer import BYTE_TO_CHAR, StreamDecoder, Tokenizer, split_gpt2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backends.builtin.builtin_gguf_fixtures import llama_cpp_reference, write_llama_gguf

CORPUS = [
    "Hello world! It's a test, isn't it? They'll've gone; we'd say I'm sure you're right.",
    "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)  # slow\n\n\n\tpass\r\n",
    "    leading spaces, trailing spaces    ",
    "a  b   c    d\n\n\n e \t\t f",
    "numbers 1234567890 3.14159 1,000,000 x2y3 0x1F ½ ² Ⅻ ٣",
    "café naïve résumé Ünïcödé façade Ærøskøbing ñandú",
    "日本語のテキスト、中文字符。한국어 텍스트",
    "emoji 😀👍🏽 🇫🇷 family 👨‍👩‍👧 ❤️",
    "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n",
    "'''quoted''' \"double\" `back` 's 'S 'LL ''",
    "\u00a0nbsp\u2003em space\u3000ideographic\u2028line sep",
    '{"name": "read_file", "arguments": {"path": "src/main.py"}}',
    "x" * 80 + " " + "ab" * 40,
    "",
    " ",
    "\n",
    "ÿ\x00\x01\x7f control bytes",
]


@pytest.fixture(scope="module")
def smollm2_pair(smollm2_file: Path) -> tuple[Tokenizer, Any]:
    ours = Tokenizer(read_vocab(_open(smollm2_file)))
    return ours, llama_cpp_reference(smollm2_file, vocab_only=True)


@pytest.fixture(scope="module")
def gpt2_pair(smollm2_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Tokenizer, Any]:
    """SmolLM2's vocabulary and merges in a file that names the plain ``gpt-2`` pre-tokenizer."""
    v = read_vocab(_open(smollm2_file))
    path = write_llama_gguf(
        tmp_path_factory.mktemp("gpt2") / "gpt2-pre.gguf",
        n_layer=1,
        n_embd=32,
        n_head=2,
        n_kv_head=2,
        ffn_dim=32,
        tokens=v.tokens,
        token_types=v.token_types,
        merges=v.merges,
        pre="gpt-2",
        tied=True,
    )
    ours = Tokenizer(read_vocab(_open(path)))
    assert ours.vocab.pre == "gpt-2"
    return ours, llama_cpp_reference(path, vocab_only=True)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("text", CORPUS)
def test_smollm2_ids_match_llama_cpp(smollm2_pair: tuple[Tokenizer, Any], text: str, special: bool) -> None:
    ours, ref = smollm2_pair
    expected = ref.tokenize(text.encode(), add_bos=True, special=special)
    assert ours.encode(text, add_special=True, parse_special=special) == expected


@pytest.mark.parametrize("text", CORPUS)
def test_gpt2_pre_ids_match_llama_cpp(gpt2_pair: tuple[Tokenizer, Any], text: str) -> None:
    ours, ref = gpt2_pair
    assert ours.encode(text, parse_special=True) == ref.tokenize(text.encode(), add_bos=True, special=True)


def test_the_two_pre_tokenizers_differ_on_digits(
    smollm2_pair: tuple[Tokenizer, Any], gpt2_pair: tuple[Tokenizer, Any]
) -> None:
    assert smollm2_pair[0].words("year 2024") == ["year", " ", "2", "0", "2", "4"]
    assert gpt2_pair[0].words("year 2024") == ["year", " 2024"]


_ALPHABET = st.sampled_from(
    [*"abcXYZ019 '\n\t.,:;!?()[]{}<>|_-+=*/\\\"", "é", "ñ", "日", "本", "😀", "\u00a0", "²", "Ⅻ", "  ", "'s"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_random_text_matches_llama_cpp(smollm2_pair: tuple[Tokenizer, Any], text: str) -> None:
    ours, ref = smollm2_pair
    assert ours.encode(text) == ref.tokenize(text.encode(), add_bos=True, special=False)


def test_decode_round_trips(smollm2_pair: tuple[Tokenizer, Any]) -> None:
    ours, ref = smollm2_pair
    for text in CORPUS:
        ids = ours.encode(text)
        assert ours.decode(ids) == text
        assert ours.decode(ids).encode() == ref.detokenize(ids)


def test_special_tokens_are_parsed_only_when_asked(smollm2_pair: tuple[Tokenizer, Any]) -> None:
    ours, _ = smollm2_pair
    start = ours.ids["<|im_start|>"]
    assert ours.encode("<|im_start|>user", parse_special=True)[0] == start
    assert start not in ours.encode("<|im_start|>user", parse_special=False)
    assert ours.decode([start]) == ""  # control tokens are not text
    assert ours.decode([start], special=True) == "<|im_start|>"
    assert ours.ids["<|im_end|>"] in ours.stop_ids


def test_stream_decoder_yields_only_whole_characters(smollm2_pair: tuple[Tokenizer, Any]) -> None:
    ours, _ = smollm2_pair
    text = "a😀日é!"
    byte_ids = [ours.ids[BYTE_TO_CHAR[b]] for b in text.encode()]  # one token per byte
    dec = StreamDecoder(ours)
    pieces = [dec.feed(t) for t in byte_ids] + [dec.flush()]
    assert "".join(pieces) == text
    assert all(len(p) <= 1 for p in pieces)  # each piece is "" (incomplete) or one whole character
    dec = StreamDecoder(ours)
    assert dec.feed(byte_ids[1]) == "" and dec.flush() == "\ufffd"  # a cut sequence ends as one replacement


def test_gpt2_split_rules() -> None:
    assert split_gpt2("Hello  world") == ["Hello", " ", " world"]
    assert split_gpt2("it's 42!!  \n") == ["it", "'s", " 42", "!!", "  \n"]
    assert split_gpt2("   x") == ["  ", " x"]


def test_unknown_pre_tokenizer_is_one_clear_line() -> None:
    vocab = VocabData("gpt2", "llama-bpe", ["a"], [1], [], None, None, None, False, False)
    with pytest.raises(UnsupportedModel, match="pre-tokenizer 'llama-bpe' is not supported"):
        Tokenizer(vocab)
