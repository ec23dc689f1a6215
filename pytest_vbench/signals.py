"""SIGTERM behaves like Ctrl-C: a CI cancel leaves a partial report marked incomplete and a non-zero exit.

:func:`install` makes SIGTERM raise ``KeyboardInterrupt`` in the main thread of this process (the
controller, and each xdist worker), which pytest handles as an interrupted session: the results
that arrived are reported, marked incomplete, and the exit status is 2. :func:`hold` makes further
SIGTERMs only be remembered while the reports are written, so a second signal cannot truncate them.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

received: list[int] = []  # signals seen by the handlers of this process
_previous: Any = None
_installed = False


def _raise(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _remember(signum: int, frame: FrameType | None) -> None:
    received.append(signum)


def install() -> None:
    """Turn SIGTERM into KeyboardInterrupt (main thread only; a no-op elsewhere)."""
    global _previous, _installed
    if _installed or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return
    try:
        _previous = signal.signal(signal.SIGTERM, _raise)
        _installed = True
    except (ValueError, OSError):  # pragma: no cover - embedded interpreters
        pass


def hold() -> None:
    """While reports are written: remember SIGTERM, do not interrupt."""
    if _installed:
        signal.signal(signal.SIGTERM, _remember)


def uninstall() -> None:
    """Restore the SIGTERM handler found by :func:`install`."""
    global _installed
    if _installed:
        signal.signal(signal.SIGTERM, _previous if _previous is not None else signal.SIG_DFL)
        _installed = False


def why_interrupted() -> str:
    """``SIGTERM`` when a SIGTERM was received, else ``KeyboardInterrupt`` (Ctrl-C / SIGINT)."""
    return "SIGTERM" if signal.SIGTERM in received else "KeyboardInterrupt"
