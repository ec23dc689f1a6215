"""Seconds to read an OpenAI-style CLIP TorchScript archive: our restricted reader vs ``torch.jit.load``.

    python benchmarks/bench_clip_archive.py [--name ViT-B-32] [--threads 1]

Writes a full-size seeded archive (pytest_vbench.fake_checkpoints, fp32: about 600 MB for ViT-B-32)
to a temporary directory, reads it both ways, checks the tensors are identical and prints the
seconds. ``torch.jit.load`` is used here only as the reference (this file is never run by pytest).
Nothing is asserted beyond equality.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    """Print the archive size, the equality of both readings and their seconds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", default="ViT-B-32", choices=("ViT-B-32", "ViT-L-14"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    from pytest_vbench import fake_checkpoints
    from pytest_vbench.models.checkpoint import read_archive_tensors

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    d = Path(tempfile.mkdtemp())
    try:
        path = fake_checkpoints.write_clip(d, args.name, seed=0)
        t = time.perf_counter()
        ref = torch.jit.load(str(path), map_location="cpu").state_dict()
        jit_s = time.perf_counter() - t
        t = time.perf_counter()
        got = read_archive_tensors(path)
        ours_s = time.perf_counter() - t
        same = set(ref) == set(got) and all(torch.equal(ref[k], got[k]) for k in ref)
        print(f"{args.name}: {path.stat().st_size / 1e6:.0f} MB, {len(ref)} tensors, identical: {same}")
        print(f"torch.jit.load {jit_s:.2f} s   read_archive_tensors {ours_s:.2f} s")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
