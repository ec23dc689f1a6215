"""Every seeded checkpoint the tests write, by recipe name (one registry; the ``seeded_cache`` fixture uses it).

* One recipe per model family of :data:`pytest_vbench.fake_checkpoints.WRITERS` (the writers of
  ``pytest-vbench fake-cache``), ``tiny`` or full size.
* Variants, each kept here because a parity reference was made with it (its fingerprint or seed is
  recorded in ``tests/parity/*.json``) and the plain writer cannot serve that reference:

  - ``raft_calibrated``: RAFT-large (original DataParallel layout) with the flow head's last
    convolution scaled by 0.14. torchvision's random initialisation predicts ~10 px of flow even
    between identical frames, so every video would be "moving"; scaled, still videos fall below the
    static filter's threshold and moving ones do not (``tests/parity/static_filter.json``).
  - ``amt_calibrated``: AMT-S with every flow-, mask- and residual-producing output convolution
    scaled by 0.02: plain random AMT-S scores every video about 0.63; scaled, scores are in the
    leaderboard's range and a still video scores higher than a moving one
    (``motion_smoothness.json`` run ``calibrated-0``).
  - ``dino_unit_pos``: a tiny DINO (dim 128, 2 heads) whose class token and position embedding are
    unit-scale noise. The plain tiny writer scales them by fan-in (~0.01), so a wrong
    position-embedding resize would barely move the features (``subject_consistency_tiny.json``).
  - ``viclip_official_keys``, ``umt_official_keys``, ``umt_official_keys_pos``: ViCLIP and UMT written
    from the official key lists by ``tests/checkpoints_video_text.py`` (which
    ``tools/parity_video_text.py`` also runs inside the official venv, and which does not use our
    modules, so a naming mistake in them fails the tests); their tensors are drawn differently
    from ``fake_checkpoints``' (``temporal_style.json``, ``overall_consistency.json``,
    ``human_action.json`` record the seed).

* The tiny VQA snapshots (``tiny-qwen2.5-vl``, ``tiny-llava-onevision``, ``tiny-internvl3``) of
  :mod:`pytest_vbench.models.vqa.tiny`, written as ``vqa_model/<name>``.

``tools/parity_motion.py`` and ``tools/parity_dino_musiq.py`` import the variant writers from here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_vbench import fake_checkpoints

#: (cache_dir, seed, tiny) -> the files written
Recipe = Callable[[Path, int, bool], list[Path]]

RAFT_HEAD = ("module.update_block.flow_head.conv2.weight", "module.update_block.flow_head.conv2.bias")
#: the output convolutions of AMT-S that produce flows, masks and image residuals
AMT_HEADS = ("decoder4.convblock.2.", "decoder3.convblock.2.", "decoder2.convblock.2.", "decoder1.convblock.2.",
             "update4.flow_head.2.", "update3.flow_head.2.", "update2.flow_head.2.", "comb_block.2.")
DINO_FILE = "dino_model/dino_vitbase16_pretrain.pth"


def write_raft_calibrated(cache_dir: Path, seed: int = 0, scale: float = 0.14) -> Path:
    """``raft_model/models/raft-things.pth`` with the flow head scaled by ``scale``."""
    import torch

    (path,) = fake_checkpoints.write("raft", Path(cache_dir), seed=seed)
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in RAFT_HEAD:
        state[key] = state[key] * scale
    torch.save(state, path)
    return path


def write_amt_calibrated(cache_dir: Path, seed: int = 0, scale: float = 0.02) -> Path:
    """``amt_model/amt-s.pth`` with the output heads scaled by ``scale``."""
    import torch

    (path,) = fake_checkpoints.write("amt", Path(cache_dir), seed=seed)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = ckpt["state_dict"]
    for key in state:
        if key.startswith(AMT_HEADS):
            state[key] = state[key] * scale
    torch.save(ckpt, path)
    return path


def write_tiny_dino(cache_dir: Path, seed: int) -> Path:
    """A tiny DINO (dim 128, depth 2, 2 heads of 64 like every DINO ViT, patch 16, 14x14 grid) with
    unit-scale class token and position embedding. Two heads, so the head split is exercised."""
    from functools import partial

    import torch
    from timm.models.vision_transformer import VisionTransformer

    model = VisionTransformer(img_size=224, patch_size=16, num_classes=0, qkv_bias=True, embed_dim=128, depth=2,
                              num_heads=2, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    fake_checkpoints._randomise(model, seed)
    state = model.state_dict()
    g = torch.Generator().manual_seed(1000 + seed)
    state["pos_embed"] = torch.randn(state["pos_embed"].shape, generator=g)
    state["cls_token"] = torch.randn(state["cls_token"].shape, generator=g)
    path = Path(cache_dir) / DINO_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def _family(name: str) -> Recipe:
    return lambda d, seed, tiny: fake_checkpoints.write(name, d, seed=seed, tiny=tiny)


def _video_text(kind: str, pos_embed: bool = False) -> Recipe:
    def write(d: Path, seed: int, tiny: bool) -> list[Path]:
        import checkpoints_video_text as C

        if kind == "viclip":
            return [C.write_viclip(d, C.VICLIP_TINY if tiny else C.VICLIP_FULL, seed=seed)]
        return [C.write_umt(d, C.UMT_TINY if tiny else C.UMT_FULL, seed=seed, pos_embed=pos_embed)]
    return write


def _vqa(name: str, writer: str) -> Recipe:
    def write(d: Path, seed: int, tiny: bool) -> list[Path]:
        from pytest_vbench.models import vqa
        from pytest_vbench.models.vqa import tiny as tiny_snapshots

        assert tiny, "VQA snapshots have a tiny size only"
        folder = vqa.snapshot_dir(d, name)
        getattr(tiny_snapshots, writer)(folder, seed=seed)
        return sorted(folder.iterdir())
    return write


def _tiny_only(write: Callable[[Path, int], Path]) -> Recipe:
    def recipe(d: Path, seed: int, tiny: bool) -> list[Path]:
        assert tiny, "this recipe has a tiny size only"
        return [write(d, seed)]
    return recipe


def _full_only(write: Callable[[Path, int], Path]) -> Recipe:
    def recipe(d: Path, seed: int, tiny: bool) -> list[Path]:
        assert not tiny, "this recipe has one (full) size only"
        return [write(d, seed)]
    return recipe


RECIPES: dict[str, Recipe] = {
    **{family: _family(family) for family in fake_checkpoints.WRITERS},
    "raft_calibrated": _full_only(write_raft_calibrated),
    "amt_calibrated": _full_only(write_amt_calibrated),
    "dino_unit_pos": _tiny_only(write_tiny_dino),
    "viclip_official_keys": _video_text("viclip"),
    "umt_official_keys": _video_text("umt"),
    "umt_official_keys_pos": _video_text("umt", pos_embed=True),
    # the tiny VQA snapshots of pytest_vbench.models.vqa.tiny, as vqa_model/<name> (references check their digests)
    "tiny-qwen2.5-vl": _vqa("tiny-qwen2.5-vl", "write_qwen2_5_vl"),
    "tiny-llava-onevision": _vqa("tiny-llava-onevision", "write_llava_onevision"),
    "tiny-internvl3": _vqa("tiny-internvl3", "write_internvl3"),
}


def write(recipes: tuple[str, ...], cache_dir: Path, seed: int = 0, tiny: bool = False) -> list[Path]:
    """Write ``recipes`` (same seed each) into ``cache_dir``; returns the checkpoint files written."""
    out: list[Path] = []
    for name in recipes:
        if name not in RECIPES:
            raise ValueError(f"no seeded checkpoint recipe {name!r} (recipes: {', '.join(RECIPES)})")
        out += RECIPES[name](Path(cache_dir), seed, tiny)
    return out
