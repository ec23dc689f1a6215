"""VQAScore models: which video-language models score ``vqa_score``, their options and their loading.

A model lives in the cache as a Hugging Face snapshot folder ``<cache>/vqa_model/<name>/``
(``config.json``, weights in safetensors, tokenizer files; for Qwen2.5-VL also
``preprocessor_config.json``, ``chat_template.json``, ``generation_config.json``) and is loaded with
``local_files_only``: nothing is fetched at run time. ``<name>`` is t2v_metrics' model name
(``qwen2.5-vl-7b``, ``llava-onevision-qwen2-7b-ov``, ``internvl3-8b``); any other folder name works
too (its ``config.json`` ``model_type`` says which backend reads it: :data:`BACKENDS`). Importing this
module (and running :func:`preflight`) does not import torch (the plugin reads the options through it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

#: t2v_metrics 3.0's defaults for Qwen2.5-VL (``qwen2vl_model.py``), the default backend; each backend
#: module has its own ``DEFAULTS`` (LLaVA-OneVision: another question, 16 frames)
DEFAULT_QUESTION = 'Does this image show "{}"?'
DEFAULT_ANSWER = "Yes"
DEFAULT_FPS = 8.0
DEFAULT_MODEL = "qwen2.5-vl-7b"


@dataclass(frozen=True)
class VQAModel:
    """One known model: t2v_metrics name, hub repository, backend, bf16 weight memory."""

    name: str
    repo: str
    backend: str  # config.json model_type
    params_b: float  # parameters (billions), as the model page lists them
    t2v_parity: bool  # our per-video P(Yes) checked against t2v_metrics' own code

    @property
    def weights_gb(self) -> float:
        """GPU memory for the bf16 weights alone (2 bytes a parameter); activations come on top."""
        return round(self.params_b * 2 * 1e9 / 2 ** 30, 1)


MODELS: dict[str, VQAModel] = {m.name: m for m in (
    VQAModel("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2_5_vl", 3.75, True),
    VQAModel("qwen2.5-vl-7b", "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", 8.29, True),
    VQAModel("qwen2.5-vl-32b", "Qwen/Qwen2.5-VL-32B-Instruct", "qwen2_5_vl", 33.5, True),
    VQAModel("qwen2.5-vl-72b", "Qwen/Qwen2.5-VL-72B-Instruct", "qwen2_5_vl", 73.4, True),
    # t2v_metrics reads lmms-lab's checkpoints with LLaVA-NeXT's code; we read the llava-hf conversions
    VQAModel("llava-onevision-qwen2-7b-ov", "llava-hf/llava-onevision-qwen2-7b-ov-hf", "llava_onevision", 8.03, True),
    VQAModel("llava-onevision-qwen2-7b-si", "llava-hf/llava-onevision-qwen2-7b-si-hf", "llava_onevision", 8.03, True),
    VQAModel("llava-onevision-qwen2-0.5b-ov", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", "llava_onevision", 0.89,
             True),
    # t2v_metrics reads OpenGVLab's checkpoints with their remote code; we read the -hf conversions. Parity is
    # against t2v_metrics' forward with InternVL's GitHub chat code standing in for the remote code
    VQAModel("internvl3-8b", "OpenGVLab/InternVL3-8B-hf", "internvl", 7.94, True),
    VQAModel("internvl3-14b", "OpenGVLab/InternVL3-14B-hf", "internvl", 15.1, True),
    VQAModel("internvl3-78b", "OpenGVLab/InternVL3-78B-hf", "internvl", 78.4, True),
)}

#: config.json model_type -> backend module (relative to this package)
BACKENDS = {"qwen2_5_vl": "qwen", "llava_onevision": "llava_ov", "internvl": "internvl"}


@dataclass(frozen=True)
class VQAOptions:
    """What ``vqa_score`` asks: which model, the question/answer templates, frame sampling.

    ``None`` means "the backend's t2v_metrics default" (:meth:`resolved`): the templates and the
    frame sampling differ between backends (Qwen2.5-VL 8 fps, LLaVA-OneVision 16 frames).
    """

    model: str = DEFAULT_MODEL
    question: str | None = None
    answer: str | None = None
    fps: float | None = None
    frames: int | None = None  # a frame count instead of fps

    def to_json(self) -> dict:
        """Plain JSON form (travels to xdist workers through the runtime options)."""
        return asdict(self)

    def resolved(self, defaults: dict) -> VQAOptions:
        """The options with each unset field taken from a backend's ``DEFAULTS``."""
        fps, frames = self.fps, self.frames
        if fps is None and frames is None:
            fps, frames = defaults["fps"], defaults["frames"]
        return VQAOptions(self.model, self.question or defaults["question"], self.answer or defaults["answer"],
                          fps, frames)

    @classmethod
    def parse(cls, model: str | None = None, question: str | None = None, answer: str | None = None,
              fps: str | float | None = None, frames: str | int | None = None) -> VQAOptions:
        """Validated options from option/ini text; raises ValueError with the reason."""
        q = question or None
        if q is not None and q.count("{}") != 1:
            raise ValueError(f"the VQA question template must contain {{}} once (where the prompt goes), got {q!r}")
        a = answer or None
        if a is not None and "{}" in a and a.count("{}") != 1:
            raise ValueError(f"the VQA answer template may contain {{}} at most once, got {a!r}")
        n = None
        if frames not in (None, ""):
            n = int(frames)
            if n < 2:
                raise ValueError(f"the VQA frame count must be at least 2, got {frames!r}")
        f: float | None = None
        if fps not in (None, ""):
            if n is not None:
                raise ValueError("give either a VQA frame rate or a frame count, not both")
            f = float(fps)
            if not f > 0:
                raise ValueError(f"the VQA frame rate must be positive, got {fps!r}")
        name = (model or DEFAULT_MODEL).strip()
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"the VQA model is a folder name under <cache>/vqa_model/, got {model!r} "
                             f"(known: {', '.join(MODELS)})")
        return cls(name, q, a, f, n)


#: keys of the ``vqa:`` mapping in the YAML config (``--vbench-config``), the same as the ini keys
#: ``vbench_vqa_<key>``; ``batch_prompts`` is how the run batches (:func:`batch_prompts`), not what it
#: asks, so it is not part of :class:`VQAOptions` (nor of the result store's key)
OPTION_KEYS = ("model", "question", "answer", "fps", "frames")  # the fields of VQAOptions
CONFIG_KEYS = (*OPTION_KEYS, "batch_prompts")


def parse_batch_prompts(value: str | int | None) -> int:
    """How many prompts' videos may share a forward pass, from option text (1 = off); ValueError when invalid."""
    if value in (None, ""):
        return 1
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if n < 1 or isinstance(value, bool):
        raise ValueError(f"the number of prompts batched together must be a whole number of at least 1 "
                         f"(1 = off), got {value!r}")
    return n


def batch_prompts(ini: str | None, yaml: dict[str, str], option: str | None = None) -> int:
    """``--vbench-vqa-batch-prompts`` over the YAML ``vqa: batch_prompts`` over ini ``vbench_vqa_batch_prompts``."""
    for value in (option, yaml.get("batch_prompts"), ini):
        if value not in (None, ""):
            return parse_batch_prompts(value)
    return 1


def read_config(value: object, where: str) -> dict[str, str]:
    """The ``vqa:`` mapping of a YAML config as option text; ValueError names what is wrong.

    Values are checked like the ini values when the options are built (:func:`combine`).
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where}: vqa must be a mapping with keys {', '.join(CONFIG_KEYS)}")
    unknown = sorted(str(k) for k in value if k not in CONFIG_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown vqa key(s) {unknown}; allowed: {', '.join(CONFIG_KEYS)}")
    out = {}
    for key, v in value.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ValueError(f"{where}: vqa.{key} must be a string or a number, got {v!r}")
        out[key] = str(v)
    try:  # checked on its own first, so that an error names the file
        VQAOptions.parse(out.get("model"), out.get("question"), out.get("answer"), out.get("fps"), out.get("frames"))
        parse_batch_prompts(out.get("batch_prompts"))
    except ValueError as exc:
        raise ValueError(f"{where}: vqa: {exc}") from None
    return out


def combine(ini: dict[str, str], yaml: dict[str, str], model_option: str | None = None) -> VQAOptions:
    """The options from their sources, highest first: ``--vbench-vqa-model``, the YAML ``vqa:`` mapping,
    the ini ``vbench_vqa_*`` keys, then (for what none sets) the backend's t2v_metrics defaults.

    Each key is taken from the highest source that sets it, except the frame sampling: ``fps`` and
    ``frames`` are one setting, so a source that sets either replaces both from lower sources.
    Raises ValueError (from :meth:`VQAOptions.parse`) for an invalid value.
    """
    merged = {k: v for k, v in ini.items() if v not in (None, "")}
    sampling = {"fps", "frames"}
    if sampling & {k for k, v in yaml.items() if v not in (None, "")}:
        for k in sampling:
            merged.pop(k, None)
    merged.update({k: v for k, v in yaml.items() if v not in (None, "")})
    if model_option:
        merged["model"] = model_option
    return VQAOptions.parse(merged.get("model"), merged.get("question"), merged.get("answer"),
                            merged.get("fps"), merged.get("frames"))


def snapshot_dir(cache_dir: Path, name: str) -> Path:
    """Where the snapshot of model ``name`` lives."""
    return Path(cache_dir) / "vqa_model" / name


def download_hint(name: str, cache_dir: Path) -> str:
    """The command that puts model ``name`` where we read it (``pytest-vbench download`` for a known model)."""
    from .snapshots import SNAPSHOTS, download_command

    if name in SNAPSHOTS:
        return download_command(name, cache_dir)
    import shlex

    return (f"huggingface-cli download <hub repository> --local-dir {shlex.quote(str(snapshot_dir(cache_dir, name)))}"
            f"  (no hub source is known for {name!r}; pytest-vbench download fetches {', '.join(MODELS)})")


#: files every snapshot needs, and those a backend reads besides (Qwen: its processor settings, chat
#: template and the repetition penalty of generation_config.json; LLaVA-OneVision and InternVL3 build
#: their inputs the t2v_metrics way and need only the tokenizer and the weights)
_NEEDED = ("config.json", "tokenizer_config.json", "tokenizer.json")
_NEEDED_BY_BACKEND = {"qwen2_5_vl": ("generation_config.json", "preprocessor_config.json", "chat_template.json")}

#: backends that sample a fixed number of frames (t2v_metrics' num_frames) and take no frame rate
_FRAME_COUNT_ONLY = {"llava_onevision": "LLaVA-OneVision", "internvl": "InternVL3"}


def frame_option_problem(kind: str, fps: float | None) -> str | None:
    """Why a frame rate does not fit backend ``kind`` (None when it does); torch-free, for preflight."""
    if fps is not None and kind in _FRAME_COUNT_ONLY:
        return (f"{_FRAME_COUNT_ONLY[kind]} samples a fixed number of frames (t2v_metrics' num_frames, default 16): "
                f"set vbench_vqa_frames instead of vbench_vqa_fps")
    return None


def _model_type(folder: Path) -> str | None:
    try:
        kind = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def missing_files(folder: Path) -> list[str]:
    """Files of a snapshot that are absent (weights: the single file or every shard of the index)."""
    needed = _NEEDED + _NEEDED_BY_BACKEND.get(_model_type(folder) or "", ())
    missing = [n for n in needed if not (folder / n).is_file()]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (ValueError, KeyError) as exc:
            return missing + [f"model.safetensors.index.json (unreadable: {exc})"]
        missing += [s for s in shards if not (folder / s).is_file()]
    elif not (folder / "model.safetensors").is_file():
        missing.append("model.safetensors (or model.safetensors.index.json and its shards)")
    return missing


def preflight(options: VQAOptions, cache_dir: Path, lock: Path | None = None, force: bool = False,
              warn=None) -> str | None:
    """A usage-error text when the selected model's snapshot is missing, incomplete or damaged; None when fine.

    Present files are checked like every checkpoint (``weights.check``: structure, the size recorded at
    download, the sha256 of ``lock`` or the published one; safetensors headers against the file size).
    ``lock``: the lock file (default ``weights.find_lock()``); ``force``: hash again.
    """
    from ... import weights
    from .snapshots import problems

    folder = snapshot_dir(cache_dir, options.model)
    if not folder.is_dir():
        problem = f"the snapshot folder {folder} does not exist"
    else:
        missing = missing_files(folder)
        try:
            lock = lock if lock is not None else weights.find_lock()
            bad = problems(options.model, cache_dir, weights.read_lock(lock) if lock else {}, force,
                           warn or weights._stderr)
        except weights.LockFileError as exc:
            return f"vbench: {exc}"
        if bad:
            return (f"vbench: vqa_score: the snapshot of {options.model!r} in {folder} has damaged or mismatching "
                    f"files:\n" + "\n".join(bad) + f"\nDelete them and fetch them again with:  "
                    f"{download_hint(options.model, cache_dir)}")
        if not missing:
            try:
                kind = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
            except ValueError as exc:
                return f"vbench: vqa_score: {folder / 'config.json'} is not valid JSON ({exc})"
            if kind not in BACKENDS:
                return (f"vbench: vqa_score: {folder} holds a {kind!r} model; this version scores "
                        f"{', '.join(BACKENDS)} (models: {', '.join(MODELS)})")
            reason = frame_option_problem(kind, options.fps)
            return f"vbench: vqa_score: model {options.model!r}: {reason}" if reason else None
        problem = f"{folder} lacks {', '.join(missing)}"
    from .snapshots import SNAPSHOTS

    snap = SNAPSHOTS.get(options.model)
    source = f" (the hub repository {snap.repo} at revision {snap.revision})" if snap else ""
    return (f"vbench: vqa_score needs the model {options.model!r} in the cache: {problem}.\n"
            f"Fetch it with:  {download_hint(options.model, cache_dir)}{source}\n"
            f"(or choose another with --vbench-vqa-model / ini vbench_vqa_model; known: {', '.join(MODELS)})")


def backend_module(kind: str):
    """The module implementing the backend of ``config.json`` ``model_type`` ``kind`` (imports torch)."""
    import importlib

    return importlib.import_module(f"{__name__}.{BACKENDS[kind]}")


class VQAScorer:
    """A loaded backend plus the options it scores with (unset ones resolved to the backend's defaults)."""

    def __init__(self, backend, options: VQAOptions, folder: Path, kind: str = "qwen2_5_vl"):
        self.backend = backend
        self.options = options.resolved(backend.defaults)
        self.folder = folder
        self.kind = kind

    def frames(self, path: Path):
        """The frames the backend sees for ``path`` (decoded and sampled as t2v_metrics does)."""
        return self.backend_module.sample_frames(path, fps=self.options.fps, nframes=self.options.frames)

    @property
    def backend_module(self):
        """The module implementing this backend."""
        import importlib

        return importlib.import_module(type(self.backend).__module__)

    def score(self, frames, prompt: str) -> float:
        """P(answer) for one video's frames and one prompt."""
        question, answer = self.options.question or "{}", self.options.answer or "{}"  # resolved: never None
        return self.backend.p_answer(frames, question.format(prompt), answer.format(prompt))

    @property
    def batches(self) -> bool:
        """Whether :meth:`score_many` batches: on accelerators only (CPU scores one video at a time, as t2v_metrics)."""
        return not str(self.backend.device).startswith("cpu")

    def score_many(self, frames: list, prompt: str, batch: bool | None = None, capture: bool = False) -> list:
        """P(answer) for several videos of one prompt, in input order.

        With ``batch`` (default: :attr:`batches`), videos whose frames have the same shape go through
        the model together, at most :attr:`max_batch` at a time; otherwise one at a time. With
        ``capture``, an exception raised by the model takes the place of the values of the videos it was
        scoring (the one video, or that batch), and the others are still scored; without, it propagates.
        """
        one_by_one = not (self.batches if batch is None else batch)
        question, answer = self.options.question or "{}", self.options.answer or "{}"
        groups: dict[tuple, list[int]] = {}
        for i, f in enumerate(frames):
            groups.setdefault(("one", i) if one_by_one else tuple(f.shape), []).append(i)
        out: list = [0.0] * len(frames)
        for idx in groups.values():
            for start in range(0, len(idx), self.max_batch):
                chunk = idx[start:start + self.max_batch]
                probs: list
                try:
                    if one_by_one:
                        probs = [self.score(frames[chunk[0]], prompt)]
                    else:
                        probs = self.backend.p_answer_batch([frames[i] for i in chunk], question.format(prompt),
                                                            answer.format(prompt))
                except Exception as exc:
                    if not capture:
                        raise
                    probs = [exc] * len(chunk)
                for i, p in zip(chunk, probs):
                    out[i] = p
        return out

    #: videos per forward pass when batching (a standard-mode prompt has 5)
    max_batch = 8

    def score_pairs(self, pairs: list[tuple]) -> list[float]:
        """P(answer) for ``(frames, prompt)`` pairs of any prompts, in input order, batched across prompts.

        Pairs the backend can put together (``batch_key``: any for Qwen2.5-VL and InternVL3, the same
        frame count for LLaVA-OneVision) go through the model in one left-padded forward pass
        (``p_answer_rows``); each row keeps its unpadded positions, so the values equal one-at-a-time
        scoring within the parity bar. A model error propagates (the caller falls back to one prompt).
        """
        question, answer = self.options.question or "{}", self.options.answer or "{}"
        groups: dict[tuple, list[int]] = {}
        for i, (frames, _) in enumerate(pairs):
            groups.setdefault(self.backend.batch_key(frames), []).append(i)
        out: list[float] = [0.0] * len(pairs)
        for idx in groups.values():
            rows = [(pairs[i][0], question.format(pairs[i][1]), answer.format(pairs[i][1])) for i in idx]
            for i, p in zip(idx, self.backend.p_answer_rows(rows)):
                out[i] = p
        return out


def load(runtime) -> VQAScorer:
    """Load the model named in ``runtime.options["vqa"]`` from the cache onto ``runtime.device``."""
    import torch

    options = VQAOptions(**runtime.options.get("vqa", {}))
    folder = snapshot_dir(runtime.cache_dir, options.model)
    problem = preflight(options, runtime.cache_dir)
    if problem:
        raise FileNotFoundError(problem)
    kind = json.loads((folder / "config.json").read_text(encoding="utf-8"))["model_type"]
    module = backend_module(kind)
    dtype = torch.float32 if str(runtime.device).startswith("cpu") else torch.bfloat16
    return VQAScorer(module.load(folder, runtime.device, dtype), options, folder, kind)
