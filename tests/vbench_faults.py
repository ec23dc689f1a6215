"""Fault injection for end-to-end tests: ``-p vbench_faults`` with ``VBENCH_FAULTS`` set.

``VBENCH_FAULTS`` is JSON ``{"<file name substring>": "<fault>"}``; the first video of a run whose
file name contains the substring gets the fault when temporal_flickering scores it:

* ``raise``: RuntimeError; ``exit``: SystemExit; ``nan`` / ``inf``: a non-finite score
* ``hang``: writes ``$VBENCH_FAULTS_MARK`` (if set), then sleeps (the test sends a signal)
* ``os_exit``: ``os._exit(3)``; ``sigkill``: SIGKILL to this process
* ``sigint`` / ``sigterm``: the signal to the session's controller (this process without xdist,
  the parent with it), as Ctrl-C or a CI cancel would
* ``enospc``: no fault while scoring; every report write fails with ENOSPC (a full disk)
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from pathlib import Path


def _fault_for(name: str) -> str | None:
    for key, fault in json.loads(os.environ.get("VBENCH_FAULTS", "{}")).items():
        if key in name:
            return fault
    return None


def _controller() -> int:
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def pytest_configure(config):
    from pytest_vbench.dimensions import temporal_flickering as tf
    from pytest_vbench.scoring import VideoScore

    original = tf.score_video
    faults = set(json.loads(os.environ.get("VBENCH_FAULTS", "{}")).values())

    def score_video(video, case, runtime):
        fault = _fault_for(video.path.name)
        if fault == "raise":
            raise RuntimeError("injected fault")
        if fault == "exit":
            raise SystemExit(4)
        if fault in ("nan", "inf"):
            value = float(fault)
            return VideoScore(value, 1, {"video_results": value})
        if fault == "hang":
            mark = os.environ.get("VBENCH_FAULTS_MARK")
            if mark:
                Path(mark).write_text(str(os.getpid()))
            time.sleep(300)
        if fault == "os_exit":
            os._exit(3)
        if fault == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if fault in ("sigint", "sigterm"):
            os.kill(_controller(), signal.SIGINT if fault == "sigint" else signal.SIGTERM)
            time.sleep(30)  # the controller stops the session (a worker is torn down with it)
        return original(video, case, runtime)

    tf.score_video = score_video
    if "sigint" in faults and not os.environ.get("PYTEST_XDIST_WORKER"):
        # Ctrl-C as at a terminal: a process started in the background by a non-interactive shell
        # inherits SIGINT ignored, and then Python installs no KeyboardInterrupt handler
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if "enospc" in faults:
        import pytest_vbench.report as rep

        def full(fd, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        rep._write_all = full
