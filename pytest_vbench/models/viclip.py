"""ViCLIP (InternVid) video-text model, our own module loading the official checkpoint keys as they are.

Checkpoint: ``ViCLIP/ViClip-InternVid-10M-FLT.pth``, a dict whose ``"model"`` entry is the state dict
of the official ``ViCLIP`` module (``vision_encoder.*``, ``text_encoder.*``, ``temp``); it is loaded
strictly (missing or unexpected keys are named in the error).

Architecture (read from the checkpoint's shapes, so tiny test checkpoints take the same path):

* vision: Conv3d ``(kernel_t, p, p)`` patch embedding without bias (width = ``conv1.weight.shape[0]``),
  per-frame class token + spatial positional embedding (``(grid**2 + 1, width)``, input resolution
  ``grid * p``), learned temporal embedding ``(1, T, width)`` added to the patch tokens, tokens in
  (patch, frame) order, one class token in front (``class_embedding + positional_embedding[0]``),
  ``ln_pre``, pre-LN transformer blocks (QuickGELU MLP, full attention), ``ln_post``, class token
  ``@ proj``;
* text: CLIP text transformer with causal mask, context length = ``positional_embedding.shape[0]``
  (32 for the official file), ``ln_final``, feature at the arg-max token id (EOT) ``@ text_projection``.

Heads are ``width // 64`` (ViT-L/14: 16 vision heads, 12 text heads), the one fact shapes do not
carry. Everything runs in fp32, as the official model does (it is never cast to half).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError, adopt, load_torch, resolve

CKPT = "ViCLIP/ViClip-InternVid-10M-FLT.pth"
BPE = "ViCLIP/bpe_simple_vocab_16e6.txt.gz"
HEAD_DIM = 64
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class SelfAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter names, batch-first."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, mask=None):
        b, n, c = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = SelfAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width)),
        ]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x, mask=None):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])

    def forward(self, x, mask=None):
        for blk in self.resblocks:
            x = blk(x, mask)
        return x


class VisionEncoder(nn.Module):
    def __init__(self, width, layers, patch, kernel_t, grid, frames, out_dim):
        super().__init__()
        self.conv1 = nn.Conv3d(3, width, (kernel_t, patch, patch), (kernel_t, patch, patch), bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.temporal_positional_embedding = nn.Parameter(torch.zeros(1, frames, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, max(1, width // HEAD_DIM))
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, out_dim))
        self.resolution = grid * patch

    def forward(self, x):
        """``x``: ``(B, T, 3, H, W)`` normalised frames -> ``(B, out_dim)``."""
        x = self.conv1(x.permute(0, 2, 1, 3, 4))  # B, C, T, h, w
        b, c, t, h, w = x.shape
        x = x.permute(0, 3, 4, 2, 1).reshape(b, h * w, t, c)  # B, patch, frame, C
        x = x + self.positional_embedding[1:].view(1, h * w, 1, c)
        if t == 1:
            x = x + self.temporal_positional_embedding.mean(1)
        else:
            x = x + self.temporal_positional_embedding.view(1, 1, t, c)
        x = x.reshape(b, h * w * t, c)
        cls = (self.class_embedding + self.positional_embedding[0]).expand(b, 1, c)
        x = self.ln_pre(torch.cat([cls, x], dim=1))
        x = self.ln_post(self.transformer(x))
        return x[:, 0] @ self.proj


class TextEncoder(nn.Module):
    def __init__(self, width, layers, vocab, context, out_dim):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.zeros(context, width))
        self.transformer = Transformer(width, layers, max(1, width // HEAD_DIM))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.zeros(width, out_dim))
        self.register_buffer("mask", torch.full((context, context), float("-inf")).triu_(1), persistent=False)

    @property
    def context_length(self) -> int:
        return self.positional_embedding.shape[0]

    def forward(self, ids):
        """``ids``: ``(N, context)`` token ids -> ``(N, out_dim)``."""
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.ln_final(self.transformer(x, self.mask))
        return x[torch.arange(x.shape[0], device=x.device), ids.argmax(dim=-1)] @ self.text_projection


class ViCLIP(nn.Module):
    """Vision + text towers with the official key names; ``temp`` kept for strict loading."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = dict(cfg)
        v, t = cfg["vision"], cfg["text"]
        self.vision_encoder = VisionEncoder(**v)
        self.text_encoder = TextEncoder(**t)
        self.temp = nn.Parameter(torch.ones([]) / 100.0)
        self.bpe_path: str | None = None  # set by the loader: the cache's vocabulary file

    @torch.no_grad()
    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """L2-normalised video features of ``(B, T, 3, H, W)`` frames (fp32)."""
        feat = self.vision_encoder(frames).float()
        return feat / feat.norm(dim=-1, keepdim=True)

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """L2-normalised text features, one row per text (fp32)."""
        from .clip_tokenizer import tokenize

        ids = tokenize(texts, self.text_encoder.context_length, self.bpe_path).to(self.temp.device)
        feat = self.text_encoder(ids).float()
        return feat / feat.norm(dim=-1, keepdim=True)


def config_from_state_dict(sd: dict) -> dict:
    """The architecture implied by a ViCLIP state dict's shapes."""
    def count(prefix):
        return len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})

    try:
        conv = sd["vision_encoder.conv1.weight"]
        width, _, kernel_t, patch, _ = conv.shape
        n_pos = sd["vision_encoder.positional_embedding"].shape[0]
        grid = math.isqrt(n_pos - 1)
        vision = dict(width=width, layers=count("vision_encoder.transformer.resblocks."), patch=patch,
                      kernel_t=kernel_t, grid=grid,
                      frames=sd["vision_encoder.temporal_positional_embedding"].shape[1],
                      out_dim=sd["vision_encoder.proj"].shape[1])
        vocab, twidth = sd["text_encoder.token_embedding.weight"].shape
        text = dict(width=twidth, layers=count("text_encoder.transformer.resblocks."), vocab=vocab,
                    context=sd["text_encoder.positional_embedding"].shape[0],
                    out_dim=sd["text_encoder.text_projection"].shape[1])
    except KeyError as exc:
        raise ValueError(f"not a ViCLIP state dict: key {exc} is missing") from None
    if grid * grid + 1 != n_pos:
        raise ValueError(f"vision_encoder.positional_embedding has {n_pos} rows, not grid**2 + 1")
    return {"vision": vision, "text": text}


def build(state_dict: dict) -> ViCLIP:
    """A ViCLIP with the checkpoint's architecture and weights (strict: names any key mismatch)."""
    cfg = config_from_state_dict(state_dict)
    with torch.device("meta"):  # no throw-away initialisation: the checkpoint tensors are adopted
        model = ViCLIP(cfg)

    def causal_mask(model: ViCLIP) -> None:
        ctx = cfg["text"]["context"]
        model.text_encoder.mask = torch.full((ctx, ctx), float("-inf")).triu_(1)

    return adopt(model, state_dict, "ViCLIP checkpoint", "ViCLIP", causal_mask)


def load_file(path, device="cpu") -> ViCLIP:
    """Load the official checkpoint file (a dict with the state dict under ``"model"``)."""
    obj = load_torch(path, mmap=True)
    if not isinstance(obj, dict) or "model" not in obj:
        raise CheckpointError(f"{path}: expected the official ViCLIP container (a dict with a 'model' entry)")
    try:
        return build(obj["model"]).to(device)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (KeyError, ValueError, RuntimeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a ViCLIP checkpoint ({type(exc).__name__}: {exc})") from None


def load(runtime) -> ViCLIP:
    """Loader for the ``viclip`` family (``models.LOADERS``): both files through ``checkpoint.resolve``."""
    path = resolve(CKPT, runtime)
    model = load_file(path, runtime.device)
    model.bpe_path = str(resolve(BPE, runtime))
    return model


def transform(frames, resolution: int = 224) -> torch.Tensor:
    """The model's input: T-clip-u8, uint8 bicubic resize (no antialias; clamped, rounded), centre crop, /255,
    CLIP normalisation; ``frames`` RGB uint8 ``(T, H, W, 3)`` -> float32 ``(T, 3, resolution, resolution)``."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    from ..video import check_resize

    check_resize(None, frames.shape[1], frames.shape[2], resolution, "the ViCLIP transform")
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)  # uint8 (T, 3, H, W)
    x = TF.resize(x, resolution, interpolation=InterpolationMode.BICUBIC, antialias=False)
    x = TF.center_crop(x, resolution)
    x = x.float().div(255.0)
    return TF.normalize(x, CLIP_MEAN, CLIP_STD)
