"""RAFT-large for dynamic_degree: torchvision's architecture, the original RAFT checkpoint layout.

* File: ``raft_model/models/raft-things.pth``, the state dict of the original RAFT code saved from a
  ``DataParallel`` (keys ``module.fnet.*``, ``module.cnet.*``, ``module.update_block.*``). It is
  renamed to torchvision's ``raft_large`` layout by :func:`to_torchvision` (the residual blocks'
  ``norm3`` is the same module as ``downsample.1`` and is stored twice: the copy is dropped), then
  loaded weights-only and strictly.
* :func:`flow` runs the original test-mode recurrence (inputs 0..255 mapped to ``2x/255 - 1``, 20
  updates, convex upsampling) on torchvision's modules, upsampling only the last estimate (the
  original and torchvision upsample at every update and discard all but the last), and batches
  frame pairs.
"""

from __future__ import annotations

import re

from .checkpoint import CheckpointError, check_keys, load_state_dict, resolve

FILE = "raft_model/models/raft-things.pth"

_RULES = [
    (r"^fnet\.", "feature_encoder."),
    (r"^cnet\.", "context_encoder."),
    (r"^(\w+_encoder)\.conv1\.", r"\1.convnormrelu.0."),
    (r"^(\w+_encoder)\.norm1\.", r"\1.convnormrelu.1."),
    (r"^(\w+_encoder)\.conv2\.", r"\1.conv."),
    (r"^(\w+_encoder\.layer\d\.\d)\.conv([12])\.", r"\1.convnormrelu\2.0."),
    (r"^(\w+_encoder\.layer\d\.\d)\.norm([12])\.", r"\1.convnormrelu\2.1."),
    (r"^update_block\.encoder\.convc([12])\.", r"update_block.motion_encoder.convcorr\1.0."),
    (r"^update_block\.encoder\.convf([12])\.", r"update_block.motion_encoder.convflow\1.0."),
    (r"^update_block\.encoder\.conv\.", "update_block.motion_encoder.conv.0."),
    (r"^update_block\.gru\.conv([zrq])([12])\.", r"update_block.recurrent_block.convgru\2.conv\1."),
    (r"^update_block\.mask\.0\.", "mask_predictor.convrelu.0."),
    (r"^update_block\.mask\.2\.", "mask_predictor.conv."),
]
_DUPLICATE = re.compile(r"^[fc]net\.layer\d\.\d\.norm3\.")


def to_torchvision(state: dict) -> dict:
    """Rename an original-RAFT state dict (with or without ``module.``) to torchvision's layout."""
    out = {}
    for key, value in state.items():
        key = key[len("module."):] if key.startswith("module.") else key
        if _DUPLICATE.match(key):
            continue
        for pattern, repl in _RULES:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def from_torchvision(state: dict) -> dict:
    """The original DataParallel layout of a torchvision ``raft_large`` state dict (for test files)."""
    inverse = [
        (r"^feature_encoder\.", "fnet."), (r"^context_encoder\.", "cnet."),
        (r"^([fc]net)\.convnormrelu\.0\.", r"\1.conv1."), (r"^([fc]net)\.convnormrelu\.1\.", r"\1.norm1."),
        (r"^([fc]net)\.conv\.", r"\1.conv2."),
        (r"^([fc]net\.layer\d\.\d)\.convnormrelu([12])\.0\.", r"\1.conv\2."),
        (r"^([fc]net\.layer\d\.\d)\.convnormrelu([12])\.1\.", r"\1.norm\2."),
        (r"^update_block\.motion_encoder\.convcorr([12])\.0\.", r"update_block.encoder.convc\1."),
        (r"^update_block\.motion_encoder\.convflow([12])\.0\.", r"update_block.encoder.convf\1."),
        (r"^update_block\.motion_encoder\.conv\.0\.", "update_block.encoder.conv."),
        (r"^update_block\.recurrent_block\.convgru([12])\.conv([zrq])\.", r"update_block.gru.conv\2\1."),
        (r"^mask_predictor\.convrelu\.0\.", "update_block.mask.0."), (r"^mask_predictor\.conv\.", "update_block.mask.2."),
    ]
    out = {}
    for key, value in state.items():
        for pattern, repl in inverse:
            key = re.sub(pattern, repl, key)
        out["module." + key] = value
        m = re.match(r"^(cnet\.layer\d\.\d)\.downsample\.1\.(.*)$", key)
        if m:  # the original stores the downsample norm a second time as norm3
            out[f"module.{m.group(1)}.norm3.{m.group(2)}"] = value
    return out


def build(state: dict, path=None):
    """torchvision ``raft_large`` holding an original-layout ``state`` (eval, fp32)."""
    from torchvision.models.optical_flow import raft_large

    model = raft_large(weights=None, progress=False)
    tv_state = to_torchvision(state)
    check_keys(model, tv_state, path or "RAFT checkpoint")
    model.load_state_dict(tv_state, strict=True)
    return model.eval()


def features(model, images):
    """RAFT's feature encoder on float 0..255 frames ``(B, 3, H, W)``.

    The encoder normalises each frame on its own (instance norm), so a frame's features do not depend
    on the frames batched with it: a frame shared by two consecutive pairs is encoded once
    (:func:`flow`'s ``fmaps``), where the original encodes it for each pair.
    """
    return model.feature_encoder(2 * (images / 255.0) - 1.0)


def flow(model, image1, image2, iters: int = 20, fmaps=None):
    """Upsampled flow ``(B, 2, H, W)`` of frame pairs given as float 0..255 ``(B, 3, H, W)``, H and W % 8 == 0.

    ``fmaps``: ``(features(image1), features(image2))`` when the caller has them already.
    """
    import torch
    import torch.nn.functional as F
    from torchvision.models.optical_flow.raft import make_coords_grid, upsample_flow

    image1 = 2 * (image1 / 255.0) - 1.0
    b, _, h, w = image1.shape
    if fmaps is None:
        image2 = 2 * (image2 / 255.0) - 1.0
        fmap1, fmap2 = torch.chunk(model.feature_encoder(torch.cat([image1, image2], dim=0)), chunks=2, dim=0)
    else:
        fmap1, fmap2 = fmaps
    model.corr_block.build_pyramid(fmap1, fmap2)
    try:
        context = model.context_encoder(image1)
        hidden, context = torch.split(context, [model.update_block.hidden_state_size,
                                                context.shape[1] - model.update_block.hidden_state_size], dim=1)
        hidden, context = torch.tanh(hidden), F.relu(context)
        coords0 = make_coords_grid(b, h // 8, w // 8).to(fmap1.device)
        coords1 = coords0.clone()
        for _ in range(iters):
            corr = model.corr_block.index_pyramid(centroids_coords=coords1)
            hidden, delta = model.update_block(hidden, context, corr, coords1 - coords0)
            coords1 = coords1 + delta
        return upsample_flow(flow=coords1 - coords0, up_mask=model.mask_predictor(hidden))
    finally:  # torchvision keeps the pyramid on the module: drop it, or it is still alive (about
        model.corr_block.corr_pyramid = []  # 1.1 GB at 720p) while the next pair builds its own


def pairs_per_pass(device: str, hw, accelerator_pairs: int = 4, budget_bytes: int = 2 * 1024 ** 3,
                   pyramids: int = 1) -> int:
    """Frame pairs per RAFT pass for frames of ``hw`` (padded or not) on ``device``.

    One on the CPU: batching does not pay there (benchmarks/bench_motion.py) and each pair holds its
    own correlation pyramid (about 1.1 GB at 720p). On an accelerator up to ``accelerator_pairs``,
    fewer when their pyramids (``pyramids`` per pair, all-pairs at 1/8 resolution, 4 levels) would
    exceed ``budget_bytes``.
    """
    if str(device).split(":")[0] == "cpu":
        return 1
    n = (-(-hw[0] // 8)) * (-(-hw[1] // 8))
    pyramid = pyramids * 4 * n * n * (1 + 1 / 4 + 1 / 16 + 1 / 64)
    return int(max(1, min(accelerator_pairs, budget_bytes // pyramid)))


def load(runtime):
    """The dynamic_degree model on the runtime's device."""
    path = resolve(FILE, runtime)
    state = load_state_dict(path)
    if not any(k.startswith(("module.fnet.", "fnet.")) for k in state):
        raise CheckpointError(f"{path} is not an original-RAFT checkpoint (no fnet.* keys)")
    return build(state, path).to(runtime.device)
