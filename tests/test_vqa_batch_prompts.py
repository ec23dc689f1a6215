"""vqa_score batched across prompts (``--vbench-vqa-batch-prompts N``): padded rows score as they do alone.

Videos of different prompts have prompts of different token lengths (and, for Qwen2.5-VL, videos of
different shapes), so they share a forward pass only left-padded, with the pads masked and each row's
own positions. The first tests check, for each backend on its seeded tiny snapshot (CPU, float32),
that such a batch equals one-at-a-time (t2v_metrics-style, unpadded) scoring within the parity bar,
and that it would not with the pads unmasked or on the right. The rest check the opt-in around it:
results computed ahead for the next items, the fallback when a shared pass fails, the option, and
two runs through the plugin.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_vqa_score import VIDEOS, reference  # noqa: E402

from pytest_vbench import dimensions, prefetch, runner, store, suite
from pytest_vbench.models import vqa
from pytest_vbench.models.vqa import answer, padding
from pytest_vbench.runtime import Runtime

from parity_harness import bar  # noqa: E402

#: backend -> (seeded_cache recipe = snapshot name, frame count): 4 frames keep LLaVA-OV and InternVL3 quick
BACKENDS = {"qwen": ("tiny-qwen2.5-vl", None), "llava-ov": ("tiny-llava-onevision", 4),
            "internvl": ("tiny-internvl3", 4)}
#: prompts of clearly different token lengths
PROMPTS = ["a dog", "a red car driving on a road past a row of tall green trees on a bright summer afternoon",
           "a cat playing with a ball"]


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def scorer(request, seeded_cache):
    name, frames = BACKENDS[request.param]
    cache = seeded_cache(name, tiny=True).path
    rt = SimpleNamespace(cache_dir=cache, device="cpu", options={"vqa": vqa.VQAOptions(model=name, frames=frames).to_json()})
    return vqa.load(rt)


def _pairs(scorer):
    clips = sorted(VIDEOS.iterdir())
    frames = [scorer.frames(p) for p in clips]
    return [(f, PROMPTS[i % len(PROMPTS)]) for i, f in enumerate(frames)] + [(frames[0], PROMPTS[1])]


@pytest.fixture(scope="module")
def alone(scorer):
    """``(pairs, one-at-a-time values)`` of each backend, computed once."""
    pairs = _pairs(scorer)
    return pairs, [scorer.score(f, p) for f, p in pairs]


def test_prompts_of_different_lengths_batched_together_equal_one_at_a_time(scorer, alone, monkeypatch):
    widths: list[int] = []
    penalty_ids: list[int] = []
    real_pad, real_answer = padding.left_pad, answer.answer_probability

    def spy_pad(rows, fill):
        widths.extend(int(r.shape[-1]) for r in rows)
        return real_pad(rows, fill)

    def spy_answer(logits, input_ids, answer_id, config):
        penalty_ids.append(int(input_ids.shape[-1]))
        return real_answer(logits, input_ids, answer_id, config)

    pairs, one = alone
    monkeypatch.setattr(padding, "left_pad", spy_pad)
    monkeypatch.setattr(answer, "answer_probability", spy_answer)
    many = scorer.score_pairs(pairs)
    assert len(set(widths)) >= 3  # rows of different lengths really were padded
    assert sorted(penalty_ids) == sorted(widths)  # the repetition penalty sees each row's own tokens, no pads
    assert many == pytest.approx(one, abs=bar("vqa_score"), rel=0)
    assert all(0 < p < 1 for p in many) and len(set(many)) == len(many)


@pytest.mark.parametrize("wrong", ["unmasked", "right"])
def test_the_check_sees_pads_that_are_unmasked_or_on_the_right(scorer, alone, monkeypatch, wrong):
    """The equality above needs the mask and the left side: either mistake moves P("Yes") far past the bar."""
    import torch

    real_pad = padding.left_pad

    def bad_pad(rows, fill):
        ids, mask = real_pad(rows, fill)
        if wrong == "unmasked":
            return ids, torch.ones_like(mask)
        ids, mask = torch.full_like(ids, fill), torch.zeros_like(mask)
        for i, r in enumerate(rows):
            ids[i, :r.shape[-1]], mask[i, :r.shape[-1]] = r, 1
        return ids, mask

    pairs, one = alone
    monkeypatch.setattr(padding, "left_pad", bad_pad)
    many = scorer.score_pairs(pairs)
    assert max(abs(a - b) for a, b in zip(one, many)) > 100 * bar("vqa_score")


def test_qwen_rows_keep_their_own_m_rope_positions(seeded_cache):
    """Padded rows of a batch carry exactly the unpadded 4.49 positions; transformers 5's own rule reads the
    mask the same way (equal up to the end of each video, where the two rules part: see test_vqa_score)."""
    import torch

    cache = seeded_cache("tiny-qwen2.5-vl", tiny=True).path
    s = vqa.load(SimpleNamespace(cache_dir=cache, device="cpu", options={"vqa": vqa.VQAOptions(
        model="tiny-qwen2.5-vl").to_json()}))
    seen = {}
    real = s.backend.model.forward

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    s.backend.model.forward = spy
    pairs = _pairs(s)[:2]
    s.score_pairs(pairs)
    each = [s.backend.inputs(f, s.options.question.format(p)) for f, p in pairs]
    mask = seen["attention_mask"]
    assert mask.sum(-1).tolist() == [e["input_ids"].shape[-1] for e in each] and not bool(mask.all())
    ref, _ = s.backend.model.model.get_rope_index(seen["input_ids"], seen["mm_token_type_ids"], None,
                                                  seen["video_grid_thw"], None, mask)
    for i, e in enumerate(each):
        alone = s.backend.positions(e["input_ids"], tuple(int(v) for v in e["video_grid_thw"][0]), 1.0)[:, 0]
        row = seen["position_ids"][:, i][:, mask[i].bool()]
        assert torch.equal(row, alone)
        last_video = int((e["input_ids"][0] == s.backend.model.config.video_token_id).nonzero().max())
        assert torch.equal(ref[:, i][:, mask[i].bool()][:, :last_video + 1], alone[:, :last_video + 1])


# ------------------------------------------------------------------------- items scoring ahead
@pytest.fixture
def qwen_runtime(seeded_cache):
    def make(prompts: int) -> Runtime:
        rt = Runtime("cpu", seeded_cache("tiny-qwen2.5-vl", tiny=True).path,
                     {"vqa": vqa.VQAOptions(model="tiny-qwen2.5-vl").to_json(), "vqa_batch_prompts": prompts})
        rt.done = []
        rt.on_video = lambda name, seconds, failed: rt.done.append((name, failed))
        return rt
    return make


@pytest.fixture(scope="module")
def cases():
    found, _ = suite.custom_cases([dimensions.get("vqa_score")], VIDEOS, None)
    assert [len(c.videos) for c in found] == [1, 1, 2]
    return found


def _run(case, rt, cases, result_store=None):
    rt.upcoming = lambda: iter(cases[cases.index(case) + 1:])
    rt.result_store = result_store
    return store.run_case(case, rt, result_store)


def _values(result):
    return {v.video: v.sum for v in result.videos}


def test_an_item_scores_the_next_prompts_and_they_take_their_results(qwen_runtime, cases, tmp_path, monkeypatch):
    alone = qwen_runtime(1)
    want = {k: v for c in cases for k, v in _values(_run(c, alone, cases)).items()}
    rt = qwen_runtime(3)
    calls = []
    real = rt.model("vqa").score_pairs
    monkeypatch.setattr(rt.model("vqa"), "score_pairs", lambda pairs: calls.append(len(pairs)) or real(pairs))
    results_store = store.ResultStore(tmp_path / "store")
    first = _run(cases[0], rt, cases, results_store)
    assert calls == [4]  # the 4 videos of all 3 prompts in one pass
    assert len(prefetch.table(rt)) == 3
    rest = [_run(c, rt, cases, results_store) for c in cases[1:]]
    assert calls == [4] and prefetch.table(rt) == {}  # the next items took their results, no other pass
    got = {k: v for r in (first, *rest) for k, v in _values(r).items()}
    assert got == pytest.approx(want, abs=bar("vqa_score"), rel=0)
    assert [r.store_hits for r in (first, *rest)] == [0, 0, 0]  # computed in this run, not store hits
    assert sorted(n for n, _ in rt.done) == sorted(want)  # each video reported live, by its own item
    # the results were stored by their own items: a second run takes every one from the store
    again = qwen_runtime(3)
    assert [_run(c, again, cases, results_store).store_hits for c in cases] == [1, 1, 2]


def test_prompts_already_in_the_store_are_not_scored_ahead(qwen_runtime, cases, tmp_path):
    results_store = store.ResultStore(tmp_path / "store")
    _run(cases[1], qwen_runtime(1), cases, results_store)  # the second prompt is in the store
    rt = qwen_runtime(2)
    _run(cases[0], rt, cases, results_store)
    ahead = {k for k in prefetch.table(rt)}
    assert ahead == set(prefetch.keys(cases[2], cases[2].videos, rt).values())  # the third prompt instead
    assert _run(cases[1], rt, cases, results_store).store_hits == 1


def test_a_failing_shared_pass_falls_back_to_each_prompt_alone(qwen_runtime, cases, monkeypatch):
    rt = qwen_runtime(3)
    scorer = rt.model("vqa")
    real = scorer.backend.p_answer_rows
    victim = cases[1].prompt

    passes = []

    def rows(batch):
        passes.append(sorted({q.split('"')[1] for _, q, _ in batch}))
        if any(victim in q for _, q, _ in batch):
            raise RuntimeError("injected: CUDA out of memory")
        return real(batch)

    monkeypatch.setattr(scorer.backend, "p_answer_rows", rows)
    results = [_run(c, rt, cases) for c in cases]
    assert [r.failed for r in results] == [False, True, False]
    assert "injected: CUDA out of memory" in results[1].failure_message()
    assert prefetch.table(rt) == {}
    first, second, third = (c.prompt for c in cases)
    # the shared pass fails; the first prompt alone (one video at a time, as without the option); the
    # failure halved the look-ahead (3 -> 1), so the later items score alone without trying a shared pass
    assert passes == [sorted([first, second, third]), [first], [second], [third], [third]]
    want = {k: v for c in (cases[0], cases[2]) for k, v in _values(_run(c, qwen_runtime(1), cases)).items()}
    got = {k: v for r in (results[0], results[2]) for k, v in _values(r).items()}
    assert got == pytest.approx(want, abs=bar("vqa_score"), rel=0)


def test_without_the_option_each_video_reaches_the_live_progress_when_it_is_done(qwen_runtime, cases, monkeypatch):
    """On CPU one video at a time: the progress hears of the first video before the second is scored."""
    rt = qwen_runtime(1)
    events = []
    real = rt.model("vqa").score_many
    monkeypatch.setattr(rt.model("vqa"), "score_many",
                        lambda frames, prompt, **kw: events.append(("score", len(frames))) or real(frames, prompt, **kw))
    rt.on_video = lambda name, seconds, failed: events.append(("done", name))
    result = runner.run_case(cases[2], rt)
    names = [v.name for v in cases[2].videos]
    assert events == [("score", 1), ("done", names[0]), ("score", 1), ("done", names[1])]
    assert all(v.seconds > 0 for v in result.videos)


def test_without_a_source_of_next_items_each_prompt_scores_alone(qwen_runtime, cases, monkeypatch):
    """Ray actors and hand-made runtimes have no next items: exactly the numbers of a run without the option."""
    from pytest_vbench.dimensions import vqa_score

    rt = qwen_runtime(3)
    sampled = []
    real = vqa_score._frames
    monkeypatch.setattr(vqa_score, "_frames", lambda v, sc, r: sampled.append(v.name) or real(v, sc, r))
    result = runner.run_case(cases[2], rt)
    assert not result.failed and len(result.videos) == 2 and prefetch.table(rt) == {}
    assert sorted(sampled) == sorted(v.name for v in cases[2].videos)  # each video's frames sampled once
    assert _values(result) == _values(runner.run_case(cases[2], qwen_runtime(1)))


# ----------------------------------------------------------------------------- the next items
class _Item:
    def __init__(self, case, session, config):
        self.case, self.session, self.config = case, session, config


def test_next_items_without_xdist_are_the_rest_of_session_items():
    config = SimpleNamespace()
    session = SimpleNamespace(items=[])
    session.items = [_Item(SimpleNamespace(dimension="vqa_score", n=i), session, config) for i in range(4)]
    session.items.insert(2, SimpleNamespace(nodeid="some::other_test"))  # not a vbench item: skipped
    assert [c.n for c in prefetch.upcoming_cases(session.items[1])] == [2, 3]


def test_next_items_in_an_xdist_worker_are_its_next_item_and_its_queue():
    import contextlib

    class WorkerInteractor:
        def __init__(self, nxt, queue):
            self.nextitem_index, self.queue = nxt, queue
            self.torun = SimpleNamespace(lock=lambda: contextlib.nullcontext(self.queue))

    plugins: list = []
    config = SimpleNamespace(workerinput={"workerid": "gw0"}, pluginmanager=SimpleNamespace(get_plugins=lambda: plugins))
    session = SimpleNamespace(items=[])
    session.items = [_Item(SimpleNamespace(dimension="vqa_score", n=i), session, config) for i in range(6)]
    plugins.append(WorkerInteractor(4, [1, 5]))
    assert [c.n for c in prefetch.upcoming_cases(session.items[0])] == [4, 1, 5]
    plugins[0] = WorkerInteractor(4, None)
    plugins[0].torun = None  # a queue we cannot read: only the next item
    assert [c.n for c in prefetch.upcoming_cases(session.items[0])] == [4]
    plugins[0] = SimpleNamespace(nextitem_index=3)  # not xdist's interactor: nothing is looked ahead
    assert list(prefetch.upcoming_cases(session.items[0])) == []


# ------------------------------------------------------------------------------------ the option
def test_the_option_parses_and_refuses_bad_values(tmp_path):
    from pytest_vbench import gate
    from pytest_vbench.plugin import _vqa_batch_prompts

    assert vqa.batch_prompts("", {}) == 1 and vqa.batch_prompts("2", {}) == 2
    assert vqa.batch_prompts("2", {"batch_prompts": "3"}) == 3 and vqa.batch_prompts("2", {"batch_prompts": "3"}, "4") == 4
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="at least 1"):
            vqa.parse_batch_prompts(bad)
    cfg = tmp_path / "vbench.yaml"
    cfg.write_text("vqa: {batch_prompts: 0}\n", encoding="utf-8")
    with pytest.raises(gate.GateError, match="batch"):
        gate.load_config(cfg)
    cfg.write_text("vqa: {batch_prompts: 4}\n", encoding="utf-8")
    assert gate.load_config(cfg)[1]["vqa"] == {"batch_prompts": "4"}
    config = SimpleNamespace(getini=lambda name: "", getoption=lambda name: "x")
    with pytest.raises(pytest.UsageError, match="--vbench-vqa-batch-prompts: .*at least 1"):
        _vqa_batch_prompts(config, {})


def test_the_option_is_not_part_of_the_result_store_key(qwen_runtime, cases):
    one, three = qwen_runtime(1), qwen_runtime(3)
    assert store.fingerprint("vqa_score", one) == store.fingerprint("vqa_score", three)
    assert prefetch.keys(cases[2], cases[2].videos, one) == prefetch.keys(cases[2], cases[2].videos, three)


# ------------------------------------------------------------------------------ through the plugin
CONFTEST = '''
import json, os

def pytest_configure(config):
    from pytest_vbench.models.vqa import qwen
    real = qwen.QwenVQA.p_answer_rows

    def rows(self, batch):
        prompts = sorted({q for _, q, _ in batch})
        with open(os.environ["VQA_ROWS_LOG"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(prompts) + "\\n")
        victim = os.environ.get("VQA_FAIL_PROMPT")
        if victim and any(victim in q for q in prompts):
            raise RuntimeError("injected model error")
        return real(self, batch)

    qwen.QwenVQA.p_answer_rows = rows
'''


def _close(a, b, path="report"):
    """Equal JSON, except numbers (equal within the parity bar)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):  # the bar, scaled for the percent-scale values
        assert b == pytest.approx(a, abs=bar("vqa_score") * max(1.0, abs(a)), rel=0), path
    else:
        assert a == b, path


def test_plugin_batched_across_prompts_gives_the_unbatched_report(pytester, seeded_cache, tmp_path, monkeypatch):
    cache = seeded_cache("tiny-qwen2.5-vl", tiny=True).path
    pytester.makeconftest(CONFTEST)
    log = tmp_path / "rows.log"
    monkeypatch.setenv("VQA_ROWS_LOG", str(log))
    common = ["-p", "no:cacheprovider", "--vbench-videos", VIDEOS, "--vbench-mode", "custom", "--vbench-dims",
              "vqa_score", "--vbench-cache-dir", cache, "--vbench-vqa-model", "tiny-qwen2.5-vl", "--vbench-device", "cpu"]
    reports = {}
    for name, extra in (("alone", []), ("batched", ["--vbench-vqa-batch-prompts", "3"]),
                        ("batched-n2", ["--vbench-vqa-batch-prompts", "3", "-n", "2"])):
        log.write_text("", encoding="utf-8")
        out = tmp_path / f"{name}.json"
        pytester.runpytest_subprocess(*map(str, common + extra + ["--vbench-json", out])).assert_outcomes(passed=3)
        reports[name] = json.loads(out.read_text(encoding="utf-8"))
        passes = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        if name == "alone":
            assert all(len(p) == 1 for p in passes) and len(passes) == 4  # one video at a time on CPU
        elif name == "batched":
            assert [len(p) for p in passes] == [3]  # one pass: all three prompts
        else:
            assert 1 <= len(passes) <= 3  # -n 2: each worker batches what it has queued (xdist's plan)
    for rep in reports.values():
        got = {r["video"]: r["record"]["video_results"] for r in rep["dimensions"]["vqa_score"]["results"]}
        assert got == pytest.approx(reference("vqa_score_qwen2_5_vl.json")["results"], abs=bar("vqa_score"), rel=0)
    base = {k: v for k, v in reports["alone"].items() if k != "runtime"}
    for name in ("batched", "batched-n2"):
        _close(base, {k: v for k, v in reports[name].items() if k != "runtime"})
        assert reports[name]["runtime"]["vqa_batch_prompts"] == 3  # the report says how it ran
    assert "vqa_batch_prompts" not in reports["alone"]["runtime"]


def test_plugin_a_model_error_in_one_prompt_fails_only_its_item(pytester, seeded_cache, tmp_path, monkeypatch):
    cache = seeded_cache("tiny-qwen2.5-vl", tiny=True).path
    pytester.makeconftest(CONFTEST)
    monkeypatch.setenv("VQA_ROWS_LOG", str(tmp_path / "rows.log"))
    monkeypatch.setenv("VQA_FAIL_PROMPT", "a dog, Yes or No")
    out = tmp_path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(VIDEOS), "--vbench-mode", "custom", "--vbench-dims",
        "vqa_score", "--vbench-cache-dir", str(cache), "--vbench-vqa-model", "tiny-qwen2.5-vl", "--vbench-device",
        "cpu", "--vbench-vqa-batch-prompts", "3", "--vbench-json", str(out))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*vqa_score[[]a dog, Yes or No[]]*"])
    result.stdout.fnmatch_lines(["*a dog, Yes or No-0.mp4*injected model error*"])
    rep = json.loads(out.read_text(encoding="utf-8"))
    got = {r["video"]: r["record"]["video_results"] for r in rep["dimensions"]["vqa_score"]["results"]}
    want = {k: v for k, v in reference("vqa_score_qwen2_5_vl.json")["results"].items() if "a dog" not in k}
    assert got == pytest.approx(want, abs=bar("vqa_score"), rel=0)
    assert result.ret != 0 and not math.isnan(rep["dimensions"]["vqa_score"]["raw"])


def test_docs_list_the_option():
    text = (Path(__file__).parents[1] / "docs" / "options.md").read_text(encoding="utf-8")
    assert "--vbench-vqa-batch-prompts" in text and "vbench_vqa_batch_prompts" in text


def test_plugin_a_bad_value_is_a_usage_error_before_any_item(pytester, tmp_path):
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(VIDEOS), "--vbench-mode", "custom", "--vbench-dims",
        "vqa_score", "--vbench-cache-dir", str(tmp_path), "--vbench-vqa-batch-prompts", "0")
    assert result.ret == 4  # usage error: stops before the missing model is even looked for
    result.stderr.fnmatch_lines(["*--vbench-vqa-batch-prompts: *at least 1 (1 = off), got '0'*"])
