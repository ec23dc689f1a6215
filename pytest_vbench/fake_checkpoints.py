"""Seeded random checkpoints in the official file formats, for tests, parity tools and dry runs.

``write(family, cache_dir, seed=0, tiny=False)`` writes the files a model family needs under the
official cache paths. Random weights make the features meaningless but exercise the same loading
code and arithmetic as the real files. ``tiny`` shrinks the architecture where our loaders infer it
from the checkpoint shapes (fast tests); the official code needs the full-size layout.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path


def _save(obj, path: Path) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def _randomise(module, seed: int, scale: float = 1.0) -> None:
    """Overwrite every parameter and buffer with seeded noise (norm weights near 1)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if not t.is_floating_point():
                continue
            noise = torch.randn(t.shape, generator=g, dtype=torch.float32)
            fan_in = t[0].numel() if t.dim() > 1 else 1
            if t.dim() <= 1 and ("norm" in name or name.endswith(("gn_root.weight", ".gn1.weight", ".gn2.weight",
                                                                    ".gn3.weight"))):
                t.copy_(1.0 + 0.1 * noise)
            elif t.dim() <= 1:
                t.copy_(0.02 * noise)
            else:
                t.copy_(scale * noise / fan_in ** 0.5)


def write_musiq(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``pyiqa_model/musiq_spaq_ckpt-358bb6af.pth``: a flat MUSIQ state dict (one output class)."""
    from pyiqa.archs.musiq_arch import MUSIQ

    kwargs = dict(hidden_size=64, mlp_dim=96, num_layers=2, num_heads=1) if tiny else {}
    model = MUSIQ(pretrained=False, num_class=1, **kwargs)
    _randomise(model, seed)
    return _save(model.state_dict(), Path(cache_dir) / "pyiqa_model" / "musiq_spaq_ckpt-358bb6af.pth")


def write_dino(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``dino_model/dino_vitbase16_pretrain.pth``: a flat state dict with DINO's (= timm's) key names."""
    import torch
    from timm.models.vision_transformer import VisionTransformer

    size = dict(embed_dim=64, depth=2, num_heads=1) if tiny else dict(embed_dim=768, depth=12, num_heads=12)
    model = VisionTransformer(img_size=224, patch_size=16, num_classes=0, qkv_bias=True,
                              norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), **size)
    _randomise(model, seed)
    return _save(model.state_dict(), Path(cache_dir) / "dino_model" / "dino_vitbase16_pretrain.pth")


def write_raft(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``raft_model/models/raft-things.pth``: RAFT-large in the ORIGINAL DataParallel key layout.

    (RAFT-large has one size; ``tiny`` is accepted and ignored.) torchvision's own seeded
    initialisation is used: plain noise makes the 20 recurrent updates diverge to NaN.
    """
    import torch
    from torchvision.models.optical_flow import raft_large

    from .models.raft import from_torchvision

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = raft_large(weights=None, progress=False)
    return _save(from_torchvision(model.state_dict()), Path(cache_dir) / "raft_model" / "models" / "raft-things.pth")


CLIP_SIZES = {
    # name: (vision width, layers, patch, text width, layers, embed dim)
    "ViT-B-32": (768, 12, 32, 512, 12, 512),
    "ViT-L-14": (1024, 24, 14, 768, 12, 768),
    "tiny-ViT-B-32": (64, 2, 32, 64, 2, 512),
    "tiny-ViT-L-14": (64, 2, 32, 64, 2, 768),  # the aesthetic head needs 768-d features
}


def write_clip(cache_dir: Path, name: str = "ViT-B-32", seed: int = 0, tiny: bool = False) -> Path:
    """``clip_model/<name>.pt``: an OpenAI-style TorchScript archive (224 px, context 77, vocab 49408).

    Only its state dict matters to both the official ``clip.load(jit=False)`` and our loader; the
    archive is a trace of an open_clip CLIP with the OpenAI key layout and QuickGELU.
    """
    import torch
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    vw, vl, patch, tw, tl, embed = CLIP_SIZES[f"tiny-{name}" if tiny else name]
    model = CLIP(embed, CLIPVisionCfg(layers=vl, width=vw, patch_size=patch, image_size=224),
                 CLIPTextCfg(context_length=77, vocab_size=49408, width=tw, heads=tw // 64, layers=tl),
                 quick_gelu=True).eval()
    _randomise(model, seed, scale=3.0)  # sharper attention: features that vary with the image
    mask = model._buffers.pop("attn_mask")  # OpenAI archives hold no attention-mask tensor: trace it as a constant
    model.attn_mask = mask
    with torch.no_grad():
        model.logit_scale.fill_(4.6052)  # ln(100), the OpenAI value
        traced = torch.jit.trace(model, (torch.zeros(1, 3, 224, 224), torch.zeros(1, 77, dtype=torch.long)),
                                 check_trace=False)
    path = Path(cache_dir) / "clip_model" / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(traced, str(path))
    return path


def write_clip_b32(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """CLIP ViT-B/32 (background_consistency, appearance_style)."""
    return write_clip(cache_dir, "ViT-B-32", seed, tiny)


def write_clip_l14(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """CLIP ViT-L/14 (aesthetic_quality)."""
    return write_clip(cache_dir, "ViT-L-14", seed, tiny)


def write_aesthetic(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth``: ``Linear(768, 1)`` state dict."""
    import torch

    head = torch.nn.Linear(768, 1)
    _randomise(head, seed, scale=3.0)
    return _save(head.state_dict(), Path(cache_dir) / "aesthetic_model" / "emb_reader" / "sa_0_4_vit_l_14_linear.pth")


#: bert-base-uncased ids of the words the fake GRiT describes boxes with (the parity kit's "pool")
GRIT_WORDS = {"person": 2711, "car": 2482, "cat": 4937, "dog": 3899, "bird": 4743, "bicycle": 10165,
              "red": 2417, "blue": 2630, "white": 2317, "green": 2665}


def write_bert_vocab(folder: Path) -> Path:
    """A SYNTHETIC 30522-entry bert-base-uncased ``vocab.txt`` for tests (no network).

    Special tokens sit at their real ids ([PAD] 0, [unused0..98] 1-99, [UNK] 100, [CLS] 101, [SEP] 102,
    [MASK] 103, [unused99] 104), the GRiT words at their real ids, the rest are ``[unusedN]``
    placeholders. Not written over an existing file.
    """
    path = Path(folder) / "vocab.txt"
    if path.is_file():
        return path
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [f"[unused{i}]" for i in range(99, 99 + 30522 - len(vocab))]
    for word, i in GRIT_WORDS.items():
        vocab[i] = word
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


GRIT_TINY = dict(vit=dict(embed_dim=64, depth=4, num_heads=1, mlp_dim=128, window_size=14, pretrain_grid=14,
                          global_blocks=(1, 3), out_channels=64, global_rel_span=63),
                 text=dict(feature_dim=64, dim=64, heads=1, ff=128, layers=2, vocab=30522, positions=64), box_dim=64)


def write_grit(cache_dir: Path, seed: int = 0, tiny: bool = False, favour: str | None = None) -> list[Path]:
    """``grit_model/grit_b_densecap_objectdet.pth`` (``{"model": state_dict}``, official key names, mask head
    included, output layer tied to the word embeddings) and a synthetic bert vocab when the cache has none.

    Init follows the parity kit's rules so that random weights give a few boxes per frame and short
    one-word descriptions: N(0, 1/fan_in) (x2 before ReLU/GELU), zero biases, unit norms, pos/rel-pos
    tables N(0, 0.02), CenterNet box bias 2, cls_score N(0, 36/fan_in) with bias (-3.25, 0), small box
    deltas, text weights N(0, 0.02) with the output bias raised for the GRiT words and lowered for [SEP],
    and a shared embedding direction that makes [SEP] follow a word. ``favour`` (one of
    ``GRIT_WORDS``) raises that word's output bias so that most boxes are described by it.
    """
    import torch

    from .models.grit.backbone import ViTConfig
    from .models.grit.predictor import Grit

    full = dict(vit={}, text=dict(feature_dim=256, dim=768, heads=12, ff=3072, layers=6, vocab=30522, positions=1024),
                box_dim=1024)
    sizes = GRIT_TINY if tiny else full
    model = Grit(ViTConfig(**sizes["vit"]), sizes["text"], sizes["box_dim"])
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std):
        return torch.randn(shape, generator=g, dtype=torch.float32) * std

    relu_before = ("fc1", "fc2", "bbox_tower", "mask_fcn", "bbox_pred.0", "deconv", "top_block.p7")
    sd = {}
    for name, t in model.state_dict().items():
        if name == "roi_heads.text_decoder.textual.output.weight":
            continue
        fan_in = t[0].numel() if t.dim() > 1 else 1
        if name.endswith("fpn_stride_16_8.weight"):
            fan_in = t.shape[0]
        textual = ".textual." in name
        if name.endswith(("pos_embed", "rel_pos_h", "rel_pos_w")) or (textual and t.dim() > 1):
            v = normal(t.shape, 0.02)
        elif t.dim() > 1:
            gain = 2.0 if any(k in name for k in relu_before) else 1.0
            v = normal(t.shape, (gain / fan_in) ** 0.5)
        elif "norm" in name.lower() or name.endswith(("scale", "bbox_tower.1.weight", "bbox_tower.4.weight",
                                                      "bbox_tower.7.weight", "bbox_tower.10.weight")):
            v = torch.ones(t.shape)
        else:
            v = torch.zeros(t.shape)
        sd[name] = v
    dim = sizes["text"]["dim"]
    for k in range(3):
        w = sd[f"roi_heads.box_predictor.{k}.cls_score.weight"]
        sd[f"roi_heads.box_predictor.{k}.cls_score.weight"] = normal(w.shape, 6.0 / w.shape[1] ** 0.5)
        sd[f"roi_heads.box_predictor.{k}.cls_score.bias"] = torch.tensor([-4.0 if tiny else -3.25, 0.0])
        w = sd[f"roi_heads.box_predictor.{k}.bbox_pred.2.weight"]
        sd[f"roi_heads.box_predictor.{k}.bbox_pred.2.weight"] = normal(w.shape, 0.5 / w.shape[1] ** 0.5)
    sd["proposal_generator.centernet_head.bbox_pred.bias"] = torch.full((4,), 2.0)
    pre = "roi_heads.text_decoder.textual."
    words = sd[pre + "embedding.words.weight"]
    pool = sorted(GRIT_WORDS.values())
    row_scale = 0.3 if tiny else 0.10  # tiny: narrow features need a stronger word direction to vary
    u = normal((dim,), 1.0)
    u = u / u.pow(2).mean().sqrt()
    for i in pool:
        r = normal((dim,), 1.0)
        words[i] += row_scale * r / r.pow(2).mean().sqrt() + 0.16 * u
    words[102] += (1.0 if tiny else 0.40) * u
    bias = sd[pre + "output.bias"]
    for word, i in GRIT_WORDS.items():
        bias[i] = 5.5 if word in ("white", "green") else 6.0
    bias[102] = -8.0
    if favour is not None:  # tests: make one word win (e.g. "car" for an object_class success)
        bias[GRIT_WORDS[favour]] += 4.0
    c = sizes["vit"].get("out_channels", 256)
    for n in range(1, 5):
        sd[f"roi_heads.mask_head.mask_fcn{n}.weight"] = normal((c, c, 3, 3), (2.0 / (c * 9)) ** 0.5)
        sd[f"roi_heads.mask_head.mask_fcn{n}.bias"] = torch.zeros(c)
    sd["roi_heads.mask_head.deconv.weight"] = normal((c, c, 2, 2), (2.0 / (c * 4)) ** 0.5)
    sd["roi_heads.mask_head.deconv.bias"] = torch.zeros(c)
    sd["roi_heads.mask_head.predictor.weight"] = normal((1, c, 1, 1), (1.0 / c) ** 0.5)
    sd["roi_heads.mask_head.predictor.bias"] = torch.zeros(1)
    sd[pre + "output.weight"] = words  # the same tensor: saved once, as in the official file
    cache_dir = Path(cache_dir)
    vocab = write_bert_vocab(cache_dir / "bert_model" / "bert-base-uncased")
    return [_save({"model": sd}, cache_dir / "grit_model" / "grit_b_densecap_objectdet.pth"), vocab]


WRITERS = {"musiq": write_musiq, "dino": write_dino, "raft": write_raft, "clip_b32": write_clip_b32, "clip_l14": write_clip_l14,
           "aesthetic": write_aesthetic, "grit": write_grit}


def write(family: str, cache_dir: Path, seed: int = 0, tiny: bool = False) -> list[Path]:
    """Write the checkpoint(s) of ``family``; returns the paths written."""
    out = WRITERS[family](Path(cache_dir), seed=seed, tiny=tiny)
    return out if isinstance(out, list) else [out]
