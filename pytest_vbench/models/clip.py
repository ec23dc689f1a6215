"""OpenAI CLIP (ViT-B/32, ViT-L/14) through open_clip, and the LAION aesthetic head.

* Files: ``clip_model/ViT-B-32.pt`` and ``clip_model/ViT-L-14.pt`` are OpenAI TorchScript archives.
  Only their tensors are used, read by :func:`.checkpoint.read_archive_tensors` (a restricted
  unpickler: no TorchScript, no code from the file runs; ``torch.jit.load`` is never called). A
  plain state dict in the same key layout is accepted too (``weights_only``).
* The architecture (widths, depths, patch size, context length, vocabulary) is read from the state
  dict by ``open_clip.model.build_model_from_openai_state_dict`` (QuickGELU, as OpenAI trained),
  so tiny test checkpoints load through the same code.
* Precision: fp32 on CPU, exactly as ``clip.load`` (it casts back to fp32 when the device is the
  CPU). On CUDA the official code runs the OpenAI fp16 layout (fp16 weights, fp32 LayerNorm, fp16
  activations and outputs); we build the same layout (``cast_dtype=float16``). That path cannot be
  verified on the CPU-only development machines: see docs/dimensions/clip.md.
* ``aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth``: ``Linear(768, 1)`` state dict.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .checkpoint import (
    CheckpointError,
    check_keys,
    load_state_dict,
    no_random_init,
    read_archive_tensors,
    resolve,
)

B32 = "clip_model/ViT-B-32.pt"
L14 = "clip_model/ViT-L-14.pt"
AESTHETIC = "aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth"
_META_KEYS = ("input_resolution", "context_length", "vocab_size")


def is_torchscript(path: Path) -> bool:
    """TorchScript archives carry compiled code (``*/code/``) next to their data."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any("/code/" in n for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


def read_state(path: Path) -> dict:
    """The CLIP state dict of an OpenAI archive or a plain state-dict file, without running any code."""
    state = read_archive_tensors(path) if is_torchscript(path) else load_state_dict(path)
    return {k: v for k, v in state.items() if k not in _META_KEYS}


def build(state: dict, device: str = "cpu", path: Path | None = None, fp16: bool | None = None):
    """An open_clip CLIP holding ``state`` on ``device`` (fp32 on CPU, OpenAI fp16 layout elsewhere)."""
    import torch
    from open_clip.model import build_model_from_openai_state_dict

    if fp16 is None:
        fp16 = not device.startswith("cpu")
    try:
        # open_clip loads the state dict strictly right after building: the random initial weights it would
        # draw first are never used (skipping them saves ~40 % of a ViT-B/32 load on the CPU)
        with no_random_init():
            model = build_model_from_openai_state_dict(dict(state), cast_dtype=torch.float16 if fp16 else None)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not an OpenAI CLIP state dict ({type(exc).__name__}: {exc})") from None
    model = model.to(device)
    if not fp16:
        model.float()
    return model.eval()


def _load(rel: str, runtime):
    path = resolve(rel, runtime)
    return build(read_state(path), runtime.device, path)


def load_b32(runtime):
    """CLIP ViT-B/32 (background_consistency, appearance_style)."""
    return _load(B32, runtime)


def load_l14(runtime):
    """CLIP ViT-L/14 (aesthetic_quality)."""
    return _load(L14, runtime)


def load_aesthetic(runtime):
    """The LAION aesthetic predictor: ``Linear(768, 1)``, fp32."""
    import torch

    path = resolve(AESTHETIC, runtime)
    state = load_state_dict(path)
    head = torch.nn.Linear(768, 1)
    check_keys(head, state, path)
    head.load_state_dict(state)
    return head.eval().to(runtime.device)
