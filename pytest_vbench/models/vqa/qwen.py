"""Qwen2.5-VL VQAScore backend: P("Yes") exactly as t2v_metrics 3.0 computes it, on transformers 5.

t2v_metrics 3.0 (``models/vqascore_models/qwen2vl_model.py``) does, per (video, prompt):

1. frames with qwen-vl-utils (``process_vision_info``; we reproduce its 0.0.14 decord path): the
   number of frames is ``floor2(clamp(total / video_fps * fps, 4, floor2(min(768, total))))`` with
   ``fps`` 8 (or ``round2(nframes)`` when a frame count is asked for), taken at
   ``round(linspace(0, total - 1, n))``; every frame is resized (torchvision bicubic, antialias, on
   uint8) to ``smart_resize`` of its size with multiples of 28, at least 128*28*28 pixels and at most
   ``360*420`` pixels (t2v_metrics' ``max_pixels``);
2. the processor of transformers 4.49 rescales by 1/255, normalises with the CLIP mean/std and cuts
   the frames into 2x14x14 patches (its resize is the identity on sizes that are already multiples of
   28). ``fps`` is not passed to the processor, so ``second_per_grid_ts`` is its default 2 / 2.0 = 1.0
   whatever the sampling rate: we pass the same value;
3. the chat template with one user turn ``[video, question]`` and the generation prompt, question
   ``Does this image show "{}"?``, answer ``Yes``;
4. ``generate(max_new_tokens=1, do_sample=False, output_scores=True)`` with the snapshot's
   ``generation_config.json`` (Qwen's repetition penalty 1.05 is applied to the scores), softmax of
   the first step's scores, probability of ``tokenizer.encode(answer)[0]``. We run the one forward
   pass ourselves (see :mod:`.answer`) with the M-RoPE positions of transformers 4.49
   (:meth:`QwenVQA.positions`; transformers 5 places the text after a video differently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

FRAME_FACTOR = 2
FPS_MIN_FRAMES = 4
FPS_MAX_FRAMES = 768
VIDEO_MIN_PIXELS = 128 * 28 * 28
VIDEO_MAX_PIXELS = 768 * 28 * 28
TOTAL_PIXELS = 128000 * 28 * 28 * 0.9  # qwen-vl-utils' MODEL_SEQ_LEN default
T2V_MAX_PIXELS = 360 * 420  # t2v_metrics' per-video max_pixels
PROCESSOR_FPS = 2.0  # the processor's default fps (t2v_metrics 3.0 does not pass the sampled one)

#: t2v_metrics' defaults for this backend (``Qwen2VLModel.forward``); a frame count replaces the rate
DEFAULTS: dict[str, Any] = {"question": 'Does this image show "{}"?', "answer": "Yes", "fps": 8.0, "frames": None}


def check_options(fps: float | None, frames: int | None) -> str | None:
    """Qwen2.5-VL takes a rate or a frame count: every combination the options allow fits."""
    return None


def _round(x: float, f: int) -> int:
    return round(x / f) * f


def _ceil(x: float, f: int) -> int:
    return math.ceil(x / f) * f


def _floor(x: float, f: int) -> int:
    return math.floor(x / f) * f


def smart_resize(height: int, width: int, factor: int, min_pixels: float, max_pixels: float) -> tuple[int, int]:
    """qwen-vl-utils' size rule: multiples of ``factor``, pixel count within bounds, aspect kept."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio {max(height, width) / min(height, width):.0f} is above 200")
    h_bar = max(factor, _round(height, factor))
    w_bar = max(factor, _round(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = _floor(height / beta, factor)
        w_bar = _floor(width / beta, factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil(height * beta, factor)
        w_bar = _ceil(width * beta, factor)
    return h_bar, w_bar


def frame_count(total: int, video_fps: float, fps: float | None, nframes: int | None) -> int:
    """How many frames qwen-vl-utils samples (``fps`` or ``nframes``, exactly one of them)."""
    if nframes is not None:
        n = _round(nframes, FRAME_FACTOR)
    else:
        min_frames = _ceil(FPS_MIN_FRAMES, FRAME_FACTOR)
        max_frames = _floor(min(FPS_MAX_FRAMES, total), FRAME_FACTOR)
        wanted = total / video_fps * (fps if fps is not None else 0.0)  # fps is set when nframes is not
        n = _floor(min(min(max(wanted, min_frames), max_frames), total), FRAME_FACTOR)
    if not FRAME_FACTOR <= n <= total:
        raise ValueError(f"{n} frames asked of a video of {total}: need between {FRAME_FACTOR} and {total}")
    return n


def sample_frames(path: Path, fps: float | None = 8.0, nframes: int | None = None,
                  max_pixels: float = T2V_MAX_PIXELS, factor: int = 28) -> torch.Tensor:
    """Decoded, sampled and resized frames, uint8 ``(T, 3, H, W)``, as qwen-vl-utils gives them."""
    import decord
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tvf

    reader = decord.VideoReader(str(path))
    total, video_fps = len(reader), reader.get_avg_fps()
    n = frame_count(total, video_fps, fps, nframes)
    idx = torch.linspace(0, total - 1, n).round().long().tolist()
    video = torch.from_numpy(reader.get_batch(idx).asnumpy()).permute(0, 3, 1, 2)
    _, _, height, width = video.shape
    cap = max(min(VIDEO_MAX_PIXELS, TOTAL_PIXELS / n * FRAME_FACTOR), int(VIDEO_MIN_PIXELS * 1.05))
    h, w = smart_resize(height, width, factor, VIDEO_MIN_PIXELS, min(max_pixels, cap))
    return tvf.resize(video, [h, w], interpolation=InterpolationMode.BICUBIC, antialias=True)


def patchify(frames: torch.Tensor, mean, std, patch: int = 14, temporal: int = 2, merge: int = 2):
    """Rescale, normalise and cut ``(T, 3, H, W)`` uint8 frames into the model's flattened patches.

    Returns ``(patches, (grid_t, grid_h, grid_w))``; the arithmetic is the 4.49 image processor's
    (1/255 in float64, then float32 normalisation).
    """
    x = (frames.to(torch.float64) * (1 / 255)).to(torch.float32)
    x = (x - torch.tensor(mean, dtype=torch.float32)[:, None, None]) / torch.tensor(std, dtype=torch.float32)[:, None, None]
    if x.shape[0] % temporal:
        x = torch.cat([x, x[-1:].expand(temporal - x.shape[0] % temporal, -1, -1, -1)])
    t, c, h, w = x.shape
    gt, gh, gw = t // temporal, h // patch, w // patch
    x = x.reshape(gt, temporal, c, gh // merge, merge, patch, gw // merge, merge, patch)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape(gt * gh * gw, c * temporal * patch * patch), (gt, gh, gw)


@dataclass
class QwenVQA:
    """A loaded Qwen2.5-VL snapshot that scores (video, prompt) pairs."""

    defaults = DEFAULTS

    model: Any
    tokenizer: Any
    chat_template: str
    mean: tuple
    std: tuple
    merge: int
    device: str

    def inputs(self, frames: torch.Tensor, question: str) -> dict:
        """Model inputs for one video and question (the 4.49 processor's output, built by hand)."""
        patches, grid = patchify(frames, self.mean, self.std, merge=self.merge)
        messages = [{"role": "user", "content": [{"type": "video", "video": "video"},
                                                 {"type": "text", "text": question}]}]
        text = self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, tokenize=False,
                                                  add_generation_prompt=True)
        n_tokens = grid[0] * grid[1] * grid[2] // (self.merge ** 2)
        if text.count("<|video_pad|>") != 1:
            raise ValueError("the chat template must place exactly one <|video_pad|> for the video")
        text = text.replace("<|video_pad|>", "<|video_pad|>" * n_tokens)
        enc = self.tokenizer(text, return_tensors="pt")
        dtype = next(self.model.parameters()).dtype
        # transformers 5 computes the 3-D (M-RoPE) positions only when told which tokens are video
        # tokens (2; images 1, text 0); without it every token gets text positions, silently
        kinds = (enc["input_ids"] == self.model.config.video_token_id).to(torch.int32) * 2
        return {"input_ids": enc["input_ids"].to(self.device),
                "mm_token_type_ids": kinds.to(self.device),
                "attention_mask": enc["attention_mask"].to(self.device),
                "pixel_values_videos": patches.to(self.device, dtype),
                "video_grid_thw": torch.tensor([grid], device=self.device),
                "second_per_grid_ts": torch.tensor([2 / PROCESSOR_FPS], device=self.device)}

    def positions(self, input_ids: torch.Tensor, grid: tuple[int, int, int], second_per_grid: float) -> torch.Tensor:
        """M-RoPE positions ``(3, 1, L)`` by the transformers 4.49 rule that t2v_metrics ran with.

        Text runs count on from ``1 + the largest position so far``; the video block sits at
        ``start + (t * second_per_grid * tokens_per_second, row, column)``. transformers 5 continues the
        text after a video at ``start + max(rows, columns)`` instead, which differs whenever the time
        positions outgrow the spatial ones (8+ temporal patches at the defaults).
        """
        ids = input_ids[0]
        is_video = ids == self.model.config.video_token_id
        gt, gh, gw = grid[0], grid[1] // self.merge, grid[2] // self.merge
        tps = self.model.config.vision_config.tokens_per_second
        chunks, i, start, n = [], 0, 0, len(ids)
        while i < n:
            j = i
            if bool(is_video[i]):
                t = (torch.arange(gt).view(-1, 1).expand(-1, gh * gw) * second_per_grid * tps).long().flatten()
                h = torch.arange(gh).view(1, -1, 1).expand(gt, -1, gw).flatten()
                w = torch.arange(gw).view(1, 1, -1).expand(gt, gh, -1).flatten()
                block = torch.stack([t, h, w]) + start
                j = i + block.shape[1]
                if j > n or not bool(is_video[i:j].all()):
                    raise ValueError("video placeholder count does not match the video grid")
            else:
                while j < n and not bool(is_video[j]):
                    j += 1
                block = torch.arange(j - i).view(1, -1).expand(3, -1) + start
            chunks.append(block)
            start = int(block.max()) + 1
            i = j
        return torch.cat(chunks, dim=1).unsqueeze(1).to(input_ids.device)

    def p_answer(self, frames: torch.Tensor, question: str, answer: str) -> float:
        """P(first generated token == first token of ``answer``) for one video."""
        return self.p_answer_batch([frames], question, answer)[0]

    def p_answer_batch(self, frames: list[torch.Tensor], question: str, answer: str) -> list[float]:
        """:meth:`p_answer` for several videos of one prompt, in one pass (see :meth:`p_answer_rows`)."""
        return self.p_answer_rows([(f, question, answer) for f in frames])

    def batch_key(self, frames: torch.Tensor) -> tuple:
        """Rows with equal keys can share a forward pass: any two Qwen2.5-VL rows can (each video has its own grid)."""
        return ()

    def p_answer_rows(self, rows: list[tuple[torch.Tensor, str, str]]) -> list[float]:
        """P(answer) for ``(frames, question, answer)`` rows (any prompts, frame counts and sizes) in one pass.

        Rows of different lengths are left-padded (:mod:`.padding`): each row keeps its own unpadded
        M-RoPE positions (:meth:`positions`) and token ids for the repetition penalty, the pads are
        masked, so each row scores as it does alone (up to float rounding).
        """
        from .answer import answer_probability
        from .padding import left_pad, pad_id

        each = [self.inputs(f, q) for f, q, _ in rows]
        own = [e["input_ids"][0] for e in each]
        pos = [self.positions(e["input_ids"], _grid(e), float(e["second_per_grid_ts"][0]))[:, 0] for e in each]
        fill = pad_id(self.tokenizer, self.model.config)
        input_ids, mask = left_pad(own, fill)
        kinds = (input_ids == self.model.config.video_token_id).to(torch.int32) * 2  # as in inputs(); pads are text
        width = input_ids.shape[1]
        positions = torch.zeros((3, len(rows), width), dtype=pos[0].dtype, device=input_ids.device)
        for i, p in enumerate(pos):  # the pads keep position 0: masked, never attended to
            positions[:, i, width - p.shape[1]:] = p
        with torch.inference_mode():  # the patches of video i fill the video tokens of row i, in order
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                             pixel_values_videos=torch.cat([e["pixel_values_videos"] for e in each]),
                             video_grid_thw=torch.cat([e["video_grid_thw"] for e in each]),
                             mm_token_type_ids=kinds, use_cache=False, logits_to_keep=1)
        return [answer_probability(out.logits[i:i + 1, -1], own[i][None], self.tokenizer.encode(a)[0],
                                   self.model.generation_config) for i, (_, _, a) in enumerate(rows)]


def _grid(inputs: dict) -> tuple[int, int, int]:
    t, h, w = (int(v) for v in inputs["video_grid_thw"][0])
    return t, h, w


def load(folder: Path, device: str, dtype) -> QwenVQA:
    """Load a Qwen2.5-VL snapshot from ``folder`` (local files only) onto ``device``."""
    import json

    from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(folder, local_files_only=True, dtype=dtype,
                                                               attn_implementation="sdpa")
    model.to(device).eval()
    from .answer import check_generation_config

    check_generation_config(model.generation_config, str(folder))
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    pre = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    template = json.loads((folder / "chat_template.json").read_text(encoding="utf-8"))["chat_template"]
    return QwenVQA(model, tokenizer, template, tuple(pre["image_mean"]), tuple(pre["image_std"]),
                   int(pre.get("merge_size", 2)), device)


__all__ = ["DEFAULTS", "QwenVQA", "check_options", "frame_count", "load", "patchify", "sample_frames", "smart_resize"]
