"""The dimension table: one row per dimension, the only place that knows their facts.

Each row (:class:`Dimension`) says which group it belongs to, its normalisation constants, the
aggregation unit, the official output folder, the decoder and the model families it needs, and
whether it counts in the official Quality/Semantic/Total (``in_official_total``). The 16 rows of
VBench 1.0 are the official ones: their constants (min, max, weight, group) are
``scripts/constant.py`` of Vchitect/VBench, used by its ``cal_final_score.py``; units are the
aggregation units of the official single-process code (see ``docs/scoring.md``). Any other row
(in-tree like ``vqa_score`` or added with :func:`register`) must use a group of its own, so it can
never change Quality, Semantic or Total.

A dimension is scored by its module (``pytest_vbench.dimensions.<name>``, or ``Dimension.module``),
which follows :class:`DimensionModule`. It is *implemented* when that module exists and every
package its decoder and families need can be imported (:attr:`Dimension.requires`).
See ``docs/developing.md`` for adding one.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..scoring import VideoScore
    from ..suite import Case, VideoRef

QUALITY = "quality"
SEMANTIC = "semantic"
#: the groups of the official total; a row outside the official 16 must use another group
GROUPS = (QUALITY, SEMANTIC)
#: dimensions beyond VBench 1.0 (vqa_score): reported on their own, never in Quality, Semantic or Total
EXTRA = "extra"

#: aggregation units: what one per-video statistic counts
PAIR, FRAME, VIDEO = "pair", "frame", "video"

#: decoder -> the import names it needs (``video.opencv_frames`` / ``video.load_video``)
DECODER_REQUIRES: dict[str, tuple[str, ...]] = {
    "opencv": ("cv2",),
    "decord": ("decord",),
    # vqa_score: qwen-vl-utils' frame sampling and resize, done with decord + torchvision (models/vqa/qwen.py)
    "qwen-vl-utils": ("decord", "torchvision"),
}

#: The 16 dimensions of VBench 1.0 (the only rows allowed in the official total).
OFFICIAL_NAMES = frozenset({
    "subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness",
    "dynamic_degree", "aesthetic_quality", "imaging_quality", "object_class", "multiple_objects",
    "human_action", "color", "spatial_relationship", "scene", "appearance_style", "temporal_style",
    "overall_consistency",
})


@runtime_checkable
class DimensionModule(Protocol):
    """What a dimension module provides: the per-video score function.

    A module may also define ``score_case(videos, case, runtime) -> list[VideoScore | Exception]``
    (see :class:`BatchedDimensionModule`) to batch the videos of one prompt; it must give the same
    numbers as ``score_video``, and tells the live progress each video it finishes
    (``runtime.video_done``; ``batches.in_batches`` does it when given the runtime).
    """

    def score_video(self, video: VideoRef, case: Case, runtime: Runtime) -> VideoScore:
        """Score one video: sufficient statistics in the row's unit plus the official record."""
        ...


@runtime_checkable
class BatchedDimensionModule(DimensionModule, Protocol):
    """A dimension module that also scores all videos of a case at once."""

    def score_case(self, videos: Sequence[VideoRef], case: Case,
                   runtime: Runtime) -> list[VideoScore | Exception]:
        """Score ``videos`` of ``case`` in one go; one outcome per video, in order."""
        ...


class InvalidDimension(ValueError):
    """A table row that breaks the table's rules (e.g. a non-official row in an official group)."""


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
    decoder: str  # "opencv" or "decord" (see DECODER_REQUIRES): what the module reads videos with
    families: tuple[str, ...] = ()  # model families every video needs (models.LOADERS keys)
    needs_aux: bool = False
    scale: float = 1.0  # dimension score = scale * sum / count (imaging_quality is 0-100 per video)
    #: families loaded only in some runs (temporal_flickering: RAFT for the static filter of >5 candidates)
    optional_families: tuple[str, ...] = ()
    #: True only for the 16 rows of VBench 1.0; they alone make Quality, Semantic and Total
    in_official_total: bool = False
    #: import path of the scoring module; None: ``pytest_vbench.dimensions.<name>``
    module: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in (PAIR, FRAME, VIDEO):
            raise InvalidDimension(f"{self.name}: unit {self.unit!r} is not one of {PAIR}, {FRAME}, {VIDEO}")
        if self.decoder not in DECODER_REQUIRES:
            raise InvalidDimension(f"{self.name}: decoder {self.decoder!r} is not one of {', '.join(DECODER_REQUIRES)}")
        if self.in_official_total:
            if self.name not in OFFICIAL_NAMES or self.group not in GROUPS:
                raise InvalidDimension(f"{self.name}: only the 16 VBench 1.0 dimensions, in groups "
                                       f"{' or '.join(GROUPS)}, count in the official total")
        elif self.group in GROUPS:
            raise InvalidDimension(f"{self.name}: group {self.group!r} is reserved for the official total; "
                                   f"give this dimension a group of its own (e.g. 'extra')")
        if not self.max > self.min:
            raise InvalidDimension(f"{self.name}: max {self.max} must exceed min {self.min}")

    @property
    def label(self) -> str:
        """The official key spelling used by ``cal_final_score`` (spaces instead of underscores)."""
        return self.name.replace("_", " ")

    @property
    def module_name(self) -> str:
        """Import path of the module holding the per-video score function."""
        return self.module or f"{__name__}.{self.name}"

    @property
    def requires(self) -> tuple[str, ...]:
        """Import names this dimension needs: its decoder's and its families' (optional ones excluded)."""
        from ..models import REQUIRES

        names = list(DECODER_REQUIRES[self.decoder])
        for family in self.families:
            names += REQUIRES.get(family, ())
        return tuple(dict.fromkeys(names))

    @property
    def missing(self) -> list[str]:
        """What keeps this dimension from running here: its module, a family loader, or packages."""
        from ..models import LOADERS

        out = [] if _importable(self.module_name) else [self.module_name]
        out += [f"loader of model family {f!r}" for f in self.families if f not in LOADERS]
        return out + [name for name in self.requires if not _importable(name)]

    @property
    def implemented(self) -> bool:
        """True when its module exists and its decoder's and families' packages can be imported."""
        return not self.missing

    @property
    def custom_mode(self) -> bool:
        """True when the dimension can run on arbitrary prompts (no auxiliary info needed)."""
        return not self.needs_aux

    def load_module(self) -> DimensionModule:
        """Import the scoring module and check that it follows :class:`DimensionModule`."""
        module: ModuleType = importlib.import_module(self.module_name)
        if not isinstance(module, DimensionModule):
            raise TypeError(f"{self.module_name} defines no score_video(video, case, runtime); "
                            f"see docs/developing.md")
        return module


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module with no spec
        return False


_D = Dimension
_O = partial(Dimension, in_official_total=True)  # a row of the official VBench 1.0 total
#: The table, in the order of the official ``scripts/constant.py``.
DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        _O("subject_consistency", QUALITY, 0.1462, 1.0, 1, PAIR, "subject_consistency", "decord", ("dino",)),
        _O("background_consistency", QUALITY, 0.2615, 1.0, 1, PAIR, "scene", "decord", ("clip_b32",)),
        _O("temporal_flickering", QUALITY, 0.6293, 1.0, 1, VIDEO, "temporal_flickering", "opencv", (),
           optional_families=("raft",)),
        _O("motion_smoothness", QUALITY, 0.706, 0.9975, 1, VIDEO, "subject_consistency", "opencv", ("amt",)),
        _O("dynamic_degree", QUALITY, 0.0, 1.0, 0.5, VIDEO, "subject_consistency", "opencv", ("raft",)),
        _O("aesthetic_quality", QUALITY, 0.0, 1.0, 1, VIDEO, "overall_consistency", "decord", ("clip_l14", "aesthetic")),
        _O("imaging_quality", QUALITY, 0.0, 1.0, 1, VIDEO, "overall_consistency", "decord", ("musiq",), scale=0.01),
        _O("object_class", SEMANTIC, 0.0, 1.0, 1, FRAME, "object_class", "decord", ("grit",), needs_aux=True),
        _O("multiple_objects", SEMANTIC, 0.0, 1.0, 1, FRAME, "multiple_objects", "decord", ("grit",), needs_aux=True),
        _O("human_action", SEMANTIC, 0.0, 1.0, 1, VIDEO, "human_action", "decord", ("umt",)),
        _O("color", SEMANTIC, 0.0, 1.0, 1, VIDEO, "color", "decord", ("grit",), needs_aux=True),
        _O("spatial_relationship", SEMANTIC, 0.0, 1.0, 1, FRAME, "spatial_relationship", "decord", ("grit",), needs_aux=True),
        _O("scene", SEMANTIC, 0.0, 0.8222, 1, FRAME, "scene", "decord", ("tag2text",), needs_aux=True),
        _O("appearance_style", SEMANTIC, 0.0009, 0.2855, 1, FRAME, "appearance_style", "decord", ("clip_b32",), needs_aux=True),
        _O("temporal_style", SEMANTIC, 0.0, 0.364, 1, VIDEO, "temporal_style", "decord", ("viclip",)),
        _O("overall_consistency", SEMANTIC, 0.0, 0.364, 1, VIDEO, "overall_consistency", "decord", ("viclip",)),
        # beyond VBench 1.0 (group EXTRA: min/max/weight only make "normalised" equal the raw score)
        _D("vqa_score", EXTRA, 0.0, 1.0, 1, VIDEO, "vqa_score", "qwen-vl-utils", ("vqa",)),
    )
}


class UnknownDimension(ValueError):
    """A dimension name that is not in the table."""


def register(dim: Dimension) -> Dimension:
    """Add a row to the table (the extension point for dimensions outside this package).

    Call it at import time of a pytest plugin or ``conftest.py`` so that every process (xdist
    workers too) sees the row before the suite is loaded. The row cannot join the official total,
    and cannot replace an existing row.
    """
    if dim.in_official_total:
        raise InvalidDimension(f"{dim.name}: registered dimensions cannot count in the official total")
    if dim.name in DIMENSIONS:
        raise InvalidDimension(f"dimension {dim.name!r} is already in the table")
    DIMENSIONS[dim.name] = dim
    return dim


def official() -> list[Dimension]:
    """The rows of the official VBench 1.0 total, in table order."""
    return [d for d in DIMENSIONS.values() if d.in_official_total]


def suggest(name: str, choices: Iterable[str]) -> str:
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
