"""The columns of the monthly and host tables, declared once.

Each `Column` says what it means (words and unit), which tables hold it, and how it is computed from the month's
sums over the workers (`FlowTotals`) and the per-host totals the engines and the state's books count
(`HostTotals`):

- ``key``: the month, its date, the host, the policies in force (a label);
- ``flow``: the per-host sum of one of the month's worker flows (`sim.core.workers.FLOWS`);
- ``status``: the workers per host whose status after the month is ``source`` (``plus``: a host total added);
- ``total``: a per-host total counted outside the workers' pass (a field of `HostTotals` of the same name);
- ``books``: what the state's books count per host this month (``source``: a name of
  `sim.core.state_books.BOOKS`: the money sent home, recruiting's cost, the candidates approved and waiting), so a
  new money category is its rule, its line in the books and its column;
- ``working``: the workers who worked this month, per host;
- ``mean``: a flow per worker who worked (per host; the month's: summed over hosts, then divided);
- ``weighted``: a host total averaged over the workers who worked (monthly only);
- ``abroad`` / ``posted``: workers abroad at the month's end / posted this month, of the legal status ``source``;
- ``distribution``: a statistic of what each worker kept this month (monthly only), from the sorted values.

The monthly row of a count or money column is the sum of its host rows (money with `math.fsum`). Everything
else derives from this list: `MONTHLY_COLUMNS`, `HOST_COLUMNS`, `HostTotals`, the flows' table names and the
aggregation in `sim.results.tables.MonthAggregator`. Code elsewhere names a column as ``COL.state_take``
(an attribute: a typo fails at import), never as a string (tests/test_architecture.py checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, make_dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np

from ..core import workers
from ..core.state_books import BOOKS

MONTHLY, HOSTS = "monthly", "hosts"
BOTH = (MONTHLY, HOSTS)
KINDS = ("key", "flow", "status", "total", "books", "working", "mean", "weighted", "abroad", "posted", "distribution")


def percentile_sorted(ordered: np.ndarray, q: float) -> float:
    """The q-th percentile of sorted values, interpolating linearly (numpy's default method)."""
    n = len(ordered)
    pos = q / 100.0 * (n - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * frac)


def gini(values: np.ndarray, is_sorted: bool = False) -> float:
    """Gini coefficient of non-negative values (0 = equal; NaN if all are 0)."""
    x = np.asarray(values, dtype=float) if is_sorted else np.sort(np.asarray(values, dtype=float))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    # G = sum_i (2i - n - 1) x_(i) / (n sum x), with ranks i = 1..n of the sorted values.
    # np.sum, not np.dot: a BLAS dot product splits the sum over threads, so its
    # rounding would depend on the thread count (and it spins a core in pool workers)
    weighted = float(np.sum(np.arange(1, n + 1, dtype=float) * x))
    return 2.0 * weighted / (n * total) - (n + 1) / n


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # one of KINDS
    unit: str  # "workers", "USD", "USD a month", "hours a day", "share", "" (keys)
    what: str  # what it means, for people
    tables: tuple[str, ...] = BOTH
    source: str | None = None  # the flow, status, host total or legal status it is computed from
    plus: str | None = None  # a host total added to a status count
    statistic: Callable[[np.ndarray], float] | None = None  # a distribution's, of the sorted values

    def __post_init__(self):
        """A mistake in a declaration, found where the column is declared, in one line."""
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        known = {
            "flow": workers.FLOWS,
            "mean": workers.FLOWS,
            "status": workers.STATUSES,
            "books": BOOKS,
            "abroad": workers.LEGAL,
            "posted": workers.LEGAL,
        }.get(self.kind)
        if known is not None and self.source not in known:
            what = {
                "flow": "a flow of the month",
                "mean": "a flow of the month",
                "status": "a status",
                "books": "what the state's books count",
                "abroad": "a legal status",
                "posted": "a legal status",
            }
            raise ValueError(f"column {self.name}: {self.source!r} is not {what[self.kind]} ({', '.join(known)})")
        if self.summed and MONTHLY in self.tables and HOSTS not in self.tables:
            raise ValueError(f"column {self.name}: a monthly sum over hosts needs the host column too")

    def at_full_scale(self, values, scale: float):
        """This column's values from a run at ``scale`` shown at full scale: a sum over the hosts (revenue,
        workers) divided by the scale; a mean per worker as it is."""
        return values / scale if self.summed and scale != 1 else values

    @property
    def whole(self) -> bool:
        """Counted in whole workers (stored as int64)."""
        return self.unit == "workers"

    @property
    def level(self) -> bool:
        """A per-host level rather than a count or an amount (the plan): a host group's is its cells' averaged over
        the workers who worked, not their sum."""
        return self.kind == "total" and self.unit == "USD a month"

    @property
    def summed(self) -> bool:
        """The monthly row is the sum of the host rows (counts and money)."""
        return self.kind in ("flow", "status", "total", "books", "working", "abroad", "posted")


def _legal(kind: str, name: str, legal: str) -> Column:
    where = "abroad at the month's end" if kind == "abroad" else "posted this month"
    return Column(name, kind, "workers", f"workers {where} on {_LEGAL_WORDS[legal]}", source=legal)


_LEGAL_WORDS = {
    "permit": "a work permit",
    "student": "a student visa",
    "tourist": "a tourist visa",
    "other": "another status (trainee, relabelled)",
}
ABROAD_NAMES = {
    "permit": "permit_holders",
    "student": "workers_student",
    "tourist": "workers_tourist",
    "other": "workers_other",
}
assert tuple(ABROAD_NAMES) == tuple(workers.LEGAL)

COLUMNS: tuple[Column, ...] = (
    Column("month", "key", "", "months since the calendar's start (0 = the first month)"),
    Column("date", "key", "", "the month, YYYY-MM"),
    Column("host", "key", "", "the host country", tables=(HOSTS,)),
    Column("workers_active", "status", "workers", "workers abroad at the month's end", source="active"),
    Column("minders_active", "total", "workers", "minders at their post"),
    Column("deployed", "total", "workers", "workers posted this month"),
    Column("completed", "status", "workers", "workers who went home at the end of their contract", source="completed"),
    Column("sent_home", "status", "workers", "workers sent home for not paying the plan", source="sent_home"),
    Column(
        "repatriated",
        "status",
        "workers",
        "workers sent home by a host's repatriation mandate",
        source="repatriated",
        plus="repatriated_idle",
    ),
    Column("escape_attempts", "total", "workers", "workers who tried to escape"),
    Column("escaped", "status", "workers", "workers who escaped", source="escaped"),
    Column("caught", "status", "workers", "workers caught escaping (sent home)", source="caught"),
    Column("deaths", "status", "workers", "workers who died", source="dead"),
    Column("wages_gross", "flow", "USD", "wages earned", source="gross"),
    Column("side_earnings", "flow", "USD", "side-job earnings", source="side"),
    Column("state_take", "flow", "USD", "taken by the state (the plan and fees)", source="take"),
    Column("bribes_paid", "flow", "USD", "paid to minders: side-job cuts and threat bribes", source="bribes"),
    Column("worker_retained", "flow", "USD", "what the workers kept", source="retained"),
    Column("revenue_delivered", "books", "USD", "revenue that reached the state", source="delivered"),
    Column("revenue_interdicted", "books", "USD", "revenue seized on the way home", source="interdicted"),
    Column("transfer_costs", "books", "USD", "fees paid to move the money home", source="costs"),
    Column(
        "plan_mean",
        "weighted",
        "USD a month",
        "the plan per worker, averaged over those who worked",
        tables=(MONTHLY,),
        source="plan",
    ),
    Column("plan", "total", "USD a month", "the plan per worker", tables=(HOSTS,)),
    Column("hours_mean", "mean", "hours a day", "hours worked a day, mean over those who worked", source="hours"),
    Column("retained_mean", "mean", "USD", "kept per worker who worked", source="retained"),
    Column(
        "retained_p10",
        "distribution",
        "USD",
        "10th percentile of what each worker kept",
        tables=(MONTHLY,),
        statistic=lambda s: percentile_sorted(s, 10),
    ),
    Column(
        "retained_median",
        "distribution",
        "USD",
        "median of what each worker kept",
        tables=(MONTHLY,),
        statistic=lambda s: percentile_sorted(s, 50),
    ),
    Column(
        "retained_p90",
        "distribution",
        "USD",
        "90th percentile of what each worker kept",
        tables=(MONTHLY,),
        statistic=lambda s: percentile_sorted(s, 90),
    ),
    Column(
        "retained_gini",
        "distribution",
        "share",
        "Gini coefficient of what the workers kept (negatives as 0)",
        tables=(MONTHLY,),
        statistic=lambda s: gini(np.maximum(s, 0.0), is_sorted=True),
    ),
    Column(
        "share_zero_retained",
        "distribution",
        "share",
        "share of the workers who kept nothing or less",
        tables=(MONTHLY,),
        statistic=lambda s: float(np.searchsorted(s, 0.0, side="right")) / len(s),
    ),
    # beyond the brief's minimum
    Column("workers_working", "working", "workers", "workers who worked this month"),
    Column("entry_bribes", "total", "USD", "entry bribes paid by this month's newcomers"),
    Column("forfeited", "total", "USD", "lost by this month's leavers (ledger and cash)"),
    Column("ledger_paid", "total", "USD", "ledgers paid to this month's leavers"),
    Column("workers_short", "flow", "workers", "workers whose gross fell short of the plan", source="short"),
    # what sources counted: workers abroad at the month's end and the month's postings, by legal status
    *(_legal("abroad", ABROAD_NAMES[s], s) for s in workers.LEGAL),
    *(_legal("posted", f"deployed_{s}", s) for s in workers.LEGAL),
    # the recruitment pipeline (recruitment.pipeline; off: the candidates approved are those posted, none wait)
    Column(
        "candidates_approved",
        "books",
        "workers",
        "candidates the state approved for a posting this month",
        source="approved",
    ),
    Column(
        "candidates_waiting",
        "books",
        "workers",
        "approved candidates not yet posted at the month's end (in screening or ready)",
        source="waiting",
    ),
    Column(
        "veterans_posted",
        "books",
        "workers",
        "veterans posted again this month, after their rest at home (counted in deployed)",
        source="veterans",
    ),
    Column(
        "recruitment_costs",
        "books",
        "USD",
        "what the state paid to screen, move and place the candidates it approved",
        source="recruitment",
    ),
    Column(
        "workers_target",
        "books",
        "workers",
        "the workforce the state wants at the host after this month's decisions (its target in whole posts, rounded "
        "down as postings are: grown while revenue falls short or by state.target_growth, moved between hosts by "
        "sanctions); against workers_active, the posts left empty",
        source="target",
    ),
    Column("policies", "key", "", "the policies in force", tables=(MONTHLY,)),
)
COLUMN = {c.name: c for c in COLUMNS}
assert len(COLUMN) == len(COLUMNS), "a column is declared twice"
COL = SimpleNamespace(**{c.name: c.name for c in COLUMNS})  # COL.state_take == "state_take"
MONTHLY_COLUMNS = [c.name for c in COLUMNS if MONTHLY in c.tables]
HOST_COLUMNS = [c.name for c in COLUMNS if HOSTS in c.tables]
# the sectors table: a row per host group, sector and month, with the host table's columns
SECTOR_COLUMNS = [
    *HOST_COLUMNS[: HOST_COLUMNS.index("host") + 1],
    "sector",
    *HOST_COLUMNS[HOST_COLUMNS.index("host") + 1 :],
]
KEYS = tuple(c.name for c in COLUMNS if c.kind == "key")
ABROAD_BY_LEGAL = tuple(c.name for c in COLUMNS if c.kind == "abroad")
DEPLOYED_BY_LEGAL = tuple(c.name for c in COLUMNS if c.kind == "posted")
# the table column of each worker flow that has one (hours has its mean only)
FLOW_COLUMNS = {c.source: c.name for c in COLUMNS if c.kind == "flow"}
# The month's totals per host that are not sums of the workers' flows (arrays over hosts), counted by the engines
# and the state's books: one field per ``total`` column, of the same name, and what other columns add.
HOST_TOTALS = (
    *(c.name for c in COLUMNS if c.kind == "total"),
    *(c.plus for c in COLUMNS if c.plus),
    "deployed_by_legal",
    "books",
)
HostTotals = make_dataclass("HostTotals", [(name, np.ndarray) for name in HOST_TOTALS], kw_only=True)
HostTotals.__doc__ = (
    "The month's totals per host that are not sums of the workers' flows, keyed by the column "
    "they fill (sim/results/columns.py); ``repatriated_idle``: repatriated in phase 2, before "
    "they worked; ``deployed_by_legal``: this month's postings per legal status (rows in "
    "workers.LEGAL order) and host; ``books``: the month's money as the state's books count it "
    "(sim.core.state_books.BOOKS: an array over hosts each)."
)
