"""Runs the OFFICIAL vbench 0.1.5 video-text dimensions; executed by tools/parity_video_text.py
inside the official virtualenv (never imported by pytest-vbench).

usage: python official_video_text_runner.py JOB.json OUT.json

JOB: {"cache_dir", "size": "tiny"|"full", "dimension", "full_info", "tiny": {...config...}}
Sets VBENCH_CACHE_DIR before importing vbench. For "tiny" the official builders are swapped for the
official classes constructed with the tiny widths/depths (the official code hard-codes ViT-L sizes);
everything else (loading, frames, transforms, formula) is the official code path.
For human_action, a forward hook records the sigmoid top-5 of every clip (the official code only
returns the thresholded decision).
"""

import json
import os
import sys
from functools import partial


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    os.environ["VBENCH_CACHE_DIR"] = job["cache_dir"]
    import torch
    import torch.nn as nn

    torch.set_num_threads(int(job.get("threads", 1)))
    dim = job["dimension"]
    out = {"dimension": dim, "size": job["size"]}
    if dim in ("temporal_style", "overall_consistency"):
        import vbench.third_party.ViCLIP.viclip as V
        if job["size"] == "tiny":
            from vbench.third_party.ViCLIP.viclip_text import CLIP_TEXT
            from vbench.third_party.ViCLIP.viclip_vision import VisionTransformer
            v, t = job["tiny"]["vision"], job["tiny"]["text"]

            def tiny_vision(pretrained=False, input_resolution=224, kernel_size=1, center=True, num_frames=8,
                            drop_path=0., checkpoint_num=0, dropout=0.):
                return VisionTransformer(input_resolution=input_resolution, patch_size=v["patch"], width=v["width"],
                                         layers=v["layers"], heads=max(1, v["width"] // 64), output_dim=v["out_dim"],
                                         kernel_size=kernel_size, num_frames=num_frames, drop_path=drop_path,
                                         checkpoint_num=checkpoint_num, dropout=dropout).eval()

            def tiny_text(embed_dim=768, context_length=77, vocab_size=49408, checkpoint_num=0, pretrained=True,
                          **kw):
                return CLIP_TEXT(t["out_dim"], context_length, vocab_size, t["width"], max(1, t["width"] // 64),
                                 t["layers"], checkpoint_num).eval()

            V.clip_joint_l14 = tiny_vision
            V.clip_text_l14 = tiny_text
        import importlib
        mod = importlib.import_module(f"vbench.{dim}")
        compute = getattr(mod, f"compute_{dim}")
        score, results = compute(job["full_info"], "cpu", {"pretrain": os.path.join(job["cache_dir"],
                                                                                       "ViCLIP/ViClip-InternVid-10M-FLT.pth")})
        out["score"] = float(score)
        out["video_results"] = results
        # tokenizer ids of extra texts (edge cases), via the official tokenizer + context length 32
        if job.get("texts"):
            from vbench.third_party.ViCLIP.simple_tokenizer import SimpleTokenizer
            tok = SimpleTokenizer(os.path.join(job["cache_dir"], "ViCLIP/bpe_simple_vocab_16e6.txt.gz"))
            holder = type("H", (), {"_tokenizer": tok})()
            from vbench.third_party.ViCLIP.viclip_text import CLIP_TEXT
            out["token_ids"] = CLIP_TEXT.tokenize(holder, job["texts"], context_length=32).tolist()
    elif dim == "human_action":
        import vbench.human_action as H
        captured = []

        def hook(module, inputs, output):
            probs = torch.sigmoid(output)
            values, indices = torch.topk(probs, 5, dim=1)
            captured.append({"top5_probs": values[0].tolist(), "top5_indices": indices[0].tolist()})

        if job["size"] == "tiny":
            from vbench.third_party.umt.models.modeling_finetune import VisionTransformer
            c = job["tiny"]

            def create(name, pretrained=False, **kw):
                kw = {k: v for k, v in kw.items() if v is not None}  # as timm.create_model does
                m = VisionTransformer(patch_size=c["patch"], embed_dim=c["dim"], depth=c["depth"],
                                      num_heads=max(1, c["dim"] // 64), mlp_ratio=c["hidden"] / c["dim"],
                                      qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), **kw)
                m.register_forward_hook(hook)
                return m
        else:
            orig = H.create_model

            def create(*a, **kw):
                m = orig(*a, **kw)
                m.register_forward_hook(hook)
                return m
        H.create_model = create
        path = os.path.join(job["cache_dir"], "umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth")
        score, results = H.compute_human_action(job["full_info"], "cpu", [path])
        for r, cap in zip(results, captured):
            r.update(cap)
        out["score"] = float(score)
        out["video_results"] = results
    import importlib.metadata as md
    import resource
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["versions"] = {p: md.version(p) for p in ("vbench", "torch", "torchvision", "timm", "numpy", "decord",
                                                  "opencv-python")
                       if _has(md, p)}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f, indent=1)


def _has(md, name):
    try:
        md.version(name)
        return True
    except md.PackageNotFoundError:
        return False


if __name__ == "__main__":
    main()
