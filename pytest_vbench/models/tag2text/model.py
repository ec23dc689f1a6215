"""Tag2Text (``tag2text_swin_14m``) as VBench's ``scene`` uses it: tags and beam-search captions per frame."""

from __future__ import annotations

from importlib import resources

import numpy as np
import torch
from torch import nn

from .beam import beam_search
from .bert import CaptionDecoder, QueryHead, TagEncoder, bert_config
from .swin import SwinEncoder

#: count tags VBench removes from the predictions ("quarter", "two", "three", "four", "five", "one")
DELETED_TAGS = (127, 3351, 3265, 3338, 3355, 3359)
THRESHOLD = 0.7
PROMPT = "a picture of "
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def tag_names() -> list[str]:
    text = resources.files("pytest_vbench.data").joinpath("tag2text_tags.txt").read_text(encoding="utf-8")
    names = text.split("\n")[:-1]
    if len(names) != 3429:
        raise RuntimeError(f"tag2text_tags.txt holds {len(names)} names, expected 3429")
    return names


class Tag2Text(nn.Module):
    def __init__(self, tokenizer, swin: dict | None = None, bert: dict | None = None, query: dict | None = None,
                 num_class=3429, vision_width=1024, names=None):
        super().__init__()
        self.tokenizer = tokenizer
        self.visual_encoder = SwinEncoder(**(swin or {}))
        self.tag_encoder = TagEncoder(bert_config(**(bert or {})), encoder_width=vision_width)
        self.text_decoder = CaptionDecoder(bert_config(**(bert or {})))
        qcfg = dict(layers=2, heads=4)
        qcfg.update(query or {})
        self.vision_multi = QueryHead(bert_config(**qcfg), encoder_width=vision_width)
        hidden = self.vision_multi.layer[0].output.dense.out_features
        self.label_embed = nn.Embedding(num_class, hidden)
        self.fc_W = nn.Parameter(torch.zeros(1, num_class, hidden))
        self.fc_b = nn.Parameter(torch.zeros(1, num_class))
        self.names = np.array(names if names is not None else tag_names(), dtype=object)
        self.enc_id = tokenizer.convert_tokens_to_ids("[ENC]")
        self.bos_id = tokenizer.convert_tokens_to_ids("[DEC]")

    # ---- stages (exposed for parity tests) ----
    def image_embeds(self, images):
        return self.visual_encoder(images)

    def tag_logits(self, image_embeds):
        q = self.label_embed.weight.unsqueeze(0).expand(image_embeds.shape[0], -1, -1)
        h = self.vision_multi(q, image_embeds)
        return (self.fc_W * h).sum(-1) + self.fc_b

    def tag_strings(self, logits) -> list[str]:
        keep = (torch.sigmoid(logits) > THRESHOLD).cpu().numpy()
        keep[:, list(DELETED_TAGS)] = False
        return [" | ".join(self.names[np.flatnonzero(row)]) for row in keep]

    def encode_tags(self, tags: list[str], image_embeds):
        tok = self.tokenizer(tags, padding="max_length", truncation=True, max_length=40, return_tensors="pt")
        ids = tok["input_ids"].to(image_embeds.device)
        ids[:, 0] = self.enc_id
        return self.tag_encoder(ids, tok["attention_mask"].to(image_embeds.device), image_embeds), ids

    @torch.no_grad()
    def caption_frames(self, images, num_beams=3, max_length=30, min_length=10):
        """Tags, captions (``caption[13:]`` like VBench) and intermediates for a batch of frames."""
        emb = self.image_embeds(images)
        logits = self.tag_logits(emb)
        tags = self.tag_strings(logits)
        enc, enc_ids = self.encode_tags(tags, emb)
        n = images.shape[0]
        # VBench + transformers 4.33 quirk: decoder row r (frame r // k) reads tag-encoder row r of
        # the k-times repeated frame-major batch, i.e. frame k of the batch uses frame k // num_beams.
        src = torch.arange(n, device=enc.device) // num_beams
        prompt_ids = self.tokenizer([PROMPT], return_tensors="pt")["input_ids"][:, :-1]
        prompt_ids[:, 0] = self.bos_id
        prompt_ids = prompt_ids.repeat(n, 1).to(enc.device)
        states = enc[src].repeat_interleave(num_beams, dim=0)

        def step(ids):
            return self.text_decoder.next_token_logits(ids, states)

        out = beam_search(step, prompt_ids, num_beams=num_beams, max_length=max_length, min_length=min_length,
                          eos=self.tokenizer.sep_token_id, pad=self.tokenizer.pad_token_id)
        captions = [self.tokenizer.decode(o, skip_special_tokens=True, clean_up_tokenization_spaces=True)[len(PROMPT):]
                    for o in out]
        # what the official generate(return_tag_predict=True) returns: its tag list was already expanded
        # num_beams times (frame-major), and the first n entries are kept -> frame k reports frame k // num_beams
        returned = [tags[i // num_beams] for i in range(n)]
        return {"tags": tags, "returned_tags": returned, "captions": captions, "caption_ids": out, "image_embeds": emb, "logits": logits,
                "tag_encoder_ids": enc_ids, "tag_encoder_output": enc}
