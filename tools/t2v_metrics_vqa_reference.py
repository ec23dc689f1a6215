"""Run t2v_metrics 3.0's own VQAScore code on a (tiny) snapshot and videos; write per-video P("Yes").

Runs in the side virtualenv described in ``tools/README.md`` (t2v_metrics 3.0 installed with
``--no-deps``, transformers 4.49.0, qwen-vl-utils, decord, accelerate). It never runs in the
project's environment. Usage::

    /work/venvs/t2v/bin/python tools/t2v_metrics_vqa_reference.py --backend qwen2.5-vl-7b \
        --snapshot SNAPSHOT_DIR --videos VIDEO_DIR --out tests/parity/vqa_score_qwen2_5_vl.json

Prompts come from the video file names (the custom-mode rule: stem minus a trailing ``-<digits>``).
What is changed from a stock call, and why:

- ``t2v_metrics/__init__.py`` imports every backend (and their many dependencies); this script
  registers empty parent packages instead and imports only the backend module it runs.
- the model table entry's hub ids are pointed at the local snapshot (``checkpoint=`` for the model,
  the ``tokenizer.path`` entry for the processor), and its ``torch_dtype`` is set to float32 so that
  the CPU reference is not rounded to bfloat16 (the real default on GPU stays bfloat16), and its
  ``attn_implementation`` is set to ``sdpa`` (3.0 asks for ``flash_attention_2``, which needs CUDA and
  the flash-attn package; the attention maths is the same).
Everything else (templates, chat template, frame sampling, preprocessing, ``generate``, which
token counts as "Yes") is the package's own code, called with its defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata as md
import json
import re
import sys
import types
from pathlib import Path


def _stub_packages() -> None:
    """Register t2v_metrics' parent packages without running their ``__init__`` (which imports everything)."""
    spec = importlib.util.find_spec("t2v_metrics")
    root = Path(spec.origin).parent
    for name, sub in (("t2v_metrics", ""), ("t2v_metrics.models", "models"),
                      ("t2v_metrics.models.vqascore_models", "models/vqascore_models")):
        mod = types.ModuleType(name)
        mod.__path__ = [str(root / sub)]
        sys.modules[name] = mod


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def prompt_of(name: str) -> str:
    """The custom-mode prompt of a file name."""
    return re.sub(r"-\d+$", "", Path(name).stem)


def qwen(args, videos: list[Path]) -> dict:
    """Qwen2.5-VL through ``t2v_metrics.models.vqascore_models.qwen2vl_model.Qwen2VLModel.forward``."""
    import inspect

    import torch

    module = importlib.import_module("t2v_metrics.models.vqascore_models.qwen2vl_model")
    entry = module.QWEN2_VL_MODELS[args.backend]
    entry["tokenizer"]["path"] = str(args.snapshot)
    entry["model"]["torch_dtype"] = torch.float32
    entry["model"]["attn_implementation"] = "sdpa"  # 3.0 asks for flash_attention_2 (CUDA only)
    model = module.Qwen2VLModel(args.backend, device="cpu", checkpoint=str(args.snapshot))
    defaults = {k: v.default for k, v in inspect.signature(model.forward).parameters.items()
                if v.default is not inspect.Parameter.empty}
    kwargs = {}
    if args.fps is not None:
        kwargs["fps"] = args.fps
    if args.question is not None:
        kwargs["question_template"] = args.question
    if args.answer is not None:
        kwargs["answer_template"] = args.answer
    out = {}
    for path in videos:
        with torch.no_grad():
            p = model.forward([str(path)], [prompt_of(path.name)], **kwargs)
        out[path.name] = float(p[0])
    return {"results": out, "forward_kwargs": kwargs, "defaults": {k: v for k, v in defaults.items() if isinstance(v, (str, int, float))},
            "fps": entry.get("fps")}


BACKENDS = {"qwen2.5-vl-3b": qwen, "qwen2.5-vl-7b": qwen, "qwen2.5-vl-32b": qwen, "qwen2.5-vl-72b": qwen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", required=True, choices=sorted(BACKENDS))
    ap.add_argument("--snapshot", required=True, type=Path)
    ap.add_argument("--videos", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--fps", type=float, default=None, help="forward(fps=...) (default: the package's 8.0)")
    ap.add_argument("--question", default=None, help="forward(question_template=...)")
    ap.add_argument("--answer", default=None, help="forward(answer_template=...)")
    args = ap.parse_args()
    _stub_packages()
    videos = sorted(p for p in args.videos.iterdir() if p.suffix == ".mp4")
    found = BACKENDS[args.backend](args, videos)
    record = {
        "backend": args.backend,
        "snapshot": {p.name: _sha(p) for p in sorted(args.snapshot.iterdir()) if p.is_file()},
        "videos": {p.name: _sha(p) for p in videos},
        "prompts": {p.name: prompt_of(p.name) for p in videos},
        **found,
        "versions": {n: _version(n) for n in ("t2v_metrics", "transformers", "torch", "torchvision",
                                              "qwen-vl-utils", "decord", "tokenizers", "accelerate")},
    }
    args.out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(record["results"], indent=2))


if __name__ == "__main__":
    main()
