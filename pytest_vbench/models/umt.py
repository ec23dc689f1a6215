"""UMT ViT-L/16 Kinetics-400 video classifier, our own module loading the official checkpoint keys.

Checkpoint: ``umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth``, a bare state dict (the official
``human_action`` hands ``torch.load(path)`` straight to ``load_state_dict(strict=False)``, so a
wrapped file would silently leave the model random there). We load strictly: missing or unexpected
keys are named in the error; a file wrapping the weights in ``"model"``/``"module"`` is reported as
such. ``pos_embed`` is optional (the official model registers its sinusoid table as a parameter,
so a checkpoint *may* carry one, which then wins).

Architecture (from the checkpoint's shapes; tiny test checkpoints take the same path):

* Conv3d patch embedding ``(tubelet, p, p)`` with bias, width = ``patch_embed.proj.weight.shape[0]``,
  input 16 frames x 224 x 224 (the official transform), no class token;
* position table: fixed sinusoid table for 8 frames x (224/p)^2 positions, linearly interpolated
  along time 8 -> 16/tubelet (``F.interpolate(mode='linear')``, align_corners False), unless the
  checkpoint carries ``pos_embed``;
* pre-LN blocks (LayerNorm eps 1e-6), attention with q and v biases only (k bias zero),
  exact GELU MLP (ratio from ``mlp.fc1``), no layer scale; heads = width // 64;
* mean pooling over tokens, ``fc_norm``, ``head`` (classes = ``head.weight.shape[0]``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError, adopt, load_state_dict, resolve

CKPT = "umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth"
HEAD_DIM = 64
NUM_FRAMES = 16
IMG_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """``angle(p, j) = p / 10000**(2*(j//2)/dim)``, sin on even j, cos on odd j; float64 -> float32."""
    pos = np.arange(n_position, dtype=np.float64)[:, None]
    j = np.arange(dim)
    table = pos / np.power(10000, 2 * (j // 2) / dim)[None, :]
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.tensor(table, dtype=torch.float)


def default_pos_embed(dim: int, grid: int, frames: int) -> torch.Tensor:
    """The official table: 8 x grid x grid sinusoid positions, interpolated in time to ``frames``."""
    table = sinusoid_table(8 * grid * grid, dim)
    if frames != 8:
        t = table.reshape(8, grid, grid, dim).permute(1, 2, 3, 0).reshape(-1, dim, 8)
        t = F.interpolate(t, size=frames, mode="linear")
        table = t.reshape(grid, grid, dim, frames).permute(3, 0, 1, 2).reshape(-1, dim)
    return table.unsqueeze(0)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        q, k, v = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int, tubelet: int):
        super().__init__()
        self.proj = nn.Conv3d(3, dim, (tubelet, patch, patch), (tubelet, patch, patch))

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class UMTClassifier(nn.Module):
    """The UMT fine-tuned video ViT (mean pooling, fc_norm, linear head)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = dict(cfg)
        dim, patch, tubelet = cfg["dim"], cfg["patch"], cfg["tubelet"]
        self.patch_embed = PatchEmbed(dim, patch, tubelet)
        grid = IMG_SIZE // patch
        self.register_buffer("pos_embed", default_pos_embed(dim, grid, NUM_FRAMES // tubelet), persistent=False)
        self.blocks = nn.ModuleList([Block(dim, max(1, dim // HEAD_DIM), cfg["hidden"]) for _ in range(cfg["depth"])])
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, cfg["classes"])

    def forward(self, x):
        """``x``: ``(B, 3, 16, 224, 224)`` normalised -> logits ``(B, classes)``."""
        x = self.patch_embed(x)
        x = x + self.pos_embed.to(x.dtype)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.fc_norm(x.mean(1)))


def config_from_state_dict(sd: dict) -> dict:
    """The architecture implied by a UMT state dict's shapes."""
    try:
        dim, _, tubelet, patch, _ = sd["patch_embed.proj.weight"].shape
        cfg = dict(dim=dim, patch=patch, tubelet=tubelet,
                   depth=len({k.split(".")[1] for k in sd if k.startswith("blocks.")}),
                   hidden=sd["blocks.0.mlp.fc1.weight"].shape[0], classes=sd["head.weight"].shape[0])
    except KeyError as exc:
        raise CheckpointError(f"not a UMT classifier state dict: key {exc} is missing") from None
    return cfg


def build(state_dict: dict) -> UMTClassifier:
    """A classifier with the checkpoint's architecture and weights (strict; ``pos_embed`` optional)."""
    keys = set(state_dict)
    wrapped = [k for k in ("model", "module", "state_dict") if k in keys]
    if wrapped and "patch_embed.proj.weight" not in keys:
        raise CheckpointError(f"the UMT checkpoint wraps its weights in {wrapped[0]!r}; the official code "
                              f"loads the file as a bare state dict (strict=False) and would silently run "
                              f"a random model: save the inner state dict instead")
    sd = dict(state_dict)
    pos = sd.pop("pos_embed", None)
    cfg = config_from_state_dict(sd)
    with torch.device("meta"):  # no throw-away initialisation: the checkpoint tensors are adopted
        model = UMTClassifier(cfg)

    def position_table(model: UMTClassifier) -> None:
        table = default_pos_embed(cfg["dim"], IMG_SIZE // cfg["patch"], NUM_FRAMES // cfg["tubelet"])
        if pos is None:
            model.pos_embed = table
            return
        carried = pos.reshape(1, -1, pos.shape[-1]) if pos.dim() == 2 else pos
        if carried.shape != table.shape:
            raise CheckpointError(f"UMT checkpoint pos_embed has shape {tuple(carried.shape)}, "
                                  f"the model needs {tuple(table.shape)}")
        model.pos_embed = carried.float().clone()

    return adopt(model, sd, "UMT checkpoint", "UMT", position_table)


def load_file(path, device="cpu") -> UMTClassifier:
    """Load the official checkpoint file (a bare state dict); a wrong file raises :class:`CheckpointError`."""
    sd = load_state_dict(path, mmap=True)
    try:
        return build(sd).to(device)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (KeyError, ValueError, RuntimeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a UMT checkpoint ({type(exc).__name__}: {exc})") from None


def load(runtime) -> UMTClassifier:
    """Loader for the ``umt`` family (``models.LOADERS``), through ``checkpoint.resolve``."""
    return load_file(resolve(CKPT, runtime), runtime.device)


def transform(frames: np.ndarray) -> torch.Tensor:
    """T-umt: per-frame cv2 INTER_LINEAR resize to short side 256, centre crop 224, /255, ImageNet norm.

    ``frames``: RGB uint8 ``(T, H, W, 3)``; returns float32 ``(3, T, 224, 224)``.
    """
    import cv2

    from ..video import check_resize

    t, h, w, _ = frames.shape
    size = 256
    check_resize(None, h, w, size, "the UMT transform")
    if not ((w <= h and w == size) or (h <= w and h == size)):
        if w < h:
            nw, nh = size, int(size * h / w)
        else:
            nh, nw = size, int(size * w / h)
        frames = np.stack([cv2.resize(f, (nw, nh), interpolation=cv2.INTER_LINEAR) for f in frames])
    _, h, w, _ = frames.shape
    if h < IMG_SIZE or w < IMG_SIZE:
        raise ValueError(f"frames of {w}x{h} are smaller than the 224x224 crop")
    y0, x0 = int(round((h - IMG_SIZE) / 2.0)), int(round((w - IMG_SIZE) / 2.0))
    crop = frames[:, y0:y0 + IMG_SIZE, x0:x0 + IMG_SIZE]
    x = torch.from_numpy(np.ascontiguousarray(crop)).permute(3, 0, 1, 2).float().div(255)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32)[:, None, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32)[:, None, None, None]
    return (x - mean) / std
