"""temporal_flickering: the formula and its refusals.

Parity with the official vbench 0.1.5 outputs (tests/parity/temporal_flickering.json):
``tests/test_parity.py::test_parity[temporal_flickering.json]``.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_vbench.dimensions.temporal_flickering import flicker_score
from pytest_vbench.video import VideoError


def test_formula_on_known_frames():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 51, np.uint8)
    # MAEs 51, 51, 0 -> mean 34 -> (255 - 34)/255
    assert flicker_score([a, b, a, a]) == pytest.approx((255 - 34) / 255)
    with pytest.raises(VideoError, match="single frame"):
        flicker_score([a])
    with pytest.raises(VideoError, match="frame size changes"):
        flicker_score([a, np.zeros((3, 2, 3), np.uint8)])
