"""The static filter of temporal_flickering: keep only videos in which RAFT sees (almost) no motion.

Reproduces ``vbench/cli/static_filter.py`` of vbench 0.1.5 (spec section 5):

* frames: OpenCV, every frame, BGR->RGB, float 0..255 (held as uint8 here; the official holds the
  video as float32)
* pairs: consecutive pairs (f0,f1)...(f[n-2],f[n-1]), then the wrap pairs (f0,f[n-1]) and (f[n-1],f0)
* per pair: RAFT-large (20 updates, replicate padding to a multiple of 8), score = float32 mean of
  the ``int(Hp*Wp*0.02)`` largest flow magnitudes over the padded frame
* ``thres = 3 * min(H, W) / 256``, ``count_num = round(2 * n / 16)`` (Python round)
* not static as soon as the number of consecutive-pair scores > thres **exceeds** count_num, or a
  wrap score is > ``thres * count_num * 2`` (0 when count_num is 0)
* **pairs stop once a video is known not to be static** (count_num exceeded): the verdict is exactly
  the official one, the remaining pairs and the wrap pairs are not scored (``Verdict.scores`` then
  ends at the deciding pair). ``EARLY_STOP = False`` scores every pair, as the official code does.
* candidates are tested in lexicographically sorted path order (``-10`` before ``-2``); in the
  temporal_flickering scope a prompt stops being tested once it has 5 static videos

Differences: frames smaller than RAFT's correlation pyramid allows (see
:data:`pytest_vbench.dimensions.dynamic_degree.MIN_SIDE`) give NaN scores in the official code,
which then calls the video *static*; here such a video is rejected with the reason "too small".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .video import opencv_frames

log = logging.getLogger(__name__)

BATCH: int | None = None  # frame pairs per RAFT pass; None: models.raft.pairs_per_pass (1 on the CPU)
WANT = 5  # static videos kept per prompt
FRACTION = 0.02  # the static filter averages the 2 % largest flow magnitudes (dynamic_degree: 5 %)
EARLY_STOP = True  # stop scoring a video's pairs once it is known not to be static (exact)


def filters(case: Any, videos: list[Any] | None = None) -> bool:
    """True when temporal_flickering runs the static filter on this case (so it needs RAFT): the case has
    static-filter candidates (``{prompt}-5.mp4`` ...), or more than 5 videos (custom mode)."""
    if case.dimension != "temporal_flickering":
        return False
    return getattr(case, "keep", None) is not None or len(case.videos if videos is None else videos) > WANT


def params(first_hw: tuple[int, int], count: int) -> tuple[float, int]:
    """(thres, count_num) of the official ``set_params``."""
    return 3.0 * (min(first_hw) / 256.0), round(2 * (count / 16.0))


def is_static(scores: list[float], thres: float, count_num: int) -> tuple[bool, str]:
    """The official ``check_static`` on consecutive scores followed by the two wrap scores, with a reason."""
    return verdict_of(scores[:-2], scores[-2:], thres, count_num)


def exceeded(consecutive: list[float], thres: float, count_num: int) -> bool:
    """True once the consecutive-pair scores so far make the video not static, whatever follows."""
    return sum(1 for s in consecutive if s > thres) > count_num


def verdict_of(consecutive: list[float], wraps: list[float], thres: float, count_num: int) -> tuple[bool, str]:
    """:func:`is_static` on the consecutive scores and the wrap scores given apart.

    When the consecutive scores stop at the pair that exceeded count_num (early stop), the wrap
    scores are empty and the answer is the same as with every pair scored.
    """
    count = 0
    for i, s in enumerate(consecutive):
        if s > thres:
            count += 1
        if count > count_num:
            return False, f"{count} consecutive-pair scores > {thres:.4g} (allowed {count_num}; pair {i})"
    assert len(wraps) == 2, "both wrap pairs are scored when the consecutive pairs did not decide"
    for s in wraps:
        if s > thres * count_num * 2:
            return False, f"wrap-pair score {s:.4g} > {thres * count_num * 2:.4g}"
    return True, "static"


@dataclass
class Verdict:
    """The static test of one video."""

    path: str
    static: bool
    reason: str
    frames: int = 0
    thres: float = 0.0
    count_num: int = 0
    scores: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"path": self.path, "static": self.static, "reason": self.reason, "frames": self.frames,
                "thres": self.thres, "count_num": self.count_num, "scores": self.scores}


def check_video(path: str | Path, model: Any, device: str = "cpu") -> Verdict:
    """Run the official static test on one video file (its frames held as uint8)."""
    from .dimensions.dynamic_degree import MIN_SIDE, RGBFrames, pair_scores, too_small
    from .models.raft import pairs_per_pass

    frames = RGBFrames(path)
    first_hw = next(iter(opencv_frames(path))).shape[:2]  # one frame, to size the batch and refuse tiny videos
    hw = (int(first_hw[0]), int(first_hw[1]))
    if too_small(hw):
        return Verdict(str(path), False, f"too small for RAFT ({hw[1]}x{hw[0]}; needs {MIN_SIDE} px a side)")
    batch = BATCH or pairs_per_pass(device, hw)
    held = list(frames)  # count_num depends on the number of frames: known before any pair
    assert frames.first is not None and frames.last is not None  # opencv_frames raises on an empty video
    thres, count_num = params(hw, frames.count)
    stop = (lambda got: exceeded(got, thres, count_num)) if EARLY_STOP else None
    scores = pair_scores(model, held, device, batch, FRACTION, stop=stop)
    wraps: list[float] = []
    if not (EARLY_STOP and exceeded(scores, thres, count_num)):
        # the wrap pairs (f0, f[n-1]) then (f[n-1], f0): one pass for both, or one pass each on the CPU
        # (two pairs at once would hold two correlation pyramids, ~2.2 GB at 720p)
        wraps = pair_scores(model, [frames.first, frames.last, frames.first], device, 2 if batch > 1 else 1,
                            FRACTION)
    static, reason = verdict_of(scores, wraps, thres, count_num)
    return Verdict(str(path), static, reason, frames.count, thres, count_num, scores + wraps)


# --- the `pytest-vbench static-filter` command ---------------------------------------------------------

def _prompt_of(path: str) -> str:
    from .suite import prompt_from_filename

    return prompt_from_filename(Path(path).name)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``pytest-vbench static-filter`` (those of the official ``static_filter.py``)."""
    p.add_argument("--videos-path", required=True, help="folder of *.mp4 files to filter")
    p.add_argument("--result-path", default="./filter_results", help="output folder (default ./filter_results)")
    p.add_argument("--store-name", default="filtered_static_video.json", help="name of the result JSON")
    p.add_argument("--filter-scope", default="temporal_flickering",
                   help="'temporal_flickering' (prompts of that dimension, 5 per prompt), 'all', or a JSON list of names")
    p.add_argument("--cache-dir", help="checkpoint cache (default $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")


def run(args: argparse.Namespace) -> int:
    """Write the official outputs: ``<result>/<store_name>`` and ``<result>/filtered_videos/``."""
    from .models import ModelUnavailable
    from .models.checkpoint import CheckpointError
    from .runtime import Runtime, default_cache_dir

    videos = Path(args.videos_path)
    if not videos.is_dir():
        print(f"pytest-vbench static-filter: --videos-path {videos} is not a directory; point it at the folder "
              f"of generated .mp4 files", file=sys.stderr)
        return 2
    paths = sorted(str(p) for p in videos.glob("*.mp4"))
    if not paths:
        print(f"pytest-vbench static-filter: no .mp4 file in {videos}", file=sys.stderr)
        return 2
    cache = Path(os.path.expandvars(os.path.expanduser(args.cache_dir))) if args.cache_dir else default_cache_dir()
    runtime = Runtime(device=args.device, cache_dir=cache)
    try:
        model = runtime.model("raft")
    except (CheckpointError, ModelUnavailable, ImportError) as exc:
        print(f"pytest-vbench static-filter: cannot load RAFT: {exc}", file=sys.stderr)
        return 2
    scope = args.filter_scope
    if scope == "temporal_flickering":
        from importlib.resources import files

        info = json.loads(files("pytest_vbench.data").joinpath("VBench_full_info.json").read_text(encoding="utf-8"))
        prompts = [e["prompt_en"] for e in info if "temporal_flickering" in e["dimension"]]
    elif scope == "all":
        prompts = [_prompt_of(p) for p in paths]
    else:
        scope_path = Path(scope)
        if not (scope_path.is_file() and scope_path.suffix.lower() == ".json"):
            print(f"--filter-scope must be 'temporal_flickering', 'all' or a JSON file, not {scope!r}")
            return 2
        prompts = [_prompt_of(p) for p in json.loads(scope_path.read_text(encoding="utf-8"))]
    static: dict[str, list[str]] = {p: [] for p in prompts}
    for path in paths:
        found = static.get(_prompt_of(path))
        if found is None:
            continue
        wanted = len(found) < WANT or scope != "temporal_flickering"
        if wanted and check_video(path, model, args.device).static:
            found.append(path)
    result = {p: {"static_count": len(found), "static_path": found} for p, found in static.items()}
    out = Path(args.result_path)
    out.mkdir(parents=True, exist_ok=True)
    (out / args.store_name).write_text(json.dumps(result), encoding="utf-8")
    target = out / "filtered_videos"
    target.mkdir(exist_ok=True)
    for prompt, found in static.items():
        if len(found) < WANT and scope == "temporal_flickering":
            log.warning("Prompt: '%s' has fewer than 5 filter results.", prompt)
        for i, src in enumerate(found):
            shutil.copy(src, target / f"{prompt}-{i}.mp4")
    print(f"wrote {out / args.store_name} and {target}")
    return 0
