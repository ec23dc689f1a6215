"""Per-frame and per-video rules of the four GRiT dimensions (spec 4.8, 4.9, 4.11, 4.12).

Pure Python: input is what GRiT returns per frame, a list of instances
``(description, [int x0, y0, x1, y1], det_obj_list)`` in output order. Official quirks are
reproduced on purpose (first-detection class for color, substring tests, direction-agnostic
spatial relations, same-class pairs, dropped videos in color).
"""
from __future__ import annotations

COLOR_WORDS = ("white", "red", "pink", "blue", "silver", "purple", "orange", "green",
               "gray", "yellow", "black", "grey")


def frame_names(instances) -> set:
    """set(det_obj) of the frame, taken from the first instance; empty if no instance."""
    return set(instances[0][2]) if instances else set()


def object_class_video(frames, target: str) -> dict:
    ok = sum(1 for inst in frames if target in frame_names(inst))
    return {"video_results": ok / len(frames), "success_frame_count": ok, "frame_count": len(frames)}


def multiple_objects_video(frames, objects: str) -> dict:
    a, b = (s.strip() for s in objects.split(" and "))
    ok = 0
    for inst in frames:
        names = frame_names(inst)
        ok += a in names and b in names
    return {"video_results": ok / len(frames), "success_frame_count": ok, "frame_count": len(frames)}


def color_object_word(prompt: str, color: str) -> str:
    return prompt.replace("a ", "").replace("an ", "").replace(color, "").strip()


def color_video(frames, prompt: str, color: str):
    """Returns the record fields, or None when the video is dropped (object never seen)."""
    obj = color_object_word(prompt, color)
    n_obj = n_col = 0
    for inst in frames:
        pairs = [(d, det[0]) for d, _box, det in inst] if inst else [("", "")]
        n_obj += any(name == obj and any(c in cap for c in COLOR_WORDS) for cap, name in pairs)
        n_col += any(name == obj and color in cap for cap, name in pairs)
    if n_obj == 0:
        return None
    ratio = n_col / n_obj
    return {"video_results": ratio, "cur_success_frame_rate": ratio}


def _pair_score(b1, b2, relation: str):
    c1 = ((b1[0] + b1[2]) / 2, (b1[1] + b1[3]) / 2)
    c2 = ((b2[0] + b2[2]) / 2, (b2[1] + b2[3]) / 2)
    dx, dy = c2[0] - c1[0], c2[1] - c1[1]
    iw = max(0, min(b1[2], b2[2]) - max(b1[0], b2[0]))
    ih = max(0, min(b1[3], b2[3]) - max(b1[1], b2[1]))
    inter = iw * ih
    union = (b1[2] - b1[0]) * (b1[3] - b1[1]) + (b2[2] - b2[0]) * (b2[3] - b2[1]) - inter
    iou = inter / union
    if relation in ("on the left of", "on the right of"):
        along = abs(dx) > abs(dy)
    elif relation in ("on the top of", "on the bottom of"):
        along = abs(dy) > abs(dx)
    else:
        raise ValueError(f"unknown relationship {relation!r}")
    if not along:
        return 0
    return 1 if iou < 0.1 else 0.1 / iou


def spatial_frame(instances, a: str, b: str, relation: str):
    # In the ObjectDet dims the description of box i equals det_obj[i].
    cand = [box for name, box, _det in instances if name in (a, b)]
    best = 0
    for i in range(len(cand)):
        for j in range(i + 1, len(cand)):
            best = max(best, _pair_score(cand[i], cand[j], relation))
    return best


def spatial_video(frames, a: str, b: str, relation: str) -> dict:
    import numpy as np

    scores = [spatial_frame(inst, a, b, relation) for inst in frames]
    # np.mean, as officially (pairwise summation can differ from sum() in the last bit)
    return {"video_results": float(np.mean(scores)), "frame_results": scores}
