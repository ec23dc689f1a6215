"""Run t2v_metrics 3.0's own VQAScore code on a (tiny) snapshot and videos; write per-video P("Yes").

Runs in the side virtualenv described in ``tools/README.md`` (t2v_metrics 3.0 installed with
``--no-deps``, transformers 4.49.0, qwen-vl-utils, decord, accelerate). It never runs in the
project's environment. Usage::

    /work/venvs/t2v/bin/python tools/t2v_metrics_vqa_reference.py --backend qwen2.5-vl-7b \
        --snapshot SNAPSHOT_DIR --videos VIDEO_DIR --out tests/parity/vqa_score_qwen2_5_vl.json

Backends: Qwen2.5-VL (``qwen2.5-vl-*``), LLaVA-OneVision (``llava-onevision-qwen2-7b-*``: needs
LLaVA-NeXT's ``llava`` package on ``PYTHONPATH``, see :func:`llava_ov`) and InternVL3 (``internvl3-*``:
needs OpenGVLab/InternVL's ``internvl_chat`` on ``PYTHONPATH`` and ``peft``, see :func:`internvl`).
The snapshot is always the one our code reads (Hugging Face layout); for LLaVA-OneVision and InternVL3
the script writes the original layout t2v_metrics reads from the same tensors.

Prompts come from the video file names (the custom-mode rule: stem minus a trailing ``-<digits>``).
What is changed from a stock call, and why (Qwen; the other backends' functions list theirs):

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


def tensor_digest(path: Path) -> str:
    """sha256 over the names, dtypes, shapes and bytes of a safetensors file's tensors (tests/test_vqa_score.py)."""
    from safetensors import safe_open

    h = hashlib.sha256()
    with safe_open(str(path), "pt") as f:
        for name in sorted(f.keys()):
            t = f.get_tensor(name).contiguous()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


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


SIGLIP_ID = "google/siglip-so400m-patch14-384"  # lmms-lab configs' mm_vision_tower


def lmms_lab_snapshot(hf: Path, out: Path, hub_cache: Path) -> Path:
    """Write the lmms-lab (LLaVA-NeXT) form of a llava-hf LLaVA-OneVision snapshot: same tensors, its names and config.

    The inverse of transformers' ``convert_llava_onevision_weights_to_hf.py`` renaming. LLaVA-NeXT loads the
    SigLIP tower from ``mm_vision_tower`` and then drops its last layer, so the tower folder written here
    has one layer more (a copy of the last one; it is dropped before use) than the llava-hf vision config.
    """
    import shutil

    import torch
    from safetensors.torch import load_file, save_file
    from transformers import SiglipVisionConfig, SiglipVisionModel

    out.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((hf / "config.json").read_text(encoding="utf-8"))
    text, vision = cfg["text_config"], cfg["vision_config"]
    hub = load_file(str(hf / "model.safetensors"))
    renamed, tower = {}, {}
    for name, t in hub.items():
        if name.startswith("language_model.model."):
            renamed["model." + name[len("language_model.model."):]] = t
        elif name == "language_model.lm_head.weight":
            renamed["lm_head.weight"] = t
        elif name.startswith("vision_tower."):
            renamed["model.vision_tower.vision_tower." + name[len("vision_tower."):]] = t  # keeps "vision_model."
            tower[name[len("vision_tower."):]] = t
        elif name.startswith("multi_modal_projector.linear_"):
            idx = {"1": "0", "2": "2"}[name[len("multi_modal_projector.linear_")]]
            renamed[f"model.mm_projector.{idx}." + name.rsplit(".", 1)[1]] = t
        elif name == "image_newline":
            renamed["model.image_newline"] = t
        else:
            raise KeyError(f"unexpected tensor {name}")
    save_file(renamed, str(out / "model.safetensors"), metadata={"format": "pt"})
    # the SigLIP tower folder (mm_vision_tower; the name must contain "siglip")
    n = vision["num_hidden_layers"]
    vcfg = SiglipVisionConfig(**{k: v for k, v in vision.items() if k != "model_type"})
    vcfg.num_hidden_layers = n + 1
    tower_model = SiglipVisionModel(vcfg)
    last = {k.replace(f"encoder.layers.{n - 1}.", f"encoder.layers.{n}."): v for k, v in tower.items()
            if f"encoder.layers.{n - 1}." in k}
    state = {**tower, **last}
    for k, v in tower_model.state_dict().items():  # the head (deleted by LLaVA-NeXT) keeps its random init
        state.setdefault(k, v)
    tower_model.load_state_dict(state)
    snap = hub_cache / ("models--" + SIGLIP_ID.replace("/", "--")) / "snapshots" / "local"
    tower_model.to(torch.float32).save_pretrained(snap)
    (snap.parents[1] / "refs").mkdir(parents=True, exist_ok=True)
    (snap.parents[1] / "refs" / "main").write_text("local", encoding="utf-8")
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "generation_config.json"):
        shutil.copy(hf / f, out / f)
    config = {
        **{k: v for k, v in text.items() if k not in ("model_type", "architectures")},
        "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava",
        "mm_vision_tower": SIGLIP_ID, "mm_hidden_size": vision["hidden_size"],
        "mm_projector_type": "mlp2x_gelu", "mm_vision_select_layer": -2, "mm_vision_select_feature": "patch",
        "mm_patch_merge_type": "spatial_unpad", "mm_spatial_pool_mode": "bilinear",
        "mm_tunable_parts": "mm_vision_tower,mm_mlp_adapter,mm_language_model",
        "image_aspect_ratio": "anyres_max_9", "image_grid_pinpoints": cfg["image_grid_pinpoints"],
        "mm_use_im_start_end": False, "mm_use_im_patch_token": False, "tokenizer_model_max_length": 32768,
        "tokenizer_padding_side": "right", "torch_dtype": "float32", "use_cache": True,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


class _KeepFloat32:
    """Wraps LLaVA-NeXT's image processor so that t2v_metrics' ``.half()`` on the pixel values keeps float32."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def preprocess(self, images, return_tensors):
        import torch

        class Float32(torch.Tensor):
            def half(self, *args, **kwargs):  # the CPU reference stays float32 (see the module docstring)
                return self.as_subclass(torch.Tensor).float()

        out = self.inner.preprocess(images, return_tensors=return_tensors)
        out["pixel_values"] = out["pixel_values"].as_subclass(Float32)
        return out


def llava_ov(args, videos: list[Path]) -> dict:
    """LLaVA-OneVision through ``t2v_metrics.models.vqascore_models.llavaov_model.LLaVAOneVisionModel.forward``.

    Needs LLaVA-NeXT's ``llava`` package on ``PYTHONPATH`` (it is not on PyPI: t2v_metrics' README installs
    it from its git repository). The llava-hf snapshot given is turned into the lmms-lab form first
    (:func:`lmms_lab_snapshot`).
    """
    import inspect
    import os
    import pdb
    import tempfile

    work = Path(tempfile.mkdtemp())
    os.environ["HF_HUB_CACHE"] = str(work / "hub")  # before huggingface_hub reads its constants
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    lmms = lmms_lab_snapshot(args.snapshot, work / "llava_qwen", work / "hub")
    import decord

    # a stock ``import t2v_metrics`` imports internvideo_model (and others), which set decord's bridge to torch
    # for the whole process; llavaov_model relies on it (``get_batch(...).numpy()``)
    decord.bridge.set_bridge("torch")
    module = importlib.import_module("t2v_metrics.models.vqascore_models.llavaov_model")
    entry = module.LLAVA_OV_MODELS[args.backend]
    entry["tokenizer"]["path"] = entry["model"]["path"] = str(lmms)
    original = module.load_pretrained_model

    def load_float32(*a, **kw):
        # LLaVA-NeXT's builder offers float16/bfloat16 only; any other torch_dtype falls into a
        # pdb.set_trace() and then loads with from_pretrained's default, float32: silence the pdb stop
        saved = pdb.set_trace
        pdb.set_trace = lambda *x, **y: None
        try:
            tokenizer, model, processor, n = original(*a, torch_dtype="float32", **kw)
        finally:
            pdb.set_trace = saved
        return tokenizer, model.float(), _KeepFloat32(processor), n

    module.load_pretrained_model = load_float32
    model = module.LLaVAOneVisionModel(args.backend, device="cpu")
    assert next(model.model.parameters()).dtype == torch.float32
    defaults = {k: v.default for k, v in inspect.signature(model.forward).parameters.items()
                if v.default is not inspect.Parameter.empty}
    kwargs = {}
    if args.frames is not None:
        kwargs["num_frames"] = args.frames
    if args.question is not None:
        kwargs["question_template"] = args.question
    if args.answer is not None:
        kwargs["answer_template"] = args.answer
    out = {}
    for path in videos:
        with torch.no_grad():
            p = model.forward([str(path)], [prompt_of(path.name)], **kwargs)
        out[path.name] = float(p[0])
    return {"results": out, "forward_kwargs": kwargs,
            "defaults": {k: v for k, v in defaults.items() if isinstance(v, (str, int, float))}}


def internvl_chat_snapshot(hf: Path, out: Path) -> Path:
    """Write the OpenGVLab (InternVLChatModel) form of an InternVL ``-hf`` snapshot: same tensors, its names and config.

    The inverse of transformers' ``convert_internvl_weights_to_hf.py`` renaming for an InternViT +
    Qwen2 model: q/k/v concatenated back into ``attn.qkv``, ``lambda_*`` -> ``ls*``, the projector's
    LayerNorm/Linear/Linear -> ``mlp1.0/1/3``, the language model under ``language_model.model``.
    """
    import re as _re
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((hf / "config.json").read_text(encoding="utf-8"))
    text, vision = cfg["text_config"], cfg["vision_config"]
    hub = load_file(str(hf / "model.safetensors"))
    renamed = {}
    simple = [(r"^model\.vision_tower\.embeddings\.cls_token$", "vision_model.embeddings.class_embedding"),
              (r"^model\.vision_tower\.embeddings\.position_embeddings$", "vision_model.embeddings.position_embedding"),
              (r"^model\.vision_tower\.embeddings\.patch_embeddings\.projection\.", "vision_model.embeddings.patch_embedding."),
              (r"^model\.vision_tower\.encoder\.layer\.(\d+)\.attention\.projection_layer\.",
               r"vision_model.encoder.layers.\1.attn.proj."),
              (r"^model\.vision_tower\.encoder\.layer\.(\d+)\.lambda_1$", r"vision_model.encoder.layers.\1.ls1"),
              (r"^model\.vision_tower\.encoder\.layer\.(\d+)\.lambda_2$", r"vision_model.encoder.layers.\1.ls2"),
              (r"^model\.vision_tower\.encoder\.layer\.(\d+)\.layernorm_before\.", r"vision_model.encoder.layers.\1.norm1."),
              (r"^model\.vision_tower\.encoder\.layer\.(\d+)\.layernorm_after\.", r"vision_model.encoder.layers.\1.norm2."),
              (r"^model\.vision_tower\.encoder\.layer\.(\d+)\.mlp\.", r"vision_model.encoder.layers.\1.mlp."),
              (r"^model\.multi_modal_projector\.layer_norm\.", "mlp1.0."),
              (r"^model\.multi_modal_projector\.linear_1\.", "mlp1.1."),
              (r"^model\.multi_modal_projector\.linear_2\.", "mlp1.3."),
              (r"^model\.language_model\.", "language_model.model."),
              (r"^lm_head\.", "language_model.lm_head.")]
    qkv: dict = {}
    for name, t in hub.items():
        m = _re.match(r"^model\.vision_tower\.encoder\.layer\.(\d+)\.attention\.([qkv])_proj\.(weight|bias)$", name)
        if m:
            qkv.setdefault((m[1], m[3]), {})[m[2]] = t
            continue
        for pattern, repl in simple:
            if _re.match(pattern, name):
                renamed[_re.sub(pattern, repl, name)] = t
                break
        else:
            raise KeyError(f"unexpected tensor {name}")
    for (layer, kind), parts in qkv.items():
        renamed[f"vision_model.encoder.layers.{layer}.attn.qkv.{kind}"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    save_file(renamed, str(out / "model.safetensors"), metadata={"format": "pt"})
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "generation_config.json"):
        shutil.copy(hf / f, out / f)
    size = vision["image_size"][0] if isinstance(vision["image_size"], list) else vision["image_size"]
    patch = vision["patch_size"][0] if isinstance(vision["patch_size"], list) else vision["patch_size"]
    config = {
        "architectures": ["InternVLChatModel"], "model_type": "internvl_chat", "torch_dtype": "float32",
        "template": "internvl2_5", "select_layer": cfg["vision_feature_layer"], "downsample_ratio": cfg["downsample_ratio"],
        "ps_version": "v2", "force_image_size": size, "dynamic_image_size": True, "use_thumbnail": True,
        "max_dynamic_patch": 12, "min_dynamic_patch": 1, "pad2square": False,
        "vision_config": {"architectures": ["InternVisionModel"], "model_type": "intern_vit_6b",
                          "hidden_size": vision["hidden_size"], "intermediate_size": vision["intermediate_size"],
                          "num_hidden_layers": vision["num_hidden_layers"],
                          "num_attention_heads": vision["num_attention_heads"], "image_size": size, "patch_size": patch,
                          "num_channels": 3, "qkv_bias": vision["attention_bias"], "qk_normalization": vision["use_qk_norm"],
                          "norm_type": vision["norm_type"], "layer_norm_eps": vision["layer_norm_eps"],
                          "hidden_act": vision["hidden_act"], "drop_path_rate": 0.0, "dropout": 0.0,
                          "attention_dropout": 0.0, "initializer_factor": 0.1, "use_flash_attn": False},
        "llm_config": {**{k: v for k, v in text.items() if k != "model_type"}, "architectures": ["Qwen2ForCausalLM"],
                       "model_type": "qwen2"},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def internvl(args, videos: list[Path]) -> dict:
    """InternVL3 through ``t2v_metrics.models.vqascore_models.internvl_model.InternVL2Model.forward``.

    t2v_metrics loads OpenGVLab's checkpoints with ``trust_remote_code`` (the hub's
    ``modeling_internvl_chat.py``), which cannot be fetched here. The same model code is public in
    OpenGVLab/InternVL (``internvl_chat/internvl/model/internvl_chat``): put ``internvl_chat`` on
    ``PYTHONPATH`` (with ``peft``, which it imports); this function hands t2v_metrics that
    ``InternVLChatModel`` where it would call ``AutoModel.from_pretrained(..., trust_remote_code=True)``,
    loaded from the snapshot turned into OpenGVLab's form (:func:`internvl_chat_snapshot`).
    Everything else is t2v_metrics' own forward.
    """
    import inspect
    import os
    import tempfile

    work = Path(tempfile.mkdtemp())
    os.environ["HF_HUB_OFFLINE"] = "1"
    import decord
    import torch

    decord.bridge.set_bridge("torch")  # as a stock ``import t2v_metrics`` leaves it (``vr[i].numpy()``)
    chat = internvl_chat_snapshot(args.snapshot, work / "internvl_chat")
    from internvl.model.internvl_chat.modeling_internvl_chat import InternVLChatModel

    module = importlib.import_module("t2v_metrics.models.vqascore_models.internvl_model")
    entry = module.INTERNVL2_MODELS[args.backend]
    entry["tokenizer"]["path"] = entry["model"]["pretrained_model_name_or_path"] = str(chat)
    entry["model"]["torch_dtype"] = torch.float32  # CPU reference in float32 (3.0 asks for bfloat16)

    class _AutoModel:  # stands in for the remote code: the same class from the public repository
        @staticmethod
        def from_pretrained(pretrained_model_name_or_path, trust_remote_code=None, **kw):
            return InternVLChatModel.from_pretrained(pretrained_model_name_or_path, **kw)

    module.AutoModel = _AutoModel
    model = module.InternVL2Model(args.backend, device="cpu")
    assert next(model.model.parameters()).dtype == torch.float32
    defaults = {k: v.default for k, v in inspect.signature(model.forward).parameters.items()
                if v.default is not inspect.Parameter.empty}
    kwargs = {}
    if args.frames is not None:
        kwargs["num_frames"] = args.frames
    if args.question is not None:
        kwargs["question_template"] = args.question
    if args.answer is not None:
        kwargs["answer_template"] = args.answer
    out = {}
    for path in videos:
        with torch.no_grad():
            p = model.forward([str(path)], [prompt_of(path.name)], **kwargs)
        out[path.name] = float(p[0])
    return {"results": out, "forward_kwargs": kwargs, "system_message": model.model.system_message,
            "defaults": {k: v for k, v in defaults.items() if isinstance(v, (str, int, float))}}


BACKENDS = {"internvl3-8b": internvl, "internvl3-14b": internvl, "internvl3-78b": internvl,
            "qwen2.5-vl-3b": qwen, "qwen2.5-vl-7b": qwen, "qwen2.5-vl-32b": qwen, "qwen2.5-vl-72b": qwen,
            "llava-onevision-qwen2-7b-ov": llava_ov, "llava-onevision-qwen2-7b-si": llava_ov}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", required=True, choices=sorted(BACKENDS))
    ap.add_argument("--snapshot", required=True, type=Path)
    ap.add_argument("--videos", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--fps", type=float, default=None, help="forward(fps=...) (default: the package's 8.0)")
    ap.add_argument("--llava-next-commit", default=None, help="the LLaVA-NeXT commit on PYTHONPATH (recorded)")
    ap.add_argument("--internvl-commit", default=None, help="the OpenGVLab/InternVL commit on PYTHONPATH (recorded)")
    ap.add_argument("--frames", type=int, default=None, help="forward(num_frames=...) (LLaVA-OneVision; default 16)")
    ap.add_argument("--question", default=None, help="forward(question_template=...)")
    ap.add_argument("--answer", default=None, help="forward(answer_template=...)")
    args = ap.parse_args()
    _stub_packages()
    videos = sorted(p for p in args.videos.iterdir() if p.suffix == ".mp4")
    found = BACKENDS[args.backend](args, videos)
    record = {
        "backend": args.backend,
        "snapshot": {p.name: _sha(p) for p in sorted(args.snapshot.iterdir()) if p.is_file()},
        "snapshot_tensors": {"model.safetensors": tensor_digest(args.snapshot / "model.safetensors")},
        "videos": {p.name: _sha(p) for p in videos},
        "prompts": {p.name: prompt_of(p.name) for p in videos},
        **found,
        **({"llava_next_commit": args.llava_next_commit} if args.llava_next_commit else {}),
        **({"internvl_commit": args.internvl_commit} if args.internvl_commit else {}),
        "versions": {n: _version(n) for n in ("t2v_metrics", "transformers", "torch", "torchvision",
                                              "qwen-vl-utils", "decord", "tokenizers", "accelerate", "pillow",
                                              "numpy", "safetensors")},
    }
    args.out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(record["results"], indent=2))


if __name__ == "__main__":
    main()
