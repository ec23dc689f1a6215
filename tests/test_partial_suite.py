"""Partial suites on purpose (--vbench-suite present), one usage error for a directory without any
matching video, and near-miss file names in the "no video found" message."""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_vbench import suite as S
from pytest_vbench.dimensions import DIMENSIONS

EXAMPLE_PROMPTS = ["In a still frame, a stop sign", "a toilet, frozen in time", "a laptop, frozen in time"]  # conftest's

FLICKER = [DIMENSIONS["temporal_flickering"]]


def _cases(videos: Path, samples: int = 5) -> tuple[S.Suite, list[S.Case]]:
    suite = S.load_suite()
    return suite, S.standard_cases(suite, FLICKER, videos, samples)


def test_present_only_keeps_prompts_with_videos_and_says_what_it_covers(tmp_path):
    (tmp_path / f"{EXAMPLE_PROMPTS[0]}-3.mp4").write_bytes(b"x")
    (tmp_path / "temporal_flickering").mkdir()
    (tmp_path / "temporal_flickering" / f"{EXAMPLE_PROMPTS[1]}-0.mp4").write_bytes(b"x")
    suite, cases = _cases(tmp_path)
    everything = len(cases)
    kept, reason = S.select_cases(suite, cases, tmp_path, 5, present=True)
    assert [c.prompt for c in kept] == EXAMPLE_PROMPTS[:2]
    assert reason == f"present-only suite: 2 of {everything} prompts, 2 of {everything} items " \
                     f"(temporal_flickering 2/{everything})"
    cov = suite.describe()["coverage"]
    assert cov["dimensions"]["temporal_flickering"] == {"prompts": EXAMPLE_PROMPTS[:2], "of": everything}
    assert (cov["items"], cov["of_items"]) == (2, everything)
    full, none = S.select_cases(S.load_suite(), _cases(tmp_path)[1], tmp_path, 5, present=False)
    assert none is None and len(full) == everything


@pytest.mark.parametrize("files", [[], ["notes.txt", "model.ckpt"]], ids=["empty", "unrelated files"])
def test_no_matching_video_at_all_is_one_usage_error(tmp_path, files):
    for name in files:
        (tmp_path / name).write_text("x")
    suite, cases = _cases(tmp_path)
    with pytest.raises(S.SuiteError, match=r"no video in .* matches a prompt of the suite") as err:
        S.select_cases(suite, cases, tmp_path, 5, present=False)
    assert ("it is empty" in str(err.value)) == (not files)
    with pytest.raises(S.SuiteError):
        S.select_cases(suite, _cases(tmp_path)[1], tmp_path, 5, present=True)


@pytest.mark.parametrize("name", [
    "In a still frame, a stop sign_0.mp4",        # separator
    "in a still frame, a stop sign-0.mp4",        # case
    "In a still frame, a stop sign-0.MP4",        # suffix case
    "In a still frame, a stop sign-0.mov",        # unread container
    "In a still frame, a stop sign.mp4",          # no sample index
    "In a still frame a stop sign-0.mp4",         # a typo: difflib
])
def test_near_misses_are_named_in_the_no_video_message(tmp_path, name):
    (tmp_path / name).write_bytes(b"x")
    (tmp_path / f"{EXAMPLE_PROMPTS[1]}-0.mp4").write_bytes(b"x")  # one real match: no usage error
    suite, cases = _cases(tmp_path)
    cases, _ = S.select_cases(suite, cases, tmp_path, 5, present=False)
    (stop,) = [c for c in cases if c.prompt == EXAMPLE_PROMPTS[0]]
    assert stop.videos == [] and stop.near_misses == [name]
    others = [c for c in cases if c.prompt not in EXAMPLE_PROMPTS[:2]]
    assert all(c.near_misses == [] for c in others)


def test_nfd_names_are_found_not_near_missed(tmp_path):
    prompt = "a café at night, frozen in time"
    entries = [{"prompt_en": prompt, "dimension": ["temporal_flickering"]}]
    (tmp_path / "suite.json").write_text(json.dumps(entries), encoding="utf-8")
    (tmp_path / unicodedata.normalize("NFD", f"{prompt}-0.mp4")).write_bytes(b"x")
    suite = S.load_suite(tmp_path / "suite.json")
    cases, _ = S.select_cases(suite, S.standard_cases(suite, FLICKER, tmp_path, 1), tmp_path, 1, present=False)
    assert len(cases[0].videos) == 1


def test_short_progress_location_is_vbench_from_any_directory(pytester, flicker_videos, tmp_path):
    """Without -v pytest prints the location relative to where it started: ``vbench``, not ``../../vbench``."""
    root = tmp_path / "elsewhere"
    root.mkdir()
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--rootdir", str(root), "--vbench-videos", str(flicker_videos),
        "--vbench-dims", "temporal_flickering", "--vbench-suite", "present")
    result.assert_outcomes(passed=3)
    assert "../" not in result.stdout.str()
    result.stdout.fnmatch_lines(["vbench ... *"])


def test_present_suite_end_to_end(pytester, flicker_videos, tmp_path):
    """Bundled suite, videos for 3 of its prompts: 3 items, the coverage in the report, the gate in JUnit."""
    out, junit = tmp_path / "r.json", tmp_path / "j.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(flicker_videos), "--vbench-dims", "temporal_flickering",
        "--vbench-suite", "present", "--vbench-json", str(out), f"--junitxml={junit}",
        "-v", "--vbench-progress", "always", "-o", "vbench_progress_interval=0")
    result.assert_outcomes(passed=3)
    assert result.stdout.str().count("../vbench") == 0  # node ids print as they are from any directory
    result.stdout.fnmatch_lines(["vbench::temporal_flickering[[]a toilet, frozen in time[]] ",
                                 "    a toilet, frozen in time-0.mp4  *s",  # verbose: a line per video, live
                                 "    a toilet, frozen in time-4.mp4  *s",
                                 "vbench::temporal_flickering[[]a toilet, frozen in time[]] PASSED*",
                                 "vbench: 2/3 items, 10/15 videos, * videos/s, ETA temporal_flickering *",
                                 "vbench: 3/3 items, 15/15 videos, * videos/s"])
    total = len(S.standard_cases(S.load_suite(), FLICKER, tmp_path / "none"))
    result.stdout.fnmatch_lines([f"vbench: partial on purpose: present-only suite: 3 of {total} prompts, 3 of "
                                 f"{total} items (temporal_flickering 3/{total})"])
    report = json.loads(out.read_text(encoding="utf-8"))
    cov = report["suite"]["coverage"]
    assert cov["dimensions"]["temporal_flickering"]["prompts"] == sorted(EXAMPLE_PROMPTS, key=lambda p: [
        e["prompt_en"] for e in S.load_suite().entries].index(p))
    assert report["dimensions"]["temporal_flickering"]["prompts"]["expected"] == 3
    suite = ET.parse(junit).getroot().find("testsuite")
    (gate,) = [c for c in suite.iter("testcase") if c.get("name") == "gate"]
    assert gate.find("failure") is None and suite.get("tests") == "4"
    assert "vbench gate FAILED" not in result.stdout.str()


def test_empty_directory_is_one_usage_error_end_to_end(pytester, tmp_path):
    empty = tmp_path / "out"
    empty.mkdir()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vbench-videos", str(empty))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--vbench-videos: no video in * matches a prompt of the suite*it is empty*"])
    assert "FAILED" not in result.stdout.str()


def test_near_miss_in_the_failure_end_to_end_with_xdist(pytester, small_suite, tmp_path):
    from synthetic import noise_frames, write_video

    videos = tmp_path / "v"
    videos.mkdir()
    write_video(videos / f"{EXAMPLE_PROMPTS[0]}-0.mp4", noise_frames(1))
    write_video(videos / f"{EXAMPLE_PROMPTS[1]}_0.mp4", noise_frames(2))  # '_' for '-'
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vbench-videos", str(videos),
                                           "--vbench-full-info", str(small_suite), "--vbench-samples", "1",
                                           "-n", "2", "-rf")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([f"*no video found for prompt '{EXAMPLE_PROMPTS[1]}'*",
                                 f"names that almost match (rename them to the expected names): "
                                 f"'{EXAMPLE_PROMPTS[1]}_0.mp4'"])
    # Only the prompt with a near-miss file gets the hint, not the prompt without any file. Read the failure
    # sections: under CI pytest also repeats each message in full in the -rf summary.
    sections: dict[str, list[str]] = {}
    current = None
    for line in result.stdout.lines:
        if line.startswith("____"):
            current = line.strip("_ ")
            sections[current] = []
        elif line.startswith("===="):
            current = None
        elif current is not None:
            sections[current].append(line)
    with_hint = [name for name, body in sections.items() if any("names that almost match" in b for b in body)]
    assert with_hint == [f"temporal_flickering[{EXAMPLE_PROMPTS[1]}]"], sections
