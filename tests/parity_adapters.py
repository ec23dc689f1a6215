"""One adapter per parity-reference format, and the registry of every reference in ``tests/parity/*.json``.

A reference is a row of :data:`REFERENCES`: its format, the dimension whose bars hold it
(``parity_harness.TOLERANCES``), what the default tier runs (``fast``; ``None``: only ``-m slow``)
and what ``-m slow`` runs on top (``full``; ``None``: the default run already covers the whole
reference). An adapter (:data:`FORMATS`) builds the inputs and seeded checkpoints the reference was
made with (checkpoints from the ``seeded_cache`` fixture, checked against the recorded fingerprint or
digest first), runs our dimension, and compares the per-video numbers through :class:`Ctx`:
``ctx.close`` for a number within a named bar, ``ctx.same`` for what must be identical.
``tests/test_parity.py`` runs each reference as one test id; ``tests/test_parity_references.py``
fails for a reference without a row here.

Adding a reference: write it with a tool in ``tools/`` (see ``tools/README.md``), add its row here
(a new format needs an adapter function in :data:`FORMATS`), and its bars in ``TOLERANCES`` and
``docs/parity.md``.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parity_harness import FINGERPRINT_REL, PARITY, ROOT, tolerance

VIDEOS = PARITY / "videos"


@dataclass
class Ctx:
    """What an adapter gets: the reference, its dimension's bars, checkpoints and a scratch folder."""

    name: str
    ref: dict
    dimension: str
    seeded_cache: Callable[..., Any]
    tmp_path: Path
    compared: int = 0

    def close(self, what: str, ours: float, official: float, bar: str = "bar", rel: str | None = None) -> float:
        """|ours - official| within the named bar (or within ``rel`` times |official|, when given); NaN only for NaN."""
        self.compared += 1
        if isinstance(official, float) and math.isnan(official):
            assert math.isnan(ours), f"{self.name}: {what}: official NaN, ours {ours!r}"
            return 0.0
        allowed = tolerance(self.dimension, bar)
        if rel is not None:
            allowed = max(allowed, tolerance(self.dimension, rel) * abs(official))
        diff = abs(ours - official)
        assert diff <= allowed, f"{self.name}: {what}: |ours - official| = {diff:.3e} > {allowed:.1e} ({bar})"
        return diff

    def same(self, what: str, ours: object, official: object) -> None:
        """Identical values (booleans, counts, token ids, records, layouts)."""
        self.compared += 1
        assert ours == official, f"{self.name}: {what}: ours {ours!r} != official {official!r}"

    def cache(self, *recipes: str, seed: int | str = 0, tiny: bool = False, fingerprint: float | None = None) -> Path:
        """The seeded checkpoints of ``recipes``; with ``fingerprint``, refused when they are not the reference's."""
        made = self.seeded_cache(*recipes, seed=int(seed), tiny=tiny)
        if fingerprint is not None:
            assert made.fingerprint == pytest.approx(fingerprint, rel=FINGERPRINT_REL), \
                f"{self.name}: the seeded checkpoint generator drifted from the reference ({'+'.join(recipes)} seed {seed})"
        return made.path


def _pick(items: Iterable[str], only: Iterable[str] | None) -> list[str]:
    return [i for i in items if only is None or i in set(only)]


# -- temporal_flickering: official records on committed videos -------------------------------------------------

def records(ctx: Ctx, **_: Any) -> None:
    import numpy as np

    from pytest_vbench.dimensions.temporal_flickering import flicker_score
    from pytest_vbench.video import opencv_frames

    folder = VIDEOS / "temporal_flickering"
    values = []
    for rec in ctx.ref["records"]:
        name = Path(rec["video_path"]).name
        ours = flicker_score(opencv_frames(folder / name))
        ctx.close(name, ours, rec["video_results"])
        values.append(ours)
    ctx.close("dimension score", float(np.mean(values)), ctx.ref["score"], "score")
    ctx.same("videos", len(values), len(list(folder.glob("*.mp4"))))


# -- tools/parity_image.py: runs per seed on tests/parity/videos/image ---------------------------------------

IMAGE_MODULES = {"background_consistency": ("clip_b32",), "appearance_style": ("clip_b32",),
                 "aesthetic_quality": ("clip_l14", "aesthetic"), "subject_consistency": ("dino",),
                 "imaging_quality": ("musiq",)}


def image_runs(ctx: Ctx, seeds: list[str] | None = None, videos: set[str] | None = None, score: bool = True) -> None:
    import numpy as np

    from pytest_vbench.runtime import Runtime
    from pytest_vbench.scoring import DimensionTotal
    from pytest_vbench.suite import Case, VideoRef

    module = importlib.import_module(f"pytest_vbench.dimensions.{ctx.dimension}")
    for seed in _pick(ctx.ref["runs"], seeds):
        run = ctx.ref["runs"][seed]
        cache = ctx.cache(*IMAGE_MODULES[ctx.dimension], seed=seed, tiny=ctx.ref.get("tiny", False),
                          fingerprint=run["fingerprint"])
        rt = Runtime("cpu", cache)
        case = Case(ctx.dimension, "p", 0, ctx.ref.get("aux"))
        total = DimensionTotal(ctx.dimension)
        for rec in run["records"]:
            if videos is not None and rec["video"] not in videos:
                continue
            ours = module.score_video(VideoRef(VIDEOS / "image" / rec["video"], 0), case, rt)
            total.add(ours.sum, ours.count)
            for key, want in rec.items():
                if key == "video":
                    continue
                got = ours.record[key]
                if isinstance(want, list):
                    ctx.same(f"seed {seed} {rec['video']} {key} length", len(got), len(want))
                    ctx.close(f"seed {seed} {rec['video']} {key}",
                              float(np.max(np.abs(np.array(got) - np.array(want)))), 0.0)
                else:
                    ctx.close(f"seed {seed} {rec['video']} {key}", got, want)
        if score and videos is None:
            ctx.close(f"seed {seed} dimension score", total.raw, run["score"], "score")


# -- tools/parity_dino_musiq.py: tiny DINO and MUSIQ configs ------------------------------------------------

LARGE = "large600x840-0.png"
NEAR_SQUARE = "nearsquare240x250-0.png"


def _image_input(name: str, tmp_path: Path) -> Path:
    from synthetic import write_large_png

    if name == LARGE:
        return write_large_png(tmp_path / LARGE) if not (tmp_path / LARGE).is_file() else tmp_path / LARGE
    if name == NEAR_SQUARE:
        return write_large_png(tmp_path / NEAR_SQUARE, 240, 250) if not (tmp_path / NEAR_SQUARE).is_file() \
            else tmp_path / NEAR_SQUARE
    return VIDEOS / "image" / name


def dino_tiny(ctx: Ctx, **_: Any) -> None:
    import torch

    from pytest_vbench.dimensions import subject_consistency as sc
    from pytest_vbench.models import dino
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import VideoRef
    from pytest_vbench.video import load_video

    for seed, run in ctx.ref["runs"].items():
        rt = Runtime("cpu", ctx.cache("dino_unit_pos", seed=seed, tiny=True))
        sums = counts = 0.0
        for rec in run["records"]:
            ours = sc.score_video(VideoRef(VIDEOS / "image" / rec["video"], 0), None, rt)
            ctx.close(f"seed {seed} {rec['video']}", ours.record["video_results"], rec["video_results"])
            sums += ours.sum
            counts += ours.count
        ctx.close(f"seed {seed} dimension score (pair-weighted)", sums / counts, run["score"], "tiny score")
        # class-token features before normalisation, so near-1 cosines cannot hide a wrong forward; the
        # 240x250 PNG is 224x233 after resizing: DINO resizes the embedding although the grid is 14x14
        model = rt.model("dino")
        for name, feats in run["features"].items():
            images = sc.preprocess(load_video(_image_input(name, ctx.tmp_path)))
            with torch.no_grad():
                ours_f = dino.features(model, images)
            for idx, want in feats.items():
                ctx.close(f"seed {seed} {name} frame {idx} features",
                          (ours_f[int(idx)] - torch.tensor(want)).abs().max().item(), 0.0, "tiny features")


def musiq_tiny_modes(ctx: Ctx, seeds: list[str] | None = None, videos: set[str] | None = None) -> None:
    from pytest_vbench.dimensions import imaging_quality as iq
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import VideoRef

    for seed in _pick(ctx.ref["runs"], seeds):
        cache = ctx.cache("musiq", seed=seed, tiny=True)
        for mode, run in ctx.ref["runs"][seed].items():
            rt = Runtime("cpu", cache, options={"imaging_quality_preprocessing_mode": mode})
            values = []
            for rec in run["records"]:
                if videos is not None and rec["video"] not in videos:
                    continue
                ours = iq.score_video(VideoRef(_image_input(rec["video"], ctx.tmp_path), 0), None, rt)
                ctx.close(f"seed {seed} {mode} {rec['video']}", ours.record["video_results"], rec["video_results"],
                          "tiny reference")
                values.append(ours.sum / ours.count)
            if videos is None:  # dimension score: mean of per-video values / 100 (the table's scale=0.01)
                ctx.close(f"seed {seed} {mode} dimension score", sum(values) / len(values) / 100, run["score"],
                          "tiny score")


# -- tools/parity_motion.py: RAFT and AMT-S ---------------------------------------------------------------------

def dynamic_degree(ctx: Ctx, seeds: list[str] | None = None, videos: set[str] | None = None) -> None:
    import cv2

    from pytest_vbench.dimensions import dynamic_degree as dd
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import VideoRef
    from pytest_vbench.video import VideoError, opencv_fps, opencv_frames

    for seed in _pick(ctx.ref["runs"], seeds):
        run = ctx.ref["runs"][seed]
        rt = Runtime("cpu", ctx.cache("raft", seed=seed, fingerprint=run["fingerprint"]))
        for rec in run["records"]:
            if videos is not None and rec["video"] not in videos:
                continue
            path = VIDEOS / "motion" / rec["video"]
            if rec["video"] == "small-0.mp4":  # official: NaN scores -> False; ours: a clear failure
                assert all(math.isnan(v) for v in rec["pair_scores"]) and rec["video_results"] is False
                with pytest.raises(VideoError, match="too small for RAFT"):
                    dd.score_video(VideoRef(path, 0), None, rt)
                continue
            step = dd.frame_interval(opencv_fps(path))
            frames = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for i, f in enumerate(opencv_frames(path)) if i % step == 0]
            ours = dd.pair_scores(rt.model("raft"), frames, "cpu")
            ctx.same(f"seed {seed} {rec['video']} pairs", len(ours), len(rec["pair_scores"]))
            for i, (a, b) in enumerate(zip(ours, rec["pair_scores"])):
                ctx.close(f"seed {seed} {rec['video']} pair {i}", a, b)
            ctx.same(f"seed {seed} {rec['video']} moving", dd.score_video(VideoRef(path, 0), None, rt).record[
                "video_results"], rec["video_results"])


def motion_smoothness(ctx: Ctx, runs: dict[str, set[str] | None] | None = None) -> None:
    import cv2

    from pytest_vbench.dimensions import motion_smoothness as ms
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import VideoRef
    from pytest_vbench.video import VideoError, opencv_frames

    for seed in _pick(ctx.ref["runs"], runs):
        names = None if runs is None else runs[seed]
        run = ctx.ref["runs"][seed]
        recipe, number = ("amt_calibrated", 0) if seed == "calibrated-0" else ("amt", int(seed))
        rt = Runtime("cpu", ctx.cache(recipe, seed=number, fingerprint=run["fingerprint"]))
        checked = 0
        for rec in run["records"]:
            if names is not None and rec["video"] not in names:
                continue
            path = VIDEOS / "motion" / rec["video"]
            if "error" in rec:  # the official code raises (fewer than 3 frames): ours fails this video only
                assert "AssertionError" in rec["error"]
                with pytest.raises(VideoError, match="at least 3 frames"):
                    ms.score_video(VideoRef(path, 0), None, rt)
                continue
            if rec["nan_predictions"]:  # official: NaN predictions cast to uint8 (0); ours: a clear failure
                with pytest.raises(VideoError, match="too small for AMT-S"):
                    ms.score_video(VideoRef(path, 0), None, rt)
                continue
            rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in opencv_frames(path)]
            diffs = ms.pair_diffs(rt.model("amt"), rgb, "cpu")
            ctx.same(f"{seed} {rec['video']} pairs", (len(diffs), len(rec["pair_diffs"])),
                     (math.ceil(len(rgb) / 2) - 1,) * 2)
            for i, (a, b) in enumerate(zip(diffs, rec["pair_diffs"])):
                ctx.close(f"{seed} {rec['video']} pair {i} difference", a, b, "pair differences")
            got = ms.score_video(VideoRef(path, 0), None, rt)
            assert got.count == 1 and got.record["video_results"] == got.sum
            ctx.close(f"{seed} {rec['video']}", got.sum, rec["video_results"])
            checked += 1
        assert checked, f"{seed}: no video compared"


def static_filter(ctx: Ctx, videos: list[str] | None = None) -> None:
    from pytest_vbench import static_filter as sf
    from pytest_vbench.runtime import Runtime

    rt = Runtime("cpu", ctx.cache("raft_calibrated", seed=0, fingerprint=ctx.ref["fingerprint"]))
    by_name = {r["video"]: r for r in ctx.ref["records"]}
    for name in videos if videos is not None else sorted(by_name):
        ref = by_name[name]
        with pytest.MonkeyPatch.context() as mp:  # every pair, as the official code scores them
            mp.setattr(sf, "EARLY_STOP", False)
            v = sf.check_video(VIDEOS / "static_filter" / name, rt.model("raft"))
        ctx.same(f"{name} threshold", v.thres, ref["thres"])
        ctx.same(f"{name} count_num", v.count_num, ref["count_num"])
        ctx.same(f"{name} pairs", len(v.scores), len(ref["pair_scores"]))
        for i, (a, b) in enumerate(zip(v.scores, ref["pair_scores"])):
            ctx.close(f"{name} pair {i}", a, b, "static filter pair scores")
        ctx.same(f"{name} static", v.static, ref["static"])
        early = sf.check_video(VIDEOS / "static_filter" / name, rt.model("raft"))  # the default: early stop
        ctx.same(f"{name} static (early stop)", early.static, ref["static"])
        ctx.same(f"{name} early-stop scores are a prefix", early.scores == v.scores[:len(early.scores)], True)


# -- tools/parity_video_text.py: ViCLIP and UMT on the synthetic clips of checkpoints_video_text.VIDEO_SPECS ----
# The clips are committed (tests/parity/videos/video_text, one per spec; the tool encoded them with OpenCV's
# mp4v writer), so another OpenCV build cannot change the inputs; each is checked against the decoded-frame
# digest the reference recorded, then linked under the file name the reference used (the name carries
# the prompt or the action label).

def spec_clip(spec: list[int]) -> Path:
    """The committed clip of one ``VIDEO_SPECS`` entry (seed, frames, width, height)."""
    seed, frames, width, height = spec
    return VIDEOS / "video_text" / f"spec{seed}-{frames}f-{width}x{height}.mp4"


def _regenerate(ref: dict, folder: Path) -> list[tuple[str, Path]]:
    import checkpoints_video_text as C

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for v in ref["videos"]:
        clip = spec_clip(v["spec"])
        assert clip.is_file(), f"{clip}: missing committed parity input (checkpoints_video_text.write_spec_video of this spec, the encoding the reference was made from)"
        assert C.decoded_hash(clip) == v["decoded_sha256_16"], \
            f"{clip}: decord decodes other frames than the reference run ({v['file']})"
        path = folder / v["file"]
        path.symlink_to(clip.resolve())
        out.append((v["prompt"], path))
    return out


def viclip(ctx: Ctx, sizes: tuple[str, ...] = ("tiny",)) -> None:
    import torch

    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef

    import checkpoints_video_text as C

    torch.set_num_threads(1)  # restored by the test
    module = importlib.import_module(f"pytest_vbench.dimensions.{ctx.dimension}")
    for size in sizes:
        ref = ctx.ref[size]
        ctx.same(f"{size} config", ref["config"], C.VICLIP_TINY if size == "tiny" else C.VICLIP_FULL)
        rt = Runtime("cpu", ctx.cache("viclip_official_keys", seed=ref["checkpoint_seed"], tiny=size == "tiny"))
        by_prompt: dict[str, list[VideoRef]] = {}
        for prompt, path in _regenerate(ref, ctx.tmp_path / size):
            refs = by_prompt.setdefault(prompt, [])
            refs.append(VideoRef(path, len(refs)))
        ours = {}
        for prompt, videos in by_prompt.items():
            for v, r in zip(videos, module.score_case(videos, Case(ctx.dimension, prompt, 0, videos=videos), rt)):
                assert not isinstance(r, Exception), r
                assert r.count == 1 and r.record == {"video_results": r.sum}
                ours[v.name] = r.sum
        for v in ref["videos"]:
            ctx.close(f"{size} {v['file']}", ours[v["file"]], v["video_results"])
        # the frames differ enough that a constant answer would fail
        assert max(v["video_results"] for v in ref["videos"]) - min(v["video_results"] for v in ref["videos"]) > 1e-3


def umt(ctx: Ctx, keys: tuple[str, ...] = ()) -> None:
    import torch

    from pytest_vbench.dimensions import human_action as H
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef

    import checkpoints_video_text as C

    torch.set_num_threads(1)  # restored by the test
    for key in keys:
        ref = ctx.ref[key]
        tiny = key.startswith("tiny")
        ctx.same(f"{key} config", ref["config"], C.UMT_TINY if tiny else C.UMT_FULL)
        if tiny:  # the references cover both outcomes
            assert {v["video_results"] for v in ref["videos"]} == {True, False}
        recipe = "umt_official_keys_pos" if ref["pos_embed_in_checkpoint"] else "umt_official_keys"
        rt = Runtime("cpu", ctx.cache(recipe, seed=ref["checkpoint_seed"], tiny=tiny))
        model = rt.model("umt")
        videos = []
        for i, (v, (_, path)) in enumerate(zip(ref["videos"], _regenerate(ref, ctx.tmp_path / key))):
            videos.append(VideoRef(path, i))
            probs, idx = H.top5(model, H.frames_tensor(path, rt)[None])
            ctx.same(f"{key} {v['file']} top-5 classes", idx[0], v["top5_indices"])
            for j, (a, b) in enumerate(zip(probs[0], v["top5_probs"])):
                ctx.close(f"{key} {v['file']} top-5 probability {j}", a, b)
        for v, r in zip(ref["videos"], H.score_case(videos, Case("human_action", "x", 0, videos=videos), rt)):
            ctx.same(f"{key} {v['file']} record", r.record,
                     {"video_results": v["video_results"], "cor_num_per_video": v["cor_num_per_video"]})
            assert r.sum == float(v["video_results"]) and r.count == 1


# -- tools/t2v_metrics_vqa_reference.py: VQAScore against t2v_metrics 3.0 -------------------------------------

#: reference backend -> (our tiny snapshot = its seeded_cache recipe, scorer kind, digits that tell the videos apart)
VQA_BACKENDS = {"qwen2.5-vl-7b": ("tiny-qwen2.5-vl", "qwen2_5_vl", 3),
                "llava-onevision-qwen2-7b-ov": ("tiny-llava-onevision", "llava_onevision", 4),
                "internvl3-8b": ("tiny-internvl3", "internvl", 4)}


class _VQARuntime:
    def __init__(self, cache: Path, options: Any):
        self.cache_dir, self.device, self.options = cache, "cpu", {"vqa": options.to_json()}


def vqa_score(ctx: Ctx, **_: Any) -> None:
    import hashlib

    from pytest_vbench.models import vqa

    from parity_harness import check_snapshot

    ref = ctx.ref
    name, kind, digits = VQA_BACKENDS[ref["backend"]]
    cache = ctx.cache(name, tiny=True)
    check_snapshot(vqa.snapshot_dir(cache, name), ref)
    folder = VIDEOS / "vqa_score"
    ctx.same("videos", {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}, ref["videos"])
    kw = ref["forward_kwargs"]
    if kind == "qwen2_5_vl":
        options = vqa.VQAOptions(model=name, question=kw.get("question_template", vqa.DEFAULT_QUESTION),
                                 answer=kw.get("answer_template", vqa.DEFAULT_ANSWER), fps=kw.get("fps", ref["fps"]))
    else:
        options = vqa.VQAOptions(model=name, question=kw.get("question_template"),
                                 answer=kw.get("answer_template"), frames=kw.get("num_frames"))
    scorer = vqa.load(_VQARuntime(cache, options))
    assert scorer.kind == kind
    got = {video: scorer.score(scorer.frames(folder / video), prompt) for video, prompt in ref["prompts"].items()}
    ctx.same("videos scored", set(got), set(ref["results"]))
    for video, want in ref["results"].items():
        ctx.close(video, got[video], want, rel="relative")
    assert len({round(v, digits) for v in got.values()}) == len(got)  # the videos really differ


# -- Tag2Text and GRiT: layouts and beam search ----------------------------------------------------------------

def tag2text_layout(ctx: Ctx, **_: Any) -> None:
    from pytest_vbench import fake_checkpoints

    ours = [[k, list(s), "int64" if kind == "ids" else "float32", kind[1] if isinstance(kind, tuple) else None]
            for k, s, kind in fake_checkpoints.tag2text_layout(**fake_checkpoints.TAG2TEXT_FULL)]
    ctx.same("entries", len(ours), 1003)
    ctx.same("layout", ours, ctx.ref["tensors"])


def grit_layout(ctx: Ctx, **_: Any) -> None:
    import torch

    from pytest_vbench.models.grit.backbone import ViTConfig
    from pytest_vbench.models.grit.predictor import IGNORED, Grit

    official = {k: tuple(s) for k, s in ctx.ref["keys"]}
    ctx.same("keys", len(official), 367)
    with torch.device("meta"):
        model = Grit(ViTConfig(), dict(feature_dim=256, dim=768, heads=12, ff=3072, layers=6, vocab=30522,
                                       positions=1024))
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    built = {k: s for k, s in official.items() if not k.startswith(IGNORED)}
    ctx.same("layout", ours, built)
    ctx.same("ignored keys", sorted(set(official) - set(built)),
             sorted(k for k in official if k.startswith("roi_heads.mask_head.")))
    ctx.same("ignored count", len(official) - len(built), 12)


def tag2text_beam(ctx: Ctx, **_: Any) -> None:
    """Token ids of the official decoder's ``generate`` (tools/tag2text_beam_reference.py) on a reduced
    decoder with varied hypothesis lengths, early stops and max-length cut-offs."""
    import importlib.util

    import torch

    from pytest_vbench.models.tag2text.beam import beam_search
    from pytest_vbench.models.tag2text.bert import CaptionDecoder, bert_config

    torch.set_num_threads(1)  # small models on a shared machine: one thread avoids oversubscription stalls
    spec = importlib.util.spec_from_file_location("beamref", ROOT / "tools" / "tag2text_beam_reference.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ref = ctx.ref
    assert ref["seed"] == tool.SEED and ref["sizes"] == tool.SIZES
    s = tool.SIZES
    lengths = set()
    for i, case in enumerate(ref["cases"]):
        dec = CaptionDecoder(bert_config(layers=s["layers"], heads=s["heads"], hidden=s["hidden"],
                                         intermediate=s["intermediate"])).eval()
        state = {"lm." + k: v for k, v in tool.decoder_state(case["eos_bias"]).items() if not k.endswith("position_ids")}
        missing, unexpected = dec.load_state_dict(state, strict=False)
        assert not unexpected and all("token_type" in m or "position_ids" in m for m in missing), missing
        with torch.no_grad():
            dec.lm.bert.embeddings.token_type_embeddings.weight.zero_()
        states = tool.memory(i, case["batch"], case["memory_length"], s["hidden"])
        k = case["num_beams"]
        memory = states.repeat_interleave(k, dim=0)
        out = beam_search(lambda ids, m=memory, d=dec: d.next_token_logits(ids, m),
                          torch.tensor([tool.PROMPT] * case["batch"]), num_beams=k, max_length=case["max_length"],
                          min_length=case["min_length"], eos=102, pad=0)
        ctx.same(f"case {i} token ids", out.tolist(), case["token_ids"])
        lengths |= {len([t for t in row if t]) for row in case["token_ids"]}
    assert len(lengths) >= 4  # the references exercise different finishing lengths


# -- the registry -------------------------------------------------------------------------------------------------

#: format -> adapter(ctx, **options)
FORMATS: dict[str, Callable[..., None]] = {
    "records": records, "image_runs": image_runs, "dino_tiny": dino_tiny, "musiq_tiny_modes": musiq_tiny_modes,
    "dynamic_degree": dynamic_degree, "motion_smoothness": motion_smoothness, "static_filter": static_filter,
    "viclip": viclip, "umt": umt, "vqa_score": vqa_score, "tag2text_layout": tag2text_layout,
    "grit_layout": grit_layout, "tag2text_beam": tag2text_beam,
}


@dataclass(frozen=True)
class Reference:
    """One ``tests/parity/*.json``: its format, the dimension whose bars hold it, and what each tier runs."""

    format: str
    dimension: str
    fast: dict[str, Any] | None = None  # adapter options of the default tier; None: -m slow only
    full: dict[str, Any] | None = None  # adapter options of -m slow; None: the default run is complete


_IMAGE_FAST = {"anim-0.gif", "still-0.png", "big3-0.mp4", "single-0.mp4"}
# the MUSIQ ResNet stem has its full width even in the tiny config: the default tier takes the cheap inputs
_MUSIQ_TINY_FAST = {LARGE, "still-0.png", "single-0.mp4", "anim-0.gif", "big3-0.mp4"}
_RAFT_FAST = {"short2-0.mp4", "short3-0.mp4", "big256-0.mp4", "odd130x170-0.mp4", "small-0.mp4", "short1-0.mp4"}
_AMT_FAST = {"short1-0.mp4", "short2-0.mp4", "short3-0.mp4", "small-0.mp4", "odd130x170-0.mp4", "shapes8fps-0.mp4",
             "static16fps-0.mp4"}
ALL: dict[str, Any] = {}

REFERENCES: dict[str, Reference] = {
    "temporal_flickering.json": Reference("records", "temporal_flickering", fast=ALL),
    "background_consistency.json": Reference("image_runs", "background_consistency", fast=ALL),
    "appearance_style.json": Reference("image_runs", "appearance_style", fast=ALL),
    "aesthetic_quality.json": Reference("image_runs", "aesthetic_quality", fast=ALL),
    # full-size DINO and MUSIQ: -m slow; the default tier runs the tiny-config references below
    "subject_consistency.json": Reference("image_runs", "subject_consistency", full={"score": False}),
    "imaging_quality.json": Reference("image_runs", "imaging_quality", full={"score": False}),
    "subject_consistency_tiny.json": Reference("dino_tiny", "subject_consistency", fast=ALL),
    "imaging_quality_tiny.json": Reference("musiq_tiny_modes", "imaging_quality",
                                           fast={"seeds": ["0"], "videos": _MUSIQ_TINY_FAST}, full=ALL),
    "dynamic_degree.json": Reference("dynamic_degree", "dynamic_degree",
                                     fast={"seeds": ["0"], "videos": _RAFT_FAST}, full=ALL),
    "motion_smoothness.json": Reference("motion_smoothness", "motion_smoothness",
                                        fast={"runs": {"0": _AMT_FAST, "calibrated-0": _AMT_FAST | {"pan24fps-0.mp4"}}},
                                        full=ALL),
    # 5 pairs incl. both wrap pairs; the rest is slow
    "static_filter.json": Reference("static_filter", "temporal_flickering",
                                    fast={"videos": ["a toilet, frozen in time-1.mp4"]}, full=ALL),
    "temporal_style.json": Reference("viclip", "temporal_style", fast={"sizes": ("tiny",)}, full={"sizes": ("full",)}),
    "overall_consistency.json": Reference("viclip", "overall_consistency", fast={"sizes": ("tiny",)}),
    "human_action.json": Reference("umt", "human_action", fast={"keys": ("tiny_table", "tiny_pos_embed")},
                                   full={"keys": ("full_table",)}),
    **{f"vqa_score_{b}.json": Reference("vqa_score", "vqa_score", fast=ALL)
       for b in ("qwen2_5_vl", "qwen2_5_vl_fps2", "llava_onevision", "llava_onevision_f12", "internvl3",
                 "internvl3_f12")},
    "tag2text_official_layout.json": Reference("tag2text_layout", "scene", fast=ALL),
    "tag2text_beam.json": Reference("tag2text_beam", "scene", fast=ALL),
    "grit_official_layout.json": Reference("grit_layout", "object_class", fast=ALL),
}


def load(name: str) -> dict:
    """The reference ``tests/parity/<name>``."""
    return json.loads((PARITY / name).read_text(encoding="utf-8"))
