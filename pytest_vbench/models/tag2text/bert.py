"""BERT stacks of Tag2Text on transformers' BERT modules, driven layer by layer with explicit masks.

transformers 5 only runs cross-attention in decoder layers (``is_decoder``), whose self-attention is
causal; Tag2Text needs a *bidirectional* tag encoder with cross-attention, a 2-layer query head
without embeddings or self-attention, and a causal caption decoder. All three are built from
``BertModel``/``BertLMHeadModel`` (``is_decoder=True, add_cross_attention=True``, eager attention) and
run here with additive masks we pass ourselves, so the masking is explicit. Cross-attention keys and
values of the encoders read 1024-wide Swin tokens (the official ``encoder_width``): those two Linear
layers are replaced by 1024 -> 768 ones.
"""

from __future__ import annotations

import torch
from torch import nn

NEG = -10000.0  # the additive mask value of the official med.py


def bert_config(layers=12, heads=12, hidden=768, intermediate=3072, vocab=30524):
    from transformers import BertConfig

    cfg = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=intermediate, max_position_embeddings=512, type_vocab_size=2,
                     layer_norm_eps=1e-12, pad_token_id=0, is_decoder=True, add_cross_attention=True,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    cfg._attn_implementation = "eager"
    return cfg


def _widen_cross(layers, encoder_width: int, hidden: int):
    for layer in layers:
        att = layer.crossattention.self
        att.key = nn.Linear(encoder_width, att.all_head_size)
        att.value = nn.Linear(encoder_width, att.all_head_size)


def _layer(layer, h, self_mask, enc, enc_mask, self_attention=True):
    if self_attention:
        h, _ = layer.attention(h, self_mask)
    h, _ = layer.crossattention(h, None, enc, enc_mask)
    return layer.feed_forward_chunk(h)


def padding_mask(mask: torch.Tensor, dtype) -> torch.Tensor:
    return ((1.0 - mask[:, None, None, :].to(dtype)) * NEG)


class TagEncoder(nn.Module):
    """12-layer bidirectional BERT with cross-attention to the image tokens (``tag_encoder``)."""

    def __init__(self, cfg, encoder_width=1024):
        super().__init__()
        from transformers import BertModel

        self.bert = BertModel(cfg, add_pooling_layer=False)
        _widen_cross(self.bert.encoder.layer, encoder_width, cfg.hidden_size)

    def forward(self, input_ids, attention_mask, image_embeds):
        h = self.bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
        m = padding_mask(attention_mask, h.dtype)
        enc_mask = torch.zeros(1, 1, 1, image_embeds.shape[1], dtype=h.dtype, device=h.device)
        for layer in self.bert.encoder.layer:
            h = _layer(layer, h, m, image_embeds, enc_mask)
        return h


class QueryHead(nn.Module):
    """``vision_multi``: label embeddings cross-attend to image tokens (no embeddings, no self-attention)."""

    def __init__(self, cfg, encoder_width=1024):
        super().__init__()
        from transformers.models.bert.modeling_bert import BertLayer

        self.layer = nn.ModuleList(BertLayer(cfg, layer_idx=i) for i in range(cfg.num_hidden_layers))
        _widen_cross(self.layer, encoder_width, cfg.hidden_size)
        for layer in self.layer:
            del layer.attention

    def forward(self, queries, image_embeds):
        h = queries
        enc_mask = torch.zeros(1, 1, 1, image_embeds.shape[1], dtype=h.dtype, device=h.device)
        for layer in self.layer:
            h = _layer(layer, h, None, image_embeds, enc_mask, self_attention=False)
        return h


class CaptionDecoder(nn.Module):
    """``text_decoder``: causal BERT LM with cross-attention to the tag-encoder output."""

    def __init__(self, cfg):
        super().__init__()
        from transformers import BertLMHeadModel

        self.lm = BertLMHeadModel(cfg)

    def next_token_logits(self, input_ids, encoder_states):
        """Logits of the next token after every sequence of ``input_ids`` (full prefix recomputed, as 4.33 did)."""
        bert = self.lm.bert
        n = input_ids.shape[1]
        h = bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
        causal = torch.full((n, n), NEG, dtype=h.dtype, device=h.device).triu(1)
        # official: (1 - causal*mask) * -10000, i.e. 0 on allowed positions, -10000 above the diagonal
        causal = causal[None, None]
        enc_mask = torch.zeros(1, 1, 1, encoder_states.shape[1], dtype=h.dtype, device=h.device)
        for layer in bert.encoder.layer:
            h = _layer(layer, h, causal, encoder_states, enc_mask)
        return self.lm.cls(h[:, -1, :])
