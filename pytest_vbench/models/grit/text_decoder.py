"""GRiT's text decoder: describes each kept box from its 14x14 RoI features, greedily.

* object features (N, 196, 256) -> Linear -> LayerNorm (eps 1e-5) = 196 memory tokens;
* text tokens -> word + position embeddings -> LayerNorm (eps 1e-8);
* a 6-layer post-LN BERT encoder over ``[memory ; text]``: memory tokens attend to memory only,
  text tokens to the memory and causally to the text; queries are divided by sqrt(d) before the
  product; exact GELU; LayerNorm eps 1e-12; output layer tied to the word embeddings;
* the memory rows never see the text, so their states are computed once per box set and only the
  text rows are recomputed at each step (the official code recomputes all 196 + t rows; same
  arithmetic for the text rows up to summation order);
* greedy decoding (beam 1) with GRiT's rules: start from the task's begin token (101 ObjectDet,
  104 DenseCap); from the second generated token on, the previously emitted token gets logit
  -10000; after [SEP] only [SEP]; stop when every box has emitted [SEP] or the sequence (begin
  token included) is 40 long; every step recomputes the whole sequence; the log-probability is the
  sum of the chosen log-softmax values divided by (non-[SEP] tokens + 1 if any [SEP] - 1), at
  least 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SEP = 102
MAX_STEPS = 40
TASK_BEGIN = {"ObjectDet": 101, "DenseCap": 104}


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x, mask, context=None):
        """Queries from ``x``; keys and values from ``context`` (default ``x``)."""
        context = x if context is None else context
        b, n, d = x.shape
        hd = d // self.heads

        def split(t):
            return t.view(b, t.shape[1], self.heads, hd).permute(0, 2, 1, 3)

        q, k, v = split(self.query(x)), split(self.key(context)), split(self.value(context))
        scores = torch.matmul(q / math.sqrt(hd), k.transpose(-1, -2)) + mask
        out = torch.matmul(scores.softmax(dim=-1), v)
        return out.permute(0, 2, 1, 3).reshape(b, n, d)


class DenseNorm(nn.Module):
    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=1e-12)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.self = SelfAttention(dim, heads)
        self.output = DenseNorm(dim, dim)

    def forward(self, x, mask, context=None):
        return self.output(self.self(x, mask, context), x)


class Intermediate(nn.Module):
    def __init__(self, dim: int, ff: int):
        super().__init__()
        self.dense = nn.Linear(dim, ff)

    def forward(self, x):
        x = self.dense(x)
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Layer(nn.Module):
    def __init__(self, dim: int, heads: int, ff: int):
        super().__init__()
        self.attention = Attention(dim, heads)
        self.intermediate = Intermediate(dim, ff)
        self.output = DenseNorm(ff, dim)

    def forward(self, x, mask, context=None):
        a = self.attention(x, mask, context)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, dim: int, heads: int, ff: int, layers: int):
        super().__init__()
        self.layer = nn.ModuleList(Layer(dim, heads, ff) for _ in range(layers))

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x

    def memory_states(self, memory):
        """The memory rows' input to every layer. Memory tokens attend to the memory only, so these do
        not depend on the text and are computed once per box set (not once per decoding step)."""
        states = [memory]
        zero = memory.new_zeros(())
        for layer in self.layer[:-1]:
            states.append(layer(states[-1], zero))
        return states

    def text_rows(self, text, states, mask):
        """The text rows of ``forward([memory ; text])`` from cached memory states."""
        for layer, mem in zip(self.layer, states):
            text = layer(text, mask, torch.cat((mem, text), dim=1))
        return text


class Transformer(nn.Module):
    def __init__(self, dim, heads, ff, layers):
        super().__init__()
        self.encoder = Encoder(dim, heads, ff, layers)


class Embedding(nn.Module):
    def __init__(self, vocab: int, dim: int, positions: int):
        super().__init__()
        self.words = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(positions, dim)
        self.layer_norm = nn.LayerNorm(dim, eps=1e-8)

    def forward(self, tokens):
        pos = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0).expand_as(tokens)
        return self.layer_norm(self.words(tokens) + self.positions(pos))


class Textual(nn.Module):
    """``roi_heads.text_decoder.textual``: logits of the next token for each box."""

    def __init__(self, feature_dim=256, dim=768, heads=12, ff=3072, layers=6, vocab=30522, positions=1024):
        super().__init__()
        self.object_feature_projection = nn.Sequential(nn.Linear(feature_dim, dim), nn.LayerNorm(dim))
        self.embedding = Embedding(vocab, dim, positions)
        self.transformer = Transformer(dim, heads, ff, layers)
        self.output = nn.Linear(dim, vocab)
        self.output.weight = self.embedding.words.weight  # tied, as in the checkpoint

    def memory(self, object_features: torch.Tensor) -> torch.Tensor:
        return self.object_feature_projection(object_features)

    def memory_states(self, object_features: torch.Tensor) -> list:
        """Cached memory rows for :meth:`next_logits` (one list per set of boxes)."""
        return self.transformer.encoder.memory_states(self.memory(object_features))

    def next_logits(self, memory, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits; ``memory`` is the projected object features or their cached layer states."""
        states = memory if isinstance(memory, list) else self.transformer.encoder.memory_states(memory)
        text = self.embedding(tokens)
        m, t = states[0].shape[1], tokens.shape[1]
        dtype, dev = text.dtype, text.device
        mask = torch.zeros((t, m + t), dtype=dtype, device=dev)
        mask[:, m:] = torch.triu(torch.full((t, t), float("-inf"), dtype=dtype, device=dev), diagonal=1)
        hidden = self.transformer.encoder.text_rows(text, states, mask[None, None])
        return self.output(hidden[:, -1]).float()

    def full_logits(self, memory: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The official computation (the whole [memory ; text] sequence every step), for tests."""
        text = self.embedding(tokens)
        m, t = memory.shape[1], tokens.shape[1]
        dtype, dev = text.dtype, text.device
        mask = torch.zeros((m + t, m + t), dtype=dtype, device=dev)
        mask[:m, m:] = float("-inf")
        mask[m:, m:] = torch.triu(torch.full((t, t), float("-inf"), dtype=dtype, device=dev), diagonal=1)
        hidden = self.transformer.encoder(torch.cat((memory, text), dim=1), mask[None, None])
        return self.output(hidden[:, -1]).float()


def greedy(textual: Textual, object_features: torch.Tensor, begin: int, memory=None):
    """Greedy decoding of every box: ``(tokens (N, L) incl. begin token, logprobs (N,))``.

    ``memory``: cached memory states (``memory_states``) to share between passes over the same boxes.
    """
    n = object_features.shape[0]
    if memory is None:
        memory = textual.memory_states(object_features)
    tokens = torch.full((n, 1), begin, dtype=torch.long, device=object_features.device)
    logp = F.log_softmax(textual.next_logits(memory, tokens), dim=1)
    total, first = (t[:, 0] for t in logp.topk(1))  # topk, as GRiT's beam search (tie order)
    if bool((first == SEP).all()):
        # GRiT returns here without normalising (every description empty)
        return first[:, None], total
    tokens = torch.cat([tokens, first[:, None]], dim=1)
    while tokens.shape[1] < MAX_STEPS:
        last = tokens[:, -1]
        if bool((last == SEP).all()):
            break
        logits = textual.next_logits(memory, tokens)
        logits = logits.scatter(1, last[:, None], -10000)
        ended = last == SEP
        if ended.any():
            after_end = torch.full_like(logits, float("-inf"))
            after_end[:, SEP] = 0
            logits = torch.where(ended[:, None], after_end, logits)
        step_logp, nxt = (t[:, 0] for t in F.log_softmax(logits, dim=1).topk(1))
        total = total + step_logp
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)
    valid = (tokens != SEP).sum(dim=-1) + ((tokens == SEP).sum(dim=-1) > 0).long() - 1
    return tokens, total / valid.clip(min=1)
