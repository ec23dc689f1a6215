"""CenterNet class-agnostic proposals (GRiT's proposal generator), inference only.

Head (shared over p3..p7): 4 x (3x3 conv -> GroupNorm(32) -> ReLU) -> ``bbox_pred`` (4 distances,
times a learned per-level scale, ReLU) and ``agn_hm`` (objectness logit). Decoding, as CenterNet2
does it at test time with GRiT's config:

* score = sigmoid(agn_hm); locations with score > 1e-4; per level at most 1000 of them
  (``topk``); box = (grid - l, grid - t, grid + r, grid + b) with distances times the stride and
  x1 >= x0 + 0.01, y1 >= y0 + 0.01; the proposal score is sqrt(score);
* all levels together: class-agnostic NMS at IoU 0.9 (score order), then when more than 256
  remain, keep scores >= the (n-256+1)-th smallest (``kthvalue``: ties may keep more than 256).

Proposals are not clipped to the image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms

STRIDES = (8, 16, 32, 64, 128)
SCORE_THRESH = 1e-4
PRE_NMS_TOPK = 1000
NMS_THRESH = 0.9
POST_NMS_TOPK = 256


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.scale


class CenterNetHead(nn.Module):
    def __init__(self, channels: int = 256, num_convs: int = 4, levels: int = 5):
        super().__init__()
        tower = []
        for _ in range(num_convs):
            tower += [nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(32, channels), nn.ReLU()]
        self.bbox_tower = nn.Sequential(*tower)
        self.bbox_pred = nn.Conv2d(channels, 4, 3, padding=1)
        self.scales = nn.ModuleList(Scale() for _ in range(levels))
        self.agn_hm = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, features):
        regs, hms = [], []
        for level, feat in enumerate(features):
            t = self.bbox_tower(feat)
            hms.append(self.agn_hm(t))
            regs.append(F.relu(self.scales[level](self.bbox_pred(t))))
        return regs, hms


def grid_centres(h: int, w: int, stride: int, device) -> torch.Tensor:
    xs = torch.arange(0, w * stride, step=stride, dtype=torch.float32, device=device)
    ys = torch.arange(0, h * stride, step=stride, dtype=torch.float32, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((xx.reshape(-1), yy.reshape(-1)), dim=1) + stride // 2


def decode_level(heat: torch.Tensor, reg: torch.Tensor, stride: int):
    """One level of one image: ``heat`` (H, W) sigmoid scores, ``reg`` (4, H, W) -> boxes, sqrt scores."""
    h, w = heat.shape
    grids = grid_centres(h, w, stride, heat.device)
    scores = heat.reshape(-1)
    deltas = (reg * stride).permute(1, 2, 0).reshape(-1, 4)
    keep = scores > SCORE_THRESH
    loc = keep.nonzero()[:, 0]
    scores = scores[keep]
    if scores.numel() > PRE_NMS_TOPK:
        scores, top = scores.topk(PRE_NMS_TOPK, sorted=False)
        loc = loc[top]
    g, d = grids[loc], deltas[loc]
    boxes = torch.stack([g[:, 0] - d[:, 0], g[:, 1] - d[:, 1], g[:, 0] + d[:, 2], g[:, 1] + d[:, 3]], dim=1)
    boxes[:, 2] = torch.max(boxes[:, 2], boxes[:, 0] + 0.01)
    boxes[:, 3] = torch.max(boxes[:, 3], boxes[:, 1] + 0.01)
    return boxes, torch.sqrt(scores)


def select(boxes: torch.Tensor, scores: torch.Tensor):
    """NMS 0.9 over all levels, then the kthvalue cut to about 256 (ties kept)."""
    keep = batched_nms(boxes, scores, torch.zeros_like(scores, dtype=torch.long), NMS_THRESH)
    boxes, scores = boxes[keep], scores[keep]
    n = scores.numel()
    if n > POST_NMS_TOPK:
        thresh, _ = torch.kthvalue(scores.float().cpu(), n - POST_NMS_TOPK + 1)
        keep = torch.nonzero(scores >= thresh.item()).squeeze(1)
        boxes, scores = boxes[keep], scores[keep]
    return boxes, scores


class ProposalGenerator(nn.Module):
    """``forward(features) -> list per image of (boxes (N, 4), scores (N,))`` in proposal order."""

    def __init__(self, channels: int = 256):
        super().__init__()
        self.centernet_head = CenterNetHead(channels)

    def forward(self, features: dict):
        feats = [features[f"p{i}"] for i in range(3, 8)]
        regs, hms = self.centernet_head(feats)
        out = []
        for i in range(feats[0].shape[0]):
            parts = [decode_level(hm[i, 0].sigmoid(), reg[i], s) for hm, reg, s in zip(hms, regs, STRIDES)]
            boxes = torch.cat([p[0] for p in parts])
            scores = torch.cat([p[1] for p in parts])
            out.append(select(boxes, scores))
        return out
