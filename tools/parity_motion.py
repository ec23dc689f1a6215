"""Make the motion references with the official vbench 0.1.5 (per-pair values included).

    python tools/parity_motion.py --official ../vbench-official/bin/python [--only DIMENSION]

writes tests/parity/dynamic_degree.json, static_filter.json and motion_smoothness.json.

Writes a seeded RAFT checkpoint in the original layout (pytest_vbench.fake_checkpoints) into a
temporary cache, runs tools/official_dynamic_degree.py with the official interpreter on the
committed videos in tests/parity/videos/motion, and stores the results with the checkpoint's
fingerprint.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from pytest_vbench import fake_checkpoints

    from tools.parity_image import fingerprint

    ap = argparse.ArgumentParser()
    ap.add_argument("--official", required=True)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--only", choices=["dynamic_degree", "static_filter", "motion_smoothness"])
    args = ap.parse_args()
    if args.only in (None, "motion_smoothness"):
        motion_smoothness(args.official, [int(s) for s in args.seeds.split(",")])
    if args.only in (None, "static_filter"):
        static_filter(args.official)
    if args.only not in (None, "dynamic_degree"):
        return
    runs = {}
    for seed in map(int, args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            paths = fake_checkpoints.write("raft", Path(tmp), seed=seed)
            out = Path(tmp) / "out.json"
            subprocess.run([args.official, str(ROOT / "tools" / "official_dynamic_degree.py"), "--cache-dir", tmp,
                            "--videos", str(ROOT / "tests" / "parity" / "videos" / "motion"), "--out", str(out)],
                           check=True)
            result = json.loads(out.read_text())
            runs[str(seed)] = {"fingerprint": fingerprint(paths), "score": result["score"],
                               "records": result["records"], "official_seconds": result["seconds"]}
    ref = {"dimension": "dynamic_degree", "videos": "tests/parity/videos/motion", "made_by": "tools/parity_motion.py",
           "runs": runs}
    (ROOT / "tests" / "parity" / "dynamic_degree.json").write_text(json.dumps(ref, indent=2) + "\n")
    print("wrote tests/parity/dynamic_degree.json")


def motion_smoothness(official: str, seeds: list[int]) -> None:
    """tests/parity/motion_smoothness.json: official per-video values and per-pair differences."""
    import platform

    import torch

    from pytest_vbench import fake_checkpoints

    from tools.parity_image import fingerprint

    sys.path.insert(0, str(ROOT / "tests"))
    from seeded_checkpoints import write_amt_calibrated

    runs, keys = {}, None
    recipes = [(str(s), f"pytest_vbench.fake_checkpoints.write('amt', seed={s})",
                lambda d, s=s: fake_checkpoints.write("amt", d, seed=s)) for s in seeds]
    recipes.append(("calibrated-0", "tests/seeded_checkpoints.py:write_amt_calibrated(seed=0)",
                    lambda d: [write_amt_calibrated(d, seed=0)]))
    for name, recipe, make in recipes:
        with tempfile.TemporaryDirectory() as tmp:
            paths = make(Path(tmp))
            out = Path(tmp) / "out.json"
            subprocess.run([official, str(ROOT / "tools" / "official_motion_smoothness.py"), "--cache-dir", tmp,
                            "--videos", str(ROOT / "tests" / "parity" / "videos" / "motion"), "--out", str(out)],
                           check=True)
            result = json.loads(out.read_text())
            keys = result["official_keys"]
            runs[name] = {"checkpoint": recipe, "fingerprint": fingerprint(paths), "score": result["score"],
                          "records": result["records"], "official_seconds": result["seconds"]}
    version = subprocess.run([official, "-c", "import importlib.metadata as m; print(m.version('vbench'), "
                              "m.version('torch'), m.version('numpy'), m.version('opencv-python'))"],
                             capture_output=True, text=True, check=True).stdout.split()
    ref = {"dimension": "motion_smoothness", "videos": "tests/parity/videos/motion",
           "made_by": "tools/parity_motion.py --only motion_smoothness",
           "versions": dict(zip(("vbench", "torch", "numpy", "opencv-python"), version),
                            python=platform.python_version(), ours_torch=torch.__version__),
           "official_keys": keys, "runs": runs}
    (ROOT / "tests" / "parity" / "motion_smoothness.json").write_text(json.dumps(ref, indent=2) + "\n")
    print("wrote tests/parity/motion_smoothness.json")


def static_filter(official: str) -> None:
    """tests/parity/static_filter.json: official per-pair scores, verdicts and the command's selection."""
    import platform

    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from seeded_checkpoints import write_raft_calibrated
    from tools.parity_image import fingerprint

    with tempfile.TemporaryDirectory() as tmp:
        path = write_raft_calibrated(Path(tmp), seed=0)
        out = Path(tmp) / "out.json"
        subprocess.run([official, str(ROOT / "tools" / "official_static_filter.py"), "--cache-dir", tmp,
                        "--videos", str(ROOT / "tests" / "parity" / "videos" / "static_filter"), "--out", str(out)],
                       check=True)
        result = json.loads(out.read_text())
        version = subprocess.run([official, "-c", "import importlib.metadata as m; print(m.version('vbench'))"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        ref = {"dimension": "static_filter", "videos": "tests/parity/videos/static_filter",
               "made_by": "tools/parity_motion.py --only static_filter",
               "checkpoint": "tests/seeded_checkpoints.py:write_raft_calibrated(seed=0)",
               "fingerprint": fingerprint([path]), "versions": {"vbench": version, "torch": torch.__version__,
                                                                "python": platform.python_version()},
               **result}
    (ROOT / "tests" / "parity" / "static_filter.json").write_text(json.dumps(ref, indent=2) + "\n")
    print("wrote tests/parity/static_filter.json")


if __name__ == "__main__":
    main()
