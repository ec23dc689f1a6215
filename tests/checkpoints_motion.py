"""Seeded random motion checkpoints in the official formats (for tests, tools and benchmarks).

``write_raft_calibrated`` writes RAFT-large in the ORIGINAL DataParallel key layout
(``module.fnet.*`` ...) like :func:`pytest_vbench.fake_checkpoints.write_raft`, but with the flow
head's last convolution scaled down: torchvision's random initialisation predicts ~10 px of flow
even between identical frames, so every video would be "moving"; scaled, still videos fall below
the static filter's threshold and moving ones do not, which exercises both branches.
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
