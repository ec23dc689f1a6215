"""The Tag2Text tokenizer from a LOCAL bert-base-uncased vocabulary (never the hub name).

A tokenizer resolved from the hub name ``bert-base-uncased`` while offline can silently fall back to
a vocabulary that maps every word to ``[UNK]``: captions and tags would still come out, all wrong.
So only ``weights.bert_dir`` (``$VBENCH_BERT_PATH`` or ``<cache>/bert_model/bert-base-uncased``) is
read, and a missing or foreign vocabulary is an error.
"""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import CheckpointError

VOCAB_SIZE = 30522


def load_tokenizer(cache_dir: Path):
    """BertTokenizer (lower case) + ``[DEC]`` as bos (30522) + ``[ENC]`` (30523), like the official init_tokenizer."""
    from transformers import BertTokenizer

    from ... import weights

    folder = weights.bert_dir(Path(cache_dir))
    vocab = folder / "vocab.txt"
    if not vocab.is_file():
        raise CheckpointError(
            f"Tag2Text needs the bert-base-uncased vocabulary at {vocab} (set VBENCH_BERT_PATH to a folder "
            f"holding vocab.txt, or fetch it with `pytest-vbench download --dimension scene`); the hub name "
            f"is never used because offline it maps every word to [UNK]")
    tok = BertTokenizer(str(vocab), do_lower_case=True)
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    if len(tok) != VOCAB_SIZE + 2 or tok.convert_tokens_to_ids("[DEC]") != 30522 \
            or tok.convert_tokens_to_ids("[ENC]") != 30523:
        raise CheckpointError(f"{vocab}: {len(tok) - 2} entries and [DEC]/[ENC] not at 30522/30523; "
                              f"is this the bert-base-uncased vocabulary?")
    return tok
