"""`run`: one simulation, in an engine, to a `Result` with its provenance."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from ..common.errors import ParamsError, interrupted
from ..common.provenance import git_commit, versions
from ..core.compiled import loading_seconds
from ..core.draws import check_seed
from ..core.params import Params, load_params, make_params, params_to_dict
from ..results.result import Result
from ..results.columns import COL

if TYPE_CHECKING:
    import pandas as pd  # imported when a table is made or read

ENGINES = ("mesa", "array")
BYTES_PER_WORKER = {"mesa": 3_000, "array": 400}
BYTES_PER_MINDER = {"mesa": 2_000, "array": 64}  # a mesa.Agent with its list of workers; a row of 7 arrays
BYTES_PER_CAMP = {"mesa": 600, "array": 32}
BYTES_PER_HOST_PAIR = 64  # the state's shifting compares every pair of hosts (a few hosts x hosts matrices)


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ParamsError(f"engine: unknown engine '{engine}' (engines: {', '.join(ENGINES)})")


def make_model(params: Params, engine: str, seed: int):
    """A new model of ``params`` in ``engine`` ("mesa" or "array"), at month 0."""
    check_engine(engine)
    if engine == "array":
        from .array.model import ArrayModel

        return ArrayModel(params, seed=seed)
    from .mesa.model import OverseasLaborModel

    return OverseasLaborModel(params, seed=seed)


# ---------------------------------------------------------------- memory


def estimate_memory(params: Params, engine: str = "array") -> tuple[int, int]:
    """(workers ever deployed, bytes) a run will need, estimated before allocating: workers, minders and
    camps ever made (each at least one per host and cohort), and the host-by-host matrices."""
    pop = params.population
    initial = sum(h.workers for h in params.hosts.values())
    months = params.calendar.months + params.calendar.warmup  # a warm-up's months are run too
    turnover = months / pop.contract_months
    ever = int(initial * (1 + 1.2 * turnover))  # 20% margin for early exits
    # the engines' hosts are cells, a host group's work in one sector (sim/core/sectors.py)
    n_cells = sum(max(1, sum(1 for w in (h.sectors or {}).values() if w > 0)) for h in params.hosts.values())
    units = n_cells * (months + pop.contract_months)  # cohorts: a unit each at least
    minders = 2 * ever // pop.minder_ratio + units  # replacements of punished minders: as many again at most
    camps = ever // pop.camp_size + units
    need = (
        ever * BYTES_PER_WORKER.get(engine, 3_000)
        + minders * BYTES_PER_MINDER.get(engine, 2_000)
        + camps * BYTES_PER_CAMP.get(engine, 600)
        + n_cells**2 * BYTES_PER_HOST_PAIR
        + 200 * 2**20
    )
    return ever, need


def available_memory() -> int:
    """Bytes of memory available to a new run, on any system (psutil)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(params: Params, engine: str = "array") -> None:
    ever, need = estimate_memory(params, engine)
    have = available_memory()
    if need > 0.8 * have:
        raise ParamsError(
            f"hosts.*.workers: population too large: ~{ever:,} workers over the run would need "
            f"~{need / 2**30:.1f} GiB with the {engine} engine, more than the {0.8 * have / 2**30:.1f} GiB "
            f"that can be used here; lower the workers or calendar.months"
        )


# ---------------------------------------------------------------- one run


def with_warmup(params: Params) -> Params:
    """The parameters of a run with a warm-up: ``calendar.warmup`` months more, starting that much earlier; a
    policy month given as an index moves with the calendar (a date stays the date)."""
    w = params.calendar.warmup
    d = params_to_dict(params)
    d["calendar"].update(start=params.calendar.date(-w), months=params.calendar.months + w, warmup=0)
    for p in d.get("policies") or []:
        for k in ("start", "end", "deadline"):
            if isinstance(p.get(k), int) and not isinstance(p.get(k), bool):
                p[k] += w
        for period in p.get("schedule") or []:
            if isinstance(period["start"], int):
                period["start"] += w
    return make_params(d)


def after_warmup(table: pd.DataFrame, w: int) -> pd.DataFrame:
    """A monthly, host or sector table without the warm-up's ``w`` months, the rest renumbered from 0."""
    if not w:
        return table
    table = table[table["month"] >= w].reset_index(drop=True)
    table["month"] -= w
    return table


def _without_warmup(monthly: pd.DataFrame, hosts: pd.DataFrame, sectors: pd.DataFrame, workers: pd.DataFrame, w: int):
    """The tables of the months from ``calendar.start`` on: the warm-up's months dropped and the rest renumbered
    from 0; the workers who left during the warm-up dropped, the others' months renumbered; and the workers abroad
    at the start (after the warm-up's last month)."""
    initial = int(monthly[COL.workers_active].iloc[w - 1])
    monthly, hosts, sectors = (after_warmup(t, w) for t in (monthly, hosts, sectors))
    gone = (workers["status"] != "active") & (workers["month_left"] < w)
    workers = workers[~gone].reset_index(drop=True)
    workers["month_deployed"] = workers["month_deployed"] - w
    workers["month_left"] = workers["month_left"].where(
        workers["month_left"] < 0, workers["month_left"] - w
    )  # -1: abroad
    return monthly, hosts, sectors, workers, initial


def run(
    params: Params | None = None,
    engine: str = "array",
    seed: int = 0,
    progress: bool = False,
    command: str | None = None,
) -> Result:
    """Run the model and return its tables.

    Args:
        params: from `load_params` (None = the baseline).
        engine: "mesa" (the reference, one Python object per agent) or "array"
            (the same phases over numpy arrays; docked to the reference).
        seed: the seed of every random draw; the same seed gives the same tables.
        progress: show a progress bar over months.
    """
    if params is None:
        params = load_params()
    if not isinstance(params, Params):
        raise ParamsError(f"params: expected Params from load_params, not {type(params).__name__}")
    seed = check_seed(seed)
    check_engine(engine)
    check_memory(params, engine)
    t0 = time.perf_counter()
    given, warmup = params, params.calendar.warmup
    if warmup:
        params = with_warmup(params)
    months = params.calendar.months
    bar = None
    if progress:
        from tqdm import tqdm

        # only on a terminal: in a log file a bar is a stream of carriage returns
        bar = tqdm(
            total=months,
            unit="month",
            desc=f"{engine} engine",
            leave=False,
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
        )
    loaded0, _ = loading_seconds()
    try:
        t_make = time.perf_counter()
        model = make_model(params, engine, seed)
        t_built = time.perf_counter()
        t_first = None
        for _ in range(months):
            model.step()
            if t_first is None:
                t_first = time.perf_counter()
            if bar is not None:
                bar.update(1)
    except SystemError as e:
        if interrupted(e):  # Ctrl-C while compiled code was returning: an interruption, not a failure
            raise KeyboardInterrupt from None
        raise
    finally:
        if bar is not None:
            bar.close()

    loaded = loading_seconds()[0] - loaded0  # loading compiled code, in building the model and the first month
    monthly, hosts, sectors = model.aggregator.frames()
    workers = model.workers_table()
    workers_initial = model.workers_initial
    if warmup:
        monthly, hosts, sectors, workers, workers_initial = _without_warmup(monthly, hosts, sectors, workers, warmup)
    wall = time.perf_counter() - t0
    manifest = {
        "engine": engine,
        "seed": int(seed),
        "params": params_to_dict(given),
        "workers_initial": workers_initial,
        "versions": versions(),
        "git_commit": git_commit(),
        "wall_seconds": wall,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    result = Result(monthly=monthly, hosts=hosts, workers=workers, manifest=manifest, sectors=sectors)
    result.model = model  # type: ignore[attr-defined]  # for interactive use (not saved, not a field)
    result.timings = {  # type: ignore[attr-defined]  # the time to the first month (olsim run --profile; not saved)
        "build_seconds": t_built - t_make,
        "first_month_seconds": (t_first or t_built) - t_built,
        "loading_compiled_seconds": loaded,
    }
    return result
