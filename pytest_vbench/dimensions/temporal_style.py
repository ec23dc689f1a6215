"""temporal_style: how well the clip as a whole matches a temporal-style prompt (ViCLIP).

* model: ViCLIP-L/14 (InternVid-10M-FLT), fp32, family ``viclip`` (:mod:`pytest_vbench.models.viclip`)
* frames: 8 middle frames decoded by decord (official ``read_frames_decord_by_fps``), uint8
* transform: T-clip-u8 (bicubic resize of the uint8 frames, short side 224, clamped and rounded;
  centre crop 224; /255; CLIP normalisation)
* formula: ``cos(video_feature, text_feature)`` with both features L2-normalised in fp32 (raw
  cosine, no x100); text = the prompt, tokenized at context length 32 with EOT kept
* unit: video (dimension score = mean over videos)
* reproduces: ``vbench/temporal_style.py`` of vbench 0.1.5

Videos of one prompt go through the vision tower in batches; the text feature is computed once per
prompt.
"""

from __future__ import annotations

from pathlib import Path

from ..models.viclip import transform
from ..scoring import VideoScore
from ..video import VideoError, load_video, middle_indices
from .batches import in_batches, one

NUM_FRAMES = 8
BATCH = 4  # videos per pass through the vision tower


def read_frames(path, num_frames: int = NUM_FRAMES):
    """8 middle frames, RGB uint8 ``(T, H, W, 3)``, decoded by decord as the official L2 loader."""
    path = Path(path)
    if path.suffix.lower() == ".mp4":
        return load_video(path, num_frames=num_frames)
    # the official L2 loader hands every container to decord (gif included), unlike L1
    import decord

    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    try:
        reader = decord.VideoReader(str(path), num_threads=1)
        return reader.get_batch(middle_indices(num_frames, len(reader))).asnumpy()
    except Exception as exc:
        raise VideoError(f"{path}: decord cannot decode this file ({str(exc).splitlines()[0][:200]})") from None


def text_features(model, prompt: str, runtime):
    """Normalised text feature of ``prompt``, cached per process (one encoding per prompt)."""
    cache = runtime.memo.setdefault("viclip_text", {})
    if prompt not in cache:
        cache[prompt] = model.encode_texts([prompt])
    return cache[prompt]


def score_case(videos, case, runtime):
    """Score all videos of one prompt: cosine(video, prompt), videos batched through the vision tower.

    Returns a list of ``VideoScore`` or exceptions (one per video, in order).
    """
    import torch

    model = runtime.model("viclip")
    text_feat = text_features(model, case.prompt, runtime)
    res = model.vision_encoder.resolution
    device = next(model.parameters()).device

    def prepare(video):
        decoder = "decord" if video.path.suffix.lower() == ".mp4" else "decord-any"
        frames = runtime.decoded(video.path, decoder, lambda: read_frames(video.path), num_frames=NUM_FRAMES)
        return transform(frames, res)

    def run(inputs, _videos):
        feats = model.encode_video(torch.stack(inputs).to(device))
        return [VideoScore(float(s), 1, {"video_results": float(s)}) for s in (feats @ text_feat.T)[:, 0].tolist()]

    return in_batches(videos, prepare, run, BATCH, runtime)


def score_video(video, case, runtime):
    """Score one video."""
    return one(score_case, video, case, runtime)
