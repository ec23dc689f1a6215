"""Load ``caption_model/tag2text_swin_14m.pth`` (official format) into :class:`Tag2Text`."""

from __future__ import annotations

import torch

from .model import Tag2Text
from .swin import map_official_keys
from .tokenizer import load_tokenizer

CHECKPOINT = "caption_model/tag2text_swin_14m.pth"


def convert_state(state: dict) -> dict:
    """Official key names -> this package's module names."""
    out = {}
    vis = {k[len("visual_encoder."):]: v for k, v in state.items() if k.startswith("visual_encoder.")}
    for k, v in map_official_keys(vis).items():
        out[f"visual_encoder.swin.{k}"] = v
    for k, v in state.items():
        if k.startswith("visual_encoder.") or k.endswith("position_ids"):
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


def build_from_state(state: dict, tokenizer, **kw) -> Tag2Text:
    model = Tag2Text(tokenizer, **kw)
    conv = convert_state(state)
    missing, unexpected = model.load_state_dict(conv, strict=False)
    missing = [m for m in missing if not m.endswith(("relative_position_index", "attn_mask", "position_ids"))
               and "token_type_embeddings" not in m]
    if missing or unexpected:
        raise RuntimeError(f"Tag2Text checkpoint does not fit: missing {missing[:8]}, unexpected {unexpected[:8]}")
    with torch.no_grad():  # the official BERT embeddings have no token types: make HF's add nothing
        for bert in (model.tag_encoder.bert, model.text_decoder.lm.bert):
            bert.embeddings.token_type_embeddings.weight.zero_()
    return model.eval()


def load(runtime):
    from ..checkpoint import load_state_dict, resolve

    path = resolve(CHECKPOINT, runtime)
    state = load_state_dict(path, unwrap=("model",))
    tok = load_tokenizer(runtime.cache_dir)
    return build_from_state(state, tok).to(runtime.device)
