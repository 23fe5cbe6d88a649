"""`run`: one simulation, in an engine, to a `Result` with its provenance."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .params import Params, check_memory, params_to_dict
from .results import HOST_COLUMNS, MONTHLY_COLUMNS, WORKER_COLUMNS, Result

ENGINES = ("mesa", "array")


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    try:
        mesa_version = version("mesa")  # without importing mesa (a second's import the array engine does not need)
    except PackageNotFoundError:  # pragma: no cover
        mesa_version = None
    return {"package": __version__, "python": platform.python_version(), "numpy": np.__version__, "mesa": mesa_version, "pandas": pd.__version__}


def workers_table(workers) -> pd.DataFrame:
    """One row per worker ever posted (mesa engine)."""
    rows = {
        "worker_id": [w.worker_id for w in workers],
        "host": [w.model.host_names[w.host] for w in workers],
        "status": [w.status for w in workers],
        "month_deployed": [w.month_deployed for w in workers],
        "month_left": [w.month_left if w.month_left is not None else -1 for w in workers],
        "entry_bribe": [w.entry_bribe for w in workers],
        "retained_total": [w.retained_total for w in workers],
        "bribes_total": [w.bribes_total for w in workers],
        "side_earnings_total": [w.side_earnings_total for w in workers],
        "forfeited_total": [w.forfeited_total for w in workers],
        "net_gain": [w.net_gain for w in workers],
        "months_abroad": [w.months_abroad for w in workers],
        "productivity": [w.productivity for w in workers],
        "loyalty": [w.loyalty for w in workers],
    }
    df = pd.DataFrame(rows, columns=WORKER_COLUMNS)
    df["month_left"] = df["month_left"].astype("int64")
    return df


def run(params: Params | None = None, engine: str = "mesa", seed: int = 0, progress: bool = False, command: str | None = None) -> Result:
    """Run the model and return its tables.

    Args:
        params: from `load_params` (None = the baseline).
        engine: "mesa" (the reference, one Python object per agent) or "array"
            (the same phases over numpy arrays; docked to the reference).
        seed: the seed of every random draw; the same seed gives the same tables.
        progress: show a progress bar over months.
    """
    from .params import ParamsError, load_params

    if params is None:
        params = load_params()
    if engine not in ENGINES:
        raise ParamsError(f"engine: unknown engine '{engine}' (engines: {', '.join(ENGINES)})")
    check_memory(params, engine)
    t0 = time.perf_counter()
    if engine == "array":
        from .arrays import ArrayModel

        model = ArrayModel(params, seed=seed)
    else:
        from .model import OverseasLaborModel

        model = OverseasLaborModel(params, seed=seed)
    months = params.calendar.months
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=months, unit="month", desc=f"{engine} engine", leave=False, file=sys.stderr)
    for _ in range(months):
        model.step()
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    monthly = pd.DataFrame(model.aggregator.monthly, columns=MONTHLY_COLUMNS)
    hosts = pd.DataFrame(model.aggregator.host_rows, columns=HOST_COLUMNS)
    workers = model.workers_table() if engine == "array" else workers_table(model.everyone)
    wall = time.perf_counter() - t0
    manifest = {
        "engine": engine,
        "seed": int(seed),
        "params": params_to_dict(params),
        "workers_initial": model.workers_initial,
        "versions": versions(),
        "git_commit": _git_commit(),
        "wall_seconds": wall,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    result = Result(monthly=monthly, hosts=hosts, workers=workers, manifest=manifest)
    result.model = model  # for interactive use (not saved)
    return result
