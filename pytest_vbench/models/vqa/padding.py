"""Left padding for scoring rows of different lengths (videos of different prompts) in one forward pass.

t2v_metrics scores one (video, prompt) at a time, unpadded. To put rows of different token lengths in
one batch, each row keeps its own tokens at the right end (so the last position, whose logits give
P("Yes"), is every row's own last token) and the pads at the left are masked out of attention. The
positions of a row's real tokens must be the ones it has alone: the backends pass them explicitly
(1-D: 0, 1, ... from the row's first real token; Qwen2.5-VL: the row's own M-RoPE positions). Pads
take position 0 and a pad token id; no real token attends to them, so they change nothing but
float rounding (checked against one-at-a-time scoring to the parity bar in the tests).
"""

from __future__ import annotations

import torch


def pad_id(tokenizer, config) -> int:
    """The token id that fills the pads: the tokenizer's pad token, else 0; never the model's image/video token."""
    forbidden = {int(v) for v in (getattr(config, "image_token_id", None), getattr(config, "video_token_id", None))
                 if v is not None}
    pid = tokenizer.pad_token_id
    pid = int(pid) if pid is not None else 0
    if pid in forbidden:  # a pad read as a video token would take a video's features
        pid = next(i for i in range(len(tokenizer)) if i not in forbidden)
    return pid


def left_pad(rows: list[torch.Tensor], fill: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` of shape ``(len(rows), longest)``: each 1-D row right-aligned, ``fill`` and mask 0 before it."""
    width = max(int(r.shape[-1]) for r in rows)
    ids = torch.full((len(rows), width), fill, dtype=rows[0].dtype, device=rows[0].device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=rows[0].device)
    for i, r in enumerate(rows):
        n = int(r.shape[-1])
        if n:
            ids[i, width - n:] = r
            mask[i, width - n:] = 1
    return ids, mask


def positions_1d(mask: torch.Tensor) -> torch.Tensor:
    """Plain positions of left-padded rows: 0, 1, ... from each row's first real token; 0 on the pads."""
    return (mask.cumsum(-1) - 1).clamp(min=0) * mask
