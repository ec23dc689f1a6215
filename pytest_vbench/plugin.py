"""The pytest plugin: options, collection of (dimension, prompt) items, result transport, verdict.

Inactive and silent unless ``--vbench-videos`` is given. Importing this module imports neither
torch nor numpy: the heavy modules are imported when the first item runs.

Data flow: every item runs one case and attaches its result as JSON to ``user_properties``
(key ``vbench``); the controller reads it in ``pytest_runtest_logreport`` (the same code path with
and without xdist), merges it, and decides the verdict in ``pytest_sessionfinish``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .keywords import SpacedKeywords, prompt_keyword

if TYPE_CHECKING:
    from .compare import Comparison
    from .dimensions import Dimension
    from .report import Results
    from .results import Tracker
    from .runtime import Runtime
    from .suite import Case

PROPERTY = "vbench"


# --------------------------------------------------------------------------------------- options
def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--vbench-*`` options and ini keys."""
    g = parser.getgroup("vbench", "VBench video-generation benchmark (pytest-vbench)")
    g.addoption("--vbench-videos", metavar="DIR", help="directory (or, in custom mode, one file) of generated "
                "videos; enables the plugin and collects one item per (dimension, prompt)")
    g.addoption("--vbench-dims", metavar="A,B", help="comma-separated dimensions to run "
                "(default: every implemented dimension)")
    g.addoption("--vbench-mode", choices=("standard", "custom"), default=None,
                help="standard: the VBench prompt suite (default); custom: any videos, prompt from the file name")
    g.addoption("--vbench-full-info", metavar="JSON", help="prompt suite in VBench_full_info.json format "
                "(default: the bundled official suite)")
    g.addoption("--vbench-prompt-file", metavar="JSON", help="custom mode: {video file: prompt} instead of "
                "prompts from file names")
    g.addoption("--vbench-suite", choices=("full", "present"), default="full",
                help="full: every prompt of the suite (default); present: only the prompts that have videos "
                     "(a partial run on purpose: the report says which prompts it covers)")
    g.addoption("--vbench-progress", choices=("auto", "always", "never"), default="auto",
                help="status line (items, videos, rate, ETA per dimension) every vbench_progress_interval "
                     "seconds: auto = only when stdout is a terminal (default); -v adds a line per video")
    parser.addini("vbench_progress_interval", "seconds between two progress status lines (default 30)", default="")
    g.addoption("--vbench-samples", metavar="N", type=int, default=None,
                help="videos per prompt looked up as {prompt}-0..N-1 (default 5)")
    g.addoption("--vbench-fail-under", metavar="NAME=PCT", action="append", default=[],
                help="fail the run when NAME (a dimension, quality, semantic or total) scores below PCT "
                     "(leaderboard percent scale); repeatable")
    g.addoption("--vbench-config", metavar="YAML", help="YAML file with fail_under, baseline, max_regression")
    g.addoption("--vbench-baseline", metavar="JSON", help="a previous --vbench-json report; fail on regressions")
    g.addoption("--vbench-max-regression", metavar="POINTS", default=None,
                help="allowed drop against the baseline for every name, in percentage points (default 0); "
                     "a significant drop larger than this fails (same as --vbench-max-drop POINTS)")
    # baseline comparison (compare.py): paired bootstrap over prompts
    g.addoption("--vbench-max-drop", metavar="[NAME=]POINTS", action="append", default=[],
                help="allowed drop against the baseline: NAME=POINTS for one name, POINTS for every name; repeatable")
    g.addoption("--vbench-confidence", metavar="LEVEL", default=None,
                help="confidence of the baseline comparison's intervals (default 0.95)")
    g.addoption("--vbench-resamples", metavar="N", default=None,
                help="bootstrap resamples of the baseline comparison (default 100000)")
    g.addoption("--vbench-baseline-force", action="store_true", default=False,
                help="compare with a baseline that differs in suite, samples, implementations, checkpoints or "
                     "precision (recorded in the report)")
    g.addoption("--vbench-html", metavar="PATH", help="write a self-contained HTML report with plots "
                "(needs the plots extra: matplotlib)")
    g.addoption("--vbench-missing-as-zero", action="store_true", default=None,
                help="count missing dimensions as raw 0 like the official cal_final_score.py")
    g.addoption("--vbench-allow-partial", action="store_true", default=False,
                help="let the gate pass a run that did not score every item (deselected with -k/--lf/--deselect, "
                     "not run); the report still says complete: false, every score says which prompts it "
                     "covers, and the official file is named <name>_eval_results.partial.json")
    g.addoption("--vbench-json", metavar="PATH", help="write the full JSON report here")
    g.addoption("--vbench-results-dir", metavar="DIR", help="write the official <name>_eval_results.json here")
    g.addoption("--vbench-markdown", metavar="PATH", help="write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    g.addoption("--vbench-device", metavar="DEV", default=None,
                help="auto (default: worker index modulo visible GPUs, else cpu), cpu, cuda, cuda:N, npu, ...")
    g.addoption("--vbench-verify-checkpoints", action="store_true", default=False,  # checkpoints (issue 13)
                help="hash every checkpoint again (normally once per file state, remembered in the cache)")
    g.addoption("--vbench-cache-dir", metavar="DIR", help="checkpoint cache (default $VBENCH_CACHE_DIR or "
                "~/.cache/vbench)")
    parser.addini("vbench_fail_under", "thresholds NAME=PCT, one per line", type="linelist", default=[])
    parser.addini("vbench_dims", "default dimension list (comma-separated)", default="")
    parser.addini("vbench_samples", "videos per prompt (default 5)", default="")
    parser.addini("vbench_device", "default device", default="")
    parser.addini("vbench_cache_dir", "checkpoint cache directory", default="")
    parser.addini("vbench_config", "YAML gate config (relative to the rootdir)", default="")
    parser.addini("vbench_missing_as_zero", "count missing dimensions as raw 0", type="bool", default=False)
    _add_vqa_options(g, parser)
    from . import ray_backend, shard, store  # suite-cost (issue 15): result store, shards, Ray

    store.add_options(g)
    shard.add_options(g)
    ray_backend.add_options(g)


def _add_vqa_options(group: pytest.OptionGroup, parser: pytest.Parser) -> None:
    """Options of the vqa_score dimension (model, templates, frames)."""
    group.addoption("--vbench-vqa-model", metavar="NAME", default=None,
                    help="vqa_score: model folder under <cache>/vqa_model/ (default qwen2.5-vl-7b)")
    parser.addini("vbench_vqa_model", "vqa_score: model folder under <cache>/vqa_model/", default="")
    parser.addini("vbench_vqa_question", "vqa_score: question template with {} for the prompt", default="")
    parser.addini("vbench_vqa_answer", "vqa_score: answer whose first token's probability is the score", default="")
    parser.addini("vbench_vqa_fps", "vqa_score: frames sampled per second (Qwen2.5-VL only; default 8)", default="")
    parser.addini("vbench_vqa_frames", "vqa_score: number of frames instead of a rate", default="")
    group.addoption("--vbench-vqa-batch-prompts", metavar="N", default=None,
                    help="vqa_score: score the videos of up to N prompts this process runs next in one forward "
                         "pass (default 1 = off; docs/dimensions/vqa_score.md)")
    parser.addini("vbench_vqa_batch_prompts", "vqa_score: prompts whose videos share a forward pass (default 1)",
                  default="")


def _vqa_options(config: pytest.Config, yaml: dict[str, str]) -> dict[str, Any]:
    """The vqa_score options as plain JSON: command line, then YAML ``vqa:``, then ini (a usage error when invalid)."""
    from .models.vqa import OPTION_KEYS, combine

    try:
        return combine({k: config.getini(f"vbench_vqa_{k}") for k in OPTION_KEYS}, yaml,
                       config.getoption("vbench_vqa_model")).to_json()
    except ValueError as exc:
        raise pytest.UsageError(f"vqa_score: {exc}") from None


def _vqa_batch_prompts(config: pytest.Config, yaml: dict[str, str]) -> int:
    """``--vbench-vqa-batch-prompts``, then YAML ``vqa: batch_prompts``, then ini (a usage error when invalid)."""
    from .models.vqa import batch_prompts

    try:
        return batch_prompts(config.getini("vbench_vqa_batch_prompts"), yaml,
                             config.getoption("vbench_vqa_batch_prompts"))
    except ValueError as exc:
        raise pytest.UsageError(f"--vbench-vqa-batch-prompts: {exc}") from None


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("vbench_videos", None))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# --------------------------------------------------------------------------------------- config
class VBenchSession:
    """Everything the plugin decided at configure time, plus the results it collects."""

    def __init__(self, config: pytest.Config):
        from . import compare, gate, suite
        from .runtime import default_cache_dir

        self.config = config
        #: reasons this run is partial on purpose (shards, present-only suites); see results.Completeness.
        #: Set first, so that anything later in configuration can append to it.
        self.planned_partial: list[str] = []
        opt = config.getoption
        videos = Path(os.path.expanduser(opt("vbench_videos")))
        self.mode = opt("vbench_mode") or "standard"
        if not videos.exists():
            raise pytest.UsageError(f"--vbench-videos: {videos} does not exist; point it at the directory "
                                    f"holding the generated videos")
        if self.mode == "standard" and not videos.is_dir():
            raise pytest.UsageError(f"--vbench-videos: {videos} is not a directory (a single file needs "
                                    f"--vbench-mode custom)")
        self.videos = videos.resolve()

        self.samples = self._samples()
        try:
            if self.mode == "standard":
                if opt("vbench_prompt_file"):
                    raise pytest.UsageError("--vbench-prompt-file needs --vbench-mode custom")
                self.suite = suite.load_suite(opt("vbench_full_info"))
                self.dims = self._select_dims({d for e in self.suite.entries for d in e["dimension"]})
                self.cases = suite.standard_cases(self.suite, self.dims, self.videos, self.samples)
                empty = [d.name for d in self.dims if not any(c.dimension == d.name for c in self.cases)]
                if empty:  # only possible for dimensions named with --vbench-dims
                    raise pytest.UsageError(f"--vbench-dims: the prompt suite {self.suite.source} has no prompt for "
                                            f"{', '.join(empty)}; choose dimensions it covers, or give a suite "
                                            f"that lists them with --vbench-full-info")
                self.cases, partial = suite.select_cases(self.suite, self.cases, self.videos, self.samples,
                                                         opt("vbench_suite") == "present")
                self.planned_partial += [partial] if partial else []
            else:
                if opt("vbench_full_info"):
                    raise pytest.UsageError("--vbench-full-info is for standard mode; custom mode reads prompts "
                                            "from file names or --vbench-prompt-file")
                self.dims = self._select_dims(None)
                self.cases, self.suite = suite.custom_cases(self.dims, self.videos, opt("vbench_prompt_file"))
                if not self.cases:
                    raise pytest.UsageError(f"--vbench-videos: no .mp4/.gif/.png video in {self.videos}")
        except suite.SuiteError as exc:
            raise pytest.UsageError(str(exc)) from None

        # gate: thresholds from ini, then config file, then command line (later ones add, never replace)
        self.thresholds = []
        extra: dict[str, Any] = {}
        try:
            for line in config.getini("vbench_fail_under"):
                self.thresholds.append(gate.parse_threshold(line, "ini vbench_fail_under"))
            cfg = opt("vbench_config") or config.getini("vbench_config")
            if cfg:
                cfg_path = Path(cfg) if opt("vbench_config") else Path(config.rootpath, cfg)
                found, extra = gate.load_config(cfg_path)
                self.thresholds += found
            for spec in opt("vbench_fail_under"):
                self.thresholds.append(gate.parse_threshold(spec))
            baseline = opt("vbench_baseline") or extra.get("baseline")
            self.baseline_path = baseline
            self.baseline = compare.load_report(baseline) if baseline else None
            reg = opt("vbench_max_regression")
            self.max_regression = (gate.parse_regression(reg, "--vbench-max-regression") if reg is not None
                                   else extra.get("max_regression", 0.0))
            self.compare_settings = compare.Settings.build(extra, opt("vbench_max_drop"), reg, opt("vbench_confidence"),
                                                           opt("vbench_resamples"), opt("vbench_baseline_force"))
        except gate.GateError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.missing_as_zero = bool(opt("vbench_missing_as_zero") or config.getini("vbench_missing_as_zero"))

        cache = opt("vbench_cache_dir") or config.getini("vbench_cache_dir")
        self.cache_dir = Path(os.path.expandvars(os.path.expanduser(cache))) if cache else default_cache_dir()
        self.options: dict[str, Any] = {"vqa": _vqa_options(config, extra.get("vqa", {})),  # vqa_batch_prompts: not in the store key
                        "vqa_batch_prompts": _vqa_batch_prompts(config, extra.get("vqa", {}))} if any(
            d.name == "vqa_score" for d in self.dims) else {}
        # what a baseline must share with this run; an incomparable baseline stops before any item runs
        self.identity = compare.identity([d.name for d in self.dims], self.cache_dir)
        if "vqa" in self.options:  # which VQA snapshot, by content (its files are not table rows)
            from .models.vqa.snapshots import identity_entry

            self.identity["checkpoints"]["vqa_model"] = identity_entry(self.options["vqa"]["model"], self.cache_dir)
        if self.baseline is not None:
            try:
                compare.check_comparable(self.baseline, {"suite": self.suite.describe(), "samples_per_prompt":
                                                         self.samples, "identity": self.identity},
                                         self.compare_settings.force)
            except compare.CompareError as exc:
                raise pytest.UsageError(f"--vbench-baseline {baseline}: {exc}") from None
        self.device_spec = opt("vbench_device") or config.getini("vbench_device") or "auto"
        self._runtime: Runtime | None = None
        self.allow_partial = bool(opt("vbench_allow_partial"))
        self.tracker: Tracker | None = None
        self.write_error: str | None = None
        self.results: Results | None = None
        self.report: dict[str, Any] | None = None
        self.verdict: dict[str, Any] | None = None
        self.comparison: Comparison | None = None
        self.written: list[Path] = []
        from . import ray_backend, shard, store

        self.result_store = store.from_config(config)
        try:
            self.shard = shard.from_config(config, self.cases)
            self.ray = None if _is_worker(config) else ray_backend.from_config(config, self)
        except ValueError as exc:  # ShardError, Ray usage
            raise pytest.UsageError(str(exc)) from None
        if self.shard is not None:
            self.planned_partial.append(self.shard.reason)
        if opt("vbench_html"):
            from .plots import require_matplotlib

            try:
                require_matplotlib()
            except ImportError as exc:
                raise pytest.UsageError(f"--vbench-html: {exc}") from None

    def _samples(self) -> int:
        samples = self.config.getoption("vbench_samples")
        if samples is None:
            samples = self.config.getini("vbench_samples") or 5
        try:
            value = int(samples)
            if value < 1:
                raise ValueError
        except ValueError:
            raise pytest.UsageError(f"--vbench-samples must be a positive integer, got {samples!r}") from None
        return value

    def _select_dims(self, in_suite: set[str] | None) -> list[Dimension]:
        """--vbench-dims (validated), else the implemented dimensions the suite (or custom mode) covers."""
        from . import dimensions

        text = self.config.getoption("vbench_dims") or self.config.getini("vbench_dims")
        try:
            if text:
                dims = dimensions.parse_list(text)
            else:
                dims = [d for d in dimensions.implemented() if d.group in dimensions.GROUPS  # extra: opt-in
                        and (d.custom_mode if in_suite is None else d.name in in_suite)]
        except dimensions.UnknownDimension as exc:
            raise pytest.UsageError(f"--vbench-dims: {exc}; known: {', '.join(dimensions.DIMENSIONS)}") from None
        if self.mode == "custom":
            bad = [d.name for d in dims if not d.custom_mode]
            if bad:
                allowed = ", ".join(n for n, d in dimensions.DIMENSIONS.items() if d.custom_mode)
                raise pytest.UsageError(f"--vbench-mode custom cannot run {', '.join(bad)}: they need the "
                                        f"suite's auxiliary info (objects, colours, scenes, styles); "
                                        f"custom mode supports {allowed}")
        not_impl = [d.name for d in dims if not d.implemented]
        if not_impl:
            raise pytest.UsageError(f"--vbench-dims: not implemented in this version of pytest-vbench: "
                                    f"{', '.join(not_impl)} (implemented: "
                                    f"{', '.join(d.name for d in dimensions.implemented())})")
        if not dims:
            raise pytest.UsageError("vbench: no implemented dimension is covered by the prompt suite; "
                                    "name some with --vbench-dims")
        return dims

    # -- per process
    def runtime(self, worker_id: str | None) -> Runtime:
        """This process's runtime (created on first use: no torch import before an item runs)."""
        if self._runtime is None:
            from .runtime import Runtime, resolve_device

            device = resolve_device(self.device_spec, worker_id)
            self._runtime = Runtime(device, self.cache_dir, self.options)
        return self._runtime


def _exit_reason(session: pytest.Session, status: int, failed: int | None = None) -> str:
    """Why pytest's exit status is not 0, in words (``failed``: distinct items with a failed report)."""
    if status == pytest.ExitCode.TESTS_FAILED:
        return f"{session.testsfailed if failed is None else failed} item(s) failed"
    if status == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    try:
        return pytest.ExitCode(status).name.lower().replace("_", " ")
    except ValueError:
        return ""


def _worker_id(config: pytest.Config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def pytest_configure(config: pytest.Config) -> None:
    """Set up the plugin when ``--vbench-videos`` is given."""
    config.addinivalue_line("markers", "vbench: a VBench (dimension, prompt) item")
    if not _active(config):
        return
    session = VBenchSession(config)
    config.stash[_KEY] = session
    from .ci_surfaces import NearMissHint

    config.pluginmanager.register(NearMissHint(), "vbench-near-miss")
    config.pluginmanager.register(SpacedKeywords(), "vbench-keywords")  # -k "temporal_flickering and stop sign"
    from . import signals

    signals.install()  # SIGTERM (a CI cancel) behaves like Ctrl-C, in the controller and in xdist workers
    if not _is_worker(config):
        from . import shard
        from .report import Results

        session.results = Results([d.name for d in session.dims], session.suite.describe(), session.samples)
        for case in session.cases if session.shard is None else session.shard.cases:  # contract 4
            session.results.expected[case.dimension] = session.results.expected.get(case.dimension, 0) + 1
        shard.record(session.results, session.shard)
        _check_start(session)
        if not config.getoption("collectonly"):  # listing items needs no checkpoints
            _preflight(session)
        from .ci_surfaces import GateSurfaces  # its sessionfinish is trylast: after the verdict and junitxml's write

        config.pluginmanager.register(GateSurfaces(session), "vbench-ci-surfaces")
        from .progress import install as install_progress

        install_progress(config, session.cases, lambda: session.runtime(None))
        config.pluginmanager.register(ResultsPlugin(session, session.results), "vbench-results")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the SIGTERM handler."""
    if _active(config):
        from . import signals

        signals.uninstall()


def _check_start(session: VBenchSession) -> None:
    """Usage errors found before any item runs: output locations, the device."""
    from .report import check_outputs
    from .results import Tracker
    from .runtime import check_device

    opt = session.config.getoption
    outputs = [(name, opt(dest), kind) for name, dest, kind in (
        ("--vbench-json", "vbench_json", "file"), ("--vbench-markdown", "vbench_markdown", "file"),
        ("--vbench-html", "vbench_html", "file"), ("--vbench-results-dir", "vbench_results_dir", "dir"),
        ("--junitxml", "xmlpath", "file")) if opt(dest, None)]
    problems = [] if session.config.getoption("collectonly") else check_outputs(outputs)
    if problems:
        raise pytest.UsageError("vbench: " + "\nvbench: ".join(problems))
    problem = check_device(session.device_spec)
    if problem:
        raise pytest.UsageError(f"--vbench-device: {problem}")
    planned = session.cases if session.shard is None else session.shard.cases  # a shard expects its own items
    session.tracker = Tracker([f"vbench::{case.item_name}" for case in planned])


def _preflight(session: VBenchSession) -> None:
    """Stop before any item runs when a selected dimension's checkpoint is missing or corrupt."""
    from . import weights
    from .static_filter import filters

    optional = sorted({c.dimension for c in session.cases if filters(c)})  # RAFT for the static filter
    problems = weights.preflight([d.name for d in session.dims], session.cache_dir,  # lock: issue 13
                                 force=session.config.getoption("vbench_verify_checkpoints"),
                                 lock=weights.find_lock(session.config.rootpath), optional=optional)
    if problems:
        raise pytest.UsageError(problems)
    if "vqa" in session.options:
        from .models.vqa import VQAOptions, preflight

        problem = preflight(VQAOptions(**session.options["vqa"]), session.cache_dir,
                            lock=weights.find_lock(session.config.rootpath),
                            force=session.config.getoption("vbench_verify_checkpoints"))
        if problem:
            raise pytest.UsageError(problem)


_KEY = pytest.StashKey["VBenchSession"]()


# --------------------------------------------------------------------------------------- collection
class VBenchSuiteNode(pytest.Collector):
    """The root of the generated items (node id ``vbench``)."""

    def collect(self) -> Iterator[pytest.Item]:
        session: VBenchSession = self.config.stash[_KEY]
        for case in session.cases:
            # an explicit nodeid keeps --lf working: pytest >= 9 compares parsed ids ("name[params]")
            item = VBenchItem.from_parent(self, name=case.item_name, nodeid=f"vbench::{case.item_name}", case=case)
            item.add_marker(pytest.mark.vbench)
            item.extra_keyword_matches.update({case.dimension, case.dim.group, prompt_keyword(case.prompt)})
            yield item


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    """Append the vbench suite to the session's top-level collection."""
    outcome = yield
    if isinstance(collector, pytest.Session) and _KEY in collector.config.stash:
        report = outcome.get_result()
        if report.passed:
            report.result.append(VBenchSuiteNode.from_parent(collector, name="vbench", nodeid="vbench"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--vbench-shard K/N``: deselect the items of the other shards."""
    if _KEY in config.stash:
        from .shard import deselect

        deselect(config, items, config.stash[_KEY].shard)


def pytest_collection_finish(session: pytest.Session) -> None:
    """``--vbench-ray``: submit the selected cases to the Ray actors (ray_backend.py)."""
    if _KEY in session.config.stash:
        from .ray_backend import start

        start(session.config, session.config.stash[_KEY], session.items)


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # a hook of pytest-xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``-n N`` with xdist's default ``--dist load``: schedule vbench items for locality (schedule.py)."""
    if _KEY not in config.stash or config.getvalue("dist") != "load":
        return None
    from .schedule import CACHE_KEY, LocalityScheduling, cost_model

    cases = {f"vbench::{c.item_name}": c for c in config.stash[_KEY].cases}
    tr = config.pluginmanager.get_plugin("terminalreporter")
    cache = getattr(config, "cache", None)  # seconds per video measured by the previous run
    return LocalityScheduling(config, log, cases, tr.write_line if tr is not None else None,
                              cost_model(cache.get(CACHE_KEY, None) if cache is not None else None))


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """One line saying how many per-video results came from the result store (store.py)."""
    vb = config.stash.get(_KEY, None)
    if vb is not None and vb.report is not None and vb.result_store is not None:
        from .store import summary_line

        terminalreporter.write_line(summary_line(vb.report, vb.result_store))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remember this run's seconds per video for the next run's xdist plan (schedule.py)."""
    vb = session.config.stash.get(_KEY, None)
    cache = getattr(session.config, "cache", None)
    if vb is not None and vb.results is not None and cache is not None and not _is_worker(session.config):
        from .schedule import remember

        remember(cache, vb.results.cases.values())


class VBenchFailure(Exception):
    """The case ran but at least one of its videos failed, or none was found."""


class VBenchItem(pytest.Item):
    """One (dimension, prompt) case."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from .results import CaseResult
        from .store import run_case

        session: VBenchSession = self.config.stash[_KEY]
        if session.ray is not None:  # scored by a Ray actor (ray_backend.py), reported here as usual
            result = CaseResult.from_json(session.ray.result(self.case))
        else:
            runtime = session.runtime(_worker_id(self.config))
            from functools import partial

            from .prefetch import upcoming_cases  # what this process runs next (--vbench-vqa-batch-prompts)

            runtime.upcoming, runtime.result_store = partial(upcoming_cases, self), session.result_store
            result = run_case(self.case, runtime, session.result_store)
            result.device = runtime.device
        self.user_properties.append((PROPERTY, json.dumps(result.to_json(), ensure_ascii=False, allow_nan=True)))
        if result.failed:
            raise VBenchFailure(result.failure_message())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """A failed case shows its message, not a traceback."""
        if isinstance(excinfo.value, VBenchFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.config.stash[_KEY].videos, None, self.name


# --------------------------------------------------------------------------------------- results
class ResultsPlugin:
    """Controller-side hooks, registered only when vbench is active in the controller process."""

    def __init__(self, vb: VBenchSession, results: Results):
        self.vb = vb
        self.results = results
        self.failed_ids: set[str] = set()  # items with a failed report in any phase (counted once each)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect each item's result from its report (the same path with and without xdist)."""
        if report.failed:
            self.failed_ids.add(report.nodeid)
        has_result = False
        if report.when == "call":
            for key, value in getattr(report, "user_properties", ()):
                if key == PROPERTY:
                    result = json.loads(value)
                    node = getattr(report, "node", None)  # xdist: the worker that ran the item
                    worker = getattr(getattr(node, "gateway", None), "id", None)
                    self.results.add(result, worker=worker, device=result.get("device"))
                    has_result = True
        if self.vb.tracker is not None and report.nodeid.startswith("vbench::"):
            self.vb.tracker.on_report(report.nodeid, report.failed, has_result, str(report.longrepr or ""))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The items left after -k / -m / --lf / --deselect (without xdist)."""
        if self.vb.tracker is not None:
            self.vb.tracker.on_collected([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist: a worker's items after deselection
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        """The items left after deselection, as a worker collected them."""
        if self.vb.tracker is not None:
            self.vb.tracker.on_collected(list(ids))

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C or SIGTERM: the run is incomplete."""
        from . import signals

        if self.vb.tracker is not None:
            self.vb.tracker.interrupted = signals.why_interrupted()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
        """Aggregate, decide the verdict, write the reports, and turn an OK exit status into a failure."""
        vb, config = self.vb, session.config
        if config.getoption("collectonly") or vb.tracker is None:
            return
        from . import compare, signals
        from . import report as rep
        from .results import decide, to_report

        signals.hold()  # a second SIGTERM must not cut the reports short
        status = int(session.exitstatus)
        tracker = vb.tracker
        # what the run was asked to run, as it stands now (a shard expects its own items; a present-only suite
        # may shrink the case list after configure)
        tracker.expected = [f"vbench::{case.item_name}" for case in (vb.cases if vb.shard is None else vb.shard.cases)]
        if status == pytest.ExitCode.INTERRUPTED and tracker.interrupted is None:
            tracker.interrupted = signals.why_interrupted() if signals.received else "session interrupted"
        stopped = session.shouldfail or session.shouldstop
        completeness = tracker.assess(stopped=stopped if isinstance(stopped, str) else None,
                                      planned=vb.planned_partial, allow_partial=vb.allow_partial)
        summary = self.results.summary(missing_as_zero=vb.missing_as_zero)
        summary["identity"] = vb.identity
        to_report(summary, completeness)
        summary["planned_partial"] = list(vb.planned_partial)
        if vb.options.get("vqa_batch_prompts", 1) > 1:  # how it ran: which prompts shared a pass varies by schedule
            summary["runtime"]["vqa_batch_prompts"] = vb.options["vqa_batch_prompts"]
        verdict, vb.comparison = compare.verdict(summary, vb.thresholds, vb.baseline, vb.compare_settings,
                                                 vb.baseline_path)
        decide(verdict, completeness, status, _exit_reason(session, status, len(self.failed_ids)))
        if vb.comparison is not None:
            summary["comparison"] = vb.comparison.to_json()
        summary["verdict"] = verdict
        vb.report, vb.verdict = summary, verdict
        try:
            vb.written = rep.write_outputs(self._outputs(summary))
        except rep.OutputError as exc:
            vb.write_error = f"vbench: {exc.strerror}; no report file was written (nothing partial is left)"
        if (verdict["failures"] or vb.write_error) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _outputs(self, summary: dict[str, Any]) -> list[Any]:
        """The report files of this run, rendered (written together by report.write_outputs)."""
        from . import compare
        from . import report as rep

        vb, opt = self.vb, self.vb.config.getoption
        outputs = []
        if opt("vbench_json"):
            outputs.append(rep.Output(opt("vbench_json"), rep.render_json(summary)))
        if opt("vbench_results_dir") and (summary["complete"] or vb.allow_partial or vb.planned_partial):
            outputs.append(rep.Output(rep.official_path(summary, opt("vbench_results_dir")),
                                      rep.official_text(summary)))
        if opt("vbench_html"):
            from . import plots

            outputs.append(rep.Output(opt("vbench_html"), plots.render_html(summary, vb.baseline, vb.comparison)))
        if opt("vbench_markdown"):  # appended: $GITHUB_STEP_SUMMARY is shared with other steps
            text = rep.markdown(summary, summary["verdict"]) + compare.markdown_extra(vb.comparison, opt("vbench_html"))
            outputs.append(rep.Output(opt("vbench_markdown"), text, append=True))
        return outputs

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        """Print the score table, the group scores and the verdict."""
        vb = self.vb
        if vb.report is None or vb.verdict is None:
            return
        from .report import format_table

        tr = terminalreporter
        tr.section("VBench summary")
        for line in format_table(vb.report):
            tr.write_line(line, red=line.startswith("INCOMPLETE"), bold=line.startswith("INCOMPLETE"))
        if vb.comparison is not None:
            from .compare import format_table as comparison_table

            tr.write_line("")
            for line in comparison_table(vb.comparison):
                tr.write_line(line)
        for p in vb.written:
            tr.write_line(f"wrote {p}")
        if vb.write_error:
            tr.write_line(vb.write_error, red=True, bold=True)
        failures = vb.verdict["failures"]
        for line in failures:
            tr.write_line(line, red=True, bold=True)
        if not failures and (vb.thresholds or vb.baseline):
            tr.write_line(f"vbench gate passed ({len(vb.thresholds)} threshold(s)"
                          f"{', baseline' if vb.baseline else ''})", green=True)

    def pytest_report_header(self, config: pytest.Config) -> str:
        """One header line saying what will be scored."""
        vb = self.vb
        return (f"vbench: {vb.mode} mode, suite {vb.suite.source} (sha256 {vb.suite.sha256[:12]}), "
                f"{len(vb.dims)} dimension(s), {len(vb.cases)} item(s), videos {vb.videos}, cache {vb.cache_dir}")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which may not be installed
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` with vbench active: one worker per visible accelerator (default rule when none)."""
    if not _active(config):
        return None
    try:
        import torch

        count = torch.cuda.device_count()
    except Exception:
        count = 0
    return count or None


@pytest.fixture(scope="session")
def vbench_runtime(request: pytest.FixtureRequest) -> Runtime:
    """The process's VBench runtime (device, lazy models, frame cache), for hand-written tests."""
    config = request.config
    if _KEY not in config.stash:
        pytest.skip("pytest-vbench is not active (no --vbench-videos)")
    return config.stash[_KEY].runtime(_worker_id(config))
