"""Revenue and workers by sector over a run (issue 29): the sector table and the lines ``olsim run`` prints of it.

From a run's sectors table (`Result.sectors`: a row per month, host group and sector), one row per sector that had
workers (abroad at the start or at a month's end, or working in a month), in the order of the run's parameters
(``sectors``, as declared; any other sector of the table follows, in its order):

- ``sector`` and ``title`` (the sector in words, from its parameters; its name if it has none);
- ``workers_start``: the workers abroad at the start, before month 0 (month 0's workers abroad at its end, less its
  postings, plus its leavers: over all sectors, the summary's workers at the start); ``workers_end``: abroad at
  the last month's end;
- ``worker_years``: the months worked (``workers_working`` summed), over 12;
- the outcomes of `SECTOR_OUTCOMES` (the registry's computations, on the sector's rows added up over its host
  groups month by month): the revenue delivered per year (USD: the sector's revenue over the run's years), the
  state take per worker-month and what a worker keeps per worker-month (USD: ``state_take`` and
  ``worker_retained`` over ``workers_working``) and the deaths per 10,000 worker-years.

Totals (workers, worker-years, revenue a year) are at full scale: divided by the run's scale (the manifest's
``scale``; 1 unless it says otherwise, as for every single run), rates and amounts per worker are not. The sectors'
revenue adds up to the run's revenue delivered per year. A run saved before sectors has no sectors table: its
sector table is empty and it prints no sector lines.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..common.errors import ParamsError
from ..core.params import make_params
from .columns import COL, COLUMN, SECTOR_COLUMNS
from .outcomes import OUTCOMES, SECTOR_KEY, SECTOR_OUTCOMES, RunTables
from .tenure import EXIT_COLUMN

REVENUE, TAKE, KEPT, DEATHS = SECTOR_OUTCOMES
TITLE = "title"  # the sector in words
WORKERS_START, WORKERS_END = "workers_start", "workers_end"
WORKER_YEARS = "worker_years"
SECTOR_TABLE_COLUMNS = (SECTOR_KEY, TITLE, WORKERS_START, WORKERS_END, WORKER_YEARS, *SECTOR_OUTCOMES)
# the sectors table's counts and money, added up over host groups (and sectors) month by month
SUMMED = tuple(c for c in SECTOR_COLUMNS if c in COLUMN and COLUMN[c].summed)
ALL_SECTORS = "all sectors"  # the printed row over every sector
HEADING = "sectors over the run"
# the printed columns' headings, on two lines: the workers, then the figures of SECTOR_OUTCOMES
HEADS = (
    ("workers at", "start / end"),
    ("revenue delivered", "per year"),
    ("state take per", "worker-month"),
    ("kept per", "worker-month"),
    ("deaths per 10,000", "worker-years"),
)
assert len(HEADS) == 1 + len(SECTOR_OUTCOMES)


def scale_of(result) -> float:
    """The share of the full workforce a run simulated: the manifest's ``scale``, 1 unless it says otherwise."""
    return float(result.manifest.get("scale", 1.0))


def sector_titles(result) -> dict[str, str]:
    """Each sector of the run's parameters (`Params` from its manifest) in words, in their declared order; the
    built-in sectors' for a manifest the parameters no longer accept."""
    try:
        sectors = make_params(result.manifest.get("params") or {}).sectors
    except ParamsError:
        sectors = make_params({}).sectors
    return {name: s.title or name for name, s in sectors.items()}


def sector_table(result) -> pd.DataFrame:
    """The sector table of a run (the module's docstring): a row per sector that had workers."""
    titles = sector_titles(result)
    by_sector = _by_sector(result, titles)
    rows = [_figures(result, frame, workers, scale_of(result)) for frame, workers in by_sector.values()]
    table = pd.DataFrame(rows, columns=[c for c in SECTOR_TABLE_COLUMNS if c not in (SECTOR_KEY, TITLE)])
    names = list(by_sector)
    table.insert(0, TITLE, [titles.get(s, s) for s in names])
    table.insert(0, SECTOR_KEY, pd.Series(names, dtype=object))
    assert tuple(table.columns) == SECTOR_TABLE_COLUMNS
    return table


def sector_lines(result) -> str:
    """What ``olsim run`` prints after the tenure lines: per sector (in words) and over all sectors, over the whole
    run, the workers at the start and the end, the revenue delivered per year, the state take and what a worker
    keeps per worker-month, and the deaths per 10,000 worker-years; nothing for a run without a sectors table."""
    table = sector_table(result)
    if not len(table):
        return ""
    every = _figures(result, _monthly_of(result, result.sectors), result.workers, scale_of(result))
    rows = [_cells(str(r[TITLE]), r) for _, r in table.iterrows()] + [_cells(ALL_SECTORS, every)]
    first = max(len(HEADING), *(len(r[0]) for r in rows))
    widths = [max(len(top), len(bottom), *(len(r[i + 1]) for r in rows)) for i, (top, bottom) in enumerate(HEADS)]
    lines = [
        "  " + HEADING.ljust(first) + "".join(f"  {h[0]:>{w}}" for h, w in zip(HEADS, widths)),
        "  " + "".ljust(first) + "".join(f"  {h[1]:>{w}}" for h, w in zip(HEADS, widths)),
    ]
    lines += ["  " + r[0].ljust(first) + "".join(f"  {v:>{w}}" for v, w in zip(r[1:], widths)) for r in rows]
    lines.append("  (per month, host group and sector: Result.sectors; README, Outputs)")
    return "\n".join(lines)


def _cells(name: str, figures) -> tuple[str, ...]:
    workers = f"{round(figures[WORKERS_START]):,} / {round(figures[WORKERS_END]):,}"
    return (name, workers, *(OUTCOMES[k].format(figures[k], full=OUTCOMES[k].total) for k in SECTOR_OUTCOMES))


def _by_sector(result, titles: dict[str, str]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Each sector that had workers, in the order of ``titles`` (the parameters'), then any other in the table's
    order: its monthly rows (added up over host groups) and its workers."""
    sectors = getattr(result, "sectors", None)
    if sectors is None or not len(sectors):
        return {}
    present = list(pd.unique(sectors[SECTOR_KEY]))
    names = [s for s in titles if s in present] + [s for s in present if s not in titles]
    w = result.workers
    code, of_workers = pd.factorize(w[SECTOR_KEY]) if SECTOR_KEY in w.columns else (np.zeros(0), [])
    worker_code = {s: i for i, s in enumerate(of_workers)}
    out = {}
    for s in names:
        frame = _monthly_of(result, sectors[sectors[SECTOR_KEY] == s])
        if _had_workers(frame):
            out[s] = (frame, w[code == worker_code[s]] if s in worker_code else w.iloc[:0])
    return out


def _monthly_of(result, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the sectors table added up month by month (counts and money), a row for each of the run's months."""
    months = len(result.monthly)
    frame = rows.groupby(COL.month)[list(SUMMED)].sum().reindex(range(months), fill_value=0)
    return frame.rename_axis(COL.month).reset_index()


def _had_workers(frame: pd.DataFrame) -> bool:
    return bool(len(frame)) and bool(
        (frame[COL.workers_active] > 0).any() or (frame[COL.workers_working] > 0).any() or _start(frame) > 0
    )


def _start(frame: pd.DataFrame) -> float:
    """The workers abroad before month 0: those at its end, less its postings, plus its leavers."""
    if not len(frame):
        return 0.0
    first = frame.iloc[0]
    return float(first[COL.workers_active] - first[COL.deployed] + sum(first[c] for c in EXIT_COLUMN.values()))


def _figures(result, frame: pd.DataFrame, workers: pd.DataFrame, scale: float) -> dict[str, float]:
    """The sector table's figures of monthly rows ``frame`` (a sector's, or every sector's): the registry computes
    the outcomes over them as over a run's monthly table; totals divided by ``scale``."""
    tables = RunTables(SimpleNamespace(monthly=frame, workers=workers, hosts=None, manifest=result.manifest))
    out = {
        WORKERS_START: _start(frame) / scale,
        WORKERS_END: (float(frame[COL.workers_active].iloc[-1]) if len(frame) else 0.0) / scale,
        WORKER_YEARS: tables.worker_years / scale,
    }
    for k in SECTOR_OUTCOMES:
        value = float(OUTCOMES[k].compute(tables))
        out[k] = value / scale if OUTCOMES[k].total else value
    return out
