"""Swin-B/384 image encoder of Tag2Text on timm's SwinTransformer.

The official (Microsoft-layout) checkpoint keeps each stage's patch merging at the *end* of the stage
(``layers.i.downsample``); timm puts it at the *start* of the next one (``layers.i+1.downsample``), with
the same 2x2 concatenation order (x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2]). The
relative-position tables have (2*12-1)^2 = 529 rows for window 12 in every stage (stage 4 at 12x12
tokens runs one unshifted window in both implementations), so they load as they are; the
``relative_position_index``/``attn_mask`` buffers are rebuilt by timm.
Output: ``cat([mean over tokens, tokens])`` after the final LayerNorm -> (B, 145, 1024).
"""

from __future__ import annotations

import re

import torch
from torch import nn


def build_swin(img_size=384, embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=12):
    from timm.models.swin_transformer import SwinTransformer

    return SwinTransformer(img_size=img_size, patch_size=4, in_chans=3, num_classes=0, embed_dim=embed_dim,
                           depths=depths, num_heads=num_heads, window_size=window_size, mlp_ratio=4.0,
                           qkv_bias=True, drop_rate=0.0, drop_path_rate=0.0)


def map_official_keys(state: dict) -> dict:
    """``visual_encoder.*`` keys of the official checkpoint (prefix stripped) -> timm names."""
    out = {}
    for key, value in state.items():
        if key.endswith(("relative_position_index", "attn_mask")):
            continue
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", key)
        if m:
            key = f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}"
        out[key] = value
    return out


class SwinEncoder(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.swin = build_swin(**kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.swin.forward_features(x)  # B, H, W, C after the final norm
        tokens = feats.flatten(1, 2)
        return torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
