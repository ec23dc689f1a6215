"""Seeded random checkpoints in the official file formats, for tests, parity tools and dry runs.

``write(family, cache_dir, seed=0, tiny=False)`` writes the files a model family needs under the
official cache paths. Random weights make the features meaningless but exercise the same loading
code and arithmetic as the real files. ``tiny`` shrinks the architecture where our loaders infer it
from the checkpoint shapes (fast tests); the official code needs the full-size layout.
"""

from __future__ import annotations

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


WRITERS = {"musiq": write_musiq}


def write(family: str, cache_dir: Path, seed: int = 0, tiny: bool = False) -> list[Path]:
    """Write the checkpoint(s) of ``family``; returns the paths written."""
    out = WRITERS[family](Path(cache_dir), seed=seed, tiny=tiny)
    return out if isinstance(out, list) else [out]
