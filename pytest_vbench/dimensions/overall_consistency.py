"""overall_consistency: how well the clip as a whole matches its prompt (ViCLIP).

* model: ViCLIP-L/14 (InternVid-10M-FLT), fp32, family ``viclip`` (:mod:`pytest_vbench.models.viclip`)
* frames: 8 middle frames decoded by decord (official ``read_frames_decord_by_fps``), uint8
* transform: T-clip-u8 (bicubic resize of the uint8 frames, short side 224, clamped and rounded;
  centre crop 224; /255; CLIP normalisation)
* formula: ``cos(video_feature, text_feature)`` with both features L2-normalised in fp32 (raw
  cosine, no x100); text = the prompt, tokenized at context length 32 with EOT kept
* unit: video (dimension score = mean over videos)
* reproduces: ``vbench/overall_consistency.py (identical algorithm to temporal_style)`` of vbench 0.1.5

Videos of one prompt go through the vision tower in batches; the text feature is computed once per
prompt.
"""

from __future__ import annotations

from .temporal_style import score_case, score_video  # noqa: F401  (the same computation, another prompt set)
