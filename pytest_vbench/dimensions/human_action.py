"""human_action: is the action named in the file name recognised in the video (UMT-L/16, Kinetics-400).

* model: UMT ViT-L/16 fine-tuned on Kinetics-400, fp32, family ``umt`` (:mod:`pytest_vbench.models.umt`)
* frames: 16 middle frames (official ``load_video(num_frames=16)``: decord for mp4, PIL for gif/png)
* transform: T-umt (cv2 bilinear resize to short side 256, centre crop 224, /255, ImageNet norm)
* formula: ``p = sigmoid(logits)``; top-5 classes; each probability rounded to 4 decimals (Python
  ``round``); classes with rounded probability >= 0.85 are kept; the video is correct iff the label
  equals one of the kept class names (lower-cased ``data/kinetics_400_categories.txt``)
* label: from the **file name**, as the official code does (spec 4.10): base name, lower-cased,
  cut at the first ``-``, text after the last ``"person is "``, cut at the first ``_``
* unit: video (dimension score = #correct / #videos); record
  ``{"video_results": bool, "cor_num_per_video": 0|1}``
* reproduces: ``vbench/human_action.py`` of vbench 0.1.5

Videos of one prompt are classified in batches (same numbers as one at a time).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import torch

from ..scoring import VideoScore
from ..video import VideoError, load_video
from .batches import in_batches, one

THRESHOLD = 0.85
TOP = 5
BATCH = 2


def label_from_filename(name: str) -> str:
    """The official ground-truth label rule applied to a file's base name."""
    return name.lower().split("-")[0].split("person is ")[-1].split("_")[0]


@lru_cache(maxsize=1)
def categories() -> tuple[str, ...]:
    """Kinetics-400 class names, lower-cased, indexed by class id."""
    text = resources.files("pytest_vbench").joinpath("data/kinetics_400_categories.txt").read_text("utf-8")
    names = tuple(line.strip().lower() for line in text.splitlines() if line.strip())
    if len(names) != 400:
        raise RuntimeError(f"kinetics_400_categories.txt has {len(names)} names, expected 400")
    return names


def decide(probs: list[float], indices: list[int], label: str, names=None) -> tuple[bool, list[str]]:
    """Official decision from the top-5 sigmoid probabilities: (correct, kept class names)."""
    names = names if names is not None else categories()
    kept = [names[i] for p, i in zip((round(p, 4) for p in probs), indices) if p >= THRESHOLD]
    return label in kept, kept


def frames_tensor(path, runtime) -> torch.Tensor:
    """16 middle frames through T-umt: ``(3, 16, 224, 224)``."""
    from ..models.umt import transform

    frames = runtime.decoded(path, "decord", lambda: load_video(path, num_frames=16), num_frames=16)
    try:
        return transform(frames)
    except ValueError as exc:
        raise VideoError(f"{path}: {exc}") from None


def top5(model, batch: torch.Tensor) -> tuple[list[list[float]], list[list[int]]]:
    """Sigmoid probabilities and class ids of the top 5 classes for each clip of ``batch``."""
    with torch.no_grad():
        probs = torch.sigmoid(model(batch))
        values, indices = torch.topk(probs, TOP, dim=1)
    return values.tolist(), indices.tolist()


def score_case(videos, case, runtime):
    """Classify all videos of one prompt (batched)."""
    model = runtime.model("umt")
    device = next(model.parameters()).device

    def run(inputs, chunk):
        values, indices = top5(model, torch.stack(inputs).to(device))
        out = []
        for video, probs, idx in zip(chunk, values, indices):
            ok, _ = decide(probs, idx, label_from_filename(video.path.name))
            out.append(VideoScore(1.0 if ok else 0.0, 1, {"video_results": ok, "cor_num_per_video": int(ok)}))
        return out

    return in_batches(videos, lambda video: frames_tensor(video.path, runtime), run, BATCH, runtime)


def score_video(video, case, runtime):
    """Classify one video."""
    return one(score_case, video, case, runtime)
