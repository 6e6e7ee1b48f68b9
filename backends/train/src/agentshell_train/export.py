"""Writing a trained model as a llama-architecture GGUF that llama.cpp and the numpy engine both load.

Tensor names and (out, in) shapes are already llama.cpp's (see ``train.py``), and
RoPE pairs are adjacent, so weights go in unpermuted. The tokenizer goes in as
GPT-2 byte-level BPE with the ChatML control tokens and a chat template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agentshell_train.bpe import BPETokenizer
from agentshell_train.phrasings import SYSTEM_PROMPT
from agentshell_train.train import ModelConfig, Params

# ChatML that always opens with the compact system prompt the model was trained on: the caller's
# system message (the agent's long instructions, the tool list) would take most of a 2,048-token
# window and confuse a model this small. Tool results arrive as <tool_response> user turns and
# earlier calls as <tool_call> text, exactly as agentshell_chatformat writes them.
CHAT_TEMPLATE = (
    "{{ '<|im_start|>system\\n" + SYSTEM_PROMPT + "<|im_end|>\\n' }}"
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

LLAMA_FTYPE_ALL_F32, LLAMA_FTYPE_MOSTLY_F16 = 0, 1


def export_gguf(
    path: Path,
    params: Params,
    cfg: ModelConfig,
    tok: BPETokenizer,
    *,
    f16: bool = False,
    name: str = "agentshell-tiny",
    chat_template: str = CHAT_TEMPLATE,
) -> None:
    """Write ``path``; with ``f16`` the matrices are stored as F16 (norm gains stay F32, as llama.cpp expects)."""
    import gguf

    if len(tok.tokens) != cfg.vocab_size:
        raise ValueError(f"tokenizer has {len(tok.tokens)} tokens but the model expects {cfg.vocab_size}")
    path.parent.mkdir(parents=True, exist_ok=True)
    w: Any = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(cfg.context)
    w.add_embedding_length(cfg.dim)
    w.add_block_count(cfg.n_layers)
    w.add_feed_forward_length(cfg.ffn_dim)
    w.add_head_count(cfg.n_heads)
    w.add_head_count_kv(cfg.n_kv_heads)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_layer_norm_rms_eps(cfg.norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type(LLAMA_FTYPE_MOSTLY_F16 if f16 else LLAMA_FTYPE_ALL_F32)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tok.tokens)
    w.add_token_types(tok.token_types)
    w.add_token_merges([f"{a} {b}" for a, b in tok.merges])
    w.add_bos_token_id(tok.id_of("<|endoftext|>"))
    w.add_eos_token_id(tok.id_of("<|im_end|>"))
    w.add_pad_token_id(tok.id_of("<|endoftext|>"))
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_chat_template(chat_template)

    for key, value in params.items():
        arr = np.ascontiguousarray(value, dtype=np.float16 if (f16 and value.ndim == 2) else np.float32)
        w.add_tensor(key, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
