"""Shared fixtures: synthetic videos and small prompt suites written into temporary directories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from synthetic import noise_frames, write_video

pytest_plugins = ["pytester", "strict_skips"]

# The seeded random checkpoints the tests write cannot have the official digests: accept them (each
# run says so on stderr). Tests of the digest checks themselves unset this (tests/test_checkpoint_trust.py).
os.environ.setdefault("VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS", "1")

EXAMPLE_PROMPTS = ["In a still frame, a stop sign", "a toilet, frozen in time", "a laptop, frozen in time"]


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    """A full-info JSON holding three real temporal_flickering prompts."""
    from pytest_vbench.suite import load_suite

    entries = [e for e in load_suite().entries if e["prompt_en"] in EXAMPLE_PROMPTS]
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


@pytest.fixture
def flicker_videos(tmp_path: Path) -> Path:
    """Five 16-frame videos for each of the three prompts of ``small_suite``."""
    out = tmp_path / "videos"
    out.mkdir()
    for p, prompt in enumerate(EXAMPLE_PROMPTS):
        for i in range(5):
            write_video(out / f"{prompt}-{i}.mp4", noise_frames(seed=10 * p + i, amplitude=4 + 6 * p))
    return out

