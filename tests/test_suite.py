"""Suite parsing, explicit file discovery and custom-mode prompt parsing."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter

import pytest

from pytest_vbench.dimensions import DIMENSIONS, UnknownDimension, get, parse_list
from pytest_vbench.suite import SuiteError, custom_cases, load_suite, prompt_from_filename, standard_cases


def test_bundled_suite_is_the_official_file():
    suite = load_suite()
    assert suite.sha256 == "5dd2de80ee43cda750b2b72ea7023657c0b90d3702041c7e4608c65dbe50dccd"
    assert len(suite.entries) == 946
    assert len({e["prompt_en"] for e in suite.entries}) == 944


def test_prompts_per_dimension_match_the_spec():
    counts = Counter(d for e in load_suite().entries for d in e["dimension"])
    assert counts == {
        "subject_consistency": 72, "dynamic_degree": 72, "motion_smoothness": 72, "scene": 86,
        "background_consistency": 86, "overall_consistency": 93, "aesthetic_quality": 93,
        "imaging_quality": 93, "temporal_flickering": 75, "object_class": 79, "multiple_objects": 82,
        "human_action": 100, "color": 85, "spatial_relationship": 84, "temporal_style": 100,
        "appearance_style": 90,
    }
    assert sum(counts.values()) == 1362  # the number of items of a full standard run


def test_dimension_names_and_did_you_mean():
    assert get("subject consistency").name == "subject_consistency"
    assert [d.name for d in parse_list("scene, color,scene")] == ["scene", "color"]
    with pytest.raises(UnknownDimension, match="did you mean 'temporal_flickering'"):
        parse_list("temporal_flicker")


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_discovery_flat_subfolder_and_missing(tmp_path):
    suite = load_suite()
    dims = [DIMENSIONS["temporal_flickering"], DIMENSIONS["background_consistency"]]
    _touch(tmp_path / "In a still frame, a stop sign-0.mp4")
    _touch(tmp_path / "temporal_flickering" / "In a still frame, a stop sign-1.gif")
    _touch(tmp_path / "scene" / "alley-0.mp4")  # background_consistency reads the 'scene' folder
    _touch(tmp_path / "In a still frame, a stop sign-7.mp4")  # beyond --vbench-samples: ignored
    cases = standard_cases(suite, dims, tmp_path, samples=5)
    assert len(cases) == 75 + 86
    stop = next(c for c in cases if c.prompt == "In a still frame, a stop sign")
    assert [(v.sample, v.path.relative_to(tmp_path).as_posix()) for v in stop.videos] == [
        (0, "In a still frame, a stop sign-0.mp4"), (1, "temporal_flickering/In a still frame, a stop sign-1.gif")]
    assert stop.missing == [f"In a still frame, a stop sign-{i}.mp4" for i in (2, 3, 4)]
    alley = next(c for c in cases if c.dimension == "background_consistency" and c.prompt == "alley")
    assert [v.sample for v in alley.videos] == [0]
    assert alley.aux is None


def test_subfolder_wins_over_flat_and_mp4_over_gif(tmp_path):
    dim = DIMENSIONS["temporal_flickering"]
    _touch(tmp_path / "a toilet, frozen in time-0.mp4")
    sub = _touch(tmp_path / "temporal_flickering" / "a toilet, frozen in time-0.mp4")
    _touch(tmp_path / "temporal_flickering" / "a toilet, frozen in time-0.gif")
    cases = standard_cases(load_suite(), [dim], tmp_path, samples=1)
    case = next(c for c in cases if c.prompt == "a toilet, frozen in time")
    assert case.videos[0].path == sub


def test_decomposed_unicode_file_names_are_found(tmp_path):
    prompt = next(e["prompt_en"] for e in load_suite().entries if "façades" in e["prompt_en"])
    dim = DIMENSIONS[next(d for e in load_suite().entries if e["prompt_en"] == prompt for d in e["dimension"])]
    nfd = _touch(tmp_path / (unicodedata.normalize("NFD", prompt) + "-0.mp4"))
    case = next(c for c in standard_cases(load_suite(), [dim], tmp_path) if c.prompt == prompt)
    assert case.videos and case.videos[0].path == nfd


def test_aux_info_is_attached():
    cases = standard_cases(load_suite(), [DIMENSIONS["color"]], __import__("pathlib").Path("/nonexistent"))
    red = next(c for c in cases if c.prompt == "a red bicycle")
    assert red.aux == {"color": "red"}
    assert len(red.missing) == 5 and not red.videos


@pytest.mark.parametrize("name,prompt", [
    ("a cat.-3.mp4", "a cat."),
    ("a cat-0.mp4", "a cat"),
    ("a cat.mp4", "a cat"),
    ("a-b-12.gif", "a-b"),
    ("clip.tar.mp4", "clip.tar"),
    ("v-1-2.mp4", "v-1"),
])
def test_custom_prompt_from_file_name(name, prompt):
    assert prompt_from_filename(name) == prompt


def test_custom_cases_group_by_prompt(tmp_path):
    for n in ("a dog-0.mp4", "a dog-1.mp4", "a cat.gif", "notes.txt", "still.jpg"):
        _touch(tmp_path / n)
    dims = [DIMENSIONS["temporal_flickering"]]
    cases, suite = custom_cases(dims, tmp_path)
    assert suite.mode == "custom"
    assert [(c.prompt, [v.name for v in c.videos]) for c in cases] == [
        ("a cat", ["a cat.gif"]), ("a dog", ["a dog-0.mp4", "a dog-1.mp4"])]


def test_custom_prompt_file(tmp_path):
    _touch(tmp_path / "x1.mp4")
    _touch(tmp_path / "x2.mp4")
    pf = tmp_path / "prompts.json"
    pf.write_text(json.dumps({"x1.mp4": "a red car", str(tmp_path / "x2.mp4"): "a red car"}))
    cases, _ = custom_cases([DIMENSIONS["temporal_flickering"]], tmp_path, str(pf))
    assert [(c.prompt, len(c.videos)) for c in cases] == [("a red car", 2)]
    pf.write_text(json.dumps({"x1.mp4": "a red car"}))
    with pytest.raises(SuiteError, match="no prompt for 1 video.*x2.mp4"):
        custom_cases([DIMENSIONS["temporal_flickering"]], tmp_path, str(pf))
    pf.write_text("[1, 2]")
    with pytest.raises(SuiteError, match="must be a JSON object"):
        custom_cases([DIMENSIONS["temporal_flickering"]], tmp_path, str(pf))


@pytest.mark.parametrize("content,message", [
    ("{not json", "not valid JSON"),
    ('{"a": 1}', "must be a JSON list"),
    ('[{"prompt_en": "x"}]', "lacks a 'prompt_en' string and a 'dimension' list"),
    ('[{"prompt_en": "x", "dimension": ["colour"]}]', "unknown dimension"),
])
def test_malformed_suite_files(tmp_path, content, message):
    p = tmp_path / "suite.json"
    p.write_text(content)
    with pytest.raises(SuiteError, match=message) as exc:
        load_suite(p)
    assert str(p) in str(exc.value)
