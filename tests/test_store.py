"""The result store: keys, atomic entries, concurrent writers, and a cached run equal to a fresh one."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from pytest_vbench import store
from pytest_vbench.runtime import Runtime
from pytest_vbench.suite import Case, VideoRef

from synthetic import noise_frames, write_video


def _case(videos: list[Path], dimension: str = "temporal_flickering", prompt: str = "a cat", aux=None) -> Case:
    return Case(dimension, prompt, 0, aux, [VideoRef(p, i) for i, p in enumerate(videos)])


@pytest.fixture
def two_videos(tmp_path: Path) -> list[Path]:
    out = []
    for i in range(2):
        out.append(write_video(tmp_path / f"a cat-{i}.mp4", noise_frames(seed=i, n=6)))
    return out


def _keys(case: Case, runtime: Runtime) -> dict[int, str]:
    return store.case_keys(case, runtime)[0]


def test_key_changes_with_video_prompt_option_device_and_checkpoint(tmp_path, two_videos):
    pytest.importorskip("pyiqa")
    from pytest_vbench import fake_checkpoints

    cache = tmp_path / "cache"
    fake_checkpoints.write("musiq", cache, seed=0, tiny=True)
    rt = Runtime("cpu", cache)
    case = _case(two_videos, "imaging_quality")
    base = _keys(case, rt)
    assert len(set(base.values())) == 2
    assert _keys(case, Runtime("cpu", cache)) == base  # a new process computes the same keys
    assert _keys(case, Runtime("cuda:1", cache)) != base  # device kind
    assert _keys(case, Runtime("cuda:0", cache)) == _keys(case, Runtime("cuda:1", cache))  # not which device
    assert _keys(_case(two_videos, "imaging_quality", prompt="a dog"), rt) != base
    # an option of the dimension's family changes the key; an unrelated dimension's option does not
    assert _keys(case, Runtime("cpu", cache, {"musiq": {"x": 1}})) != base
    assert _keys(case, Runtime("cpu", cache, {"vqa": {"model": "other"}})) == base
    # a changed checkpoint file changes every key of the dimension
    fake_checkpoints.write("musiq", cache, seed=1, tiny=True)
    changed = _keys(case, Runtime("cpu", cache))
    assert changed[0] != base[0] and changed[1] != base[1]
    # a changed video changes its own key only
    fake_checkpoints.write("musiq", cache, seed=0, tiny=True)
    assert _keys(case, Runtime("cpu", cache)) == base
    write_video(two_videos[1], noise_frames(seed=99, n=6))
    after = _keys(case, Runtime("cpu", cache))
    assert after[0] == base[0] and after[1] != base[1]


def test_vqa_options_are_in_the_fingerprint(tmp_path):
    a = store.fingerprint("vqa_score", Runtime("cpu", tmp_path, {"vqa": {"model": "a"}}))
    b = store.fingerprint("vqa_score", Runtime("cpu", tmp_path, {"vqa": {"model": "b"}}))
    assert a["options"] == {"vqa": {"model": "a"}} and a != b
    assert a["packages"] and a["code"] and a["implementation"]


def test_case_dependent_results_are_keyed_on_every_candidate(tmp_path):
    videos = [write_video(tmp_path / f"p-{i}.mp4", noise_frames(seed=i, n=3)) for i in range(7)]
    rt = Runtime("cpu", tmp_path / "cache")
    keys, whole = store.case_keys(_case(videos), rt)
    assert whole  # temporal_flickering with > 5 candidates: the static filter chooses among them
    write_video(videos[6], noise_frames(seed=70, n=3))
    keys2, _ = store.case_keys(_case(videos), Runtime("cpu", tmp_path / "cache"))
    assert all(keys[i] != keys2[i] for i in range(7))
    few, whole_few = store.case_keys(_case(videos[:5]), rt)
    assert not whole_few


def test_entries_are_checked_and_half_written_ones_never_read(tmp_path):
    s = store.ResultStore(tmp_path / "s")
    key = "ab" + "0" * 62
    assert s.get(key) is None
    value = {"sum": 0.25, "count": 3, "record": {"video_results": 0.25}}
    assert s.put(key, value)
    assert s.get(key) == value
    path = s.path_for(key)
    assert path.name == f"{key}.json" and ":" not in str(path.relative_to(tmp_path))
    assert list(path.parent.glob("*.part")) == []  # the temporary file was renamed into place
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 2])  # a torn write (or a crashed copy)
    assert s.get(key) is None
    entry = json.loads(full)
    entry["value"]["sum"] = 0.5  # bit rot: the value no longer matches its check digest
    path.write_text(json.dumps(entry))
    assert s.get(key) is None
    entry = json.loads(full)
    path.write_text(json.dumps({**entry, "key": "cd" + "0" * 62}))  # an entry filed under the wrong name
    assert s.get(key) is None
    path.write_bytes(full)
    assert s.get(key) == value


def test_unwritable_store_is_only_slower(tmp_path, two_videos):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    s = store.ResultStore(blocker / "store")
    assert s.put("ab" + "0" * 62, {"sum": 1.0, "count": 1, "record": None}) is False
    result = store.run_case(_case(two_videos), Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert len(result["videos"]) == 2 and result["store_hits"] == 0


def _writer(root: str, worker: int, n: int) -> None:
    s = store.ResultStore(Path(root))
    for i in range(n):
        key = f"{i:064x}"
        # every writer writes every key (same value, as concurrent runs of one video do) and some of its own
        assert s.put(key, {"sum": float(i), "count": 1, "record": {"video_results": float(i)}})
        own = f"f{worker:07x}{i:056x}"
        assert s.put(own, {"sum": float(worker), "count": i, "record": None})
        for j in range(0, i, 7):  # readers among writers never see a half-written entry
            got = s.get(f"{j:064x}")
            assert got is not None and got["sum"] == float(j)


def test_concurrent_writers_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    s = store.ResultStore(tmp_path)
    for i in range(40):
        assert s.get(f"{i:064x}") == {"sum": float(i), "count": 1, "record": {"video_results": float(i)}}
        for w in range(4):
            assert s.get(f"f{w:07x}{i:056x}") == {"sum": float(w), "count": i, "record": None}
    assert list(tmp_path.rglob("*.part")) == []


def test_hit_equals_fresh_and_only_changed_videos_are_scored(tmp_path, two_videos, monkeypatch):
    from pytest_vbench import runner

    s = store.ResultStore(tmp_path / "s")
    case = _case(two_videos)
    fresh = runner.run_case(case, Runtime("cpu", tmp_path / "cache")).to_json()
    first = store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert first["store_hits"] == 0
    scored: list[list[str]] = []
    real = runner.run_case

    def spy(c, rt):
        scored.append([v.name for v in c.videos])
        return real(c, rt)

    monkeypatch.setattr(runner, "run_case", spy)
    second = store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert scored == [] and second["store_hits"] == 2

    def stable(result: dict) -> str:
        body = {k: v for k, v in result.items() if k not in store.RUNTIME_FIELDS}
        body["videos"] = [{k: v for k, v in e.items() if k not in store.RUNTIME_FIELDS} for e in result["videos"]]
        return json.dumps(body)  # key order too: reports keep it

    assert stable(second) == stable(first) == stable(fresh)
    write_video(two_videos[0], noise_frames(seed=42, n=6))
    third = store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert scored == [["a cat-0.mp4"]] and third["store_hits"] == 1
    assert stable(third) == stable(runner.run_case(case, Runtime("cpu", tmp_path / "cache")).to_json())
    # a failing video is reported, never stored
    two_videos[1].write_bytes(b"\x00garbage" * 50)
    fourth = store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert fourth["store_hits"] == 1 and len(fourth["errors"]) == 1
    assert store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()["errors"] == fourth["errors"]


def test_a_hit_repeats_the_warnings_its_scoring_raised(tmp_path, two_videos, monkeypatch):
    """A warning raised while a case was scored (temporal_flickering's "fewer than 5 static videos") is
    stored with its results and raised again when they are reused, once, as a fresh run raises it."""
    from pytest_vbench import runner
    from pytest_vbench.dimensions import temporal_flickering as tf

    real = tf.score_video

    def warning(video, case, runtime):
        import warnings

        warnings.warn(f"about {case.prompt}", UserWarning, stacklevel=2)
        return real(video, case, runtime)

    monkeypatch.setattr(tf, "score_video", warning)
    s = store.ResultStore(tmp_path / "s")
    case = _case(two_videos)
    with pytest.warns(UserWarning, match="about a cat") as fresh:
        first = store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert first["store_hits"] == 0 and len(fresh) == 2  # once per video, as the dimension raised it
    monkeypatch.setattr(runner, "run_case", lambda c, rt: pytest.fail("a full hit scores nothing"))
    with pytest.warns(UserWarning, match="about a cat") as hit:
        second = store.run_case(case, Runtime("cpu", tmp_path / "cache"), s).to_json()
    assert second["store_hits"] == 2 and len(hit) == 1
    assert all("_warnings" not in e for e in second["videos"])  # never in the report


def test_cached_run_report_equals_fresh_run(pytester, small_suite, flicker_videos, tmp_path):
    """End to end: a second run served from the store writes the same JSON report (apart from runtime)."""
    common = ["-p", "no:cacheprovider", "--vbench-videos", str(flicker_videos), "--vbench-full-info",
              str(small_suite), "--vbench-result-cache", str(tmp_path / "store")]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    pytester.runpytest_subprocess(*common, "--vbench-json", str(a)).assert_outcomes(passed=3)
    second = pytester.runpytest_subprocess(*common, "--vbench-json", str(b))
    second.assert_outcomes(passed=3)
    second.stdout.fnmatch_lines([f"vbench: 15 of 15 video results from the result store {tmp_path / 'store'}"])
    ra, rb = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    assert ra["runtime"]["store_hits"] == 0 and rb["runtime"]["store_hits"] == 15
    ra.pop("runtime")
    rb.pop("runtime")
    assert json.dumps(ra) == json.dumps(rb)
