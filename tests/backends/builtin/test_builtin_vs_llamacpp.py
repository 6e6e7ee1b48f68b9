"""The numpy engine against llama.cpp (F32 KV cache, logits for every position), logit by logit.

Three references:

* a tiny random model written here in F32: the two engines must agree to 1e-4;
* SmolLM2-135M-Instruct, dequantized here to an F32 file: the real architecture
  at full size, where only float32 summation order differs;
* the SmolLM2 Q4_1 file as shipped. Here llama.cpp never multiplies float32 by
  float32: before each product with quantized weights it rounds the activations
  to 8-bit blocks (q8_1 for Q4_1 weights, q8_0 for the Q8_0 embedding/output),
  and a last-bit difference anywhere decides how some activation rounds, which
  then spreads to every later layer and position. By default the engine
  reproduces llama.cpp's arithmetic bit for bit (llamacpp_numerics.py); only
  the output projection's float32 summation order differs, so the logits agree
  to ~1e-4 and the top token and greedy text are the same. With plain float32
  numerics (``match_llama_cpp=False``) they differ by the rounding, compounded
  over 30 layers: that test bounds the gap. Figures print with ``pytest -s``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from agentshell_builtin.gguf_loader import GGUFModel, _dequantize, _open, load_gguf, read_vocab
from agentshell_builtin.tokenizer import Tokenizer

from tests.backends.builtin.builtin_gguf_fixtures import llama_cpp_reference, write_llama_gguf

pytestmark = pytest.mark.slow

VARIED_PROMPT = (
    "<|im_start|>user\nExplain what this Python function does, then translate the summary to French.\n"
    "```python\ndef mean(xs: list[float]) -> float:\n    if not xs:\n        raise ValueError('empty')\n"
    "    return sum(xs) / len(xs)\n```\nAlso: 12 * 37 = ? Le café coûte 3,50 € à Paris. 東京は日本の首都です。"
    " Emoji: 🚀✨. Tabs\tand   spaces.<|im_end|>\n<|im_start|>assistant\nThe function `mean` computes the "
    "arithmetic average of a list of floating-point numbers. If the list is empty, it raises a ValueError "
    "with the message 'empty'; otherwise it divides the sum of the elements by their count. In French: "
    "La fonction calcule la moyenne arithmétique d'une liste de nombres. And 12 * 37 = 444, because "
    "12 * 30 = 360 and 12 * 7 = 84, so 360 + 84 = 444. Paris is the capital of France; Tokyo is the "
    "capital of Japan. The rocket emoji means launch and the sparkles mean something new.<|im_end|>\n"
)


def reference_logits(ref: Any, ids: list[int]) -> np.ndarray[Any, Any]:
    ref.reset()
    ref.eval(ids)
    return np.array(ref.scores[: len(ids)], dtype=np.float32)


def our_logits(model: GGUFModel, ids: list[int]) -> np.ndarray[Any, Any]:
    llama = model.build()
    out: np.ndarray[Any, Any] = llama.forward(ids, llama.new_cache(len(ids) + 1))[0]
    return out


def greedy_ours(model: GGUFModel, ids: list[int], n: int) -> list[int]:
    """Prefill, then one token at a time against the KV cache."""
    return model.build().greedy(ids, n)


def greedy_reference(ref: Any, ids: list[int], n: int) -> list[int]:
    ref.reset()
    ref.eval(ids)
    out: list[int] = []
    for _ in range(n):
        out.append(int(np.argmax(ref.scores[ref.n_tokens - 1])))
        ref.eval(out[-1:])
    return out


# --------------------------------------------------------------------------- tiny random model (F32)


@pytest.fixture(scope="module")
def tiny(tiny_file: Path) -> tuple[GGUFModel, Any]:
    return load_gguf(tiny_file), llama_cpp_reference(tiny_file)


def test_tiny_logits_within_1e4_over_300_positions(tiny: tuple[GGUFModel, Any]) -> None:
    model, ref = tiny
    ids = [int(i) for i in np.random.default_rng(7).integers(3, model.config.vocab_size, 300)]
    diff = np.abs(our_logits(model, ids) - reference_logits(ref, ids))
    print(f"\ntiny F32: max |Δlogit| = {diff.max():.2e} over {len(ids)} positions")
    assert diff.max() <= 1e-4


def test_tiny_incremental_decode_matches_prefill(tiny: tuple[GGUFModel, Any]) -> None:
    model, _ = tiny
    llama = model.build()
    ids = [int(i) for i in np.random.default_rng(3).integers(3, model.config.vocab_size, 40)]
    full = llama.forward(ids, llama.new_cache(64))[0]
    cache = llama.new_cache(64)
    steps = [llama.forward(ids[:10], cache)[0]] + [llama.forward([t], cache)[0] for t in ids[10:]]
    np.testing.assert_allclose(np.concatenate(steps), full, atol=1e-5)


def test_tiny_greedy_64_tokens_same_as_llama_cpp(tiny: tuple[GGUFModel, Any]) -> None:
    model, ref = tiny
    prompt = Tokenizer(model.vocab).encode("Once upon a time, in a small village by the sea,")
    assert greedy_ours(model, prompt, 64) == greedy_reference(ref, prompt, 64)


# --------------------------------------------------------------------------- SmolLM2


@pytest.fixture(scope="module")
def smollm2(smollm2_file: Path) -> tuple[GGUFModel, Any, Tokenizer]:
    model = load_gguf(smollm2_file)
    return model, llama_cpp_reference(smollm2_file), Tokenizer(model.vocab)


@pytest.fixture(scope="module")
def smollm2_f32(smollm2_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[GGUFModel, Any]:
    """The same weights, dequantized once and written as an F32 GGUF that llama.cpp also runs."""
    reader = _open(smollm2_file)
    vocab = read_vocab(reader)
    tensors = {t.name: _dequantize(t) for t in reader.tensors}
    path = write_llama_gguf(
        tmp_path_factory.mktemp("smol") / "smollm2-f32.gguf",
        n_layer=30,
        n_embd=576,
        n_head=9,
        n_kv_head=3,
        ffn_dim=1536,
        tokens=vocab.tokens,
        token_types=vocab.token_types,
        merges=vocab.merges,
        pre=vocab.pre,
        rope_base=100000.0,
        tensors=tensors,
    )
    del tensors
    return load_gguf(path), llama_cpp_reference(path)


def test_smollm2_q4_1_logits_match_llama_cpp(smollm2: tuple[GGUFModel, Any, Tokenizer]) -> None:
    model, ref, tok = smollm2
    assert model.numerics == "llama.cpp"
    ids = tok.encode(VARIED_PROMPT, parse_special=True)
    assert len(ids) >= 256
    ours, theirs = our_logits(model, ids), reference_logits(ref, ids)
    diff = np.abs(ours - theirs)
    agree = float((ours.argmax(-1) == theirs.argmax(-1)).mean())
    print(
        f"\nSmolLM2 Q4_1, llama.cpp numerics: {len(ids)} positions, max |Δlogit| = {diff.max():.2e}, "
        f"mean {diff.mean():.2e}, logit range ±{np.abs(theirs).max():.1f}, top-1 agreement {agree:.1%}"
    )
    assert agree == 1.0
    assert diff.max() < 1e-3  # the output projection's summation order: ~1e-5 relative on logits of ±30


def test_smollm2_q4_1_float32_numerics_differ_by_the_rounding(
    smollm2_file: Path, smollm2: tuple[GGUFModel, Any, Tokenizer]
) -> None:
    """Without llama.cpp's activation rounding the gap is that rounding, compounded: bounded, not zero."""
    _, ref, tok = smollm2
    model = load_gguf(smollm2_file, match_llama_cpp=False)
    assert model.numerics == "float32"
    ids = tok.encode(VARIED_PROMPT, parse_special=True)
    ours, theirs = our_logits(model, ids), reference_logits(ref, ids)
    diff = np.abs(ours - theirs)
    agree = float((ours.argmax(-1) == theirs.argmax(-1)).mean())
    print(
        f"\nSmolLM2 Q4_1, float32 numerics: {len(ids)} positions, max |Δlogit| = {diff.max():.3f}, "
        f"mean {diff.mean():.4f}, top-1 agreement {agree:.1%}"
    )
    assert agree >= 0.9
    assert 0.01 < diff.mean() < 0.5
    # where the top tokens differ it is a near-tie: llama.cpp's pick is among our top 5
    ranks = (ours > ours[np.arange(len(ids)), theirs.argmax(-1)][:, None]).sum(-1)
    assert ranks.max() < 5


def test_smollm2_f32_logits_match_llama_cpp(
    smollm2_f32: tuple[GGUFModel, Any], smollm2: tuple[Any, Any, Tokenizer]
) -> None:
    model, ref = smollm2_f32
    ids = smollm2[2].encode(VARIED_PROMPT, parse_special=True)
    ours, theirs = our_logits(model, ids), reference_logits(ref, ids)
    diff = np.abs(ours - theirs)
    agree = float((ours.argmax(-1) == theirs.argmax(-1)).mean())
    print(f"\nSmolLM2 F32: {len(ids)} positions, max |Δlogit| = {diff.max():.2e}, top-1 agreement {agree:.1%}")
    assert diff.max() < 5e-3
    assert agree == 1.0


CHAT_PROMPT = "<|im_start|>user\nWrite a short poem about the sea.<|im_end|>\n<|im_start|>assistant\n"


def test_smollm2_f32_greedy_64_tokens_same_as_llama_cpp(
    smollm2_f32: tuple[GGUFModel, Any], smollm2: tuple[Any, Any, Tokenizer]
) -> None:
    model, ref = smollm2_f32
    ids = smollm2[2].encode(CHAT_PROMPT, parse_special=True)
    assert greedy_ours(model, ids, 64) == greedy_reference(ref, ids, 64)


def test_smollm2_q4_1_greedy_64_tokens_same_as_llama_cpp(smollm2: tuple[GGUFModel, Any, Tokenizer]) -> None:
    """Prefill, then 64 single-token steps: decode takes other kernels than prefill in llama.cpp too."""
    model, ref, tok = smollm2
    ids = tok.encode(CHAT_PROMPT, parse_special=True)
    assert greedy_ours(model, ids, 64) == greedy_reference(ref, ids, 64)
