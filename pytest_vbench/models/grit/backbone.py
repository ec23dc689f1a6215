"""GRiT's backbone: a plain ViT (ViTDet style) and its simple feature pyramid, in plain PyTorch.

* ViT: 16x16 patch embedding, absolute position embedding of the pre-training grid (with a class
  token slot that is dropped) resized bicubically to the input grid, blocks with window attention
  (window 14, zero padding to a multiple of the window) or global attention, both with decomposed
  relative positions (MViTv2) whose tables are resized linearly when the span differs;
  pre-LayerNorm (eps 1e-6), exact GELU MLP; no final norm.
* pyramid (stride 8/16/32 from the stride-16 map): transposed conv x2 / identity / max-pool 2,
  each followed by 1x1 conv -> LayerNorm over channels -> 3x3 conv -> LayerNorm (eps 1e-5),
  no activation; p6 = 3x3/2 conv of p5, p7 = 3x3/2 conv of relu(p6).

Parameter names follow the official checkpoint (``backbone.bottom_up.*``, ``backbone.fpn_*``,
``backbone.top_block.*``) so the state dict loads as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..umt import Mlp  # fc1 -> exact GELU -> fc2, the same block


@dataclass
class ViTConfig:
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    patch_size: int = 16
    mlp_dim: int = 3072
    window_size: int = 14
    pretrain_grid: int = 14           # sqrt(pos_embed tokens - 1)
    global_blocks: tuple = (2, 5, 8, 11)
    out_channels: int = 256
    global_rel_span: int = 127        # rows of a global block's rel_pos table
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_state_dict(cls, sd: dict, prefix: str = "backbone.") -> ViTConfig:
        """Sizes read from the checkpoint; global blocks are those whose rel_pos table is not the window's."""
        bu = prefix + "bottom_up."
        dim = sd[bu + "patch_embed.proj.weight"].shape[0]
        patch = sd[bu + "patch_embed.proj.weight"].shape[-1]
        depth = 1 + max(int(k[len(bu) + 7:].split(".")[0]) for k in sd if k.startswith(bu + "blocks."))
        head_dim = sd[bu + "blocks.0.attn.rel_pos_h"].shape[1]
        spans = [sd[f"{bu}blocks.{i}.attn.rel_pos_h"].shape[0] for i in range(depth)]
        window_span = min(spans)
        window = (window_span + 1) // 2
        global_blocks = tuple(i for i, s in enumerate(spans) if s != window_span)
        tokens = sd[bu + "pos_embed"].shape[1] - 1
        grid = math.isqrt(tokens)
        return cls(embed_dim=dim, depth=depth, num_heads=dim // head_dim, patch_size=patch,
                   mlp_dim=sd[bu + "blocks.0.mlp.fc1.weight"].shape[0], window_size=window,
                   pretrain_grid=grid, global_blocks=global_blocks,
                   out_channels=sd[prefix + "fpn_stride16_conv1.weight"].shape[0],
                   global_rel_span=max(spans))


def _resize_rel_table(table: torch.Tensor, span: int) -> torch.Tensor:
    if table.shape[0] == span:
        return table
    out = F.interpolate(table.reshape(1, table.shape[0], -1).permute(0, 2, 1), size=span, mode="linear")
    return out.reshape(-1, span).permute(1, 0)


def rel_positions(q_size: int, k_size: int, table: torch.Tensor) -> torch.Tensor:
    """Relative position embeddings ``(q_size, k_size, C)`` for one axis (MViTv2 / ViTDet rule)."""
    span = int(2 * max(q_size, k_size) - 1)
    resized = _resize_rel_table(table, span)
    q = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    k = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    idx = (q - k) + (k_size - 1) * max(q_size / k_size, 1.0)
    return resized[idx.long()]


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, rel_span: int):
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(rel_span, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(rel_span, head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.heads, h * w, -1).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        rh = rel_positions(h, h, self.rel_pos_h)
        rw = rel_positions(w, w, self.rel_pos_w)
        rq = q.reshape(b * self.heads, h, w, -1)
        bias_h = torch.einsum("bhwc,hkc->bhwk", rq, rh)
        bias_w = torch.einsum("bhwc,wkc->bhwk", rq, rw)
        attn = (attn.view(-1, h, w, h, w) + bias_h[:, :, :, :, None] + bias_w[:, :, :, None, :]).view(-1, h * w, h * w)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).view(b, self.heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(out)


def _windows(x: torch.Tensor, size: int):
    b, h, w, c = x.shape
    ph, pw = (size - h % size) % size, (size - w % size) % size
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    x = x.view(b, hp // size, size, wp // size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.contiguous().view(-1, size, size, c), (hp, wp)


def _unwindows(x: torch.Tensor, size: int, padded, hw) -> torch.Tensor:
    hp, wp = padded
    h, w = hw
    b = x.shape[0] // (hp * wp // size // size)
    x = x.view(b, hp // size, wp // size, size, size, -1).permute(0, 1, 3, 2, 4, 5).contiguous().view(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous() if (hp > h or wp > w) else x


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig, window: int, rel_span: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.attn = Attention(cfg.embed_dim, cfg.num_heads, rel_span)
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        self.mlp = Mlp(cfg.embed_dim, cfg.mlp_dim)
        self.window = window

    def forward(self, x):
        shortcut = x
        x = self.norm1(x)
        if self.window:
            hw = x.shape[1:3]
            x, padded = _windows(x, self.window)
            x = _unwindows(self.attn(x), self.window, padded, hw)
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).permute(0, 2, 3, 1)


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.patch_embed = PatchEmbed(cfg.embed_dim, cfg.patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.pretrain_grid ** 2 + 1, cfg.embed_dim))
        window_span = 2 * cfg.window_size - 1
        self.blocks = nn.ModuleList(
            Block(cfg, 0 if i in cfg.global_blocks else cfg.window_size,
                  cfg.global_rel_span if i in cfg.global_blocks else window_span)
            for i in range(cfg.depth))

    def abs_pos(self, h: int, w: int) -> torch.Tensor:
        pos = self.pos_embed[:, 1:]
        size = math.isqrt(pos.shape[1])
        grid = pos.reshape(1, size, size, -1)
        if size == h and size == w:
            return grid
        return F.interpolate(grid.permute(0, 3, 1, 2), size=(h, w), mode="bicubic",
                             align_corners=False).permute(0, 2, 3, 1)

    def forward(self, x):
        x = self.patch_embed(x)
        x = x + self.abs_pos(x.shape[1], x.shape[2])
        for blk in self.blocks:
            x = blk(x)
        return x.permute(0, 3, 1, 2)


def _channel_norm(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class TopBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.p6 = nn.Conv2d(channels, channels, 3, 2, 1)
        self.p7 = nn.Conv2d(channels, channels, 3, 2, 1)

    def forward(self, p5):
        p6 = self.p6(p5)
        return [p6, self.p7(F.relu(p6))]


class Backbone(nn.Module):
    """ViT + simple feature pyramid: ``forward(images) -> {"p3": ..., "p7": ...}`` (strides 8..128)."""

    size_divisibility = 32

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        d, c = cfg.embed_dim, cfg.out_channels
        self.bottom_up = ViT(cfg)
        self.top_block = TopBlock(c)
        self.maxpool = nn.MaxPool2d(2, stride=2)
        self.fpn_stride_16_8 = nn.ConvTranspose2d(d, d, 2, stride=2, bias=False)
        for s in (8, 16, 32):
            setattr(self, f"fpn_stride{s}_conv1", nn.Conv2d(d, c, 1, bias=False))
            setattr(self, f"fpn_stride{s}_norm1", nn.LayerNorm(c))
            setattr(self, f"fpn_stride{s}_conv2", nn.Conv2d(c, c, 3, padding=1, bias=False))
            setattr(self, f"fpn_stride{s}_norm2", nn.LayerNorm(c))

    def _level(self, s: int, x):
        x = _channel_norm(getattr(self, f"fpn_stride{s}_norm1"), getattr(self, f"fpn_stride{s}_conv1")(x))
        return _channel_norm(getattr(self, f"fpn_stride{s}_norm2"), getattr(self, f"fpn_stride{s}_conv2")(x))

    def forward(self, images: torch.Tensor) -> dict:
        top = self.bottom_up(images)
        p3 = self._level(8, self.fpn_stride_16_8(top))
        p5 = self._level(32, self.maxpool(top))
        p4 = self._level(16, top)
        p6, p7 = self.top_block(p5)
        return {"p3": p3, "p4": p4, "p5": p5, "p6": p6, "p7": p7}
