"""Seeded random checkpoints (official key layouts and containers) and synthetic videos for the
video-text dimensions (temporal_style, overall_consistency: ViCLIP; human_action: UMT).

* ViCLIP: ``ViCLIP/ViClip-InternVid-10M-FLT.pth`` = ``{"model": state_dict}`` with the keys of the
  official ``vbench.third_party.ViCLIP.viclip.ViCLIP`` (``vision_encoder.*``, ``text_encoder.*``,
  ``temp``), loaded strictly by the official code.
* UMT: ``umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth`` = the bare state dict of the official
  ``modeling_finetune.VisionTransformer`` (the official code passes ``torch.load`` output straight to
  ``load_state_dict``), optionally with ``pos_embed``.

The key lists are written out here from the official layout (not taken from our modules), so a naming
mistake in our modules fails the tests. Everything is deterministic: ``torch.Generator`` seeded per
checkpoint, tensors drawn in key order.

Used by the tests, ``tools/parity_video_text.py`` (also inside the official venv: only torch, numpy
and cv2 are imported here) and ``benchmarks/bench_video_text.py``.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

VICLIP_PATH = "ViCLIP/ViClip-InternVid-10M-FLT.pth"
BPE_PATH = "ViCLIP/bpe_simple_vocab_16e6.txt.gz"
UMT_PATH = "umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth"

VICLIP_FULL = {"vision": dict(width=1024, layers=24, patch=14, kernel_t=1, grid=16, frames=8, out_dim=768),
               "text": dict(width=768, layers=12, vocab=49408, context=32, out_dim=768)}
VICLIP_TINY = {"vision": dict(width=64, layers=2, patch=14, kernel_t=1, grid=16, frames=8, out_dim=32),
               "text": dict(width=64, layers=2, vocab=49408, context=32, out_dim=32)}
UMT_FULL = dict(dim=1024, depth=24, patch=16, tubelet=1, hidden=4096, classes=400)
UMT_TINY = dict(dim=64, depth=2, patch=16, tubelet=1, hidden=256, classes=400)


def _block_shapes(prefix: str, w: int) -> list[tuple[str, tuple, str]]:
    """One official CLIP residual block (nn.MultiheadAttention + c_fc/c_proj MLP)."""
    return [
        (f"{prefix}.attn.in_proj_weight", (3 * w, w), "w"), (f"{prefix}.attn.in_proj_bias", (3 * w,), "b"),
        (f"{prefix}.attn.out_proj.weight", (w, w), "w"), (f"{prefix}.attn.out_proj.bias", (w,), "b"),
        (f"{prefix}.ln_1.weight", (w,), "ln"), (f"{prefix}.ln_1.bias", (w,), "b"),
        (f"{prefix}.mlp.c_fc.weight", (4 * w, w), "w"), (f"{prefix}.mlp.c_fc.bias", (4 * w,), "b"),
        (f"{prefix}.mlp.c_proj.weight", (w, 4 * w), "w"), (f"{prefix}.mlp.c_proj.bias", (w,), "b"),
        (f"{prefix}.ln_2.weight", (w,), "ln"), (f"{prefix}.ln_2.bias", (w,), "b"),
    ]


def viclip_shapes(cfg: dict) -> list[tuple[str, tuple, str]]:
    """(key, shape, kind) of the official ViCLIP state dict, in a fixed order."""
    v, t = cfg["vision"], cfg["text"]
    W, p, k = v["width"], v["patch"], v["kernel_t"]
    out = [
        ("vision_encoder.class_embedding", (W,), "emb"),
        ("vision_encoder.positional_embedding", (v["grid"] ** 2 + 1, W), "emb"),
        ("vision_encoder.temporal_positional_embedding", (1, v["frames"], W), "emb"),
        ("vision_encoder.conv1.weight", (W, 3, k, p, p), "w"),
        ("vision_encoder.ln_pre.weight", (W,), "ln"), ("vision_encoder.ln_pre.bias", (W,), "b"),
    ]
    for i in range(v["layers"]):
        out += _block_shapes(f"vision_encoder.transformer.resblocks.{i}", W)
    out += [("vision_encoder.ln_post.weight", (W,), "ln"), ("vision_encoder.ln_post.bias", (W,), "b"),
            ("vision_encoder.proj", (W, v["out_dim"]), "w")]
    w = t["width"]
    out += [("text_encoder.positional_embedding", (t["context"], w), "emb")]
    for i in range(t["layers"]):
        out += _block_shapes(f"text_encoder.transformer.resblocks.{i}", w)
    out += [("text_encoder.token_embedding.weight", (t["vocab"], w), "emb"),
            ("text_encoder.ln_final.weight", (w,), "ln"), ("text_encoder.ln_final.bias", (w,), "b"),
            ("text_encoder.text_projection", (w, t["out_dim"]), "w"),
            ("temp", (), "temp")]
    return out


def umt_shapes(cfg: dict, pos_embed: bool = False) -> list[tuple[str, tuple, str]]:
    """(key, shape, kind) of the official UMT classifier state dict, in a fixed order."""
    D, p, tb, hid = cfg["dim"], cfg["patch"], cfg["tubelet"], cfg["hidden"]
    out = [("patch_embed.proj.weight", (D, 3, tb, p, p), "w"), ("patch_embed.proj.bias", (D,), "b")]
    if pos_embed:
        out.append(("pos_embed", (1, (16 // tb) * (224 // p) ** 2, D), "pos"))
    for i in range(cfg["depth"]):
        b = f"blocks.{i}"
        out += [(f"{b}.norm1.weight", (D,), "ln"), (f"{b}.norm1.bias", (D,), "b"),
                (f"{b}.attn.q_bias", (D,), "b"), (f"{b}.attn.v_bias", (D,), "b"),
                (f"{b}.attn.qkv.weight", (3 * D, D), "w"),
                (f"{b}.attn.proj.weight", (D, D), "w"), (f"{b}.attn.proj.bias", (D,), "b"),
                (f"{b}.norm2.weight", (D,), "ln"), (f"{b}.norm2.bias", (D,), "b"),
                (f"{b}.mlp.fc1.weight", (hid, D), "w"), (f"{b}.mlp.fc1.bias", (hid,), "b"),
                (f"{b}.mlp.fc2.weight", (D, hid), "w"), (f"{b}.mlp.fc2.bias", (D,), "b")]
    out += [("fc_norm.weight", (D,), "ln"), ("fc_norm.bias", (D,), "b"),
            ("head.weight", (cfg["classes"], D), "head"), ("head.bias", (cfg["classes"],), "headb")]
    return out


def random_state_dict(shapes, seed: int) -> dict:
    """Seeded random tensors with sane scales (activations neither explode nor vanish)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape, kind in shapes:
        x = torch.randn(shape, generator=g, dtype=torch.float32)
        if kind == "w":
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
            if key.endswith(".proj") or key.endswith("text_projection"):
                fan_in = shape[0]
            x = x / math.sqrt(fan_in)
        elif kind == "b":
            x = x * 0.02
        elif kind == "ln":
            x = 1.0 + 0.1 * x
        elif kind == "emb":
            x = x * 0.05
        elif kind == "temp":
            x = torch.tensor(0.01)
        elif kind == "pos":
            x = x * 0.05
        elif kind == "head":  # strong head so some sigmoid outputs pass 0.85 and content matters
            x = x * (0.5 / math.sqrt(shape[1]))
        elif kind == "headb":
            x = x * 0.3
        sd[key] = x.contiguous()
    return sd


def write_viclip(cache_dir: Path, cfg: dict = VICLIP_TINY, seed: int = 0) -> Path:
    """Write the ViCLIP checkpoint (official container) and the BPE vocabulary into ``cache_dir``."""
    import gzip  # noqa: F401  (the vocabulary is copied, not rebuilt)
    import shutil

    import torch

    path = Path(cache_dir) / VICLIP_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": random_state_dict(viclip_shapes(cfg), seed)}, path)
    bpe = Path(cache_dir) / BPE_PATH
    if not bpe.exists():
        shutil.copyfile(bundled_bpe(), bpe)
    return path


def bundled_bpe() -> Path:
    """The OpenAI BPE vocabulary shipped with open_clip (identical to the ViCLIP cache file)."""
    from pytest_vbench.models.clip_tokenizer import _open_clip_tokenizer_module

    return Path(_open_clip_tokenizer_module().default_bpe())


def write_umt(cache_dir: Path, cfg: dict = UMT_TINY, seed: int = 0, pos_embed: bool = False) -> Path:
    """Write the UMT classifier checkpoint (bare state dict) into ``cache_dir``."""
    import torch

    path = Path(cache_dir) / UMT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(random_state_dict(umt_shapes(cfg, pos_embed), seed), path)
    return path


# -- synthetic videos ----------------------------------------------------------------------------

#: (seed, frames, width, height): short clips exercise middle-frame padding (8 and 16), odd aspect
#: ratios exercise resize and crop (CLIP: short side 224; UMT: short side 256, skipped at 256)
VIDEO_SPECS = [(1, 5, 96, 64), (2, 8, 80, 112), (3, 13, 300, 260), (4, 16, 224, 224),
               (5, 33, 320, 256), (6, 24, 128, 72)]


def video_frames(seed: int, n: int, w: int, h: int) -> list[np.ndarray]:
    """Moving smooth colour blobs on a random background, BGR uint8."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    frames = []
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    vx, vy = rng.uniform(-3, 3), rng.uniform(-3, 3)
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    for i in range(n):
        f = base.copy()
        cv2.circle(f, (int(cx + vx * i) % w, int(cy + vy * i) % h), max(4, min(w, h) // 5), color, -1)
        frames.append(f)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 8.0) -> Path:
    """Write BGR frames as mp4v (OpenCV)."""
    import cv2

    h, w = frames[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened(), f"cannot open an mp4v writer for {path}"
    for f in frames:
        vw.write(f)
    vw.release()
    return path


def write_spec_video(path: Path, spec) -> Path:
    """The synthetic video of one ``VIDEO_SPECS`` entry."""
    seed, n, w, h = spec
    return write_video(path, video_frames(seed, n, w, h))


def decoded_hash(path: Path) -> str:
    """sha256 of all frames decord decodes from ``path`` (detects an encoder that changed bytes)."""
    import decord

    vr = decord.VideoReader(str(path), num_threads=1)
    return hashlib.sha256(vr.get_batch(list(range(len(vr)))).asnumpy().tobytes()).hexdigest()[:16]
