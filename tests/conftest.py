"""Shared fixtures: synthetic videos, small prompt suites and seeded checkpoints written into temporary directories."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import _pytest.pytester as _pytester
import pytest

from synthetic import noise_frames, write_video

pytest_plugins = ["pytester", "strict_skips"]

# The seeded random checkpoints the tests write cannot have the official digests: accept them (each
# run says so on stderr). Tests of the digest checks themselves unset this (tests/test_checkpoint_trust.py).
os.environ.setdefault("VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS", "1")

# pytester's in-process runs restore sys.modules afterwards: a third-party extension module (torch and
# its submodules, cv2, ...) first imported inside one would be dropped and imported a second time by a
# later test, which breaks its C extension (SystemError, "Only a single TORCH_LIBRARY", SIGSEGV; seen when
# test_store ran after test_shard_schedule). Installed packages imported during such a run are kept.
_SITE = os.sep + "site-packages" + os.sep


def _installed(name: str) -> bool:
    """True for a module of an installed package (judged by its top-level package: torch._C._onnx has no file)."""
    return _SITE in (getattr(sys.modules.get(name.partition(".")[0]), "__file__", None) or "")


def _keep_installed(init: Callable[..., None]) -> Callable[..., None]:
    def wrapped(self: object, preserve: Callable[[str], bool] | None = None) -> None:
        init(self, preserve=lambda name: _installed(name) or bool(preserve and preserve(name)))
    return wrapped


_pytester.SysModulesSnapshot.__init__ = _keep_installed(_pytester.SysModulesSnapshot.__init__)  # type: ignore[method-assign]

EXAMPLE_PROMPTS = ["In a still frame, a stop sign", "a toilet, frozen in time", "a laptop, frozen in time"]


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    """A full-info JSON holding three real temporal_flickering prompts."""
    from pytest_vbench.suite import load_suite

    entries = [e for e in load_suite().entries if e["prompt_en"] in EXAMPLE_PROMPTS]
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


@pytest.fixture
def flicker_videos(tmp_path: Path) -> Path:
    """Five 16-frame videos for each of the three prompts of ``small_suite``."""
    out = tmp_path / "videos"
    out.mkdir()
    for p, prompt in enumerate(EXAMPLE_PROMPTS):
        for i in range(5):
            write_video(out / f"{prompt}-{i}.mp4", noise_frames(seed=10 * p + i, amplitude=4 + 6 * p))
    return out



@dataclass
class SeededCache:
    """A cache folder holding seeded checkpoints (see ``tests/seeded_checkpoints.py``)."""

    path: Path
    files: list[Path]
    _fingerprint: float | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> float:
        """``parity_harness.fingerprint`` of the files (computed once)."""
        if self._fingerprint is None:
            from parity_harness import fingerprint

            self._fingerprint = fingerprint(self.files)
        return self._fingerprint


@pytest.fixture(scope="session")
def seeded_cache(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., SeededCache]:
    """``seeded_cache(*recipes, seed=0, tiny=False)``: one cache folder per (recipes, seed, size), written once
    per session and shared by every test that asks for the same one. Recipes: the families of
    ``pytest_vbench.fake_checkpoints.WRITERS`` and the variants of ``tests/seeded_checkpoints.py``.
    Tests must not modify the files (copy them first)."""
    import seeded_checkpoints

    made: dict[tuple[tuple[str, ...], int, bool], SeededCache] = {}

    def get(*recipes: str, seed: int = 0, tiny: bool = False) -> SeededCache:
        key = (recipes, int(seed), tiny)
        if key not in made:
            path = tmp_path_factory.mktemp(f"seeded-{'-'.join(recipes)}-{seed}{'-tiny' if tiny else ''}")
            made[key] = SeededCache(path, seeded_checkpoints.write(recipes, path, seed=int(seed), tiny=tiny))
        return made[key]
    return get
