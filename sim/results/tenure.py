"""How long postings last and how they end, per calendar year and host: the tenure table (issue 28).

From a run's workers table and its calendar, one row per (calendar year, host) and one per year over all hosts
(host ``all``), in the run's years (the first and the last may be partial: ``months_in_run``):

- ``worker_years``: the months worked abroad in the year, over 12. A worker counts in every month he worked: from
  the month he was posted (or the run's first month, for one posted before it) to the month he left, that month
  included (he worked it: sent home in phase 7, after the month's work; caught or escaped in phase 9, dead in
  phase 10, completed in phase 11) except when he was repatriated under a mandate, which happens in phase 2,
  before the month's work (the month he left does not count); still abroad, to the run's last month. These are
  the workers the monthly table counts in ``workers_working``, so ``worker_years`` x 12 is exactly the sum of
  ``workers_working`` over the year's months (of the host table's, per host): the worker-years every rate of the
  outcome registry divides by.
- the leavers of the year by how they left, named as the monthly table's exit columns (``completed``,
  ``sent_home``, ``repatriated``, ``escaped``, ``caught``, ``deaths``: workers whose ``month_left`` falls in
  the year), each the sum of that column over the year's months, and ``leavers``, their total;
- ``sent_home_per_1000_worker_years``, ``caught_per_1000_worker_years``: 1,000 x leavers so / worker-years;
- ``tenure_p25_months``, ``tenure_median_months``, ``tenure_p75_months``: quartiles of ``months_abroad`` (months
  of his contract served, months before the run included) of the year's leavers, any exit;
  ``completed_tenure_p25_months``, ``completed_tenure_median_months``, ``completed_tenure_p75_months``: the same
  of those who completed their contract; percentiles interpolate linearly (numpy's default); NaN with none;
- ``left_in_first_month_share``: the share of the year's leavers with ``months_abroad`` 0, gone before their
  first month abroad was out.

Four columns are outcomes of the registry (`TENURE_OUTCOMES`) restricted to a year and a host: computed over the
whole run and all hosts (`tenure_over_run`, its ``all`` row) they are the run's summary values. Pure numpy
(grouped sums with ``bincount``; the percentiles from each group's histogram of whole months): about 0.1 s for
the default run's ~440,000 workers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..common.formatting import fixed, number
from ..core.fields import parse_month
from ..core.workers import EXITS, STATUS_CODE, STATUSES
from .columns import COL, COLUMNS
from .outcomes import OUTCOMES, TENURE_OUTCOMES

SENT_HOME_RATE, CAUGHT_RATE, TENURE_MEDIAN, FIRST_MONTH_SHARE = TENURE_OUTCOMES
ALL_HOSTS = "all"  # the host of the rows over all hosts
YEAR = "year"
MONTHS_IN_RUN = "months_in_run"  # months of the year (or of the run) the run covers
WORKER_YEARS = "worker_years"  # months worked abroad / 12
LEAVERS = "leavers"  # workers who left in the year, any exit
# each exit's column: the monthly table's column counting it (a status column of sim/results/columns.py)
EXIT_COLUMN = {c.source: c.name for c in COLUMNS if c.kind == "status" and c.source in EXITS}
assert tuple(EXIT_COLUMN) == EXITS, "every exit has its column in the monthly table"
RATES = {SENT_HOME_RATE: EXIT_COLUMN["sent_home"], CAUGHT_RATE: EXIT_COLUMN["caught"]}  # per 1,000 worker-years
QUARTILES = (25.0, 50.0, 75.0)
TENURE = ("tenure_p25_months", TENURE_MEDIAN, "tenure_p75_months")  # months_abroad of the leavers, any exit
COMPLETED_TENURE = ("completed_tenure_p25_months", "completed_tenure_median_months", "completed_tenure_p75_months")
TENURE_COLUMNS = (
    YEAR,
    COL.host,
    MONTHS_IN_RUN,
    WORKER_YEARS,
    LEAVERS,
    *EXIT_COLUMN.values(),
    *RATES,
    *TENURE,
    *COMPLETED_TENURE,
    FIRST_MONTH_SHARE,
)

ACTIVE, COMPLETED, REPATRIATED = STATUS_CODE["active"], STATUS_CODE["completed"], STATUS_CODE["repatriated"]


def tenure_table(workers: pd.DataFrame, start: str, months: int, hosts=None) -> pd.DataFrame:
    """The tenure table (the module's docstring) of a run of ``months`` months whose month 0 is ``start``
    (YYYY-MM): one row per calendar year and host (those of ``hosts`` in its order, even without workers, then
    any other of the table's in the order they appear), then the year's row over all hosts (host ``all``)."""
    y0, m0 = parse_month(start)
    year_of_month = y0 + (m0 - 1 + np.arange(months)) // 12
    years, period = np.unique(year_of_month, return_inverse=True)
    table = _tenure(workers, period.astype(np.int64), len(years), hosts)
    table.insert(0, YEAR, years.astype(np.int64)[table.pop(YEAR).to_numpy()])
    return table


def tenure_over_run(workers: pd.DataFrame, months: int, hosts=None) -> pd.DataFrame:
    """The tenure table's columns over the whole run, one row per host and one over all hosts (no year column):
    its ``all`` row holds the run's summary values of `TENURE_OUTCOMES`."""
    return _tenure(workers, np.zeros(months, dtype=np.int64), 1, hosts).drop(columns=YEAR)


def calendar_start(result) -> str:
    """Month 0 of a run (YYYY-MM): its parameters' ``calendar.start``, else the monthly table's first date."""
    start = ((result.manifest.get("params") or {}).get("calendar") or {}).get("start")
    if start is None:
        if not len(result.monthly):
            raise ValueError("the run has no months and its manifest no calendar.start")
        start = str(result.monthly[COL.date].iloc[0])
    return str(start)


def _hosts_of(result) -> list:
    """The hosts in the order of the run's parameters (else of the host table; any other of the workers table's
    follows, in its order)."""
    named = list(((result.manifest.get("params") or {}).get("hosts") or {}))
    if not named and COL.host in getattr(result.hosts, "columns", ()):
        named = list(pd.unique(result.hosts[COL.host]))
    return named


def tenure_of(result) -> pd.DataFrame:
    """A run's tenure table (`Result.tenure`)."""
    return tenure_table(result.workers, calendar_start(result), len(result.monthly), _hosts_of(result))


def tenure_lines(result) -> str:
    """What ``olsim run`` prints after its summary: per host and over all hosts, over the whole run, the worker-years,
    the workers sent home per 1,000 worker-years and the completed postings' months abroad (median, quartiles)."""
    t = tenure_over_run(result.workers, len(result.monthly), _hosts_of(result))
    heads = ("worker-years", OUTCOMES[SENT_HOME_RATE].label, "completed: months abroad, median (p25-p75)")
    rows = [
        (
            str(r[COL.host]),
            number(r[WORKER_YEARS], full=True),
            fixed(r[SENT_HOME_RATE], OUTCOMES[SENT_HOME_RATE].spec or "{:.2f}"),
            _quartiles(*(r[c] for c in COMPLETED_TENURE)),
        )
        for _, r in t.iterrows()
    ]
    first = max(len("tenure over the run"), *(len(r[0]) for r in rows))
    widths = [max(len(h), *(len(r[i + 1]) for r in rows)) for i, h in enumerate(heads)]
    lines = ["  " + "tenure over the run".ljust(first) + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths))]
    lines += ["  " + r[0].ljust(first) + "".join(f"  {v:>{w}}" for v, w in zip(r[1:], widths)) for r in rows]
    lines.append("  (per calendar year and host: Result.tenure; README, Outputs)")
    return "\n".join(lines)


def _quartiles(p25: float, median: float, p75: float) -> str:
    if median != median:
        return "n/a"
    return f"{median:.0f} ({p25:.0f}-{p75:.0f})"


def _tenure(workers: pd.DataFrame, period_of_month: np.ndarray, periods: int, hosts=None) -> pd.DataFrame:
    """The table's columns per period (``period_of_month``: each month's period, 0 .. periods - 1, in order) and
    host, then over all hosts; the period in column ``year``."""
    months = len(period_of_month)
    host, named = codes(workers[COL.host])
    host_names = list(hosts or ())
    host_names += [h for h in named if h not in host_names]
    host = np.array([host_names.index(h) for h in named], dtype=np.int64)[host]
    n_hosts = len(host_names)
    groups = periods * (n_hosts + 1)  # group = period * (hosts + 1) + host; host n_hosts: all hosts
    status, named = codes(workers["status"])
    if set(named) - set(STATUSES):
        bad = ", ".join(sorted(map(str, set(named) - set(STATUSES))))
        raise ValueError(f"unknown status in the workers table: {bad} (statuses: {', '.join(STATUSES)})")
    status = np.array([STATUS_CODE[s] for s in named], dtype=np.int64)[status]
    deployed = workers["month_deployed"].to_numpy(np.int64)
    left = workers["month_left"].to_numpy(np.int64)
    gone = status != ACTIVE
    if gone.any() and (left[gone].min() < 0 or left[gone].max() >= months):
        raise ValueError(f"a worker who left has month_left outside the run's months 0..{months - 1}")

    # months worked, per host and month: +1 from his first month worked, -1 after his last (a difference array)
    first = np.maximum(deployed, 0)
    last = np.where(gone, left - (status == REPATRIATED), months - 1)
    worked = last >= first
    diff = np.bincount(host[worked] * (months + 1) + first[worked], minlength=n_hosts * (months + 1))
    diff -= np.bincount(host[worked] * (months + 1) + last[worked] + 1, minlength=n_hosts * (months + 1))
    working = np.cumsum(diff.reshape(n_hosts, months + 1), axis=1)[:, :months]  # workers working, host x month
    worker_months = np.zeros((periods, n_hosts + 1))
    for h in range(n_hosts):
        worker_months[:, h] = np.bincount(period_of_month, weights=working[h], minlength=periods)
    worker_months[:, n_hosts] = worker_months[:, :n_hosts].sum(axis=1)
    worker_years = worker_months.ravel() / 12.0

    # the leavers, per period and host: how they left, and how many months abroad (a histogram: whole months);
    # the all-hosts group of a period is the sum of its hosts'
    g = period_of_month[left[gone]] * n_hosts + host[gone]
    tenure = workers["months_abroad"].to_numpy(np.int64)[gone]
    if len(tenure) and tenure.min() < 0:
        raise ValueError("a worker who left has a negative months_abroad")
    span = int(tenure.max()) + 1 if len(tenure) else 1
    by_host = periods * n_hosts

    def with_all(counts: np.ndarray, width: int) -> np.ndarray:
        """Counts per (period, host) and ``width`` bins, with each period's sum over hosts: a row per group."""
        a = counts.reshape(periods, n_hosts, width)
        return np.concatenate([a, a.sum(axis=1, keepdims=True)], axis=1).reshape(groups, width)

    exits = with_all(np.bincount(g * len(STATUSES) + status[gone], minlength=by_host * len(STATUSES)), len(STATUSES))
    leavers = exits.sum(axis=1)
    months_abroad = with_all(np.bincount(g * span + tenure, minlength=by_host * span), span)
    done = status[gone] == COMPLETED
    completed_months = with_all(np.bincount(g[done] * span + tenure[done], minlength=by_host * span), span)

    table = pd.DataFrame(
        {
            YEAR: np.repeat(np.arange(periods, dtype=np.int64), n_hosts + 1),
            COL.host: np.tile(np.array([*host_names, ALL_HOSTS], dtype=object), periods),
            MONTHS_IN_RUN: np.repeat(np.bincount(period_of_month, minlength=periods), n_hosts + 1).astype(np.int64),
            WORKER_YEARS: worker_years,
            LEAVERS: leavers.astype(np.int64),
        }
    )
    for exit_, column in EXIT_COLUMN.items():
        table[column] = exits[:, STATUS_CODE[exit_]].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for rate, column in RATES.items():
            table[rate] = np.where(worker_years > 0, 1000.0 * table[column].to_numpy() / worker_years, math.nan)
    for names, histogram in ((TENURE, months_abroad), (COMPLETED_TENURE, completed_months)):
        quartiles = percentiles_of_histograms(histogram, QUARTILES)
        for j, name in enumerate(names):
            table[name] = quartiles[:, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        table[FIRST_MONTH_SHARE] = np.where(leavers > 0, months_abroad[:, 0] / leavers, math.nan)
    assert tuple(table.columns) == TENURE_COLUMNS
    return table


def codes(column: pd.Series) -> tuple[np.ndarray, list]:
    """Each row's index into the column's distinct values, and those values (``pandas.factorize``: fast on the
    tables' text columns, where a `pandas.Categorical` of given categories is not)."""
    index, values = pd.factorize(column)
    if (index < 0).any():
        raise ValueError(f"{column.name}: a missing value in the workers table")
    return index.astype(np.int64), list(values)


def percentiles_of_histograms(counts: np.ndarray, qs) -> np.ndarray:
    """Percentiles ``qs`` (0-100) of the whole numbers whose counts each row of ``counts`` holds (``counts[i, v]``:
    how many of group i's values are v), a row per group (NaN for an empty one), interpolating linearly between
    ranks as `numpy.percentile` does by default: the q-th sits at rank q/100 x (n - 1) of the n sorted values."""
    n = counts.sum(axis=1)
    below = np.cumsum(counts, axis=1)  # values at most v
    out = np.full((len(counts), len(qs)), math.nan)
    some = n > 0

    def value_at(rank: np.ndarray) -> np.ndarray:  # the value of rank ``rank`` (0-based) in each group's sorted values
        return (below[some] > rank[:, None]).argmax(axis=1)

    for j, q in enumerate(qs):
        pos = q / 100.0 * (n[some] - 1)
        lo = np.floor(pos).astype(np.int64)
        a, b = value_at(lo), value_at(np.minimum(lo + 1, n[some] - 1))
        out[some, j] = a + (b - a) * (pos - lo)
    return out
