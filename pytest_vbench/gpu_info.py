"""The accelerator a run's numbers came from (VBench #176: results differ by GPU), for the report's provenance."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from typing import Any


def _driver_version() -> str | None:
    """The NVIDIA driver version from ``nvidia-smi`` (None when it is absent or fails)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return lines[0] if lines else None


def describe() -> dict[str, Any] | None:
    """``{"name", "count", "driver", "cuda", "cudnn", "torch"}`` of the visible CUDA GPUs; None on a CPU-only machine
    or without torch."""
    if "torch" not in sys.modules and importlib.util.find_spec("torch") is None:
        return None
    import torch

    try:
        if not torch.cuda.is_available():
            return None
        count = torch.cuda.device_count()
        names = sorted({torch.cuda.get_device_name(i) for i in range(count)})
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    except Exception:  # a broken CUDA setup: the run itself reports it; provenance stays silent
        return None
    return {"name": ", ".join(names), "count": count, "driver": _driver_version(),
            "cuda": getattr(torch.version, "cuda", None), "cudnn": cudnn, "torch": torch.__version__}
