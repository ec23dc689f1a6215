"""The pytest-vbench command."""

from __future__ import annotations

import json
import subprocess
import sys

from pytest_vbench.cli import main


def test_list_json_reports_dimensions_and_cache_state(tmp_path, capsys):
    (tmp_path / "amt_model").mkdir()
    (tmp_path / "amt_model" / "amt-s.pth").write_bytes(b"")
    assert main(["list", "--json", "--cache-dir", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    dims = {d["name"]: d for d in data["dimensions"]}
    assert len([d for d in dims.values() if d["group"] != "extra"]) == 16
    assert dims["temporal_flickering"]["implemented"] is True and dims["vqa_score"]["group"] == "extra"
    assert dims["temporal_flickering"]["checkpoints"] == []
    assert dims["color"]["custom_mode"] is False
    assert "grit_model/grit_b_densecap_objectdet.pth" in dims["object_class"]["checkpoints"]
    states = {c["path"]: c["state"] for c in data["checkpoints"]}
    assert states["amt_model/amt-s.pth"] in ("empty", "corrupt")
    assert states["clip_model/ViT-B-32.pt"] == "missing"


def test_console_script_table(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pytest_vbench.cli", "list", "--cache-dir", str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    assert "temporal_flickering" in out and f"checkpoints in {tmp_path}" in out
    assert "missing" in out


def test_merge_rejects_different_suites(tmp_path, capsys):
    a = {"suite": {"sha256": "a"}, "dimensions_selected": [], "dimensions": {}, "cases": []}
    b = dict(a, suite={"sha256": "b"})
    for name, r in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(r))
    assert main(["merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-o", str(tmp_path / "m.json")]) == 2
    assert "different prompt suites" in capsys.readouterr().err
