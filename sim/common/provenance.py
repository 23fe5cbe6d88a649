"""Where a result came from: the package version, the git commit, the versions of what ran it."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import time
from pathlib import Path

__version__ = "0.1.0"


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout the package runs from, or None (not a checkout, or no git); asked of git once per
    process (3 ms a call: a calibration makes tens of thousands of runs), so it is the commit when this process
    first asked, the code it imported then."""
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np
    import pandas as pd

    try:
        mesa_version = version("mesa")  # without importing mesa (a second's import the array engine does not need)
    except PackageNotFoundError:  # pragma: no cover
        mesa_version = None
    return {
        "package": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa_version,
        "pandas": pd.__version__,
    }


def process_seconds() -> float:
    """Seconds since this process started (Python's own start-up and everything since); to 0.01 s on Linux (psutil's
    start time counts from a boot time in whole seconds, so it is used only on other systems)."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(stat[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
