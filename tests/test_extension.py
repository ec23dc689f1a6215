"""Adding a dimension through the documented extension point (docs/developing.md, "Adding a dimension").

A toy dimension (mean brightness) is registered from a ``conftest.py`` with
:func:`pytest_vbench.dimensions.register` and scored by a module outside the package. The run shows
that it is collected (one item per prompt), scored (its raw score is the mean of its per-video
values), reported (terminal, JSON, Markdown) and that the official Quality and Total are the same
with and without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_vbench.dimensions.temporal_flickering import flicker_score
from pytest_vbench.video import opencv_frames

TOY_MODULE = '''
"""toy_brightness: mean brightness of every frame (a documentation example, not a VBench dimension)."""
import numpy as np

from pytest_vbench.scoring import VideoScore
from pytest_vbench.video import opencv_frames


def score_video(video, case, runtime):
    """Mean pixel value of the video divided by 255."""
    value = float(np.mean([frame.mean() for frame in opencv_frames(video.path)]) / 255)
    return VideoScore(value, 1, {"video_results": value})
'''

TOY_CONFTEST = '''
from pytest_vbench.dimensions import VIDEO, Dimension, register

register(Dimension("toy_brightness", "extra", 0.0, 1.0, 1.0, VIDEO, "toy_brightness", "opencv",
                   module="toy_brightness"))
'''


def _suite_with_toy(small_suite: Path, tmp_path: Path) -> Path:
    entries = json.loads(small_suite.read_text(encoding="utf-8"))
    for e in entries:
        e["dimension"] = [*e["dimension"], "toy_brightness"]
    path = tmp_path / "suite_toy.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def _run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *map(str, args))


def test_a_registered_dimension_is_collected_scored_reported_and_leaves_the_total_alone(
        pytester, small_suite, flicker_videos, tmp_path):
    pytester.makepyfile(toy_brightness=TOY_MODULE)
    pytester.makeconftest(TOY_CONFTEST)
    suite = _suite_with_toy(small_suite, tmp_path)
    both, alone, md = tmp_path / "both.json", tmp_path / "alone.json", tmp_path / "summary.md"
    # missing-as-zero: the official Total gets a value (the other 15 dimensions count 0)
    common = ["--vbench-videos", flicker_videos, "--vbench-full-info", suite, "--vbench-missing-as-zero"]

    run = _run(pytester, *common, "--vbench-dims", "temporal_flickering,toy_brightness", "--vbench-json", both,
               "--vbench-markdown", md)
    run.assert_outcomes(passed=6)  # 3 prompts x 2 dimensions: collected
    run.stdout.fnmatch_lines(["*VBench summary*", "*toy_brightness*extra*"])
    _run(pytester, *common, "--vbench-dims", "temporal_flickering", "--vbench-json", alone).assert_outcomes(passed=3)

    with_toy, without = json.loads(both.read_text()), json.loads(alone.read_text())
    toy = with_toy["dimensions"]["toy_brightness"]
    per_video = [float(np.mean([f.mean() for f in opencv_frames(p)]) / 255) for p in sorted(flicker_videos.iterdir())]
    assert toy["raw"] == pytest.approx(np.mean(per_video), abs=1e-12)  # scored
    assert toy["group"] == "extra"
    assert "toy_brightness" in md.read_text(encoding="utf-8")  # reported
    # Quality, Semantic and Total are computed from the official rows only
    assert with_toy["scores"]["total"]["value"] is not None
    assert with_toy["scores"] == without["scores"]
    flicker = [flicker_score(opencv_frames(p)) for p in sorted(flicker_videos.iterdir())]
    assert with_toy["dimensions"]["temporal_flickering"]["raw"] == pytest.approx(np.mean(flicker), abs=1e-12)


def test_the_toy_dimension_is_listed_in_the_table(pytester):
    pytester.makepyfile(toy_brightness=TOY_MODULE)
    pytester.makeconftest(TOY_CONFTEST)
    pytester.makepyfile(test_table="""
        from pytest_vbench import dimensions as D

        def test_row():
            row = D.DIMENSIONS["toy_brightness"]
            assert row.implemented and not row.in_official_total
            assert row not in D.official()
            assert isinstance(row.load_module(), D.DimensionModule)
    """)
    _run(pytester).assert_outcomes(passed=1)
