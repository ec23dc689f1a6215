"""temporal_flickering against the official vbench 0.1.5 outputs (tests/parity/temporal_flickering.json).

The reference was produced by tools/run_official.py in a separate virtualenv with the official
package, on the committed videos in tests/parity/videos/temporal_flickering (see tools/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_vbench.dimensions.temporal_flickering import flicker_score
from pytest_vbench.video import VideoError, opencv_frames

from parity_harness import bar

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "parity" / "temporal_flickering.json").read_text())
VIDEOS = HERE / "parity" / "videos" / "temporal_flickering"


@pytest.mark.parametrize("record", REFERENCE["records"], ids=lambda r: Path(r["video_path"]).name)
def test_per_video_value_equals_official(record):
    ours = flicker_score(opencv_frames(VIDEOS / Path(record["video_path"]).name))
    assert abs(ours - record["video_results"]) <= bar("temporal_flickering")


def test_dimension_score_equals_official():
    values = [flicker_score(opencv_frames(VIDEOS / Path(r["video_path"]).name)) for r in REFERENCE["records"]]
    assert abs(float(np.mean(values)) - REFERENCE["score"]) <= 1e-6
    assert len(values) == len(list(VIDEOS.glob("*.mp4")))


def test_formula_on_known_frames():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 51, np.uint8)
    # MAEs 51, 51, 0 -> mean 34 -> (255 - 34)/255
    assert flicker_score([a, b, a, a]) == pytest.approx((255 - 34) / 255)
    with pytest.raises(VideoError, match="single frame"):
        flicker_score([a])
    with pytest.raises(VideoError, match="frame size changes"):
        flicker_score([a, np.zeros((3, 2, 3), np.uint8)])
