"""Seeded random checkpoints in the official file formats, for tests, parity tools and dry runs.

``write(family, cache_dir, seed=0, tiny=False)`` writes the files a model family needs under the
official cache paths. Random weights make the features meaningless but exercise the same loading
code and arithmetic as the real files. ``tiny`` shrinks the architecture where our loaders infer it
from the checkpoint shapes (fast tests); the official code needs the full-size layout.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path


def _save(obj, path: Path) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def _randomise(module, seed: int, scale: float = 1.0) -> None:
    """Overwrite every parameter and buffer with seeded noise (norm weights near 1)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if not t.is_floating_point():
                continue
            noise = torch.randn(t.shape, generator=g, dtype=torch.float32)
            fan_in = t[0].numel() if t.dim() > 1 else 1
            if t.dim() <= 1 and ("norm" in name or name.endswith(("gn_root.weight", ".gn1.weight", ".gn2.weight",
                                                                    ".gn3.weight"))):
                t.copy_(1.0 + 0.1 * noise)
            elif t.dim() <= 1:
                t.copy_(0.02 * noise)
            else:
                t.copy_(scale * noise / fan_in ** 0.5)


def write_musiq(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``pyiqa_model/musiq_spaq_ckpt-358bb6af.pth``: a flat MUSIQ state dict (one output class)."""
    from pyiqa.archs.musiq_arch import MUSIQ

    kwargs = dict(hidden_size=64, mlp_dim=96, num_layers=2, num_heads=1) if tiny else {}
    model = MUSIQ(pretrained=False, num_class=1, **kwargs)
    _randomise(model, seed)
    return _save(model.state_dict(), Path(cache_dir) / "pyiqa_model" / "musiq_spaq_ckpt-358bb6af.pth")


def write_dino(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``dino_model/dino_vitbase16_pretrain.pth``: a flat state dict with DINO's (= timm's) key names."""
    import torch
    from timm.models.vision_transformer import VisionTransformer

    size = dict(embed_dim=64, depth=2, num_heads=1) if tiny else dict(embed_dim=768, depth=12, num_heads=12)
    model = VisionTransformer(img_size=224, patch_size=16, num_classes=0, qkv_bias=True,
                              norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), **size)
    _randomise(model, seed)
    return _save(model.state_dict(), Path(cache_dir) / "dino_model" / "dino_vitbase16_pretrain.pth")


def write_raft(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``raft_model/models/raft-things.pth``: RAFT-large in the ORIGINAL DataParallel key layout.

    (RAFT-large has one size; ``tiny`` is accepted and ignored.) torchvision's own seeded
    initialisation is used: plain noise makes the 20 recurrent updates diverge to NaN.
    """
    import torch
    from torchvision.models.optical_flow import raft_large

    from .models.raft import from_torchvision

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = raft_large(weights=None, progress=False)
    return _save(from_torchvision(model.state_dict()), Path(cache_dir) / "raft_model" / "models" / "raft-things.pth")


CLIP_SIZES = {
    # name: (vision width, layers, patch, text width, layers, embed dim)
    "ViT-B-32": (768, 12, 32, 512, 12, 512),
    "ViT-L-14": (1024, 24, 14, 768, 12, 768),
    "tiny-ViT-B-32": (64, 2, 32, 64, 2, 512),
    "tiny-ViT-L-14": (64, 2, 32, 64, 2, 768),  # the aesthetic head needs 768-d features
}


def write_clip(cache_dir: Path, name: str = "ViT-B-32", seed: int = 0, tiny: bool = False) -> Path:
    """``clip_model/<name>.pt``: an OpenAI-style TorchScript archive (224 px, context 77, vocab 49408).

    Only its state dict matters to both the official ``clip.load(jit=False)`` and our loader; the
    archive is a trace of an open_clip CLIP with the OpenAI key layout and QuickGELU.
    """
    import torch
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    vw, vl, patch, tw, tl, embed = CLIP_SIZES[f"tiny-{name}" if tiny else name]
    model = CLIP(embed, CLIPVisionCfg(layers=vl, width=vw, patch_size=patch, image_size=224),
                 CLIPTextCfg(context_length=77, vocab_size=49408, width=tw, heads=tw // 64, layers=tl),
                 quick_gelu=True).eval()
    _randomise(model, seed, scale=3.0)  # sharper attention: features that vary with the image
    mask = model._buffers.pop("attn_mask")  # OpenAI archives hold no attention-mask tensor: trace it as a constant
    model.attn_mask = mask
    with torch.no_grad():
        model.logit_scale.fill_(4.6052)  # ln(100), the OpenAI value
        traced = torch.jit.trace(model, (torch.zeros(1, 3, 224, 224), torch.zeros(1, 77, dtype=torch.long)),
                                 check_trace=False)
    path = Path(cache_dir) / "clip_model" / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(traced, str(path))
    return path


def write_clip_b32(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """CLIP ViT-B/32 (background_consistency, appearance_style)."""
    return write_clip(cache_dir, "ViT-B-32", seed, tiny)


def write_clip_l14(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """CLIP ViT-L/14 (aesthetic_quality)."""
    return write_clip(cache_dir, "ViT-L-14", seed, tiny)


def write_aesthetic(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth``: ``Linear(768, 1)`` state dict."""
    import torch

    head = torch.nn.Linear(768, 1)
    _randomise(head, seed, scale=3.0)
    return _save(head.state_dict(), Path(cache_dir) / "aesthetic_model" / "emb_reader" / "sa_0_4_vit_l_14_linear.pth")


WRITERS = {"musiq": write_musiq, "dino": write_dino, "raft": write_raft, "clip_b32": write_clip_b32, "clip_l14": write_clip_l14,
           "aesthetic": write_aesthetic}


def write(family: str, cache_dir: Path, seed: int = 0, tiny: bool = False) -> list[Path]:
    """Write the checkpoint(s) of ``family``; returns the paths written."""
    out = WRITERS[family](Path(cache_dir), seed=seed, tiny=tiny)
    return out if isinstance(out, list) else [out]
