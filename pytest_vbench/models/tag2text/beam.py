"""Beam search with the semantics of transformers 4.33 ``generate(num_beams=k)`` (no sampling).

Per step: log_softmax of the last position's logits; EOS set to -inf while the sequence length is
below ``min_length``; add the running beam scores; top 2k over (beam, token); candidates in rank order:
an EOS candidate of rank < k becomes a finished hypothesis (tokens *without* the EOS, score = sum of
log-probs / total length incl. prompt), any other fills the next beams until k are chosen. A sequence
is done when it holds k hypotheses and the worst of them is >= best running sum / (current length + 1).
Stop when all are done or the length reaches ``max_length``; open beams of unfinished sequences are
added as hypotheses; the best one is returned, followed by EOS if shorter than the longest, then pad.
"""

from __future__ import annotations

import torch


class _Hyps:
    def __init__(self, k: int):
        self.k = k
        self.items: list[tuple[float, torch.Tensor]] = []
        self.worst = 1e9

    def add(self, tokens: torch.Tensor, sum_logprobs: float) -> None:
        score = sum_logprobs / tokens.shape[-1]
        if len(self.items) < self.k or score > self.worst:
            self.items.append((score, tokens))
            if len(self.items) > self.k:
                ranked = sorted((s, i) for i, (s, _) in enumerate(self.items))
                del self.items[ranked[0][1]]
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum: float, cur_len: int) -> bool:
        if len(self.items) < self.k:
            return False
        return self.worst >= best_sum / cur_len


@torch.no_grad()
def beam_search(step_logits, prompt: torch.Tensor, *, num_beams=3, max_length=30, min_length=10, eos=102, pad=0):
    """``step_logits(ids (B*k, L)) -> logits (B*k, V)``; ``prompt`` (B, L0). Returns (B, L) token ids."""
    bsz = prompt.shape[0]
    k = num_beams
    dev = prompt.device
    ids = prompt.repeat_interleave(k, dim=0)
    scores = torch.zeros(bsz, k, dtype=torch.float32, device=dev)
    scores[:, 1:] = -1e9
    scores = scores.view(-1)
    hyps = [_Hyps(k) for _ in range(bsz)]
    done = [False] * bsz
    while True:
        cur = ids.shape[1]
        logp = torch.log_softmax(step_logits(ids).float(), dim=-1)
        if cur < min_length:
            logp[:, eos] = -float("inf")
        vocab = logp.shape[-1]
        total = (logp + scores[:, None]).view(bsz, k * vocab)
        top_scores, top_tok = torch.topk(total, 2 * k, dim=1, largest=True, sorted=True)
        top_scores, top_tok = top_scores.cpu(), top_tok.cpu()  # the bookkeeping runs on the host
        beam_of = torch.div(top_tok, vocab, rounding_mode="floor")
        tok_of = top_tok % vocab
        new_scores = torch.zeros(bsz, k)
        new_tokens = torch.zeros(bsz, k, dtype=torch.long)
        new_src = torch.zeros(bsz, k, dtype=torch.long)
        for b in range(bsz):
            if done[b]:
                new_tokens[b] = pad
                continue
            j = 0
            for rank in range(2 * k):
                src = b * k + int(beam_of[b, rank])
                token = int(tok_of[b, rank])
                if token == eos:
                    if rank >= k:
                        continue
                    hyps[b].add(ids[src].cpu().clone(), float(top_scores[b, rank]))
                else:
                    new_scores[b, j] = top_scores[b, rank]
                    new_tokens[b, j] = token
                    new_src[b, j] = src
                    j += 1
                if j == k:
                    break
            done[b] = done[b] or hyps[b].is_done(float(top_scores[b].max()), cur + 1)
        scores = new_scores.view(-1).to(dev)
        ids = torch.cat([ids[new_src.view(-1).to(dev)], new_tokens.view(-1, 1).to(dev)], dim=1)
        if all(done) or ids.shape[1] >= max_length:
            break
    best = []
    for b in range(bsz):
        if not done[b]:
            for j in range(k):
                hyps[b].add(ids[b * k + j].cpu(), float(scores[b * k + j]))
        # stable sort by score, take the last: among equal scores the latest added wins (as 4.33 did)
        best.append(sorted(hyps[b].items, key=lambda t: t[0])[-1][1])  # noqa: FURB192 (not max: ties)
    lengths = [len(t) for t in best]
    width = min(max(lengths) + 1, max_length)
    out = torch.full((bsz, width), pad, dtype=torch.long)
    for b, t in enumerate(best):
        out[b, : len(t)] = t
        if len(t) < width:
            out[b, len(t)] = eos
    return out
