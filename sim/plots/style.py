"""What every figure shares: a headless backend, the scenario colours, saving."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # in a notebook the kernel's own backend stays, so the user's plots still show
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def colours(names):
    cycle = plt.get_cmap("tab10" if len(names) <= 10 else "tab20").colors
    return {n: cycle[i % len(cycle)] for i, n in enumerate(names)}


def save(fig, path: str | Path, tight: bool = True) -> Path:
    """Write a figure (laid out tightly unless the caller already did) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
