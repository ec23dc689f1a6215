"""Seeded tiny DINO and MUSIQ checkpoints (and one generated input) for the tiny-config official parity.

``pytest_vbench.fake_checkpoints.write("dino", tiny=True)`` initialises every tensor with noise
scaled by its fan-in; for the 3-d ``pos_embed`` (1, 197, D) that makes the position embedding
~0.01 and the class token small, so resizing the position embedding barely moves the features.
These checkpoints give the class token and the position embedding unit-scale noise, so that a wrong
position-embedding resize (size-based instead of DINO's scale-factor rule, antialias, token order)
changes the output by far more than the tolerance. Same key names and file as the official file.
"""

from __future__ import annotations

from pathlib import Path

from pytest_vbench import fake_checkpoints

FILE = "dino_model/dino_vitbase16_pretrain.pth"


def write_tiny_dino(cache_dir: Path, seed: int) -> Path:
    """A tiny DINO (dim 128, depth 2, 2 heads of 64 like every DINO ViT, patch 16, 14x14 grid) with
    unit-scale class token and position embedding. Two heads, so the head split is exercised."""
    from functools import partial

    import torch
    from timm.models.vision_transformer import VisionTransformer

    model = VisionTransformer(img_size=224, patch_size=16, num_classes=0, qkv_bias=True, embed_dim=128, depth=2,
                              num_heads=2, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    fake_checkpoints._randomise(model, seed)
    state = model.state_dict()
    g = torch.Generator().manual_seed(1000 + seed)
    state["pos_embed"] = torch.randn(state["pos_embed"].shape, generator=g)
    state["cls_token"] = torch.randn(state["cls_token"].shape, generator=g)
    path = Path(cache_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def write_tiny_musiq(cache_dir: Path, seed: int) -> Path:
    """A tiny MUSIQ (hidden 64, MLP 96, 2 layers, 1 head, one class) in the official flat layout."""
    (path,) = fake_checkpoints.write("musiq", Path(cache_dir), seed=seed, tiny=True)
    return path


def write_large_png(path: Path, height: int = 600, width: int = 840) -> Path:
    """A deterministic lossless frame whose SHORTER side is above 512 too, so every imaging_quality
    preprocessing mode resizes it (longer: 365x512; shorter: 512x716; shorter_centercrop: 512x512)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([128 + 100 * np.sin(x / 23.0 + y / 41.0), 128 + 90 * np.cos(x / 17.0 - y / 29.0),
                    (x * 7 + y * 3) % 256], axis=-1)
    img[(x // 60 + y // 60) % 2 == 0] *= 0.6  # sharp edges for the resampling to act on
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path
