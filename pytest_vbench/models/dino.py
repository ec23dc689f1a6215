"""DINO ViT-B/16 for subject_consistency: timm's ViT blocks with DINO's own position-embedding resize.

* File: ``dino_model/dino_vitbase16_pretrain.pth``, a flat state dict with DINO's key names, which
  are timm's (``cls_token``, ``pos_embed``, ``patch_embed.proj.*``, ``blocks.N.*``, ``norm.*``).
  Loaded weights-only and strictly; embed dim, depth, patch and MLP width come from the shapes
  (heads = dim/64), so tiny test checkpoints use the same code.
* Forward as DINO's ``VisionTransformer``: conv patch embedding (remainder pixels dropped), class
  token, position embedding resized with DINO's rule (bicubic ``F.interpolate`` with
  ``scale_factor = ((gh + 0.1)/N, (gw + 0.1)/N)``, no antialias; untouched for a square input of
  the training size), the blocks with explicit (non-fused) attention, final LayerNorm, class token.
  timm's own ``dynamic_img_size`` resizes by target size with antialias and gives other numbers.
"""

from __future__ import annotations

import math
import re
from functools import partial

from .checkpoint import CheckpointError, adopt, load_state_dict, resolve

FILE = "dino_model/dino_vitbase16_pretrain.pth"


def config_from_state(state: dict) -> dict:
    """timm VisionTransformer arguments inferred from a DINO state dict."""
    try:
        dim = state["cls_token"].shape[-1]
        patch = state["patch_embed.proj.weight"].shape[-1]
        n = state["pos_embed"].shape[1] - 1
        hidden = state["blocks.0.mlp.fc1.weight"].shape[0]
    except KeyError as exc:
        raise CheckpointError(f"not a DINO ViT state dict (no {exc.args[0]})") from None
    depth = len({int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))})
    grid = math.isqrt(n)
    return {"embed_dim": dim, "depth": depth, "num_heads": max(1, dim // 64), "patch_size": patch,
            "img_size": grid * patch, "mlp_ratio": hidden / dim, "num_classes": 0, "qkv_bias": True}


def build(state: dict, path=None):
    """A timm ViT holding ``state`` (eval, fp32, explicit attention)."""
    import torch
    from timm.models.vision_transformer import VisionTransformer

    with torch.device("meta"):  # no random initialisation: the checkpoint's tensors are adopted as they are
        model = VisionTransformer(**config_from_state(state), norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    for block in model.blocks:
        block.attn.fused_attn = False  # DINO computes softmax(q k^T * scale) v explicitly
    return adopt(model, state, path or "DINO checkpoint", "DINO")


def dino_pos_embed(model, gh: int, gw: int, square: bool | None = None):
    """DINO's ``interpolate_pos_encoding`` for a ``gh x gw`` patch grid.

    ``square`` tells whether the input image was square in PIXELS (default: ``gh == gw``). DINO keeps
    the embedding untouched only when the patch count equals the training one AND the image is square
    in pixels: a 224x230 frame (14x14 grid) still goes through the resize with scale 14.1/14, which
    changes the values.
    """
    import torch
    import torch.nn.functional as F

    pos = model.pos_embed
    n = pos.shape[1] - 1
    if square is None:
        square = gh == gw
    if gh * gw == n and square:
        return pos
    side = int(math.sqrt(n))
    dim = pos.shape[-1]
    patch_pos = F.interpolate(pos[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2),
                              scale_factor=((gh + 0.1) / math.sqrt(n), (gw + 0.1) / math.sqrt(n)), mode="bicubic")
    if patch_pos.shape[-2:] != (gh, gw):
        raise RuntimeError(f"DINO position embedding resize gave {tuple(patch_pos.shape[-2:])}, expected {(gh, gw)}")
    return torch.cat((pos[:, :1], patch_pos.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)


def features(model, images):
    """Class-token features ``(B, dim)`` of images ``(B, 3, H, W)`` (all of one size)."""
    import torch

    x = model.patch_embed.proj(images)  # (B, C, gh, gw); the stride drops remainder pixels
    gh, gw = x.shape[-2:]
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat((model.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
    x = x + dino_pos_embed(model, gh, gw, images.shape[-2] == images.shape[-1])
    for block in model.blocks:
        x = block(x)
    return model.norm(x)[:, 0]


def load(runtime):
    """The subject_consistency model on the runtime's device."""
    path = resolve(FILE, runtime)
    return build(load_state_dict(path), path).to(runtime.device)
