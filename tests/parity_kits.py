"""The official GRiT and Tag2Text parity kits, committed under ``tests/parity/{grit,tag2text}``.

Each kit holds the official vbench 0.1.5 outputs (``reference/*.json``) on its clips (``videos/``)
with a random-weight checkpoint described tensor by tensor in ``manifest.json``; this module writes
that checkpoint bit-exactly (checked against ``fingerprints.json``) and the bert-base-uncased folder
(from the committed ``tests/parity/bert-base-uncased/vocab.txt``, sha256-checked) into a folder laid
out as the VBench cache. Nothing is downloaded. How the kits were made: ``docs/parity.md``.

Manifest rules (``init`` of each ``[key, shape, dtype, init]`` row): ``normal {std, mean=0}``,
``uniform {low, high}``, ``zeros``, ``ones``, ``const {value}``, ``arange`` (last axis), ``tie
{key}`` (the same tensor object as another key), then optional ``edits`` (``set``/``add`` rows,
``add_direction``: ``scale`` times an RMS-1 vector drawn under ``direction/<name>``). Random numbers
for key K: ``numpy.random.RandomState(crc32(f"{global_seed}/{K}"))``, float64, C order, cast after
scaling (RandomState streams are frozen by NumPy's compatibility policy).
"""

from __future__ import annotations

import collections
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

PARITY = Path(__file__).resolve().parent / "parity"
KITS = {"grit": PARITY / "grit", "tag2text": PARITY / "tag2text"}
VOCAB = PARITY / "bert-base-uncased" / "vocab.txt"
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
#: bert-base-uncased's published config.json (the tokenizer reads only a few fields; all are written)
BERT_CONFIG = {
    "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute",
    "transformers_version": "4.6.0.dev0", "type_vocab_size": 2, "use_cache": True, "vocab_size": 30522,
}
_DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "float16": np.float16}


class KitInputMissing(AssertionError):
    """A committed parity input is missing or altered: a failure, never a skip."""


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise fail naming it (the kits are part of the repository)."""
    if not path.exists():
        raise KitInputMissing(f"parity input missing: {path} (committed under tests/parity/; restore it "
                              f"with git checkout)")
    return path


def load_json(path: Path) -> Any:
    """A committed kit JSON (failing, not skipping, when it is absent)."""
    return json.loads(require(path).read_text(encoding="utf-8"))


def _seed(global_seed: int, key: str) -> int:
    return zlib.crc32(f"{global_seed}/{key}".encode())


def _direction(global_seed: int, name: str, size: int) -> np.ndarray:
    d = np.random.RandomState(_seed(global_seed, "direction/" + name)).standard_normal(size)
    return d / np.sqrt(np.mean(d * d))


def make_array(global_seed: int, key: str, shape: list[int], dtype: str, init: dict[str, Any]) -> np.ndarray:
    """The array of one manifest row (not for ``tie`` rows)."""
    n = int(np.prod(shape)) if shape else 1
    rule = init["rule"]
    rs = np.random.RandomState(_seed(global_seed, key))
    if rule == "normal":
        x = init.get("mean", 0.0) + init["std"] * rs.standard_normal(n)
    elif rule == "uniform":
        x = init["low"] + (init["high"] - init["low"]) * rs.random_sample(n)
    elif rule in ("zeros", "ones", "const"):
        x = np.full(n, {"zeros": 0.0, "ones": 1.0}.get(rule, float(init.get("value", 0.0))))
    elif rule == "arange":
        x = np.broadcast_to(np.arange(shape[-1]), shape).reshape(-1)
    else:
        raise ValueError(f"{key}: unknown rule {rule!r}")
    x = np.array(x, dtype=np.int64 if rule == "arange" else np.float64).reshape(shape)
    for edit in init.get("edits", []):
        idx = edit.get("index")
        sel = slice(None) if idx is None else np.asarray(idx, dtype=np.int64)
        if edit["op"] == "set":
            x[sel] = edit["value"]
        elif edit["op"] == "add":
            x[sel] += edit["value"]
        elif edit["op"] == "add_direction":
            x[sel] += edit["scale"] * _direction(global_seed, edit["direction"], shape[-1])
        else:
            raise ValueError(f"{key}: unknown edit op {edit['op']!r}")
    return x.astype(_DTYPES[dtype])


def build_state_dict(manifest: dict[str, Any]) -> collections.OrderedDict[str, Any]:
    """key -> torch tensor, in the manifest's (official) order; tied keys share one tensor."""
    import torch

    sd: collections.OrderedDict[str, Any] = collections.OrderedDict()
    for key, shape, dtype, init in manifest["tensors"]:
        if init["rule"] == "tie":
            sd[key] = sd[init["key"]]
        else:
            sd[key] = torch.from_numpy(make_array(manifest["global_seed"], key, list(shape), dtype, init))
    return sd


def tensor_fingerprints(sd: dict[str, Any]) -> dict[str, str]:
    """First 16 hex digits of the sha256 of each tensor's bytes (the kits' ``sha256_16``)."""
    return {k: hashlib.sha256(np.ascontiguousarray(v.numpy()).tobytes()).hexdigest()[:16] for k, v in sd.items()}


def write_checkpoint(kit: str, out: Path) -> None:
    """Write ``kit``'s checkpoint to ``out``; fail when any tensor differs from the kit's fingerprints."""
    import torch

    manifest = load_json(KITS[kit] / "manifest.json")
    sd = build_state_dict(manifest)
    want = {k: v["sha256_16"] for k, v in load_json(KITS[kit] / "fingerprints.json").items()}
    got = tensor_fingerprints(sd)
    bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    if bad:
        raise AssertionError(f"{kit}: {len(bad)} tensors differ from the kit's fingerprints, e.g. {bad[:5]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    top = manifest.get("top_level_key")
    torch.save({top: sd} if top else sd, out)


def write_bert_dir(out: Path) -> None:
    """bert-base-uncased's tokenizer folder (vocab.txt, tokenizer_config.json, config.json)."""
    vocab = require(VOCAB).read_bytes()
    if hashlib.sha256(vocab).hexdigest() != VOCAB_SHA256:
        raise KitInputMissing(f"{VOCAB} is not bert-base-uncased's vocabulary (sha256 mismatch)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_bytes(vocab)
    (out / "tokenizer_config.json").write_text('{"do_lower_case": true, "model_max_length": 512}')
    (out / "config.json").write_text(json.dumps(BERT_CONFIG, indent=2))


def build_kit_cache(kit: str, root: Path) -> Path:
    """``root`` laid out as the VBench cache with ``kit``'s checkpoint and the bert folder; reused when complete."""
    manifest = load_json(KITS[kit] / "manifest.json")
    ckpt = root / manifest["file"]
    done = root / f".{kit}-kit-complete"
    if not (done.is_file() and ckpt.is_file()):
        write_checkpoint(kit, ckpt)
        write_bert_dir(root / "bert_model" / "bert-base-uncased")
        done.write_text("ok")
    return root


def cache_root(request: Any, tmp_path_factory: Any, kit: str, env: str) -> Path:
    """Where a kit cache is built: ``$<env>``, else pytest's cache dir (kept between runs), else a temp dir."""
    import os

    if os.environ.get(env):
        return Path(os.environ[env])
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    return Path(cache.mkdir(f"{kit}-kit")) if cache is not None else Path(tmp_path_factory.mktemp(f"{kit}-kit"))
