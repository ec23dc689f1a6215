"""The dimension table: one row per VBench 1.0 dimension, the only place that knows their facts.

A dimension is *implemented* when its module ``pytest_vbench.dimensions.<name>`` exists. That
module must define::

    def score_video(video: VideoRef, case: Case, runtime: Runtime) -> VideoScore

and may define ``score_case(videos, case, runtime) -> list[VideoScore | Exception]`` to batch the
videos of one prompt. Adding a dimension never touches the core: write the module, and fill in the
row's ``families`` (model families from :mod:`pytest_vbench.models`) if they change.

Constants (min, max, weight, group) are ``scripts/constant.py`` of Vchitect/VBench, used by its
``cal_final_score.py``; units are the aggregation units of the official single-process code
(see ``docs/scoring.md``).
"""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass

QUALITY = "quality"
SEMANTIC = "semantic"
#: dimensions beyond VBench 1.0 (vqa_score): reported on their own, never in Quality, Semantic or Total
EXTRA = "extra"

#: aggregation units: what one per-video statistic counts
PAIR, FRAME, VIDEO = "pair", "frame", "video"


@dataclass(frozen=True)
class Dimension:
    """Facts about one dimension (one row of the table)."""

    name: str
    group: str
    min: float
    max: float
    weight: float
    unit: str
    folder: str
    decoder: str
    families: tuple[str, ...] = ()
    needs_aux: bool = False
    scale: float = 1.0  # dimension score = scale * sum / count (imaging_quality is 0-100 per video)

    @property
    def label(self) -> str:
        """The official key spelling used by ``cal_final_score`` (spaces instead of underscores)."""
        return self.name.replace("_", " ")

    @property
    def module_name(self) -> str:
        """Import path of the module holding the per-video score function."""
        return f"{__name__}.{self.name}"

    @property
    def implemented(self) -> bool:
        """True when this installation ships a scoring module for the dimension."""
        return importlib.util.find_spec(self.module_name) is not None

    @property
    def custom_mode(self) -> bool:
        """True when the dimension can run on arbitrary prompts (no auxiliary info needed)."""
        return not self.needs_aux


_D = Dimension
#: The table, in the order of the official ``scripts/constant.py``.
DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        _D("subject_consistency", QUALITY, 0.1462, 1.0, 1, PAIR, "subject_consistency", "decord", ("dino",)),
        _D("background_consistency", QUALITY, 0.2615, 1.0, 1, PAIR, "scene", "decord", ("clip_b32",)),
        _D("temporal_flickering", QUALITY, 0.6293, 1.0, 1, VIDEO, "temporal_flickering", "opencv", ()),
        _D("motion_smoothness", QUALITY, 0.706, 0.9975, 1, VIDEO, "subject_consistency", "opencv", ("amt",)),
        _D("dynamic_degree", QUALITY, 0.0, 1.0, 0.5, VIDEO, "subject_consistency", "opencv", ("raft",)),
        _D("aesthetic_quality", QUALITY, 0.0, 1.0, 1, VIDEO, "overall_consistency", "decord", ("clip_l14", "aesthetic")),
        _D("imaging_quality", QUALITY, 0.0, 1.0, 1, VIDEO, "overall_consistency", "decord", ("musiq",), scale=0.01),
        _D("object_class", SEMANTIC, 0.0, 1.0, 1, FRAME, "object_class", "decord", ("grit",), needs_aux=True),
        _D("multiple_objects", SEMANTIC, 0.0, 1.0, 1, FRAME, "multiple_objects", "decord", ("grit",), needs_aux=True),
        _D("human_action", SEMANTIC, 0.0, 1.0, 1, VIDEO, "human_action", "decord", ("umt",)),
        _D("color", SEMANTIC, 0.0, 1.0, 1, VIDEO, "color", "decord", ("grit",), needs_aux=True),
        _D("spatial_relationship", SEMANTIC, 0.0, 1.0, 1, FRAME, "spatial_relationship", "decord", ("grit",), needs_aux=True),
        _D("scene", SEMANTIC, 0.0, 0.8222, 1, FRAME, "scene", "decord", ("tag2text",), needs_aux=True),
        _D("appearance_style", SEMANTIC, 0.0009, 0.2855, 1, FRAME, "appearance_style", "decord", ("clip_b32",), needs_aux=True),
        _D("temporal_style", SEMANTIC, 0.0, 0.364, 1, VIDEO, "temporal_style", "decord", ("viclip",)),
        _D("overall_consistency", SEMANTIC, 0.0, 0.364, 1, VIDEO, "overall_consistency", "decord", ("viclip",)),
        # beyond VBench 1.0 (group EXTRA: min/max/weight only make "normalised" equal the raw score)
        _D("vqa_score", EXTRA, 0.0, 1.0, 1, VIDEO, "vqa_score", "qwen-vl-utils", ("vqa",)),
    )
}

#: the official groups: the only ones Quality / Semantic / Total are computed from
GROUPS = (QUALITY, SEMANTIC)


class UnknownDimension(ValueError):
    """A dimension name that is not in the table."""


def suggest(name: str, choices) -> str:
    """A ' (did you mean X?)' hint for a misspelt name, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def get(name: str) -> Dimension:
    """Look a dimension up by name; accepts the official spelling with spaces too."""
    key = name.strip().replace(" ", "_").replace("-", "_").lower()
    try:
        return DIMENSIONS[key]
    except KeyError:
        raise UnknownDimension(f"unknown dimension {name!r}{suggest(key, DIMENSIONS)}") from None


def parse_list(text: str) -> list[Dimension]:
    """Parse a comma-separated list of dimension names (validated, duplicates dropped, order kept)."""
    out: list[Dimension] = []
    for part in text.split(","):
        if part.strip():
            dim = get(part)
            if dim not in out:
                out.append(dim)
    if not out:
        raise UnknownDimension("no dimension named (expected a comma-separated list)")
    return out


def implemented() -> list[Dimension]:
    """The dimensions this installation can score, in table order."""
    return [d for d in DIMENSIONS.values() if d.implemented]
