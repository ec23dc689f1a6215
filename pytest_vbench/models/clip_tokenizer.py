"""The OpenAI CLIP BPE tokenizer as ViCLIP uses it (context length 32, EOT forced last).

Built on ``open_clip``'s ``SimpleTokenizer`` (same byte encoder, merges, BPE and text cleaning:
ftfy, double HTML unescape, whitespace collapse, lower-case). Two things are adjusted so the ids
equal the official ``vbench/third_party/ViCLIP/simple_tokenizer.py`` for every input:

* the special tokens are spelled ``<|startoftext|>`` / ``<|endoftext|>`` as in OpenAI's tokenizer
  (open_clip spells them ``<start_of_text>``); a prompt containing the literal OpenAI spelling is
  tokenized to the special id, as officially, and open_clip's spelling is ordinary text;
* the vocabulary is read from the cache file ``ViCLIP/bpe_simple_vocab_16e6.txt.gz`` (the file the
  official code reads), falling back to the identical copy bundled with open_clip.

Truncation: ``[SOT] + BPE + [EOT]`` longer than the context keeps the first ``context_length`` ids
and overwrites the last with EOT; shorter sequences are zero padded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SOT, EOT = "<|startoftext|>", "<|endoftext|>"
PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


@lru_cache(maxsize=1)
def _open_clip_tokenizer_module():
    """``open_clip.tokenizer`` without running ``open_clip/__init__`` (which imports ~7 s of models).

    The tokenizer module only needs ftfy, regex, numpy and torch, so it is loaded from its file.
    """
    import importlib.util
    import os

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the ViCLIP tokenizer needs open_clip_torch: pip install open_clip_torch")
    path = os.path.join(list(spec.submodule_search_locations)[0], "tokenizer.py")
    mspec = importlib.util.spec_from_file_location("pytest_vbench._open_clip_tokenizer", path)
    module = importlib.util.module_from_spec(mspec)
    mspec.loader.exec_module(module)
    return module


@lru_cache(maxsize=4)
def get_tokenizer(bpe_path: str | None = None):
    """A tokenizer for ``bpe_path`` (None = open_clip's bundled copy); cached per path."""
    import regex

    oc = _open_clip_tokenizer_module()
    SimpleTokenizer, default_bpe = oc.SimpleTokenizer, oc.default_bpe
    tok = SimpleTokenizer(bpe_path=bpe_path or default_bpe(), clean="lower")
    sot_id, eot_id = tok.sot_token_id, tok.eot_token_id
    for name, idx in ((SOT, sot_id), (EOT, eot_id)):
        tok.encoder[name] = idx
        tok.cache[name] = name
    # only the OpenAI spellings are special (open_clip's '<start_of_text>' becomes plain text)
    for name in ("<start_of_text>", "<end_of_text>"):
        tok.cache.pop(name, None)
    tok.pat = regex.compile(PATTERN, regex.IGNORECASE)
    return tok


def bpe_path_for(cache_dir: Path | None) -> str | None:
    """The cache's ``ViCLIP/bpe_simple_vocab_16e6.txt.gz`` when present, else None (open_clip's copy)."""
    if cache_dir is not None:
        p = Path(cache_dir) / "ViCLIP" / "bpe_simple_vocab_16e6.txt.gz"
        if p.is_file():
            return str(p)
    return None


def tokenize(texts, context_length: int = 32, bpe_path: str | None = None):
    """``(N, context_length)`` int64 ids, as the official ViCLIP ``tokenize(..., truncate=True)``."""
    import torch

    if isinstance(texts, str):
        texts = [texts]
    tok = get_tokenizer(bpe_path)
    sot, eot = tok.encoder[SOT], tok.encoder[EOT]
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [sot] + tok.encode(text) + [eot]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = eot
        out[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out
