"""MUSIQ (SPAQ) for imaging_quality: pyiqa's architecture, our own strict, weights-only loading.

The architecture is read off the checkpoint (hidden size, MLP width, depth, classes; heads =
hidden/64, i.e. 6 for the official 384-wide model), so tiny test checkpoints load through the same
code. The official file is a flat state dict (pyiqa strips a ``module.`` prefix if present).
"""

from __future__ import annotations

import re

from .checkpoint import CheckpointError, adopt, load_state_dict, resolve

FILE = "pyiqa_model/musiq_spaq_ckpt-358bb6af.pth"


def config_from_state(state: dict) -> dict:
    """MUSIQ constructor arguments inferred from a state dict."""
    try:
        hidden = state["embedding.weight"].shape[0]
        mlp = state["transformer_encoder.transformer.encoderblock_0.mlp.fc1.weight"].shape[0]
        classes = state["head.weight"].shape[0] if "head.weight" in state else state["head.0.weight"].shape[0]
    except KeyError as exc:
        raise CheckpointError(f"not a MUSIQ state dict (no {exc.args[0]})") from None
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"transformer_encoder\.transformer\.encoderblock_(\d+)\.", k))}
    return {"hidden_size": hidden, "mlp_dim": mlp, "num_layers": len(blocks), "num_heads": max(1, hidden // 64),
            "num_class": classes}


def build(state: dict, path=None):
    """A MUSIQ module holding ``state`` (eval mode, fp32)."""
    import torch
    from pyiqa.archs.musiq_arch import MUSIQ

    with torch.device("meta"):  # no random initialisation: the checkpoint's tensors are adopted as they are
        model = MUSIQ(pretrained=False, **config_from_state(state))
    return adopt(model, state, path or "MUSIQ checkpoint", "MUSIQ")


def load(runtime):
    """The imaging_quality model on the runtime's device."""
    path = resolve(FILE, runtime)
    return build(load_state_dict(path, strip_prefix="module."), path).to(runtime.device)
