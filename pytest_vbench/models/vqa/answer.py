"""The first generated token's scores as ``generate(do_sample=False, output_scores=True)`` reports them.

t2v_metrics reads P(answer) off ``outputs.scores[0]`` of a greedy one-token ``generate``: the
last position's logits after the logits processors that the snapshot's ``generation_config.json``
switches on for greedy search. For the VQAScore backends that is the repetition penalty (Qwen's
1.05) or nothing. We run one forward pass and apply the same processor (transformers' own class),
which lets us pass the positions ourselves; any other greedy-time processor in a generation config
is refused rather than silently skipped.
"""

from __future__ import annotations

import torch

#: generation-config fields that would add a greedy-time logits processor we do not apply
_UNSUPPORTED = ("no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "suppress_tokens",
                "begin_suppress_tokens", "forced_bos_token_id", "forced_eos_token_id", "sequence_bias",
                "min_new_tokens", "exponential_decay_length_penalty", "forced_decoder_ids")


def check_generation_config(config, where: str) -> None:
    """Refuse a generation config asking for a greedy-time processor other than the repetition penalty."""
    bad = [name for name in _UNSUPPORTED if getattr(config, name, None) not in (None, 0, [], {}, ())]
    if getattr(config, "min_length", 0):
        bad.append("min_length")
    if bad:
        raise ValueError(f"{where}: generation_config.json sets {', '.join(bad)}: the VQAScore code here applies "
                         f"only the repetition penalty to the first step's scores")


def answer_probability(last_logits: torch.Tensor, input_ids: torch.Tensor, answer_id: int, config) -> float:
    """softmax(processed last-position logits)[answer_id] for a batch of one."""
    scores = last_logits.float()
    penalty = getattr(config, "repetition_penalty", None)
    if penalty is not None and penalty != 1.0:
        from transformers import RepetitionPenaltyLogitsProcessor

        scores = RepetitionPenaltyLogitsProcessor(penalty=penalty)(input_ids, scores)
    return float(torch.softmax(scores, dim=-1)[0, answer_id])
