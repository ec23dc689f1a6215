"""GRiT's RoI heads at inference: RoI pooling, the 3-stage class-agnostic cascade, box selection.

* pooling: ROIAlignV2 (torchvision ``roi_align``, aligned=True, sampling ratio 0) over p3..p5;
  each box goes to level ``floor(4 + log2(sqrt(area) / 224 + 1e-8))`` clamped to 3..5 (the
  detectron2 canonical rule); 7x7 for the box heads, 14x14 for the text decoder's object features;
* stage k: flatten -> fc1 -> ReLU -> fc2 -> ReLU -> ``cls_score`` (2 logits: foreground,
  background; softmax) and ``bbox_pred`` (Linear -> ReLU -> Linear, 4 class-agnostic deltas);
  deltas decoded with weights (10,10,5,5) * (k+1) (dw, dh clamped at log(1000/16)); stage k+1
  starts from stage k's boxes clipped to the image;
* score: foreground probability averaged over the 3 stages, times the proposal score, square
  root; boxes = last stage's regression clipped to the image; keep score > 0.5, class-agnostic
  NMS 0.5 (score order), at most 256.

The mask head of the checkpoint is not built (VBench never reads its output); its keys are
accounted for by the loader.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, roi_align

BOX_WEIGHTS = ((10.0, 10.0, 5.0, 5.0), (20.0, 20.0, 10.0, 10.0), (30.0, 30.0, 15.0, 15.0))
SCALE_CLAMP = math.log(1000.0 / 16)
SCORE_THRESH = 0.5
NMS_THRESH = 0.5
TOPK = 256
LEVEL_STRIDES = (8, 16, 32)  # p3, p4, p5


def assign_levels(boxes: torch.Tensor) -> torch.Tensor:
    """Index into p3..p5 of each box (canonical box size 224 at level 4)."""
    sizes = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    levels = torch.floor(4 + torch.log2(sizes / 224 + 1e-8))
    return (torch.clamp(levels, min=3, max=5) - 3).to(torch.int64)


def pool(features: list, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Multi-level RoIAlign (aligned) of one image's ``boxes`` -> ``(N, C, size, size)``."""
    n, c = boxes.shape[0], features[0].shape[1]
    out = features[0].new_zeros((n, c, size, size))
    if n == 0:
        return out
    levels = assign_levels(boxes)
    rois = torch.cat([boxes.new_zeros((n, 1)), boxes], dim=1)
    for lvl, (feat, stride) in enumerate(zip(features, LEVEL_STRIDES)):
        idx = torch.nonzero(levels == lvl).squeeze(1)
        if idx.numel():
            out[idx] = roi_align(feat, rois[idx], (size, size), spatial_scale=1.0 / stride,
                                 sampling_ratio=0, aligned=True).to(out.dtype)
    return out


def apply_deltas(deltas: torch.Tensor, boxes: torch.Tensor, weights) -> torch.Tensor:
    """detectron2's Box2BoxTransform.apply_deltas for one class."""
    deltas = deltas.float()
    boxes = boxes.to(deltas.dtype)
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    cx = boxes[:, 0] + 0.5 * widths
    cy = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = weights
    dx, dy = deltas[:, 0] / wx, deltas[:, 1] / wy
    dw = torch.clamp(deltas[:, 2] / ww, max=SCALE_CLAMP)
    dh = torch.clamp(deltas[:, 3] / wh, max=SCALE_CLAMP)
    pcx = dx * widths + cx
    pcy = dy * heights + cy
    pw = torch.exp(dw) * widths
    ph = torch.exp(dh) * heights
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw, pcy + 0.5 * ph], dim=1)


def clip(boxes: torch.Tensor, image_size) -> torch.Tensor:
    h, w = image_size
    x0 = boxes[:, 0].clamp(min=0, max=w)
    y0 = boxes[:, 1].clamp(min=0, max=h)
    x1 = boxes[:, 2].clamp(min=0, max=w)
    y1 = boxes[:, 3].clamp(min=0, max=h)
    return torch.stack((x0, y0, x1, y1), dim=-1)


class BoxHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 1024):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x):
        return F.relu(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))))


class BoxPredictor(nn.Module):
    def __init__(self, dim: int = 1024):
        super().__init__()
        self.cls_score = nn.Linear(dim, 2)
        self.bbox_pred = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, 4))

    def forward(self, x):
        return self.cls_score(x), self.bbox_pred(x)


class CascadeHeads(nn.Module):
    """The box part of ``roi_heads`` (``box_head.{k}``, ``box_predictor.{k}``)."""

    def __init__(self, channels: int = 256, dim: int = 1024, stages: int = 3):
        super().__init__()
        if stages != len(BOX_WEIGHTS):
            raise ValueError(f"GRiT's cascade has {len(BOX_WEIGHTS)} stages, the checkpoint {stages}")
        self.box_head = nn.ModuleList(BoxHead(channels * 49, dim) for _ in range(stages))
        self.box_predictor = nn.ModuleList(BoxPredictor(dim) for _ in range(stages))

    def detect(self, features: list, proposals: torch.Tensor, proposal_scores: torch.Tensor, image_size,
               trace: dict | None = None):
        """Boxes and scores (before text rescoring) of one image, in output order.

        Returns ``(boxes (K, 4), scores (K,), proposal_index (K,))``.
        """
        boxes = proposals
        probs = []
        for k, (head, pred) in enumerate(zip(self.box_head, self.box_predictor)):
            if k > 0:
                boxes = clip(boxes, image_size)
            logits, deltas = pred(head(pool(features, boxes, 7)))
            p = F.softmax(logits, dim=-1)
            probs.append(p)
            if trace is not None:
                trace.setdefault("stages", []).append({"fg": p[:, 0].detach(), "deltas": deltas.detach()})
            boxes = apply_deltas(deltas, boxes, BOX_WEIGHTS[k])
        mean = sum(probs) * (1.0 / len(probs))
        scores = (mean * proposal_scores[:, None]) ** 0.5
        scores = scores[:, :-1]  # foreground column
        boxes = clip(boxes, image_size)
        ok = torch.isfinite(boxes).all(dim=1) & torch.isfinite(scores).all(dim=1)
        index = torch.arange(boxes.shape[0])
        if not ok.all():
            boxes, scores, index = boxes[ok], scores[ok], index[ok]
        mask = scores[:, 0] > SCORE_THRESH
        boxes, scores, index = boxes[mask], scores[mask, 0], index[mask]
        keep = batched_nms(boxes, scores, torch.zeros_like(index), NMS_THRESH)[:TOPK]
        return boxes[keep], scores[keep], index[keep]
