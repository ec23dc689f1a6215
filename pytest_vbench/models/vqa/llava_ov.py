"""LLaVA-OneVision VQAScore backend: P("Yes") as t2v_metrics 3.0 computes it, on transformers 5.

t2v_metrics 3.0 (``models/vqascore_models/llavaov_model.py``) runs the lmms-lab checkpoints through
LLaVA-NeXT's own code (``llava.model.builder``, model ``llava_qwen``). Per (video, prompt):

1. frames: decord, ``num_frames`` (default 16) at ``numpy.linspace(0, total - 1, num_frames,
   dtype=int)`` (truncated, not rounded; repeated frames when the video is shorter);
2. LLaVA-NeXT's ``SigLipImageProcessor``: each frame resized to 384x384 with PIL bicubic on uint8
   (transformers' ``image_transforms.resize``), ``x * (1/255)`` in float64 then float32, ``(x - 0.5) / 0.5``;
3. the ``qwen_1_5`` conversation: ``<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n
   <|im_start|>user\\n<image>\\n{question}<|im_end|>\\n<|im_start|>assistant\\n``, each side of ``<image>``
   tokenized on its own (``tokenizer_image_token``), question ``Does this image show "{}"? Answer the
   question with Yes or No``, answer ``Yes``;
4. the SigLIP tower without its last layer, the 2-layer GELU projector, 2x2 bilinear pooling of each
   frame's 27x27 grid to 14x14, all frames in a row and one ``image_newline`` at the end
   (``mm_newline_position`` "one_token"), in place of ``<image>``; plain 1-D positions;
5. ``generate(max_new_tokens=1, do_sample=False, output_scores=True)``: softmax of the first step's
   scores, probability of ``tokenizer.encode(answer)[0]``.

The Hugging Face format (``LlavaOnevisionForConditionalGeneration``, llava-hf snapshots) holds the same
weights (its vision config has the tower's layers minus the dropped last one, and
``vision_feature_layer: -1``, ``vision_feature_select_strategy: "full"``), and its ``get_video_features``
does steps 4's pooling and newline. We build the inputs ourselves (steps 1-3: the llava-hf chat
template and video processor differ from what t2v_metrics feeds) and put ``<video>`` tokens where
LLaVA-NeXT splices the features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

DEFAULT_QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'
DEFAULT_ANSWER = "Yes"
DEFAULT_FRAMES = 16
SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
IMAGE_PLACEHOLDER = "<image>"
SIZE = 384
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)

#: t2v_metrics' defaults for this backend (``LLaVAOneVisionModel.forward``)
DEFAULTS: dict[str, Any] = {"question": DEFAULT_QUESTION, "answer": DEFAULT_ANSWER, "fps": None,
                            "frames": DEFAULT_FRAMES}


def check_options(fps: float | None, frames: int | None) -> str | None:
    """A reason when the options do not fit this backend (it samples a frame count, not a rate)."""
    from . import frame_option_problem

    return frame_option_problem("llava_onevision", fps)


def frame_indices(total: int, n: int) -> list[int]:
    """``numpy.linspace(0, total - 1, n, dtype=int)``: n indices, truncated towards zero."""
    import numpy as np

    if total < 1:
        raise ValueError("the video has no frames")
    return [int(i) for i in np.linspace(0, total - 1, n, dtype=int)]


def sample_frames(path: Path, fps: float | None = None, nframes: int | None = None) -> torch.Tensor:
    """Decoded, sampled and preprocessed frames, float32 ``(T, 3, 384, 384)``, as t2v_metrics feeds them."""
    import decord
    import numpy as np
    from PIL import Image

    if fps is not None:
        raise ValueError(check_options(fps, nframes))
    n = nframes if nframes is not None else DEFAULT_FRAMES
    reader = decord.VideoReader(str(path))
    frames = reader.get_batch(frame_indices(len(reader), n)).asnumpy()
    out = np.empty((len(frames), 3, SIZE, SIZE), dtype=np.float32)
    mean, std = np.array(MEAN, dtype=np.float32), np.array(STD, dtype=np.float32)
    for i, frame in enumerate(frames):
        image = Image.fromarray(frame).convert("RGB").resize((SIZE, SIZE), resample=Image.Resampling.BICUBIC)
        x = (np.asarray(image).astype(np.float64) * (1 / 255)).astype(np.float32)
        out[i] = ((x - mean) / std).transpose(2, 0, 1)
    return torch.from_numpy(out)


def prompt_text(question: str) -> str:
    """LLaVA-NeXT's ``qwen_1_5`` conversation with the image placeholder and the generation prompt."""
    return f"{SYSTEM}<|im_start|>user\n{IMAGE_PLACEHOLDER}\n{question}<|im_end|>\n<|im_start|>assistant\n"


@dataclass
class LlavaOneVisionVQA:
    """A loaded LLaVA-OneVision snapshot (Hugging Face format) that scores (video, prompt) pairs."""

    model: Any
    tokenizer: Any
    device: str
    defaults: dict

    def video_tokens(self, n_frames: int) -> int:
        """Tokens one video of ``n_frames`` frames takes: the pooled grid per frame, plus the newline."""
        side = self.model.config.vision_config.image_size // self.model.config.vision_config.patch_size
        return n_frames * math.ceil(side / 2) ** 2 + 1

    def input_ids(self, question: str, n_frames: int) -> torch.Tensor:
        """Token ids with the video's ``<video>`` tokens where LLaVA-NeXT splices its features."""
        before, after = prompt_text(question).split(IMAGE_PLACEHOLDER)
        ids = (self.tokenizer(before)["input_ids"] + [self.model.config.video_token_id] * self.video_tokens(n_frames)
               + self.tokenizer(after)["input_ids"])
        return torch.tensor([ids], device=self.device)

    def p_answer(self, frames: torch.Tensor, question: str, answer: str) -> float:
        """P(first generated token == first token of ``answer``) for one video."""
        return self.p_answer_batch([frames], question, answer)[0]

    def p_answer_batch(self, frames: list[torch.Tensor], question: str, answer: str) -> list[float]:
        """:meth:`p_answer` for several videos of one prompt with the same frame count, in one forward pass."""
        return self.p_answer_rows([(f, question, answer) for f in frames])

    def batch_key(self, frames: torch.Tensor) -> tuple:
        """Rows with equal keys can share a forward pass: the same frame count (the videos are stacked)."""
        return (int(frames.shape[0]),)

    def p_answer_rows(self, rows: list[tuple[torch.Tensor, str, str]]) -> list[float]:
        """P(answer) for ``(frames, question, answer)`` rows (any prompts, one frame count) in one pass.

        Rows of different lengths are left-padded (:mod:`.padding`) with each row's own positions
        0, 1, ... and the pads masked, so each row scores as it does alone (up to float rounding).
        """
        from .answer import answer_probability
        from .padding import left_pad, pad_id, positions_1d

        if len({self.batch_key(f) for f, _, _ in rows}) != 1:
            raise ValueError("a batch needs videos with the same number of frames")
        own = [self.input_ids(q, f.shape[0])[0] for f, q, _ in rows]
        input_ids, mask = left_pad(own, pad_id(self.tokenizer, self.model.config))
        dtype = next(self.model.parameters()).dtype
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions_1d(mask),
                             pixel_values_videos=torch.stack([f for f, _, _ in rows]).to(self.device, dtype),
                             use_cache=False, logits_to_keep=1)
        return [answer_probability(out.logits[i:i + 1, -1], own[i][None], self.tokenizer.encode(a)[0],
                                   self.model.generation_config) for i, (_, _, a) in enumerate(rows)]


def load(folder: Path, device: str, dtype) -> LlavaOneVisionVQA:
    """Load a LLaVA-OneVision snapshot (llava-hf layout) from ``folder`` (local files only) onto ``device``."""
    from transformers import AutoTokenizer, LlavaOnevisionForConditionalGeneration

    from .answer import check_generation_config

    model = LlavaOnevisionForConditionalGeneration.from_pretrained(folder, local_files_only=True, dtype=dtype,
                                                                   attn_implementation="sdpa")
    model.to(device).eval()
    check_generation_config(model.generation_config, str(folder))
    vision = model.config.vision_config
    if (vision.image_size, vision.patch_size) != (SIZE, 14) or model.config.vision_feature_select_strategy != "full":
        raise ValueError(f"{folder}: expected a SigLIP tower at 384 px, patch 14, 'full' features (LLaVA-OneVision), "
                         f"got {vision.image_size} px, patch {vision.patch_size}, "
                         f"{model.config.vision_feature_select_strategy!r}")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return LlavaOneVisionVQA(model, tokenizer, device, DEFAULTS)


__all__ = ["DEFAULTS", "LlavaOneVisionVQA", "check_options", "frame_indices", "load", "prompt_text", "sample_frames"]
