"""Seeded random motion checkpoints in the official formats (for tests, tools and benchmarks).

``write_raft_calibrated`` writes RAFT-large in the ORIGINAL DataParallel key layout
(``module.fnet.*`` ...) like :func:`pytest_vbench.fake_checkpoints.write_raft`, but with the flow
head's last convolution scaled down: torchvision's random initialisation predicts ~10 px of flow
even between identical frames, so every video would be "moving"; scaled, still videos fall below
the static filter's threshold and moving ones do not, which exercises both branches.

``write_amt_calibrated`` writes AMT-S (``amt_model/amt-s.pth``, ``{'state_dict': ...}``) like
:func:`pytest_vbench.fake_checkpoints.write_amt`, with every flow-, mask- and residual-producing
output convolution scaled down: plain random AMT-S predicts tens of pixels of flow and scores every
video about 0.63; scaled, it behaves like a (bad) real interpolator, with scores in the leaderboard's
range (0.97 to 0.99) and a still video scoring higher than a moving one.
"""

from __future__ import annotations

from pathlib import Path

HEAD = ("module.update_block.flow_head.conv2.weight", "module.update_block.flow_head.conv2.bias")


def write_raft_calibrated(cache_dir: Path, seed: int = 0, scale: float = 0.14) -> Path:
    """``raft_model/models/raft-things.pth`` with the flow head scaled by ``scale``."""
    import torch

    from pytest_vbench import fake_checkpoints

    path = fake_checkpoints.write("raft", Path(cache_dir), seed=seed)
    path = Path(path[0] if isinstance(path, (list, tuple)) else path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in HEAD:
        state[key] = state[key] * scale
    torch.save(state, path)
    return path


#: the output convolutions of AMT-S that produce flows, masks and image residuals
AMT_HEADS = ("decoder4.convblock.2.", "decoder3.convblock.2.", "decoder2.convblock.2.", "decoder1.convblock.2.",
             "update4.flow_head.2.", "update3.flow_head.2.", "update2.flow_head.2.", "comb_block.2.")


def write_amt_calibrated(cache_dir: Path, seed: int = 0, scale: float = 0.02) -> Path:
    """``amt_model/amt-s.pth`` with the output heads scaled by ``scale``."""
    import torch

    from pytest_vbench import fake_checkpoints

    path = Path(fake_checkpoints.write("amt", Path(cache_dir), seed=seed)[0])
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = ckpt["state_dict"]
    for key in state:
        if key.startswith(AMT_HEADS):
            state[key] = state[key] * scale
    torch.save(ckpt, path)
    return path
