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
        """Tag-encoder output for tag strings: ids padded to 40 (truncated), first id replaced by ``[ENC]``."""
        tok = self.tokenizer(tags, padding="max_length", truncation=True, max_length=40, return_tensors="pt")
        ids = tok["input_ids"].to(image_embeds.device)
        ids[:, 0] = self.enc_id
        mask = tok["attention_mask"].to(image_embeds.device)
        return self.tag_encoder(ids, mask, image_embeds), ids, mask

    @torch.no_grad()
    def caption_frames(self, images, num_beams=3, max_length=30, min_length=10, full=False):
        """Tags, captions (``caption[13:]`` like VBench) and intermediates for the frames of ONE video.

        VBench + transformers 4.33 quirk (spec 4.13.7, kit README quirk 5): the caption of frame k is
        generated from the tag-encoder output of frame ``k // num_beams``, so only the first
        ``ceil(n / num_beams)`` frames influence the captions. Unless ``full``, only those frames go
        through the model, and each distinct source frame is decoded once (same numbers, ~3x faster).
        ``tags`` holds the tag strings of the frames that went through the model (frame k's own tags);
        the official ``generate(return_tag_predict=True)`` returns ``tags[k // num_beams]`` for frame k.
        """
        n = images.shape[0]
        used = -(-n // num_beams)
        emb = self.image_embeds(images if full else images[:used])
        logits = self.tag_logits(emb)
        tags = self.tag_strings(logits)
        enc, enc_ids, enc_mask = self.encode_tags(tags, emb)
        prompt_ids = self.tokenizer([PROMPT], return_tensors="pt")["input_ids"][:, :-1]
        prompt_ids[:, 0] = self.bos_id
        prompt_ids = prompt_ids.repeat(used, 1).to(enc.device)
        states = enc[:used].repeat_interleave(num_beams, dim=0)

        def step(ids):
            return self.text_decoder.next_token_logits(ids, states)

        out = beam_search(step, prompt_ids, num_beams=num_beams, max_length=max_length, min_length=min_length,
                          eos=self.tokenizer.sep_token_id, pad=self.tokenizer.pad_token_id)
        out = out[torch.arange(n) // num_beams]
        captions = [self.tokenizer.decode(o, skip_special_tokens=True, clean_up_tokenization_spaces=True)[len(PROMPT):]
                    for o in out]
        return {"tags": tags, "captions": captions, "caption_ids": out, "image_embeds": emb, "logits": logits,
                "tag_encoder_ids": enc_ids, "tag_encoder_mask": enc_mask, "tag_encoder_output": enc}
