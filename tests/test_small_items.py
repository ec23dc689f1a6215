"""Smaller CI items: static-filter usage errors, merge/gate given an official results file, table units,
GPU provenance."""

from __future__ import annotations

import json
import sys
import types

import pytest

from pytest_vbench import cli, gpu_info, report
from pytest_vbench.models import checkpoint


def test_static_filter_on_a_missing_folder_exits_non_zero_with_a_message(tmp_path, capsys):
    status = cli.main(["static-filter", "--videos-path", str(tmp_path / "nope"), "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and "--videos-path" in err and "is not a directory" in err and "Traceback" not in err


def test_static_filter_without_raft_says_so_without_a_traceback(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a cat-0.mp4").write_bytes(b"x")
    status = cli.main(["static-filter", "--videos-path", str(videos), "--cache-dir", str(tmp_path / "cache"),
                       "--result-path", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and "cannot load RAFT" in err and "raft-things.pth" in err and "pytest-vbench download" in err
    assert not (tmp_path / "out").exists()
    assert issubclass(checkpoint.CheckpointError, RuntimeError)


@pytest.mark.parametrize("command", ["merge", "gate"])
def test_merge_and_gate_given_an_official_results_file_say_what_they_expected(tmp_path, capsys, command):
    official = tmp_path / "results_eval_results.json"
    official.write_text(json.dumps({"temporal_flickering": [0.97, [{"video_path": "a-0.mp4", "video_results": 0.97}]]}))
    args = [command, str(official)] + (["-o", str(tmp_path / "m.json")] if command == "merge" else [])
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "is an official eval_results file" in err and "written by --vbench-json" in err


def test_table_shows_raw_and_normalised_in_percent():
    rep = {"dimensions": {"temporal_flickering": {
        "group": "quality", "raw": 0.9659, "normalised": 0.9079,
        "prompts": {"scored": 3, "expected": 3, "failed": 0}, "videos": {"scored": 15, "missing": 0, "failed": 0}}},
        "runtime": {"timing": {"temporal_flickering": {"seconds_per_video": 0.018}}}}
    assert report.table_rows(rep)[0][2:4] == ["96.59%", "90.79%"]


def test_gpu_provenance_is_none_on_cpu_and_names_the_gpu_on_cuda(monkeypatch):
    assert gpu_info.describe() is None  # this machine (and CI) has no GPU: recorded as None
    assert report.provenance()["gpu"] is None
    cuda = types.SimpleNamespace(is_available=lambda: True, device_count=lambda: 2,
                                 get_device_name=lambda i: "NVIDIA A100-SXM4-80GB")
    cudnn = types.SimpleNamespace(is_available=lambda: True, version=lambda: 90100)
    fake = types.SimpleNamespace(cuda=cuda, backends=types.SimpleNamespace(cudnn=cudnn),
                                 version=types.SimpleNamespace(cuda="12.4"), __version__="2.6.0+cu124")
    monkeypatch.setitem(sys.modules, "torch", fake)
    monkeypatch.setattr(gpu_info, "_driver_version", lambda: "550.54.15")
    assert gpu_info.describe() == {"name": "NVIDIA A100-SXM4-80GB", "count": 2, "driver": "550.54.15",
                                   "cuda": "12.4", "cudnn": 90100, "torch": "2.6.0+cu124"}
