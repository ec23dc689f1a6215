"""Prompt suites, video discovery and the (dimension, prompt) cases that become test items.

Standard mode reads a VBench full-info JSON (the bundled ``VBench_full_info.json`` by default) and
looks up ``{prompt}-{i}{ext}`` explicitly, in the dimension's official folder first and then in the
flat directory. Custom mode takes every video in a directory (or one file) and derives the prompt
from the file name, or from a prompt file. Nothing here imports pytest or torch.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .dimensions import DIMENSIONS, EXTRA, Dimension

#: suffixes the official loader reads (case-sensitive there; we look them up in this order)
VIDEO_SUFFIXES = (".mp4", ".gif", ".png")
BUNDLED_SUITE = "VBench_full_info.json"
STANDARD_SAMPLES = 5  # videos per prompt of the official evaluation; more are static-filter candidates


class SuiteError(ValueError):
    """A prompt suite, prompt file or video directory that cannot be used."""


@dataclass(frozen=True)
class VideoRef:
    """One video file of a case: its path and its sample index within the prompt."""

    path: Path
    sample: int

    @property
    def name(self) -> str:
        """The file name, as shown in reports."""
        return self.path.name


@dataclass
class Case:
    """One (dimension, prompt) pair: a test item's worth of work."""

    dimension: str
    prompt: str
    order: int  # position of the prompt in the suite: sorts results deterministically
    aux: dict[str, Any] | None = None
    videos: list[VideoRef] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # expected file names not found
    #: temporal_flickering with static-filter candidates: how many static videos to keep (--vbench-samples)
    keep: int | None = None

    @property
    def dim(self) -> Dimension:
        """The table row of this case's dimension."""
        return DIMENSIONS[self.dimension]

    @property
    def item_name(self) -> str:
        """The pytest item name: ``dimension[prompt]`` (``::`` in a custom prompt would split node ids)."""
        return f"{self.dimension}[{self.prompt.replace('::', ': :')}]"

    #: files whose names almost match the expected ones, for a case without any video (attach_near_misses)
    near_misses: list[str] = field(default_factory=list)


@dataclass
class Suite:
    """A loaded prompt suite: its entries and where they came from."""

    entries: list[dict[str, Any]]
    source: str
    sha256: str
    mode: str = "standard"
    coverage: dict[str, Any] | None = None  # set by present_only(): which prompts a partial run covers

    def describe(self) -> dict[str, Any]:
        """Provenance of the suite for reports (and, for a present-only run, what it covers)."""
        out: dict[str, Any] = {"mode": self.mode, "source": self.source, "sha256": self.sha256,
                               "entries": len(self.entries)}
        if self.coverage is not None:
            out["coverage"] = self.coverage
        return out


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_suite(path: str | os.PathLike[str] | None = None) -> Suite:
    """Load a full-info JSON (bundled suite when ``path`` is None) and validate its shape."""
    if path is None:
        data = resources.files("pytest_vbench.data").joinpath(BUNDLED_SUITE).read_bytes()
        source = f"bundled:{BUNDLED_SUITE}"
    else:
        p = Path(path).expanduser()
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise SuiteError(f"cannot read prompt suite {p}: {exc.strerror or exc}") from None
        source = str(p)
    try:
        entries = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SuiteError(f"prompt suite {source} is not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise SuiteError(f"prompt suite {source} must be a JSON list of entries like VBench_full_info.json")
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("prompt_en"), str)
                and isinstance(entry.get("dimension"), list)):
            raise SuiteError(f"prompt suite {source}: entry {i} lacks a 'prompt_en' string and a 'dimension' list")
        unknown = [d for d in entry["dimension"] if d not in DIMENSIONS]
        if unknown:
            raise SuiteError(f"prompt suite {source}: entry {i} names unknown dimension(s) {unknown}")
    return Suite(entries=entries, source=source, sha256=_sha256(data))


def _name_variants(stem: str) -> list[str]:
    """The NFC spelling first, then NFD (file systems such as macOS' store decomposed names)."""
    nfc = unicodedata.normalize("NFC", stem)
    nfd = unicodedata.normalize("NFD", stem)
    return [nfc] if nfc == nfd else [nfc, nfd]


def find_video(videos_dir: Path, dim: Dimension, stem: str) -> Path | None:
    """Locate ``stem`` + a known suffix in the dimension's folder, then in the flat directory."""
    for folder in (videos_dir / dim.folder, videos_dir):
        for variant in _name_variants(stem):
            for suffix in VIDEO_SUFFIXES:
                candidate = folder / f"{variant}{suffix}"
                try:
                    if candidate.is_file():
                        return candidate
                except OSError:  # e.g. a prompt whose file name exceeds the 255-byte limit: not found
                    continue
    return None



def standard_cases(suite: Suite, dims: list[Dimension], videos_dir: Path, samples: int = 5) -> list[Case]:
    """One case per (dimension, suite entry naming it), dimension-major, suite order within."""
    cases: list[Case] = []
    for dim in dims:
        seen: set[str] = set()
        for order, entry in enumerate(suite.entries):
            where = dim
            if dim.name not in entry["dimension"]:
                if dim.group != EXTRA or not entry["dimension"]:
                    continue
                # an extra dimension (vqa_score) scores every prompt, found where its first dimension's are
                where = DIMENSIONS.get(entry["dimension"][0], dim)
            prompt = entry["prompt_en"]
            key = unicodedata.normalize("NFC", prompt)
            if key in seen:  # a prompt listed twice for one dimension (in any Unicode spelling) is scored once
                continue
            seen.add(key)
            aux = (entry.get("auxiliary_info") or {}).get(dim.name)
            case = Case(dim.name, prompt, order, aux)
            for i in range(samples):
                stem = f"{prompt}-{i}"
                path = find_video(videos_dir, where, stem)
                if path is None:
                    case.missing.append(f"{stem}{VIDEO_SUFFIXES[0]}")
                else:
                    case.videos.append(VideoRef(path, i))
            first_extra = max(samples, STANDARD_SAMPLES)
            if dim.name == "temporal_flickering" and find_video(videos_dir, dim, f"{prompt}-{first_extra}"):
                # candidates {prompt}-5.. for the static filter (the official recipe makes -0..-24); the
                # filter keeps `samples` static videos among all candidates
                case.keep = samples
                for i in range(samples, first_extra):
                    path = find_video(videos_dir, dim, f"{prompt}-{i}")
                    if path is not None:
                        case.videos.append(VideoRef(path, i))
                i, misses = first_extra, 0
                while misses < 10:  # tolerate small gaps
                    path = find_video(videos_dir, dim, f"{prompt}-{i}")
                    if path is None:
                        misses += 1
                    else:
                        misses = 0
                        case.videos.append(VideoRef(path, i))
                    i += 1
            cases.append(case)
    return cases


_TRAILING_INDEX = re.compile(r"-\d+$")


def prompt_from_filename(name: str) -> str:
    """The official custom-mode rule: the stem (last suffix only) minus a trailing ``-<digits>``.

    The prompt is NFC-normalised (``café`` written precomposed or decomposed is one prompt), and
    bytes of a name that are not UTF-8 appear as ``\\xNN`` (such a video fails with a message).
    """
    stem = os.fsencode(Path(name).stem).decode("utf-8", "backslashreplace")
    return unicodedata.normalize("NFC", _TRAILING_INDEX.sub("", stem))


def _sample_index(name: str) -> int:
    m = re.search(r"-(\d+)$", Path(name).stem)
    return int(m.group(1)) if m else 0


def load_prompt_file(path: str | os.PathLike[str], videos_dir: Path) -> dict[Path, str]:
    """Read a custom-mode prompt file ``{video path or name: prompt}`` into absolute paths."""
    p = Path(path).expanduser()
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"cannot read prompt file {p}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SuiteError(f"prompt file {p} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise SuiteError(f"prompt file {p} must be a JSON object mapping video file names to prompt strings")
    base = videos_dir if videos_dir.is_dir() else videos_dir.parent
    return {Path(os.path.abspath(base / key)): prompt for key, prompt in raw.items()}


def custom_videos(videos_path: Path) -> list[Path]:
    """The videos of a custom-mode run: one file, or the readable videos of a directory, sorted."""
    if videos_path.is_file():
        return [videos_path]
    # hidden files (macOS' ._* AppleDouble companions, editors' .swp) are never videos
    files = [p for p in videos_path.iterdir()
             if not p.name.startswith(".") and p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: p.name)


def custom_cases(dims: list[Dimension], videos_path: Path, prompt_file: str | None = None) -> tuple[list[Case], Suite]:
    """Custom mode: group the videos by prompt (file name rule or prompt file), one case per dim and prompt."""
    videos = custom_videos(videos_path)
    prompts: dict[Path, str] | None = None
    if prompt_file is not None:
        prompts = load_prompt_file(prompt_file, videos_path)
        unlisted = [v.name for v in videos if Path(os.path.abspath(v)) not in prompts]
        if unlisted:
            shown = ", ".join(unlisted[:5]) + (" ..." if len(unlisted) > 5 else "")
            raise SuiteError(f"prompt file {prompt_file} has no prompt for {len(unlisted)} video(s): {shown}")
    grouped: dict[str, list[VideoRef]] = {}
    for v in videos:
        prompt = (unicodedata.normalize("NFC", prompts[Path(os.path.abspath(v))]) if prompts is not None
                  else prompt_from_filename(v.name))
        grouped.setdefault(prompt, []).append(VideoRef(v, _sample_index(v.name)))
    entries = [{"prompt_en": p, "dimension": [d.name for d in dims]} for p in grouped]
    digest = _sha256(json.dumps([[p, [r.name for r in refs]] for p, refs in grouped.items()]).encode())
    suite = Suite(entries=entries, source=f"custom:{videos_path}", sha256=digest, mode="custom")
    cases = [Case(d.name, p, order, None, list(refs)) for d in dims for order, (p, refs) in enumerate(grouped.items())]
    return cases, suite


# ------------------------------------------------------------------------- partial suites, near misses
def present_only(suite: Suite, cases: list[Case]) -> tuple[list[Case], str]:
    """Keep the cases that have at least one video; record the coverage on ``suite``; return the reason text.

    The reason is the human-readable line of ``VBenchSession.planned_partial``, e.g.
    ``present-only suite: 4 of 946 prompts, 12 of 1362 items (temporal_flickering 4/75, ...)``.
    """
    kept = [c for c in cases if c.videos]
    per_dim: dict[str, dict[str, Any]] = {}
    for c in cases:
        row = per_dim.setdefault(c.dimension, {"prompts": [], "of": 0})
        row["of"] += 1
        if c.videos:
            row["prompts"].append(c.prompt)
    prompts = sorted({c.prompt for c in kept})
    all_prompts = {c.prompt for c in cases}
    suite.coverage = {"kind": "present-only", "prompts": len(prompts), "of_prompts": len(all_prompts),
                      "items": len(kept), "of_items": len(cases), "dimensions": per_dim}
    dims = ", ".join(f"{d} {len(r['prompts'])}/{r['of']}" for d, r in per_dim.items())
    reason = (f"present-only suite: {len(prompts)} of {len(all_prompts)} prompts, {len(kept)} of {len(cases)} "
              f"items ({dims})")
    return kept, reason


def _canonical(name: str) -> str:
    """A file name with case, Unicode form, suffix and separators (space, ``_``, ``-``) folded away."""
    stem = unicodedata.normalize("NFC", name).casefold()
    stem = re.sub(r"\.[a-z0-9]{2,4}$", "", stem)
    return re.sub(r"[\s_\-]+", " ", stem).strip()


class NearMisses:
    """Files of the video directory (and the dimension folders) to suggest when an expected name is absent."""

    def __init__(self, videos_dir: Path, limit: int = 5000):
        self.videos_dir = videos_dir
        self.limit = limit
        self._folders: dict[Path, dict[str, list[str]]] = {}

    def _listing(self, folder: Path) -> dict[str, list[str]]:
        if folder not in self._folders:
            names: dict[str, list[str]] = {}
            try:
                entries = [p for p in folder.iterdir() if p.is_file()]
            except OSError:
                entries = []
            for p in entries[: self.limit]:
                names.setdefault(_canonical(p.name), []).append(p.name)
            self._folders[folder] = names
        return self._folders[folder]

    def find(self, dim: Dimension, prompt: str, samples: int, n: int = 3) -> list[str]:
        """Up to ``n`` files (relative to the video directory) whose names nearly match ``{prompt}-{i}``."""
        wanted = [_canonical(f"{prompt}-{i}") for i in range(samples)] + [_canonical(prompt)]
        out: list[str] = []
        for folder in (self.videos_dir / dim.folder, self.videos_dir):
            listing = self._listing(folder)
            prefix = "" if folder == self.videos_dir else f"{dim.folder}/"
            hits = [name for key in wanted for name in listing.get(key, [])]
            if not hits and 0 < len(listing) <= 500:  # difflib over a large directory per case is too slow
                close = difflib.get_close_matches(wanted[0], list(listing), n=n, cutoff=0.85)
                hits = [name for key in close for name in listing[key]]
            out += [prefix + h for h in hits if prefix + h not in out]
        return out[:n]


def attach_near_misses(cases: list[Case], videos_dir: Path, samples: int) -> None:
    """Fill ``near_misses`` of every case that found no video (for its "no video found" message)."""
    finder = NearMisses(videos_dir)
    for case in cases:
        if not case.videos:
            case.near_misses = finder.find(case.dim, case.prompt, samples)


def no_video_at_all(videos_dir: Path, suite: Suite, cases: list[Case], samples: int) -> str | None:
    """The usage-error text when not one case of a standard-mode run found a video; None otherwise."""
    if not cases or any(c.videos for c in cases):
        return None
    try:
        files = sorted(p.name for p in videos_dir.iterdir() if p.is_file())
    except OSError:
        files = []
    near = sorted({m for c in cases for m in c.near_misses})
    text = (f"--vbench-videos: no video in {videos_dir} matches a prompt of the suite {suite.source} "
            f"({len(cases)} item(s)); standard mode looks up '<prompt>-<i>.mp4' (i = 0..{samples - 1}, also "
            f".gif/.png) in the directory or its dimension subfolders")
    if near:
        text += "; names that almost match: " + ", ".join(repr(m) for m in near[:5])
    elif files:
        text += f"; it holds {len(files)} other file(s), e.g. " + ", ".join(repr(f) for f in files[:3])
    else:
        text += "; it is empty"
    return text + ". Videos named freely: --vbench-mode custom"


def select_cases(suite: Suite, cases: list[Case], videos_dir: Path, samples: int,
                 present: bool) -> tuple[list[Case], str | None]:
    """Standard mode: near misses for cases without videos, one error when no case has a video, and with
    ``present`` only the cases that have videos (plus the planned-partial reason; None for the full suite)."""
    attach_near_misses(cases, videos_dir, samples)
    problem = no_video_at_all(videos_dir, suite, cases, samples)
    if problem:
        raise SuiteError(problem)
    if not present:
        return cases, None
    return present_only(suite, cases)
