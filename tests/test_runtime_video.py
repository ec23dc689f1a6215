"""Runtime (device choice, frame cache) and decoders (middle-frame indices, gif/png, bad files)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pytest_vbench.runtime import FrameCache, Runtime, default_cache_dir, resolve_device
from pytest_vbench.video import VideoError, load_video, middle_indices, opencv_frames

from synthetic import noise_frames, write_video


@pytest.mark.parametrize("n,vlen,expected", [
    (16, 16, list(range(16))),
    (8, 16, list(range(0, 16, 2))),
    (8, 24, [1, 4, 7, 10, 13, 16, 19, 22]),
    (16, 33, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 31]),
    (16, 8, list(range(8)) + [7] * 8),
    (16, 1, [0] * 16),
])
def test_middle_indices_spec_examples(n, vlen, expected):
    assert middle_indices(n, vlen) == expected


def test_device_resolution_without_accelerators(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert resolve_device("auto", "gw3") == "cpu"
    assert resolve_device("cpu", "gw1") == "cpu"
    assert resolve_device("cuda:1", "gw0") == "cuda:1"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        resolve_device("cuda", None)


def test_device_resolution_spreads_workers_over_gpus(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert [resolve_device("auto", f"gw{i}") for i in range(6)] == \
        ["cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0", "cuda:1"]
    assert resolve_device("auto", None) == "cuda:0"


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MYROOT", str(tmp_path))
    monkeypatch.setenv("VBENCH_CACHE_DIR", "$MYROOT/cache")
    assert default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("VBENCH_CACHE_DIR")
    assert str(default_cache_dir()).endswith(".cache/vbench")


def test_frame_cache_decodes_once_and_stays_bounded():
    cache = FrameCache(max_bytes=300)
    calls = []

    def loader(i):
        def load():
            calls.append(i)
            return np.zeros(100, dtype=np.uint8)
        return load

    for i in (1, 2, 1, 1):
        cache.get(("v", i), loader(i))
    assert calls == [1, 2] and cache.hits == 2
    for i in (3, 4):
        cache.get(("v", i), loader(i))
    cache.get(("v", 1), loader(1))  # still cached: 1 was used more recently than 2
    cache.get(("v", 2), loader(2))  # evicted when 4 came in (300 bytes hold 3 videos)
    assert calls == [1, 2, 3, 4, 2]
    big = cache.get(("big",), lambda: np.zeros(1000, dtype=np.uint8))
    assert big.size == 1000 and ("big",) not in cache._items  # larger than the budget: not kept


def test_runtime_shares_decodes_between_dimensions(tmp_path):
    rt = Runtime("cpu", tmp_path)
    n = []
    a = rt.decoded(tmp_path / "v.mp4", "decord", lambda: n.append(1) or np.ones(3))
    b = rt.decoded(tmp_path / "v.mp4", "decord", lambda: n.append(1) or np.ones(3))
    c = rt.decoded(tmp_path / "v.mp4", "decord", lambda: n.append(1) or np.ones(3), num_frames=16)
    assert a is b and c is not a and len(n) == 2


def test_gif_and_png_loading(tmp_path):
    frames = [np.full((8, 12, 3), 40 * i, dtype=np.uint8) for i in range(5)]
    imgs = [Image.fromarray(f) for f in frames]
    imgs[0].save(tmp_path / "a.gif", save_all=True, append_images=imgs[1:], duration=100, loop=0)
    gif = load_video(tmp_path / "a.gif")
    assert gif.shape == (5, 8, 12, 3) and gif.dtype == np.uint8
    assert [int(f[0, 0, 0]) for f in gif] == [0, 40, 80, 120, 160]
    assert load_video(tmp_path / "a.gif", num_frames=16).shape[0] == 16
    imgs[2].save(tmp_path / "b.png")
    png = load_video(tmp_path / "b.png", num_frames=16)
    assert png.shape == (16, 8, 12, 3) and int(png[5, 0, 0, 0]) == 80


def test_mp4_with_decord(tmp_path):
    pytest.importorskip("decord")
    path = write_video(tmp_path / "v.mp4", noise_frames(0, n=12))
    full = load_video(path)
    assert full.shape == (12, 48, 64, 3)
    sub = load_video(path, num_frames=8)
    assert np.array_equal(sub, full[middle_indices(8, 12)])
    assert load_video(path, num_frames=4, width=32, height=24).shape == (4, 24, 32, 3)


@pytest.mark.parametrize("content,message", [(b"", "empty"), (b"\x00not a video" * 50, "cannot open")])
def test_bad_files_raise_video_error(tmp_path, content, message):
    p = tmp_path / "bad.mp4"
    p.write_bytes(content)
    with pytest.raises(VideoError, match=message) as exc:
        list(opencv_frames(p))
    assert str(p) in str(exc.value)
    if pytest.importorskip("decord"):
        with pytest.raises(VideoError) as exc:
            load_video(p)
        assert str(p) in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="no such video file"):
        load_video(tmp_path / "nope.gif")


def test_models_load_once_per_family_and_lazily(monkeypatch, tmp_path):
    import types

    from pytest_vbench import models

    loads = []
    fake = types.ModuleType("pytest_vbench.models.fakefam")
    fake.load = lambda runtime: loads.append(runtime.device) or object()
    monkeypatch.setitem(__import__("sys").modules, "pytest_vbench.models.fakefam", fake)
    monkeypatch.setitem(models.LOADERS, "fakefam", "fakefam:load")
    rt = Runtime("cuda:1", tmp_path)
    assert loads == [] and rt.loaded_families == []
    first = rt.model("fakefam")
    assert rt.model("fakefam") is first and loads == ["cuda:1"] and rt.loaded_families == ["fakefam"]
    with pytest.raises(models.ModelUnavailable, match="no loader for model family 'nope'"):
        rt.model("nope")
