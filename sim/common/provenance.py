"""Where a result came from: the package version, the git commit, the versions of what ran it."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

__version__ = "0.1.0"


def git_commit() -> str | None:
    """The commit of the checkout the package runs from, or None (not a checkout, or no git)."""
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
    return {"package": __version__, "python": platform.python_version(), "numpy": np.__version__, "mesa": mesa_version,
            "pandas": pd.__version__}
