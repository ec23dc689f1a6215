"""Seeded random checkpoints in the official file formats, for tests, parity tools and dry runs.

``write(family, cache_dir, seed=0, tiny=False)`` writes the files a model family needs under the
official cache paths. Random weights make the features meaningless but exercise the same loading
code and arithmetic as the real files. ``tiny`` shrinks the architecture where our loaders infer it
from the checkpoint shapes (fast tests); the official code needs the full-size layout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


#: Tag2Text architecture sizes: the official swin_b / med_config / q2l_config, and a reduced one for fast tests
TAG2TEXT_FULL = dict(embed=128, depths=(2, 2, 18, 2), heads=(4, 8, 16, 32), window=12, hidden=768, layers=12,
                     intermediate=3072, query_layers=2)
TAG2TEXT_TINY = dict(embed=16, depths=(1, 1, 1, 1), heads=(1, 1, 1, 2), window=12, hidden=64, layers=2,
                     intermediate=128, query_layers=2)
TAG2TEXT_VOCAB = 30524  # bert-base-uncased 30522 + [DEC] + [ENC]
TAG2TEXT_CLASSES = 3429


def tag2text_layout(embed, depths, heads, window, hidden, layers, intermediate, query_layers) -> list[tuple]:
    """The official ``tag2text_swin_14m.pth`` entries for given sizes, in the official order.

    Each entry is ``(key, shape, kind)``; kind is ``linear`` (weight of a Linear/Conv), ``table``
    (Swin relative-position bias), ``embed`` (BERT embedding tables, label embeddings), ``ones``/``zeros``
    (norms and biases), ``ids`` (int64 ``position_ids``), ``fc_W``/``fc_b`` (the group-wise tag classifier),
    ``lm_bias``, or ``("tie", other_key)`` for a tensor stored as the same object as ``other_key``.
    The Swin buffers ``relative_position_index``/``attn_mask`` are absent (the official loader deletes them).
    """
    out: list[tuple] = []
    v = "visual_encoder."
    out += [(v + "patch_embed.proj.weight", (embed, 3, 4, 4), "linear"), (v + "patch_embed.proj.bias", (embed,), "zeros"),
            (v + "patch_embed.norm.weight", (embed,), "ones"), (v + "patch_embed.norm.bias", (embed,), "zeros")]
    dim = embed
    for i, (depth, nh) in enumerate(zip(depths, heads)):
        for j in range(depth):
            b = f"{v}layers.{i}.blocks.{j}."
            out += [(b + "norm1.weight", (dim,), "ones"), (b + "norm1.bias", (dim,), "zeros"),
                    (b + "attn.relative_position_bias_table", ((2 * window - 1) ** 2, nh), "table"),
                    (b + "attn.qkv.weight", (3 * dim, dim), "linear"), (b + "attn.qkv.bias", (3 * dim,), "zeros"),
                    (b + "attn.proj.weight", (dim, dim), "linear"), (b + "attn.proj.bias", (dim,), "zeros"),
                    (b + "norm2.weight", (dim,), "ones"), (b + "norm2.bias", (dim,), "zeros"),
                    (b + "mlp.fc1.weight", (4 * dim, dim), "linear"), (b + "mlp.fc1.bias", (4 * dim,), "zeros"),
                    (b + "mlp.fc2.weight", (dim, 4 * dim), "linear"), (b + "mlp.fc2.bias", (dim,), "zeros")]
        if i < len(depths) - 1:
            d = f"{v}layers.{i}.downsample."
            out += [(d + "reduction.weight", (2 * dim, 4 * dim), "linear"), (d + "norm.weight", (4 * dim,), "ones"),
                    (d + "norm.bias", (4 * dim,), "zeros")]
            dim *= 2
    out += [(v + "norm.weight", (dim,), "ones"), (v + "norm.bias", (dim,), "zeros")]
    width = dim

    def bert_layer(p, self_attention=True, cross_width=hidden):
        rows = []
        parts = (["attention"] if self_attention else []) + ["crossattention"]
        for part in parts:
            kv = hidden if part == "attention" else cross_width
            rows += [(f"{p}{part}.self.query.weight", (hidden, hidden), "embed"), (f"{p}{part}.self.query.bias", (hidden,), "zeros"),
                     (f"{p}{part}.self.key.weight", (hidden, kv), "embed"), (f"{p}{part}.self.key.bias", (hidden,), "zeros"),
                     (f"{p}{part}.self.value.weight", (hidden, kv), "embed"), (f"{p}{part}.self.value.bias", (hidden,), "zeros"),
                     (f"{p}{part}.output.dense.weight", (hidden, hidden), "embed"), (f"{p}{part}.output.dense.bias", (hidden,), "zeros"),
                     (f"{p}{part}.output.LayerNorm.weight", (hidden,), "ones"), (f"{p}{part}.output.LayerNorm.bias", (hidden,), "zeros")]
        rows += [(f"{p}intermediate.dense.weight", (intermediate, hidden), "embed"), (f"{p}intermediate.dense.bias", (intermediate,), "zeros"),
                 (f"{p}output.dense.weight", (hidden, intermediate), "embed"), (f"{p}output.dense.bias", (hidden,), "zeros"),
                 (f"{p}output.LayerNorm.weight", (hidden,), "ones"), (f"{p}output.LayerNorm.bias", (hidden,), "zeros")]
        return rows

    def embeddings(p):
        return [(p + "position_ids", (1, 512), "ids"), (p + "word_embeddings.weight", (TAG2TEXT_VOCAB, hidden), "embed"),
                (p + "position_embeddings.weight", (512, hidden), "embed"), (p + "LayerNorm.weight", (hidden,), "ones"),
                (p + "LayerNorm.bias", (hidden,), "zeros")]

    # text_decoder: BertLMHeadModel, cross-attention to the tag-encoder output (width = hidden)
    out += embeddings("text_decoder.bert.embeddings.")
    for i in range(layers):
        out += bert_layer(f"text_decoder.bert.encoder.layer.{i}.")
    c = "text_decoder.cls.predictions."
    out += [(c + "bias", (TAG2TEXT_VOCAB,), "lm_bias"), (c + "transform.dense.weight", (hidden, hidden), "embed"),
            (c + "transform.dense.bias", (hidden,), "zeros"), (c + "transform.LayerNorm.weight", (hidden,), "ones"),
            (c + "transform.LayerNorm.bias", (hidden,), "zeros"),
            (c + "decoder.weight", (TAG2TEXT_VOCAB, hidden), ("tie", "text_decoder.bert.embeddings.word_embeddings.weight")),
            (c + "decoder.bias", (TAG2TEXT_VOCAB,), ("tie", c + "bias"))]
    # tag_encoder: BertModel without pooler, cross-attention to the Swin tokens (width = Swin output)
    out += embeddings("tag_encoder.embeddings.")
    for i in range(layers):
        out += bert_layer(f"tag_encoder.encoder.layer.{i}.", cross_width=width)
    # vision_multi: no embeddings, no self-attention, tied to the first tag-encoder layers
    for i in range(query_layers):
        for key, shape, _ in bert_layer(f"vision_multi.encoder.layer.{i}.", self_attention=False, cross_width=width):
            out.append((key, shape, ("tie", key.replace("vision_multi.", "tag_encoder.", 1))))
    out += [("label_embed.weight", (TAG2TEXT_CLASSES, hidden), "embed"), ("fc.W", (1, TAG2TEXT_CLASSES, hidden), "fc_W"),
            ("fc.b", (1, TAG2TEXT_CLASSES), "fc_b")]
    return out


#: words whose LM bias the fake Tag2Text raises, so captions are made of them (like the parity kit)
TAG2TEXT_CAPTION_WORDS = ("tower", "water", "beach", "park", "river")


def write_bert_vocab(folder: Path) -> Path:
    """A SYNTHETIC bert-base-uncased folder for tests (no network): ``config.json``, ``tokenizer_config.json``
    and a 30522-line ``vocab.txt`` with the special tokens and ``GRIT_WORDS`` at their real
    bert-base-uncased ids, single characters and ``##`` continuations (so any word tokenizes), a few
    whole words; the rest ``[unusedN]``. Not written over an existing ``vocab.txt``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "tokenizer_config.json").is_file():
        (folder / "tokenizer_config.json").write_text('{"do_lower_case": true}', encoding="utf-8")
    if not (folder / "config.json").is_file():  # bert-base-uncased's published sizes (not read by our loader)
        (folder / "config.json").write_text(json.dumps({
            "architectures": ["BertForMaskedLM"], "hidden_size": 768, "intermediate_size": 3072,
            "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
            "num_hidden_layers": 12, "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": 30522}), encoding="utf-8")
    path = folder / "vocab.txt"
    if path.is_file():
        return path
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    words = ["a", "picture", "of", "the", "and", "in", "on", "with", *TAG2TEXT_CAPTION_WORDS, "bridge", "amusement",
             "street", "kitchen", "alley", "barn"]
    rest = chars + ["##" + c for c in chars] + [w for w in words if w not in chars]
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + rest
    vocab += [f"[unused{i}]" for i in range(99, 99 + 30522 - len(vocab))]
    # GRiT's words at their real ids (above everything the Tag2Text tests place)
    for word, i in GRIT_WORDS.items():
        vocab[i] = word
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


GRIT_TINY: dict = dict(vit=dict(embed_dim=64, depth=4, num_heads=1, mlp_dim=128, window_size=14, pretrain_grid=14,
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

    full: dict = dict(vit={}, text=dict(feature_dim=256, dim=768, heads=12, ff=3072, layers=6, vocab=30522, positions=1024),
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
        bias[GRIT_WORDS[favour]] += 12.0
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


write_tag2text_vocab = write_bert_vocab  # the name the Tag2Text tests use


def write_tag2text(cache_dir: Path, seed: int = 0, tiny: bool = False, boost: bool = True) -> list[Path]:
    """``caption_model/tag2text_swin_14m.pth`` in the official layout (``{"model": state_dict}``, tied
    tensors stored once under both names, Swin index/mask buffers absent), plus a synthetic
    ``bert_model/bert-base-uncased/vocab.txt`` when the cache has none.

    Init like the parity kit: N(0, 1/fan_in) Swin weights, N(0, 0.02) BERT weights and tables, unit
    norms, zero biases, group-wise classifier N(0, 16/width) with bias -8.5 (a few dozen tags per frame
    pass 0.7 at full size). With ``boost`` the LM output bias favours ``TAG2TEXT_CAPTION_WORDS`` and
    ``[SEP]`` so captions are short and made of those words.
    """
    import torch

    from .models.tag2text.tokenizer import load_tokenizer

    cache_dir = Path(cache_dir)
    write_tag2text_vocab(cache_dir / "bert_model" / "bert-base-uncased")
    sizes = TAG2TEXT_TINY if tiny else TAG2TEXT_FULL
    g = torch.Generator().manual_seed(seed)
    state: dict = {}
    boosted = []
    if boost:
        tok = load_tokenizer(cache_dir)
        boosted = [i for w in TAG2TEXT_CAPTION_WORDS for i in tok.convert_tokens_to_ids([w]) if i != tok.unk_token_id]
    for key, shape, kind in tag2text_layout(**sizes):
        if isinstance(kind, tuple):
            state[key] = state[kind[1]]
            continue
        if kind == "ids":
            state[key] = torch.arange(shape[-1], dtype=torch.int64).expand(shape).clone()
            continue
        t = torch.randn(shape, generator=g)
        if kind == "linear":
            fan_in = t[0].numel()
            t *= (2.0 if ".fc1." in key else 1.0) ** 0.5 / fan_in ** 0.5
        elif kind in ("table", "embed"):
            t *= 0.02
        elif kind == "fc_W":
            t *= (16.0 / shape[-1]) ** 0.5
        elif kind == "fc_b":
            t = torch.full(shape, -8.5)
        elif kind == "ones":
            t = torch.ones(shape)
        else:  # zeros, lm_bias
            t = torch.zeros(shape)
            if kind == "lm_bias" and boost:
                t[boosted] = 6.0
                t[102] = 9.0  # [SEP]
        state[key] = t
    return [_save({"model": state}, cache_dir / "caption_model" / "tag2text_swin_14m.pth")]


def write_amt(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``amt_model/amt-s.pth``: ``{'state_dict': ...}`` of AMT-S with the official key names.

    (AMT-S has one size; ``tiny`` is accepted and ignored: the network is small.) Seeded noise
    scaled by fan-in gives finite, frame-dependent interpolations, so motion_smoothness varies
    from video to video.
    """
    from .models.amt import AMTS

    model = AMTS()
    _randomise(model, seed)
    return _save({"state_dict": model.state_dict()}, Path(cache_dir) / "amt_model" / "amt-s.pth")


#: ViCLIP sizes (the official ViT-L/14 video tower and CLIP text tower; a reduced one for dry runs)
VICLIP_FULL = {"vision": dict(width=1024, layers=24, patch=14, kernel_t=1, grid=16, frames=8, out_dim=768),
               "text": dict(width=768, layers=12, vocab=49408, context=32, out_dim=768)}
VICLIP_TINY = {"vision": dict(width=64, layers=2, patch=14, kernel_t=1, grid=16, frames=8, out_dim=32),
               "text": dict(width=64, layers=2, vocab=49408, context=32, out_dim=32)}
UMT_FULL = dict(dim=1024, depth=24, patch=16, tubelet=1, hidden=4096, classes=400)
UMT_TINY = dict(dim=64, depth=2, patch=16, tubelet=1, hidden=256, classes=400)


def write_viclip(cache_dir: Path, seed: int = 0, tiny: bool = False) -> list[Path]:
    """``ViCLIP/ViClip-InternVid-10M-FLT.pth`` (``{"model": state_dict}``, official key names) and the BPE
    vocabulary ``ViCLIP/bpe_simple_vocab_16e6.txt.gz`` (copied from open_clip: the identical file)."""
    import shutil

    import torch

    from .models.clip_tokenizer import _open_clip_tokenizer_module
    from .models.viclip import ViCLIP

    model = ViCLIP(VICLIP_TINY if tiny else VICLIP_FULL)
    _randomise(model, seed)
    with torch.no_grad():
        model.temp.fill_(0.01)
    path = _save({"model": model.state_dict()}, Path(cache_dir) / "ViCLIP" / "ViClip-InternVid-10M-FLT.pth")
    bpe = Path(cache_dir) / "ViCLIP" / "bpe_simple_vocab_16e6.txt.gz"
    if not bpe.is_file():
        shutil.copyfile(_open_clip_tokenizer_module().default_bpe(), bpe)
    return [path, bpe]


def write_umt(cache_dir: Path, seed: int = 0, tiny: bool = False) -> Path:
    """``umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth``: the bare classifier state dict (no ``pos_embed``:
    the official file has none; the model uses its sinusoid table)."""
    from .models.umt import UMTClassifier

    model = UMTClassifier(UMT_TINY if tiny else UMT_FULL)
    _randomise(model, seed)
    return _save(model.state_dict(), Path(cache_dir) / "umt_model" / "l16_ptk710_ftk710_ftk400_f16_res224.pth")


WRITERS: dict[str, Callable[..., Path | list[Path]]] = {
    "musiq": write_musiq, "dino": write_dino, "raft": write_raft, "amt": write_amt, "clip_b32": write_clip_b32,
    "clip_l14": write_clip_l14, "aesthetic": write_aesthetic, "tag2text": write_tag2text, "grit": write_grit,
    "viclip": write_viclip, "umt": write_umt}


def write(family: str, cache_dir: Path, seed: int = 0, tiny: bool = False) -> list[Path]:
    """Write the checkpoint(s) of ``family``; returns the paths written."""
    try:
        writer = WRITERS[family]
    except KeyError:
        raise ValueError(f"no fake checkpoint writer for model family {family!r} (fake families: "
                         f"{', '.join(WRITERS)})") from None
    out = writer(Path(cache_dir), seed=seed, tiny=tiny)
    return out if isinstance(out, list) else [out]


# ------------------------------------------------------------------------------------ fake caches
#: the marker file of a cache written by ``pytest-vbench fake-cache``: every report made with it says FAKE
MARKER = "FAKE-CHECKPOINTS.json"  # = weights.FAKE_MARKER
FAKE_NOTE = ("FAKE CHECKPOINTS: the cache {cache} holds seeded random weights written by `pytest-vbench "
             "fake-cache`; these scores are meaningless (a dry run of the CI wiring)")


def families_for(dims: list[str]) -> list[str]:
    """Model families (required and optional) that ``dims`` use, in table order."""
    from .dimensions import DIMENSIONS

    out: list[str] = []
    for name in dims:
        d = DIMENSIONS[name]
        out += [f for f in (*d.families, *d.optional_families) if f not in out]
    return out


def write_fake_cache(cache_dir: Path, dims: list[str], seed: int = 0) -> list[Path]:
    """Tiny seeded checkpoints of every family ``dims`` need, plus the marker file (written last)."""
    cache_dir = Path(cache_dir)
    families = families_for(dims)
    missing = [f for f in families if f not in WRITERS]
    if missing:
        raise ValueError(f"no fake checkpoint writer for model famil{'y' if len(missing) == 1 else 'ies'} "
                         f"{', '.join(missing)} (needed by {', '.join(dims)})")
    written: list[Path] = []
    for i, family in enumerate(families):
        written += write(family, cache_dir, seed=seed + i, tiny=True)
    marker = cache_dir / MARKER
    old = fake_marker(cache_dir) or {}
    info = {"fake": True, "written_by": "pytest-vbench fake-cache", "seed": seed,
            "families": sorted(set(old.get("families", [])) | set(families)),
            "note": "seeded random weights for dry runs of CI wiring; scores made with them are meaningless"}
    tmp = marker.with_name(marker.name + ".part")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    tmp.replace(marker)
    return [*written, marker]


def fake_marker(cache_dir: Path | None) -> dict | None:
    """The marker of a fake cache (a dict), or None for a real one."""
    if cache_dir is None:
        return None
    path = Path(cache_dir) / MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}
