"""The dimension table is the only truth, and it is checked against the code it describes.

* the official rows and their weights (a new row cannot shift Quality/Semantic/Total);
* each row's ``families`` (+ ``optional_families``) are exactly the model families its module asks
  the runtime for, and its ``decoder`` is what its module opens videos with (recorded while the
  module scores a synthetic video, and 6 candidates through ``score_case`` when it has one);
* ``models.REQUIRES`` names exactly the heavy packages each family's loader imports, and
  "implemented" follows from those packages being importable;
* every module follows the :class:`DimensionModule` protocol.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from pytest_vbench import dimensions as D
from pytest_vbench import models

PKG = Path(D.__file__).resolve().parents[1]  # .../pytest_vbench
HEAVY = {"torch", "torchvision", "timm", "open_clip", "pyiqa", "transformers", "decord"}


def _source(module: str) -> Path | None:
    """The file of a pytest_vbench module (found on disk, nothing imported), or None."""
    parts = module.split(".")
    if parts[0] != "pytest_vbench":
        return None
    base = PKG.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        parts = parts if is_pkg else parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    out = [base]
    for alias in node.names:  # "from .. import static_filter" imports a module
        out.append(f"{base}.{alias.name}")
    return out


def reachable(module: str) -> dict[str, ast.Module]:
    """``module`` and every pytest_vbench module it imports (anywhere in its code), transitively."""
    seen: dict[str, ast.Module] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith("pytest_vbench"):
            continue
        path = _source(name)
        if path is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        seen[name] = tree
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                todo += _resolve(node, name, path.name == "__init__.py")
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
    # the table, the models registry and the core do not load models for a dimension
    for core in ("pytest_vbench.dimensions", "pytest_vbench.models", "pytest_vbench.runtime"):
        seen.pop(core, None)
    return seen


def heavy_imports(trees: dict[str, ast.Module]) -> set[str]:
    found = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found & HEAVY


# -- the official total ---------------------------------------------------------------------------

def test_the_official_rows_are_the_16_of_vbench_with_their_weights():
    official = D.official()
    assert {d.name for d in official} == D.OFFICIAL_NAMES and len(official) == 16
    # scripts/constant.py of VBench: every weight 1 except dynamic_degree 0.5
    assert sum(d.weight for d in official if d.group == D.QUALITY) == 6.5
    assert sum(d.weight for d in official if d.group == D.SEMANTIC) == 9.0
    assert [d.name for d in official if d.group == D.QUALITY] == [
        "subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness",
        "dynamic_degree", "aesthetic_quality", "imaging_quality"]
    # every row in an official group is an official row: nothing else can enter Quality/Semantic/Total
    assert [d for d in D.DIMENSIONS.values() if d.group in D.GROUPS] == official


def test_rows_outside_the_official_total_cannot_use_its_groups():
    with pytest.raises(D.InvalidDimension, match="reserved for the official total"):
        D.Dimension("toy", D.QUALITY, 0, 1, 1, D.VIDEO, "toy", "opencv")
    with pytest.raises(D.InvalidDimension, match="only the 16 VBench 1.0 dimensions"):
        D.Dimension("toy", D.QUALITY, 0, 1, 1, D.VIDEO, "toy", "opencv", in_official_total=True)
    with pytest.raises(D.InvalidDimension, match="decoder"):
        D.Dimension("toy", "extra", 0, 1, 1, D.VIDEO, "toy", "ffmpeg")
    with pytest.raises(D.InvalidDimension, match="already in the table"):
        D.register(D.Dimension("color", "extra", 0, 1, 1, D.VIDEO, "color", "decord"))
    with pytest.raises(D.InvalidDimension, match="cannot count in the official total"):
        D.register(D.DIMENSIONS["color"])


# -- families, decoders, requirements -----------------------------------------------------------------

IMPLEMENTED = [d for d in D.DIMENSIONS.values() if _source(d.module_name)]


class _Stop(Exception):
    """Raised by the recording model on first use: the test only wants to know what was asked for."""


class _Model:
    def __getattr__(self, name):
        raise _Stop(name)

    def __call__(self, *args, **kwargs):
        raise _Stop("call")


def _run_recording(dim, tmp_path, monkeypatch) -> tuple[set[str], set[str], set[str]]:
    """Families asked for by score_video on one video, by score_case on 6 candidates, and decoders used."""
    import cv2
    import decord

    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef, load_suite

    from synthetic import noise_frames, write_video

    decoders: set[str] = set()
    real_capture, real_reader = cv2.VideoCapture, decord.VideoReader
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a, **k: decoders.add("opencv") or real_capture(*a, **k))
    monkeypatch.setattr(decord, "VideoReader", lambda *a, **k: decoders.add("decord") or real_reader(*a, **k))
    asked: list[str] = []
    runtime = Runtime("cpu", tmp_path / "cache")
    monkeypatch.setattr(runtime, "model", lambda family: asked.append(family) or _Model())
    # a prompt of the bundled suite, or any prompt for a dimension outside it (custom mode, e.g. vqa_score)
    entry = next((e for e in load_suite().entries if dim.name in e["dimension"]), {"prompt_en": "a red car"})
    case = Case(dim.name, entry["prompt_en"], 0, (entry.get("auxiliary_info") or {}).get(dim.name))
    videos = [VideoRef(write_video(tmp_path / f"v-{i}.mp4", noise_frames(i, n=16, h=128, w=128, amplitude=40)), i)
              for i in range(6)]
    module = dim.load_module()
    try:
        module.score_video(videos[0], case, runtime)
    except Exception:  # the recording model stops the computation; what was asked for is recorded
        pass
    single = set(asked)
    asked.clear()
    if isinstance(module, D.BatchedDimensionModule):
        case.videos = videos
        try:
            module.score_case(videos, case, runtime)
        except Exception:
            pass
    return single, set(asked), decoders


#: modules that use their model (text features, parameters' device) before they open a video
MODEL_BEFORE_DECODE = {"human_action", "temporal_style", "overall_consistency", "vqa_score"}


@pytest.mark.parametrize("dim", IMPLEMENTED, ids=lambda d: d.name)
def test_declared_families_and_decoder_are_what_the_module_uses(dim, tmp_path, monkeypatch):
    single, batched, decoders = _run_recording(dim, tmp_path, monkeypatch)
    assert set(dim.families) <= single  # every video needs them
    assert single | batched == set(dim.families) | set(dim.optional_families)
    assert not set(dim.families) & set(dim.optional_families)
    assert decoders <= {dim.decoder}
    if dim.name in MODEL_BEFORE_DECODE:  # the recording model stops them before the first decode
        assert not decoders and dim.decoder in _source(dim.module_name).read_text(encoding="utf-8")
    else:
        assert decoders == {dim.decoder}


def test_temporal_flickering_loads_raft_only_as_an_option():
    row = D.DIMENSIONS["temporal_flickering"]
    assert row.families == () and row.optional_families == ("raft",)
    assert "torch" not in row.requires  # a core install scores it (the static filter needs the models extra)


#: heavy packages reachable from a loader's module only through functions the loader never runs
#: (the reachability above follows every import, also those inside unrelated functions)
NOT_ON_THE_LOAD_PATH = {
    "amt": {"torchvision"},  # models.raft's flow code; amt imports only raft.pairs_per_pass
    "grit": {"decord"},  # models.umt -> video.check_resize (video.py's decord reader); grit imports only umt.Mlp
    "umt": {"decord"},  # its transform's video.check_resize (video.py also holds the decord reader)
    "viclip": {"decord"},  # the same, through viclip.transform
}


def _loader_modules(family: str) -> dict[str, ast.Module]:
    """The loader's module and what it imports; for a package (backends picked at run time), all of it."""
    module = "pytest_vbench.models." + models.LOADERS[family].split(":")[0]
    path = _source(module)
    trees = reachable(module)
    if path is not None and path.name == "__init__.py":
        for sub in path.parent.glob("*.py"):
            trees.update(reachable(f"{module}.{sub.stem}"))
    return trees


@pytest.mark.parametrize("family", sorted(models.LOADERS))
def test_family_requirements_are_what_its_loader_imports(family):
    reached = heavy_imports(_loader_modules(family))
    assert set(models.REQUIRES[family]) <= reached  # no phantom requirement
    assert reached - set(models.REQUIRES[family]) == NOT_ON_THE_LOAD_PATH.get(family, set())


def test_every_loader_has_requirements():
    assert set(models.REQUIRES) == set(models.LOADERS)


def test_implemented_means_the_dependencies_import(monkeypatch):
    assert all(d.implemented for d in IMPLEMENTED)  # this environment has the models extra
    monkeypatch.setitem(sys.modules, "torch", None)  # as on a core install: `import torch` fails
    assert [d.name for d in D.implemented()] == ["temporal_flickering"]
    assert "torch" in D.DIMENSIONS["scene"].missing
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setitem(sys.modules, "decord", None)
    assert {d.name for d in D.implemented()} == {"temporal_flickering", "motion_smoothness", "dynamic_degree"}


def test_a_family_without_loader_is_not_implemented():
    row = D.Dimension("toy", "extra", 0, 1, 1, D.VIDEO, "toy", "opencv", ("no_such_family",),
                      module="pytest_vbench.dimensions.temporal_flickering")
    assert not row.implemented and row.missing == ["loader of model family 'no_such_family'"]


# -- the module protocol ----------------------------------------------------------------------------

@pytest.mark.parametrize("dim", IMPLEMENTED, ids=lambda d: d.name)
def test_every_module_follows_the_protocol(dim):
    module = dim.load_module()
    assert isinstance(module, D.DimensionModule)


def test_a_module_without_score_video_is_refused(tmp_path, monkeypatch):
    (tmp_path / "toy_without_score.py").write_text("def score(video):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    row = D.Dimension("toy", "extra", 0, 1, 1, D.VIDEO, "toy", "opencv", module="toy_without_score")
    with pytest.raises(TypeError, match="defines no score_video"):
        row.load_module()
