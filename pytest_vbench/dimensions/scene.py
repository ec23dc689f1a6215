"""scene: does a caption of each frame name the scene of the prompt (Tag2Text, beam-search captions).

* model: Tag2Text ``tag2text_swin_14m`` (Swin-B 384 + tag head + BERT tag encoder + caption decoder),
  fp32, family ``tag2text`` (:mod:`pytest_vbench.models.tag2text`)
* frames: 16 middle frames (official ``load_video(num_frames=16, return_tensor=False, width=384,
  height=384)``): for mp4, decord resizes every frame to 384x384 WHILE decoding (FFmpeg swscale,
  aspect ratio not kept); gif/png frames are read at their size by PIL
* transform: T-tag: ``ToPILImage -> Resize((384, 384))`` (PIL bilinear: a no-op for the decoded mp4
  frames, a real resize only for gif/png) ``-> ToTensor -> Normalize(ImageNet)``; the 16 frames are one
  batch
* model output: captions by beam search (3 beams, length 10..30 incl. the prompt ``[DEC] a picture of``)
  minus the first 13 characters. Official quirk kept: the caption of frame k comes from the tags and
  image of frame ``k // 3`` (spec 4.13.7), so only frames 0..5 matter and only they are computed
* rule: a frame succeeds iff EVERY ``" "``-separated word of the scene phrase
  (``auxiliary_info.scene.scene.scene``) is a SUBSTRING of its
  caption (``"bar"`` matches ``"barn"``; an empty word from a double space matches everything)
* unit: frame (dimension score = sum of successful frames / sum of frames); record
  ``{"video_results": success / frames, "success_frame_count": success, "frame_count": frames}``
* reproduces: ``vbench/scene.py`` + ``vbench/third_party/tag2Text`` of vbench 0.1.5 (transformers 4.33.2)
"""

from __future__ import annotations

import numpy as np

from ..scoring import VideoScore
from ..video import load_video
from . import auxiliary

NUM_FRAMES = 16
SIZE = 384
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def scene_phrase(case) -> str:
    """The scene phrase of a case (standard mode only).

    ``case.aux`` is the entry's ``auxiliary_info["scene"]`` = ``{"scene": {"scene": "alley"}}``; the
    official ``scene()`` takes ``info["auxiliary_info"]["scene"]`` of that and ``check_generate`` its
    ``["scene"]``.
    """
    inner = auxiliary.field(case, "scene", lambda v: isinstance(v, dict) and isinstance(v.get("scene"), str),
                            ".scene (a string)")
    return str(inner["scene"])


def frame_success(caption: str, phrase: str) -> bool:
    """Official ``check_generate`` for one caption: every word of ``phrase.split(' ')`` is a substring."""
    return all(word in caption for word in phrase.split(" "))


def score_captions(captions: list[str], phrase: str) -> VideoScore:
    """Per-video record and sufficient statistics (frames) from the captions of its frames."""
    success = sum(frame_success(c, phrase) for c in captions)
    n = len(captions)
    return VideoScore(float(success), n, {"video_results": success / n, "success_frame_count": success,
                                          "frame_count": n})


def read_frames(path, runtime) -> np.ndarray:
    """The 16 middle frames as the official scene reads them: ``(16, H, W, 3)`` uint8 (384x384 for mp4)."""
    return runtime.decoded(path, "decord", lambda: load_video(path, num_frames=NUM_FRAMES, width=SIZE, height=SIZE),
                           num_frames=NUM_FRAMES, width=SIZE, height=SIZE)


def to_input(frames: np.ndarray):
    """T-tag on uint8 ``(T, H, W, 3)`` frames -> float32 ``(T, 3, 384, 384)``."""
    import torch

    out = []
    for frame in frames:
        if frame.shape[:2] != (SIZE, SIZE):  # gif/png: torchvision Resize on a PIL image = PIL bilinear
            from PIL import Image

            frame = np.array(Image.fromarray(frame).resize((SIZE, SIZE), Image.BILINEAR))
        out.append(torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1))
    x = torch.stack(out).float().div(255)
    mean = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(STD, dtype=torch.float32)[:, None, None]
    return x.sub(mean).div(std)


def captions_for(frames: np.ndarray, runtime) -> list[str]:
    """Captions of the frames of one video (one batch, as officially)."""
    import torch

    model = runtime.model("tag2text")
    device = next(model.parameters()).device
    with torch.no_grad():
        return model.caption_frames(to_input(frames).to(device))["captions"]


def score_frames(frames: np.ndarray, phrase: str, runtime) -> VideoScore:
    """Score decoded frames against a scene phrase."""
    return score_captions(captions_for(frames, runtime), phrase)


def score_video(video, case, runtime) -> VideoScore:
    """Caption the 16 frames of one video and count those naming the scene."""
    phrase = scene_phrase(case)
    return score_frames(read_frames(video.path, runtime), phrase, runtime)
