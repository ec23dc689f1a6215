"""Make tests/parity/dynamic_degree.json with the official vbench 0.1.5 (per-pair scores included).

    python tools/parity_motion.py --official ../vbench-official/bin/python

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
    args = ap.parse_args()
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


if __name__ == "__main__":
    main()
