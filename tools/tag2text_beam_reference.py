"""Reference token ids of the OFFICIAL Tag2Text caption decoder + transformers 4.33 beam search.

Run with the official venv (vbench 0.1.5, transformers 4.33.2):

    /work/vbench-official/bin/python tools/tag2text_beam_reference.py tests/parity/tag2text_beam.json

A reduced ``text_decoder`` (vbench's med.py ``BertLMHeadModel``, width 64, 2 layers, 2 heads, full
30524-token vocabulary) gets deterministic weights from :func:`weight` (key -> seeded normal numbers,
so our side regenerates the same tensors without this file), and ``generate`` runs beam search from
``[DEC] a picture of`` on seeded random encoder states, with several beam/length settings. The LM
bias of ``[SEP]`` is raised (by a different amount per case) so hypotheses finish at different lengths and the finished-hypothesis
bookkeeping (min_length, early stop, ranking) is exercised, unlike on the kit where every caption has
the same length. ``tests/test_scene.py`` compares our ``beam_search`` + ``CaptionDecoder`` with it.
"""

from __future__ import annotations

import json
import sys
import zlib

SEED = 20261122
SIZES = dict(hidden=64, layers=2, heads=2, intermediate=128)
WORD_STD = 0.15
PROMPT = [30522, 1037, 3861, 1997]  # [DEC] a picture of
#: (batch, memory length, num_beams, max_length, min_length, LM bias of [SEP])
CASES = [(4, 40, 3, 30, 10, 3.0), (3, 40, 3, 14, 10, 3.0), (2, 12, 4, 20, 6, 3.0), (3, 40, 2, 30, 5, 3.0),
         (8, 40, 3, 30, 10, 2.0), (8, 40, 3, 30, 10, 2.5), (8, 40, 3, 30, 10, 3.5), (8, 40, 3, 30, 10, 4.5),
         (8, 40, 3, 30, 5, 4.0), (8, 20, 5, 24, 8, 3.0), (8, 40, 3, 30, 10, 5.5), (8, 40, 2, 30, 10, 2.5)]  # num_beams=1 would be greedy search


def weight(key: str, shape, kind: str, eos_bias: float = 3.0):
    """Deterministic float32 tensor for one decoder entry (numpy only, identical in both venvs)."""
    import numpy as np
    import torch

    rs = np.random.RandomState(zlib.crc32(f"{SEED}/{key}".encode()))
    n = int(np.prod(shape))
    if kind == "ones":
        x = np.ones(n)
    elif kind in ("zeros", "lm_bias"):
        x = np.zeros(n)
        if kind == "lm_bias":
            x[102] = eos_bias
    elif key.endswith("word_embeddings.weight"):
        x = WORD_STD * rs.standard_normal(n)
    else:
        x = 0.05 * rs.standard_normal(n)
    return torch.from_numpy(x.astype(np.float32).reshape(shape))


def memory(case_index: int, batch: int, length: int, hidden: int):
    import numpy as np
    import torch

    rs = np.random.RandomState(SEED + case_index)
    return torch.from_numpy(rs.standard_normal((batch, length, hidden)).astype(np.float32))


def decoder_state(eos_bias: float = 3.0) -> dict:
    """Official ``text_decoder.*`` entries (prefix stripped) at the reduced size, values from :func:`weight`."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from pytest_vbench.fake_checkpoints import tag2text_layout

    sizes = dict(embed=16, depths=(1,), heads=(1,), window=12, hidden=SIZES["hidden"], layers=SIZES["layers"],
                 intermediate=SIZES["intermediate"], query_layers=0)
    state = {}
    for key, shape, kind in tag2text_layout(**sizes):
        if not key.startswith("text_decoder."):
            continue
        key = key[len("text_decoder."):]
        if isinstance(kind, tuple):
            state[key] = state[kind[1][len("text_decoder."):]]
        elif kind == "ids":
            import torch

            state[key] = torch.arange(shape[-1]).expand(shape).clone()
        else:
            state[key] = weight(key, shape, kind, eos_bias)
    return state


def main(out: str) -> None:
    import torch
    import transformers
    from vbench.third_party.tag2Text.med import BertConfig, BertLMHeadModel

    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    cfg = BertConfig(vocab_size=30524, hidden_size=SIZES["hidden"], num_hidden_layers=SIZES["layers"],
                     num_attention_heads=SIZES["heads"], intermediate_size=SIZES["intermediate"],
                     max_position_embeddings=512, layer_norm_eps=1e-12, pad_token_id=0, add_cross_attention=True,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    cfg.encoder_width = SIZES["hidden"]
    results = []
    for i, (batch, length, beams, max_length, min_length, eos_bias) in enumerate(CASES):
        model = BertLMHeadModel(cfg).eval()
        missing, unexpected = model.load_state_dict(decoder_state(eos_bias), strict=False)
        assert not [m for m in missing if "position_ids" not in m] and not unexpected, (missing, unexpected)
        states = memory(i, batch, length, SIZES["hidden"])
        ids = torch.tensor([PROMPT] * batch)
        outputs = model.generate(input_ids=ids, max_length=max_length, min_length=min_length, num_beams=beams,
                                 eos_token_id=102, pad_token_id=0, repetition_penalty=1.0,
                                 encoder_hidden_states=states, encoder_attention_mask=None)
        results.append({"batch": batch, "memory_length": length, "num_beams": beams, "max_length": max_length,
                        "min_length": min_length, "eos_bias": eos_bias, "token_ids": outputs.tolist()})
    doc = {"source": "tools/tag2text_beam_reference.py (official vbench 0.1.5 med.py BertLMHeadModel.generate)",
           "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
           "sizes": SIZES, "seed": SEED, "word_std": WORD_STD, "cases": results}
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
    for r in results:
        print([len([t for t in row if t]) for row in r["token_ids"]])


if __name__ == "__main__":
    main(sys.argv[1])
