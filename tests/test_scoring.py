"""Aggregation maths against the official constants (scripts/constant.py, cal_final_score.py)."""

from __future__ import annotations

import math
import random

import pytest

from pytest_vbench.dimensions import DIMENSIONS, FRAME, GROUPS, PAIR, VIDEO
from pytest_vbench.scoring import DimensionTotal, final_scores, normalise

# scripts/constant.py of Vchitect/VBench, written out independently of the table
OFFICIAL = {
    "subject consistency": (0.1462, 1.0, 1), "background consistency": (0.2615, 1.0, 1),
    "temporal flickering": (0.6293, 1.0, 1), "motion smoothness": (0.706, 0.9975, 1),
    "dynamic degree": (0.0, 1.0, 0.5), "aesthetic quality": (0.0, 1.0, 1), "imaging quality": (0.0, 1.0, 1),
    "object class": (0.0, 1.0, 1), "multiple objects": (0.0, 1.0, 1), "human action": (0.0, 1.0, 1),
    "color": (0.0, 1.0, 1), "spatial relationship": (0.0, 1.0, 1), "scene": (0.0, 0.8222, 1),
    "appearance style": (0.0009, 0.2855, 1), "temporal style": (0.0, 0.364, 1),
    "overall consistency": (0.0, 0.364, 1),
}
QUALITY = ["subject consistency", "background consistency", "temporal flickering", "motion smoothness",
           "dynamic degree", "aesthetic quality", "imaging quality"]


def official_total(raw: dict[str, float]) -> tuple[float, float, float]:
    """cal_final_score.py, re-derived: missing -> 0, normalise, weighted group means, 4:1 total."""
    norm = {k: (raw.get(k.replace(" ", "_"), 0.0) - lo) / (hi - lo) * w for k, (lo, hi, w) in OFFICIAL.items()}
    q = sum(norm[k] for k in QUALITY) / sum(OFFICIAL[k][2] for k in QUALITY)
    sem = [k for k in OFFICIAL if k not in QUALITY]
    s = sum(norm[k] for k in sem) / sum(OFFICIAL[k][2] for k in sem)
    return q, s, (4 * q + s) / 5


def test_table_matches_official_constants():
    official = [d for d in DIMENSIONS.values() if d.group in GROUPS]  # extra dimensions (vqa_score) aside
    assert [d.label for d in official] == list(OFFICIAL)
    for d in official:
        assert (d.min, d.max, d.weight) == OFFICIAL[d.label]
        assert (d.group == "quality") == (d.label in QUALITY)


def test_units_follow_the_official_aggregation():
    units = {n: d.unit for n, d in DIMENSIONS.items()}
    assert units["subject_consistency"] == units["background_consistency"] == PAIR
    assert units["appearance_style"] == units["object_class"] == units["scene"] == FRAME
    assert units["spatial_relationship"] == units["multiple_objects"] == FRAME
    assert units["temporal_flickering"] == units["color"] == units["human_action"] == VIDEO
    assert DIMENSIONS["imaging_quality"].scale == 0.01


def test_full_score_equals_official_formula():
    rng = random.Random(3)
    raws = {n: rng.uniform(0.2, 0.99) for n in DIMENSIONS}
    g = final_scores(raws)
    q, s, t = official_total(raws)
    assert g["quality"].value == pytest.approx(q, abs=1e-15)
    assert g["semantic"].value == pytest.approx(s, abs=1e-15)
    assert g["total"].value == pytest.approx(t, abs=1e-15)
    assert not g["total"].partial


def test_missing_as_zero_reproduces_official_negative_values():
    expected = {"subject_consistency": -0.171234, "background_consistency": -0.354096,
                "temporal_flickering": -1.697599, "motion_smoothness": -2.421955, "appearance_style": -0.003162}
    for name, value in expected.items():
        assert normalise(name, 0.0) == pytest.approx(value, abs=1e-6)
    raws = {"temporal_flickering": 0.97, "scene": 0.5}
    g = final_scores(raws, missing_as_zero=True)
    q, s, t = official_total(raws)
    assert (g["quality"].value, g["semantic"].value, g["total"].value) == pytest.approx((q, s, t), abs=1e-15)
    assert not g["quality"].partial


def test_partial_groups_use_present_dimensions_only():
    g = final_scores({"temporal_flickering": 0.97, "dynamic_degree": 0.4})
    expected = (normalise("temporal_flickering", 0.97) + normalise("dynamic_degree", 0.4)) / 1.5
    assert g["quality"].value == pytest.approx(expected)
    assert g["quality"].partial and "subject_consistency" in g["quality"].missing
    assert g["semantic"].value is None and g["total"].value is None
    assert len(g["total"].missing) == 14


def test_pair_weighting_is_not_the_mean_of_video_means():
    t = DimensionTotal("subject_consistency")
    t.add(15 * 0.9, 15)   # 16-frame video, mean pair score 0.9
    t.add(32 * 0.5, 32)   # 33-frame video, mean pair score 0.5
    assert t.raw == pytest.approx((13.5 + 16.0) / 47)
    assert t.raw != pytest.approx((0.9 + 0.5) / 2)


def test_imaging_quality_scale_and_empty_dimension():
    t = DimensionTotal("imaging_quality")
    for v in (55.0, 65.0):
        t.add(v, 1)
    assert t.raw == pytest.approx(0.6)
    assert DimensionTotal("color").raw is None


def test_sums_are_order_independent_to_the_last_bit():
    rng = random.Random(0)
    values = [rng.random() * 10 ** rng.randint(-8, 3) for _ in range(2000)]
    results = set()
    for _ in range(5):
        rng.shuffle(values)
        t = DimensionTotal("temporal_flickering")
        for v in values:
            t.add(v, 1)
        results.add(t.raw)
    assert len(results) == 1
    assert results.pop() == math.fsum(values) / len(values)
