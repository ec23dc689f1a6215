"""Seeded tiny random Hugging Face snapshots of the VQAScore backends, for tests and benchmarks.

A snapshot written here has the file names and formats of the real one (``config.json`` in the
flat layout the hub files use, ``generation_config.json``, ``model.safetensors`` with the hub's
parameter names, ``tokenizer.json`` / ``vocab.json`` / ``merges.txt`` / ``tokenizer_config.json``,
``preprocessor_config.json``, ``chat_template.json``), so that the real loading code reads it, and so
that t2v_metrics (transformers 4.49) reads the same files for the parity references. Only the
shapes are tiny and the weights random. The tokenizer is a byte-level BPE built offline with the
model's special tokens (at the end of the vocabulary, in the real order) and its real chat template.
"""

from __future__ import annotations

import json
from pathlib import Path

#: the chat template of Qwen2-VL / Qwen2.5-VL Instruct (the model's published ``chat_template.json``)
QWEN_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

#: Qwen2's special tokens, in the order of the real vocabulary (151643 ...)
QWEN_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")

#: Qwen2's pre-tokenisation pattern (its tokenizer.json and transformers' Qwen2Tokenizer)
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+")

#: words that get whole tokens in the tiny vocabulary (the answer words above all)
_WORDS = ("Yes", "No", "Does", "this", "image", "show", "system", "user", "assistant", "You", "helpful")


def _byte_level_vocab(words=_WORDS) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The 256 byte-level symbols plus left-to-right merges that make each word one token."""
    from tokenizers.pre_tokenizers import ByteLevel

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    merges: list[tuple[str, str]] = []
    for word in words:
        for variant in (word, "Ġ" + word):  # "Ġ" is the byte-level space
            left = variant[0]
            for ch in variant[1:]:
                merged = left + ch
                if merged not in vocab:
                    vocab[merged] = len(vocab)
                    merges.append((left, ch))
                left = merged
    return vocab, merges


def write_qwen_tokenizer(folder: Path) -> int:
    """Write a Qwen2-style byte-level BPE tokenizer to ``folder``; returns the vocabulary size used."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import BPE

    vocab, merges = _byte_level_vocab()
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, continuing_subword_prefix="",
                        end_of_word_suffix="", fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIAL])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
                                       encoding="utf-8")
    first = len(vocab)
    added = {str(first + i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                              "single_word": False, "special": True} for i, t in enumerate(QWEN_SPECIAL)}
    config = {
        "add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added,
        "additional_special_tokens": list(QWEN_SPECIAL[1:]), "bos_token": None,
        "chat_template": QWEN_VL_CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>", "errors": "replace", "model_max_length": 131072,
        "pad_token": "<|endoftext|>", "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": QWEN_VL_CHAT_TEMPLATE}, indent=2),
                                               encoding="utf-8")
    return first + len(QWEN_SPECIAL)


def _qwen_config(vocab_size: int, first_special: int) -> dict:
    ids = {t: first_special + i for i, t in enumerate(QWEN_SPECIAL)}
    return {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "attention_dropout": 0.0,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "vision_token_id": ids["<|vision_pad|>"],
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "max_position_embeddings": 4096,
        "max_window_layers": 2,
        "model_type": "qwen2_5_vl",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 4096,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vision_config": {
            "depth": 2, "hidden_act": "silu", "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
            "in_chans": 3, "out_hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2,
            "spatial_patch_size": 14, "window_size": 112, "fullatt_block_indexes": [1],
            "tokens_per_second": 2, "temporal_patch_size": 2,
        },
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        "vocab_size": vocab_size,
    }


def _legacy_qwen_name(name: str) -> str:
    """transformers 5 module names -> the hub files' names (``model.embed_tokens``, ``visual.*``)."""
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return name[len("model."):]
    return name


def write_qwen2_5_vl(folder: Path, seed: int = 0, scale: float = 0.5, yes_logit: float = 16.0) -> Path:
    """A tiny seeded Qwen2.5-VL snapshot in ``folder``.

    Weights are N(0, (4 * scale)^2 / fan_in), norm weights about 1, other output rows a fifth of
    that. With every output row random, P("Yes") is about 1 / vocabulary for every video; so the
    "Yes" and "No" rows are set along the final hidden state of a text-only generation prompt, giving
    logits of about ``yes_logit`` and ``yes_logit - 1`` there, and P("Yes") well inside (0, 1) that moves
    with the video and the prompt.
    """
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    folder = Path(folder)
    n_vocab = write_qwen_tokenizer(folder)
    first_special = n_vocab - len(QWEN_SPECIAL)
    config = _qwen_config(n_vocab, first_special)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    ids = {t: first_special + i for i, t in enumerate(QWEN_SPECIAL)}
    # the real file's values, with the tiny ids
    generation = {"bos_token_id": ids["<|endoftext|>"], "do_sample": True,
                  "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]], "pad_token_id": ids["<|endoftext|>"],
                  "repetition_penalty": 1.05, "temperature": 0.1, "top_k": 1, "top_p": 0.001}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")
    preprocessor = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
                    "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                    "image_std": [0.26862954, 0.26130258, 0.27577711],
                    "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor"}
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2), encoding="utf-8")

    model = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**config)).eval()
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("norm.weight") or ".norm1." in name or ".norm2." in name or "ln_q" in name:
            value = 1.0 + 0.1 * torch.randn(tensor.shape, generator=gen)
        else:
            value = scale * torch.randn(tensor.shape, generator=gen) / max(1.0, tensor.shape[-1] ** 0.5) * 4
            if name == "lm_head.weight":
                value = value * 0.2
        state[name] = value.to(torch.float32).contiguous()
    model.load_state_dict(state)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    prompt = torch.tensor([tok.encode("<|im_start|>assistant\n").ids])
    with torch.no_grad():
        h = model.model.language_model(input_ids=prompt).last_hidden_state[0, -1]
    vocab = _byte_level_vocab()[0]
    state["lm_head.weight"][vocab["Yes"]] = yes_logit * h / h.dot(h)
    state["lm_head.weight"][vocab["No"]] = (yes_logit - 1.0) * h / h.dot(h)
    save_file({_legacy_qwen_name(k): v for k, v in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    return folder


#: the parity videos: file name -> (width, height, frames, fps, seed); names carry the prompts
PARITY_VIDEOS = {
    "a red car driving on a road-0.mp4": (64, 48, 16, 8.0, 1),
    "a red car driving on a road-1.mp4": (64, 48, 16, 8.0, 2),
    "a cat playing with a ball-0.mp4": (80, 48, 30, 24.0, 3),
    "a dog, Yes or No-0.mp4": (64, 96, 9, 4.0, 4),
}


def write_videos(folder: Path, specs: dict | None = None) -> list[Path]:
    """Deterministic small mp4 videos (OpenCV mp4v): smooth colour fields moving a little per frame."""
    import cv2
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (w, h, n, fps, seed) in (specs or PARITY_VIDEOS).items():
        rng = np.random.default_rng(seed)
        base = cv2.resize(rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8), (w + 16, h + 16),
                          interpolation=cv2.INTER_CUBIC)
        path = folder / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f"cannot open an mp4v writer for {path}")
        for i in range(n):
            writer.write(np.ascontiguousarray(base[i % 16:i % 16 + h, (2 * i) % 16:(2 * i) % 16 + w]))
        writer.release()
        out.append(path)
    return out
