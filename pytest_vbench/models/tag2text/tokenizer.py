"""The Tag2Text tokenizer from a LOCAL bert-base-uncased vocabulary (never the hub name)."""

from __future__ import annotations

import os
from pathlib import Path


def bert_dir(cache_dir: Path) -> Path:
    env = os.environ.get("VBENCH_BERT_PATH")
    return Path(env) if env else Path(cache_dir) / "bert_model" / "bert-base-uncased"


def load_tokenizer(cache_dir: Path):
    """BertTokenizer (lower case) + ``[DEC]`` as bos (30522) + ``[ENC]`` (30523), like the official init_tokenizer."""
    from transformers import BertTokenizer

    folder = bert_dir(cache_dir)
    vocab = folder / "vocab.txt"
    if not vocab.is_file():
        raise FileNotFoundError(
            f"Tag2Text needs the bert-base-uncased vocabulary at {vocab} (set VBENCH_BERT_PATH or put "
            f"bert_model/bert-base-uncased/vocab.txt in the cache dir); a hub-name tokenizer offline maps "
            f"every word to [UNK], so it is never used")
    tok = BertTokenizer.from_pretrained(str(folder), local_files_only=True, do_lower_case=True)
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    if tok.convert_tokens_to_ids("[DEC]") != 30522 or tok.convert_tokens_to_ids("[ENC]") != 30523:
        raise RuntimeError(f"{vocab}: [DEC]/[ENC] did not get ids 30522/30523; is this the bert-base-uncased vocab?")
    return tok
