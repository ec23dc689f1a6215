"""Reading a case's auxiliary info (standard mode: the entry's ``auxiliary_info[<dimension>]``).

One rule and one message for the dimensions that need it (object_class, multiple_objects, color,
spatial_relationship, scene, appearance_style): a missing or malformed field fails the video with a
:class:`~pytest_vbench.video.VideoError` naming the prompt, the dimension, the field and what it held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..video import VideoError


def field(case: Any, key: str, valid: Callable[[Any], bool], form: str = "") -> Any:
    """``case.aux[key]`` when ``valid`` accepts it; ``form`` says what a valid value looks like."""
    value = case.aux.get(key) if isinstance(case.aux, dict) else None
    if not valid(value):
        raise VideoError(f"prompt {case.prompt!r}: {case.dimension} needs auxiliary_info.{key}{form} (standard "
                         f"mode with VBench_full_info.json); got {value!r}")
    return value


def text(value: Any) -> bool:
    """A non-empty string."""
    return isinstance(value, str) and bool(value)
