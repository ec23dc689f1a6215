"""Seeded tiny random Hugging Face snapshots of the VQAScore backends, for tests and benchmarks.

A snapshot written here has the file names and formats of the real one (``config.json`` in the
flat layout the hub files use, ``generation_config.json``, ``model.safetensors`` with the hub's
parameter names, ``tokenizer.json`` / ``vocab.json`` / ``merges.txt`` / ``tokenizer_config.json``,
``preprocessor_config.json``, ``chat_template.json``), so that the real loading code reads it, and so
that t2v_metrics (transformers 4.49) reads the same files for the parity references. Only the
shapes are tiny and the weights random. The tokenizer is a byte-level BPE built offline with the
model's special tokens (at the end of the vocabulary, in the real order) and its real chat template.

Writers: :func:`write_qwen2_5_vl` (Qwen2.5-VL; t2v_metrics reads it as it is),
:func:`write_llava_onevision` (llava-hf layout; ``tools/t2v_metrics_vqa_reference.py`` turns it into the
lmms-lab layout t2v_metrics reads) and :func:`write_internvl3` (``-hf`` layout; the tool turns it into
OpenGVLab's). The LLaVA-OneVision and InternVL3 chat templates are not the real ones: those backends
build their prompts as t2v_metrics does and never read the template.
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


def write_qwen_tokenizer(folder: Path, extra_special: tuple[str, ...] = (), chat_template: str = QWEN_VL_CHAT_TEMPLATE) -> int:
    """Write a Qwen2-style byte-level BPE tokenizer to ``folder``; returns the vocabulary size used.

    ``extra_special`` are added after Qwen's own special tokens (LLaVA-OneVision's ``<image>``, ``<video>``).
    """
    special = QWEN_SPECIAL + tuple(extra_special)
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
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
                                       encoding="utf-8")
    first = len(vocab)
    added = {str(first + i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                              "single_word": False, "special": True} for i, t in enumerate(special)}
    config = {
        "add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added,
        "additional_special_tokens": list(special[1:]), "bos_token": None,
        "chat_template": chat_template, "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>", "errors": "replace", "model_max_length": 131072,
        "pad_token": "<|endoftext|>", "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": chat_template}, indent=2),
                                               encoding="utf-8")
    return first + len(special)


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


def _set_answer_rows(state: dict, h, yes_logit: float) -> None:
    """Point the "Yes" and "No" output rows along ``h`` (logits ``yes_logit`` and ``yes_logit - 1`` there).

    ``h`` comes from a float64 forward pass and is rounded to float32 only here: float32 results of
    that pass can differ in the last bits between CPUs and thread counts, float64 ones round to the
    same float32 values, so the snapshot (and its digest in the parity references) is reproducible.
    """
    import torch

    vocab = _byte_level_vocab()[0]
    h = h.to(torch.float64)
    state["lm_head.weight"][vocab["Yes"]] = (yes_logit * h / h.dot(h)).to(torch.float32)
    state["lm_head.weight"][vocab["No"]] = ((yes_logit - 1.0) * h / h.dot(h)).to(torch.float32)


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
        h = model.double().model.language_model(input_ids=prompt).last_hidden_state[0, -1]
    _set_answer_rows(state, h, yes_logit)
    save_file({_legacy_qwen_name(k): v for k, v in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    return folder


#: LLaVA-OneVision's extra special tokens (llava-hf snapshots: right after Qwen's, ids 151646 and 151647)
LLAVA_OV_SPECIAL = ("<image>", "<video>")

#: a chat template for the tiny LLaVA-OneVision snapshot: LLaVA-NeXT's ``qwen_1_5`` conversation, which is
#: what t2v_metrics formats with. The backend does not read it (see :mod:`.llava_ov`); it is there so that the
#: snapshot has every file a hub snapshot has.
LLAVA_OV_CHAT_TEMPLATE = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'video' %}<video>\n"
    "{% elif content['type'] == 'image' %}<image>\n{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% endif %}"
)


def _seeded_state(model, seed: int, scale: float) -> dict:
    """Seeded random weights for every tensor of ``model`` (norm weights about 1, the rest ~ N(0, (4 scale)^2 / fan_in))."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in model.state_dict().items():
        if tensor.ndim == 1 and (("norm" in name and name.endswith("weight")) or "lambda_" in name):
            value = 1.0 + 0.1 * torch.randn(tensor.shape, generator=gen)
        elif tensor.ndim == 1:
            value = 0.02 * torch.randn(tensor.shape, generator=gen)
        else:
            fan_in = max(1, tensor.numel() // tensor.shape[0])
            value = scale * torch.randn(tensor.shape, generator=gen) / fan_in ** 0.5 * 4
        state[name] = value.to(torch.float32).contiguous()
    return state


def _llava_ov_config(vocab_size: int, ids: dict) -> dict:
    return {
        "architectures": ["LlavaOnevisionForConditionalGeneration"],
        "model_type": "llava_onevision",
        "image_token_index": ids["<image>"],
        "video_token_index": ids["<video>"],
        "projector_hidden_act": "gelu",
        "multimodal_projector_bias": True,
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "vision_aspect_ratio": "anyres_max_9",
        "image_grid_pinpoints": [[384, 384], [384, 768], [768, 384], [768, 768]],
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "text_config": {
            "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
            "sliding_window": 32768, "use_sliding_window": False, "max_window_layers": 2, "attention_dropout": 0.0,
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "tie_word_embeddings": False,
            "vocab_size": vocab_size, "torch_dtype": "float32",
        },
        # SigLIP so400m's image and patch size (LLaVA-NeXT's tower insists on 27 x 27 = 729 patches); tiny widths
        "vision_config": {
            "model_type": "siglip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "image_size": 384, "patch_size": 14, "num_channels": 3,
            "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-06, "vision_use_head": False,
        },
    }


def _legacy_llava_ov_name(name: str) -> str:
    """transformers 5 module names -> the llava-hf hub files' names (``language_model.model.*`` ...)."""
    if name.startswith("model.language_model."):
        return "language_model.model." + name[len("model.language_model."):]
    if name == "lm_head.weight":
        return "language_model.lm_head.weight"
    if name.startswith("model.vision_tower."):
        return "vision_tower.vision_model." + name[len("model.vision_tower."):]
    if name.startswith("model."):
        return name[len("model."):]
    return name


def write_llava_onevision(folder: Path, seed: int = 0, scale: float = 0.5, yes_logit: float = 16.0) -> Path:
    """A tiny seeded LLaVA-OneVision snapshot in ``folder``, in the llava-hf layout.

    Text model: Qwen2 (hidden 64, 2 layers); vision: SigLIP at 384 px, patch 14, 2 layers 32 wide;
    the 2-layer GELU projector and ``image_newline``. The tokenizer is :func:`write_qwen_tokenizer`'s
    plus ``<image>`` and ``<video>``, and the vocabulary is exactly the tokenizer's size (LLaVA-NeXT's
    loader resizes the embeddings to ``len(tokenizer)``, so both sides then score over the same rows).
    The "Yes"/"No" output rows are set as in :func:`write_qwen2_5_vl`.
    """
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    folder = Path(folder)
    n_vocab = write_qwen_tokenizer(folder, LLAVA_OV_SPECIAL, LLAVA_OV_CHAT_TEMPLATE)
    special = QWEN_SPECIAL + LLAVA_OV_SPECIAL
    ids = {t: n_vocab - len(special) + i for i, t in enumerate(special)}
    config = _llava_ov_config(n_vocab, ids)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    generation = {"bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
                  "pad_token_id": ids["<|endoftext|>"]}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")
    preprocessor = {"image_processor_type": "LlavaOnevisionImageProcessor", "processor_class": "LlavaOnevisionProcessor",
                    "do_resize": True, "size": {"height": 384, "width": 384}, "resample": 3, "do_rescale": True,
                    "rescale_factor": 0.00392156862745098, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
                    "image_std": [0.5, 0.5, 0.5], "do_convert_rgb": True, "do_pad": True,
                    "image_grid_pinpoints": config["image_grid_pinpoints"]}
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2), encoding="utf-8")

    model = LlavaOnevisionForConditionalGeneration(LlavaOnevisionConfig(**config)).eval()
    state = _seeded_state(model, seed, scale)
    state["lm_head.weight"] = state["lm_head.weight"] * 0.2
    model.load_state_dict(state)
    # calibrate on a whole prompt with a 2-frame grey video, so that P(Yes) of real inputs is well inside (0, 1)
    from .llava_ov import prompt_text

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    before, after = prompt_text('Does this image show "x"? Answer the question with Yes or No').split("<image>")
    n_video = 2 * 14 * 14 + 1
    prompt = torch.tensor([tok.encode(before).ids + [ids["<video>"]] * n_video + tok.encode(after).ids])
    with torch.no_grad():
        h = model.double().model(input_ids=prompt, pixel_values_videos=torch.zeros(1, 2, 3, 384, 384,
                                                                                   dtype=torch.float64)
                                 ).last_hidden_state[0, -1]
    _set_answer_rows(state, h, yes_logit)
    save_file({_legacy_llava_ov_name(k): v for k, v in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    return folder


#: InternVL3's extra special tokens (after Qwen2.5's; ``<IMG_CONTEXT>`` stands for one image feature)
INTERNVL_SPECIAL = ("<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>")


def _internvl_config(vocab_size: int, ids: dict) -> dict:
    return {
        "architectures": ["InternVLForConditionalGeneration"],
        "model_type": "internvl",
        "image_token_id": ids["<IMG_CONTEXT>"],
        "image_seq_length": 256,
        "downsample_ratio": 0.5,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "default",
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "text_config": {
            "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
            "sliding_window": 32768, "use_sliding_window": False, "max_window_layers": 2, "attention_dropout": 0.0,
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "tie_word_embeddings": False,
            "vocab_size": vocab_size, "torch_dtype": "float32",
        },
        # InternViT-300M's image and patch size (t2v_metrics feeds 448x448 tiles); tiny widths
        "vision_config": {
            "model_type": "internvl_vision", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "image_size": [448, 448], "patch_size": [14, 14], "num_channels": 3,
            "hidden_act": "gelu", "layer_norm_eps": 1e-06, "norm_type": "layer_norm", "attention_bias": True,
            "use_qk_norm": False, "layer_scale_init_value": 0.1, "use_mean_pooling": True,
            "use_absolute_position_embeddings": True,
        },
    }


def write_internvl3(folder: Path, seed: int = 0, scale: float = 0.5, yes_logit: float = 16.0) -> Path:
    """A tiny seeded InternVL3 snapshot in ``folder``, in the Hugging Face layout (``OpenGVLab/InternVL3-*-hf``).

    Text model: Qwen2 (hidden 64, 2 layers); vision: InternViT at 448 px, patch 14, 2 layers 32 wide,
    pixel shuffle 0.5 (256 tokens a tile), the LayerNorm + 2-layer GELU projector. The tokenizer is
    :func:`write_qwen_tokenizer`'s plus InternVL's ``<img>``, ``</img>``, ``<IMG_CONTEXT>`` ... The
    "Yes"/"No" rows are calibrated on a prompt with 16 grey tiles (the default frame count).
    """
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer
    from transformers import InternVLConfig, InternVLForConditionalGeneration

    from .internvl import query_text

    folder = Path(folder)
    n_vocab = write_qwen_tokenizer(folder, INTERNVL_SPECIAL, QWEN_VL_CHAT_TEMPLATE)
    special = QWEN_SPECIAL + INTERNVL_SPECIAL
    ids = {t: n_vocab - len(special) + i for i, t in enumerate(special)}
    config = _internvl_config(n_vocab, ids)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    generation = {"bos_token_id": ids["<|endoftext|>"], "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
                  "pad_token_id": ids["<|endoftext|>"]}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")
    preprocessor = {"image_processor_type": "GotOcr2ImageProcessorFast", "processor_class": "InternVLProcessor",
                    "do_resize": True, "size": {"height": 448, "width": 448}, "resample": 3, "do_rescale": True,
                    "rescale_factor": 0.00392156862745098, "do_normalize": True,
                    "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "do_convert_rgb": True,
                    "crop_to_patches": False, "min_patches": 1, "max_patches": 12}
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2), encoding="utf-8")

    model = InternVLForConditionalGeneration(InternVLConfig(**config)).eval()
    state = _seeded_state(model, seed, scale)
    state["lm_head.weight"] = state["lm_head.weight"] * 0.2
    model.load_state_dict(state)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    prompt = torch.tensor([tok.encode(query_text('Does this figure show "x"? Please answer Yes or No.', 16, 256)).ids])
    with torch.no_grad():
        h = model.double().model(input_ids=prompt, pixel_values=torch.zeros(16, 3, 448, 448, dtype=torch.float64)
                                 ).last_hidden_state[0, -1]
    _set_answer_rows(state, h, yes_logit)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
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
