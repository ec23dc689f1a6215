"""Seconds per video and peak memory (RSS) of vqa_score on CPU with a seeded tiny backend.

Writes the tiny snapshot of ``--backend`` (``pytest_vbench.models.vqa.tiny``: ``qwen`` Qwen2.5-VL,
``llava-ov`` LLaVA-OneVision, ``internvl`` InternVL3) into a temporary cache, then scores the committed parity videos
(``tests/parity/videos/vqa_score``: for Qwen, 64x48 to 80x48 clips upscaled to ~110k pixels a frame as
qwen-vl-utils does, 8-16 frames; LLaVA-OneVision 16 frames at 384x384; InternVL3 16 tiles of 448x448) in this process. Run one
backend per process: the peak RSS is the process's. Prints the time to write and load
the snapshot, seconds per video (frames + model), and the peak RSS. These are the tiny configs' costs:
they say what the fast tests cost, not what a real 7B model costs (see docs/dimensions/vqa_score.md).

    python benchmarks/bench_vqa.py --threads 1 --repeat 2
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


if __name__ == "__main__":
    main()
