"""Seconds per video and peak memory (RSS) of vqa_score on CPU with a seeded tiny backend.

Writes the tiny snapshot of ``--backend`` (``pytest_vbench.models.vqa.tiny``: ``qwen`` Qwen2.5-VL,
``llava-ov`` LLaVA-OneVision, ``internvl`` InternVL3) into a temporary cache, then scores the committed parity videos
(``tests/parity/videos/vqa_score``: for Qwen, 64x48 to 80x48 clips upscaled to ~110k pixels a frame as
qwen-vl-utils does, 8-16 frames; LLaVA-OneVision 16 frames at 384x384; InternVL3 16 tiles of 448x448) in this process. Run one
backend per process: the peak RSS is the process's. Prints the time to write and load
the snapshot, seconds per video (frames + model), and the peak RSS. These are the tiny configs' costs:
they say what the fast tests cost, not what a real 7B model costs (see docs/dimensions/vqa_score.md).

    python benchmarks/bench_vqa.py --threads 1 --repeat 2

``--batch 1,2,4,8`` measures instead what batching buys on CPU: each video's frames are taken once, then
``B`` copies of them are scored one at a time and in one forward pass (``VQAScorer.score_many`` with
``batch=True``, as on an accelerator); it prints seconds per video both ways and the largest difference
between the two sets of numbers.

``--prompts 2,3,4`` measures batching *across prompts* (``--vbench-vqa-batch-prompts N``): each of
``len(PROMPTS)`` prompts of different token lengths is paired with every parity video (so a "prompt"
has 4 videos, of 3 frame shapes for Qwen2.5-VL); the prompts are taken N at a time and their 4N videos
are scored one at a time (what a run does on CPU without the option) and in one left-padded pass
(``VQAScorer.score_pairs``, what the option does). Prints seconds per video both ways and the largest
difference.

    python benchmarks/bench_vqa.py --threads 1 --backend qwen --prompts 2,3,4
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: --backend -> (tiny writer in pytest_vbench.models.vqa.tiny, label)
WRITERS = {"qwen": ("write_qwen2_5_vl", "Qwen2.5-VL"), "llava-ov": ("write_llava_onevision", "LLaVA-OneVision"),
           "internvl": ("write_internvl3", "InternVL3")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="score the videos this many times")
    ap.add_argument("--backend", choices=sorted(WRITERS), default="qwen")
    ap.add_argument("--batch", default="", help="comma-separated batch sizes: measure batched against one at a time")
    ap.add_argument("--prompts", default="",
                    help="comma-separated numbers of prompts: measure batching across prompts against one at a time")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from pytest_vbench.models import vqa
    from pytest_vbench.models.vqa import tiny

    videos = sorted((ROOT / "tests" / "parity" / "videos" / "vqa_score").glob("*.mp4"))
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        writer, label = WRITERS[args.backend]
        getattr(tiny, writer)(vqa.snapshot_dir(Path(cache), "tiny"))
        t1 = time.perf_counter()

        class Rt:
            cache_dir, device, options = Path(cache), "cpu", {"vqa": vqa.VQAOptions(model="tiny").to_json()}

        scorer = vqa.load(Rt())
        t2 = time.perf_counter()
        if args.prompts:
            bench_prompts(scorer, videos, [int(n) for n in args.prompts.split(",")], args.repeat, label, args.threads)
            return
        if args.batch:
            bench_batches(scorer, videos, [int(b) for b in args.batch.split(",")], args.repeat, label, args.threads)
            return
        frames_s = model_s = 0.0
        for _ in range(args.repeat):
            for v in videos:
                a = time.perf_counter()
                frames = scorer.frames(v)
                b = time.perf_counter()
                scorer.score(frames, re.sub(r"-\d+$", "", v.stem))
                frames_s += b - a
                model_s += time.perf_counter() - b
    n = len(videos) * args.repeat
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"tiny {label}, CPU, {args.threads} thread(s), {n} videos")
    print(f"write snapshot     {t1 - t0:7.2f} s")
    print(f"load snapshot      {t2 - t1:7.2f} s")
    print(f"frames per video   {frames_s / n:7.3f} s")
    print(f"model per video    {model_s / n:7.3f} s")
    print(f"total per video    {(frames_s + model_s) / n:7.3f} s")
    print(f"peak RSS           {rss:7.0f} MiB")


def bench_batches(scorer, videos: list[Path], sizes: list[int], repeat: int, label: str, threads: int) -> None:
    """Seconds per video scoring B copies of each video's frames one at a time and in one pass."""
    frames = [(scorer.frames(v), re.sub(r"-\d+$", "", v.stem)) for v in videos]
    scorer.score(*frames[0])  # warm-up
    print(f"tiny {label}, CPU, {threads} thread(s), {len(videos)} videos x {repeat} repeat(s)")
    print(f"{'batch':>5} {'one at a time s/video':>22} {'batched s/video':>16} {'speed-up':>9} {'max |diff|':>11}")
    for size in sizes:
        scorer.max_batch = size
        single = batched = 0.0
        diff = 0.0
        for _ in range(repeat):
            for f, prompt in frames:
                copies = [f] * size
                a = time.perf_counter()
                one = scorer.score_many(copies, prompt, batch=False)
                b = time.perf_counter()
                many = scorer.score_many(copies, prompt, batch=True)
                c = time.perf_counter()
                single += b - a
                batched += c - b
                diff = max(diff, *(abs(x - y) for x, y in zip(one, many)))
        n = size * len(frames) * repeat
        print(f"{size:>5} {single / n:>22.4f} {batched / n:>16.4f} {single / batched:>8.2f}x {diff:>11.1e}")


#: prompts of different token lengths (1 to 20 words), as a custom-mode folder might have
PROMPTS = ["a dog", "a red car driving on a road", "a cat playing with a ball of red wool on a wooden floor",
           "two people walking on a beach at sunset while waves roll in and seagulls fly over the water behind them",
           "fireworks", "a time-lapse of clouds over a mountain lake", "a chef chopping vegetables in a busy kitchen",
           "an astronaut riding a horse on the moon, photorealistic, with the earth rising on the horizon far away"]


def bench_prompts(scorer, videos: list[Path], sizes: list[int], repeat: int, label: str, threads: int) -> None:
    """Seconds per video scoring N prompts' videos one at a time and in one padded pass (score_pairs)."""
    frames = [scorer.frames(v) for v in videos]
    scorer.score(frames[0], PROMPTS[0])  # warm-up
    print(f"tiny {label}, CPU, {threads} thread(s), {len(PROMPTS)} prompts x {len(videos)} videos x {repeat} repeat(s)")
    print(f"{'prompts':>7} {'rows/pass':>9} {'one at a time s/video':>22} {'batched s/video':>16} {'speed-up':>9} "
          f"{'max |diff|':>11}")
    for size in sizes:
        single = batched = diff = 0.0
        n = 0
        for _ in range(repeat):
            for start in range(0, len(PROMPTS) - size + 1, size):
                pairs = [(f, p) for p in PROMPTS[start:start + size] for f in frames]
                a = time.perf_counter()
                one = [scorer.score(f, p) for f, p in pairs]
                b = time.perf_counter()
                many = scorer.score_pairs(pairs)
                c = time.perf_counter()
                single += b - a
                batched += c - b
                n += len(pairs)
                diff = max(diff, *(abs(x - y) for x, y in zip(one, many)))
        print(f"{size:>7} {size * len(frames):>9} {single / n:>22.4f} {batched / n:>16.4f} {single / batched:>8.2f}x "
              f"{diff:>11.1e}")


if __name__ == "__main__":
    main()
