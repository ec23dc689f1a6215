"""Load ``caption_model/tag2text_swin_14m.pth`` (official format) into :class:`Tag2Text`.

Official layout (``torch.save({"model": state_dict})``): ``visual_encoder.*`` (Microsoft Swin, the
``relative_position_index``/``attn_mask`` buffers deleted by the official loader, which rebuilds
them), ``label_embed.weight``, ``vision_multi.encoder.layer.{0,1}.*`` (no embeddings, no
self-attention; tied to ``tag_encoder.encoder.layer.{0,1}``), ``tag_encoder.*`` (BERT, no pooler,
no token-type table), ``text_decoder.*`` (BertLMHeadModel, decoder weight tied to the word
embeddings), ``fc.W``/``fc.b``, and int64 ``*.position_ids``.

The architecture sizes are read from the tensor shapes, so reduced test checkpoints load too:
Swin embed dim / depths / heads from the patch embedding, the block indices and the bias tables
(window from the table rows), BERT width / depth / FFN size from the tables. Head counts are not in
the shapes: the official ones are width/64 for the tag encoder and decoder (12 at 768) and width/192
for the tag head (4 at 768); the same rule applies to reduced checkpoints (at least one head).
The image size is the official 384 (scene feeds 384x384 frames).

Every tensor of the file must be used and every parameter of the model filled (besides the rebuilt
buffers): a :class:`~pytest_vbench.models.checkpoint.CheckpointError` names the offending keys.
"""

from __future__ import annotations

import re

import torch

from ..checkpoint import CheckpointError, no_random_init
from .model import Tag2Text
from .swin import map_official_keys
from .tokenizer import load_tokenizer

CHECKPOINT = "caption_model/tag2text_swin_14m.pth"
#: model entries the checkpoint does not hold: rebuilt Swin buffers, BERT's token-type table (zeroed:
#: the official BERT has none) and position-id buffers
REBUILT = ("relative_position_index", "attn_mask", "token_type_embeddings.weight", "position_ids")


def convert_state(state: dict) -> dict:
    """Official key names -> this package's module names (``position_ids`` dropped: buffers here)."""
    out = {}
    vis = {k[len("visual_encoder."):]: v for k, v in state.items() if k.startswith("visual_encoder.")}
    for k, v in map_official_keys(vis).items():
        out[f"visual_encoder.swin.{k}"] = v
    for k, v in state.items():
        if k.startswith("visual_encoder.") or k.endswith("embeddings.position_ids"):
            continue
        if k.startswith("tag_encoder."):
            out["tag_encoder.bert." + k[len("tag_encoder."):]] = v
        elif k.startswith("text_decoder."):
            out["text_decoder.lm." + k[len("text_decoder."):]] = v
        elif k.startswith("vision_multi.encoder."):
            out["vision_multi." + k[len("vision_multi.encoder."):]] = v
        elif k == "fc.W":
            out["fc_W"] = v
        elif k == "fc.b":
            out["fc_b"] = v
        else:
            out[k] = v
    return out


def _count(state: dict, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state if (m := rx.match(k))})


def infer_config(state: dict) -> dict:
    """Architecture keyword arguments of :class:`Tag2Text` from the official tensors' shapes."""
    try:
        embed = state["visual_encoder.patch_embed.proj.weight"].shape[0]
        stages = _count(state, r"visual_encoder\.layers\.(\d+)\.")
        depths = tuple(_count(state, rf"visual_encoder\.layers\.{i}\.blocks\.(\d+)\.") for i in range(stages))
        tables = [state[f"visual_encoder.layers.{i}.blocks.0.attn.relative_position_bias_table"] for i in range(stages)]
        heads = tuple(t.shape[1] for t in tables)
        window = (round(tables[0].shape[0] ** 0.5) + 1) // 2
        words = state["text_decoder.bert.embeddings.word_embeddings.weight"]
        hidden = words.shape[1]
        bert = dict(layers=_count(state, r"text_decoder\.bert\.encoder\.layer\.(\d+)\."), heads=max(1, hidden // 64),
                    hidden=hidden, vocab=words.shape[0],
                    intermediate=state["text_decoder.bert.encoder.layer.0.intermediate.dense.weight"].shape[0])
        qhidden = state["label_embed.weight"].shape[1]
        query = dict(layers=_count(state, r"vision_multi\.encoder\.layer\.(\d+)\."), heads=max(1, qhidden // 192),
                     hidden=qhidden, vocab=bert["vocab"],
                     intermediate=state["vision_multi.encoder.layer.0.intermediate.dense.weight"].shape[0])
        return dict(swin=dict(embed_dim=embed, depths=depths, num_heads=heads, window_size=window),
                    bert=bert, query=query, num_class=state["label_embed.weight"].shape[0],
                    vision_width=embed * 2 ** (stages - 1))
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"not a Tag2Text (swin_b) checkpoint: cannot read its sizes ({exc})") from None


def check_state(model: Tag2Text, conv: dict, source) -> None:
    """Strict key and shape check of a converted state against the model (rebuilt buffers aside)."""
    expected = model.state_dict()
    missing = sorted(k for k in expected if k not in conv and not k.endswith(REBUILT))
    unexpected = sorted(k for k in conv if k not in expected)
    shapes = sorted(k for k in conv if k in expected and tuple(conv[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or shapes:
        def show(keys):
            return ", ".join(keys[:6]) + (f" … (+{len(keys) - 6})" if len(keys) > 6 else "")
        parts = [f"{len(v)} {what}: {show(v)}" for what, v in
                 (("missing key(s)", missing), ("unexpected key(s)", unexpected), ("shape mismatch(es)", shapes)) if v]
        raise CheckpointError(f"{source} does not match Tag2Text: {'; '.join(parts)}")


def build_from_state(state: dict, tokenizer, source="checkpoint") -> Tag2Text:
    """A ready (eval) model from an official-format state dict."""
    config = infer_config(state)
    with no_random_init():  # every parameter comes from the checkpoint (strict check below)
        model = Tag2Text(tokenizer, **config)
    conv = convert_state(state)
    check_state(model, conv, source)
    model.load_state_dict(conv, strict=False)
    with torch.no_grad():  # the official BERT embeddings have no token types: make HF's add nothing
        for bert in (model.tag_encoder.bert, model.text_decoder.lm.bert):
            bert.embeddings.token_type_embeddings.weight.zero_()
    return model.eval()


def load(runtime):
    from ..checkpoint import load_state_dict, resolve

    tok = load_tokenizer(runtime.cache_dir)  # first: a missing vocabulary is the cheaper error
    path = resolve(CHECKPOINT, runtime)
    state = load_state_dict(path, unwrap=("model",))
    return build_from_state(state, tok, path).to(runtime.device)
