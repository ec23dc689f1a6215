"""InternVL3 VQAScore backend (Hugging Face format, ``InternVLForConditionalGeneration``) on transformers 5.

t2v_metrics 3.0 (``models/vqascore_models/internvl_model.py``, ``InternVL2Model.forward``) loads the
OpenGVLab checkpoints with their remote code (``trust_remote_code``: ``InternVLChatModel``). Per
(video, prompt):

1. frames: decord, ``num_frames`` (default 16) segment midpoints: with ``s = (total - 1) / n``, frame
   ``int(s / 2 + numpy.round(s * i))`` for ``i < n`` (numpy rounds halves to even);
2. each frame one 448x448 tile (``dynamic_preprocess`` with ``max_num=1``: a PIL ``resize`` of the
   whole frame, default resampling, bicubic), then torchvision ``ToTensor`` (float32 / 255) and the
   ImageNet mean/std;
3. the ``internvl2_5`` conversation with its default system message:
   ``<|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\nFrame1: <image>\\nFrame2: <image>\\n...{question}
   <|im_end|>\\n<|im_start|>assistant\\n``, each ``<image>`` replaced by ``<img>`` + 256 ``<IMG_CONTEXT>`` +
   ``</img>``; question ``Does this figure show "{}"? Please answer Yes or No.``, answer ``Yes``;
4. the vision tower's last hidden state without the class token, pixel shuffle 0.5 (32x32 -> 16x16
   positions of 4x the width), LayerNorm + 2-layer GELU projector, in place of the ``<IMG_CONTEXT>``
   tokens; plain 1-D positions;
5. ``generate(max_new_tokens=1, do_sample=False, output_scores=True)`` of the chat model's inner
   language model: that model's generation config is built from its config, not from the snapshot's
   ``generation_config.json``, so no logits processor applies; softmax of the first step's scores,
   probability of ``tokenizer.encode(answer)[0]``.

transformers' ``InternVLForConditionalGeneration`` does step 4 (``vision_feature_layer -1``,
``vision_feature_select_strategy "default"``); we build steps 1-3 ourselves and run one forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

DEFAULT_QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
DEFAULT_ANSWER = "Yes"
DEFAULT_FRAMES = 16
SIZE = 448
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
#: the ``internvl2_5`` conversation template's default system message (InternVL 2.5 and 3)
SYSTEM_MESSAGE = "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。"

#: t2v_metrics' defaults for this backend (``InternVL2Model.forward``)
DEFAULTS: dict[str, Any] = {"question": DEFAULT_QUESTION, "answer": DEFAULT_ANSWER, "fps": None,
                            "frames": DEFAULT_FRAMES}


def check_options(fps: float | None, frames: int | None) -> str | None:
    """A reason when the options do not fit this backend (it samples a frame count, not a rate)."""
    from . import frame_option_problem

    return frame_option_problem("internvl", fps)


def frame_indices(total: int, n: int) -> list[int]:
    """t2v_metrics' ``get_video_index`` without bounds: the middle of ``n`` equal segments of ``[0, total - 1]``."""
    import numpy as np

    if total < 1:
        raise ValueError("the video has no frames")
    seg = float(total - 1) / n
    return [int(seg / 2 + np.round(seg * i)) for i in range(n)]


def sample_frames(path: Path, fps: float | None = None, nframes: int | None = None) -> torch.Tensor:
    """Decoded, sampled and preprocessed frames, float32 ``(T, 3, 448, 448)``, as t2v_metrics feeds them."""
    import decord
    import numpy as np
    from PIL import Image

    if fps is not None:
        raise ValueError(check_options(fps, nframes))
    n = nframes if nframes is not None else DEFAULT_FRAMES
    reader = decord.VideoReader(str(path), num_threads=1)
    frames = reader.get_batch(frame_indices(len(reader), n)).asnumpy()
    mean = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(STD, dtype=torch.float32)[:, None, None]
    out = []
    for frame in frames:
        tile = Image.fromarray(frame).convert("RGB").resize((SIZE, SIZE), resample=Image.Resampling.BICUBIC)
        x = torch.from_numpy(np.array(tile, copy=True)).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
        out.append(x.sub_(mean).div_(std))
    return torch.stack(out)


def query_text(question: str, n_frames: int, tokens_per_tile: int, system: str = SYSTEM_MESSAGE) -> str:
    """The ``internvl2_5`` conversation with one tile per frame, image tokens expanded."""
    image = "<img>" + "<IMG_CONTEXT>" * tokens_per_tile + "</img>"
    frames = "".join(f"Frame{i + 1}: {image}\n" for i in range(n_frames))
    return (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{frames}{question}<|im_end|>\n"
            f"<|im_start|>assistant\n")


@dataclass
class InternVLVQA:
    """A loaded InternVL3 snapshot (Hugging Face format) that scores (video, prompt) pairs."""

    model: Any
    tokenizer: Any
    device: str
    defaults: dict

    def input_ids(self, question: str, n_frames: int) -> torch.Tensor:
        """Token ids of the conversation with ``n_frames`` tiles."""
        text = query_text(question, n_frames, int(self.model.config.image_seq_length))
        return torch.tensor([self.tokenizer(text)["input_ids"]], device=self.device)

    def p_answer(self, frames: torch.Tensor, question: str, answer: str) -> float:
        """P(first generated token == first token of ``answer``) for one video."""
        return self.p_answer_batch([frames], question, answer)[0]

    def p_answer_batch(self, frames: list[torch.Tensor], question: str, answer: str) -> list[float]:
        """:meth:`p_answer` for several videos of one prompt, in one forward pass."""
        return self.p_answer_rows([(f, question, answer) for f in frames])

    def batch_key(self, frames: torch.Tensor) -> tuple:
        """Rows with equal keys can share a forward pass: any two InternVL3 rows can (tiles are concatenated)."""
        return ()

    def p_answer_rows(self, rows: list[tuple[torch.Tensor, str, str]]) -> list[float]:
        """P(answer) for ``(frames, question, answer)`` rows (any prompts and frame counts) in one pass.

        Rows of different lengths are left-padded (:mod:`.padding`) with each row's own positions
        0, 1, ... and the pads masked, so each row scores as it does alone (up to float rounding).
        """
        from .answer import answer_probability
        from .padding import left_pad, pad_id, positions_1d

        own = [self.input_ids(q, f.shape[0])[0] for f, q, _ in rows]
        input_ids, mask = left_pad(own, pad_id(self.tokenizer, self.model.config))
        dtype = next(self.model.parameters()).dtype
        with torch.inference_mode():  # the tiles of video i fill the <IMG_CONTEXT> tokens of row i, in order
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions_1d(mask),
                             pixel_values=torch.cat([f for f, _, _ in rows]).to(self.device, dtype), use_cache=False,
                             logits_to_keep=1)
        # no generation-config processors: t2v_metrics' InternVL generates with the inner model's defaults
        return [answer_probability(out.logits[i:i + 1, -1], own[i][None], self.tokenizer.encode(a)[0], None)
                for i, (_, _, a) in enumerate(rows)]


def load(folder: Path, device: str, dtype) -> InternVLVQA:
    """Load an InternVL3 snapshot (``-hf`` layout) from ``folder`` (local files only) onto ``device``."""
    from transformers import AutoTokenizer, InternVLForConditionalGeneration

    model = InternVLForConditionalGeneration.from_pretrained(folder, local_files_only=True, dtype=dtype,
                                                             attn_implementation="sdpa")
    model.to(device).eval()
    vision = model.config.vision_config
    size = tuple(vision.image_size) if isinstance(vision.image_size, (list, tuple)) else (vision.image_size,) * 2
    side = size[0] // (vision.patch_size[0] if isinstance(vision.patch_size, (list, tuple)) else vision.patch_size)
    tokens = int(side * side * model.config.downsample_ratio ** 2)
    if size != (SIZE, SIZE) or tokens != model.config.image_seq_length:
        raise ValueError(f"{folder}: expected 448x448 tiles giving image_seq_length tokens (InternVL3), got "
                         f"{size} and {model.config.image_seq_length} (computed {tokens})")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return InternVLVQA(model, tokenizer, device, DEFAULTS)


__all__ = ["DEFAULTS", "InternVLVQA", "check_options", "frame_indices", "load", "query_text", "sample_frames"]
