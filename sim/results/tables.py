"""The tables of a run: their columns, the statuses, and the month's aggregation.

`MonthAggregator` turns one month's per-worker flows into a row of
``monthly`` and one row per host of ``hosts``; both engines call it with the
workers in id order, so the tables are computed by the same code, adding the
same numbers in the same order.
"""

from __future__ import annotations

import math

import numpy as np

from dataclasses import dataclass

from ..core import workers
from ..core.compiled import kernel
from ..core.workers import EXITS, STATUS_CODE, STATUSES

MONTHLY_COLUMNS = [
    "month", "date", "workers_active", "minders_active", "deployed", "completed", "sent_home", "repatriated",
    "escape_attempts", "escaped", "caught", "deaths", "wages_gross", "side_earnings", "state_take", "bribes_paid",
    "worker_retained", "revenue_delivered", "revenue_interdicted", "transfer_costs", "plan_mean", "hours_mean",
    "retained_mean", "retained_p10", "retained_median", "retained_p90", "retained_gini", "share_zero_retained",
    # beyond the brief's minimum
    "workers_working", "entry_bribes", "forfeited", "ledger_paid", "workers_short",
    # what sources counted: workers abroad at the month's end and the month's postings, by legal status
    "permit_holders", "workers_student", "workers_tourist", "workers_other",
    "deployed_permit", "deployed_student", "deployed_tourist", "deployed_other", "policies",
]
HOST_COLUMNS = [
    "month", "date", "host", "workers_active", "minders_active", "deployed", "completed", "sent_home", "repatriated",
    "escape_attempts", "escaped", "caught", "deaths", "wages_gross", "side_earnings", "state_take", "bribes_paid",
    "worker_retained", "revenue_delivered", "revenue_interdicted", "transfer_costs", "plan", "hours_mean",
    "retained_mean", "workers_working", "entry_bribes", "forfeited", "ledger_paid", "workers_short",
    "permit_holders", "workers_student", "workers_tourist", "workers_other",
    "deployed_permit", "deployed_student", "deployed_tourist", "deployed_other",
]
# the columns counting workers abroad and postings by legal status (workers.LEGAL order)
ABROAD_BY_LEGAL = ("permit_holders", "workers_student", "workers_tourist", "workers_other")
DEPLOYED_BY_LEGAL = tuple(f"deployed_{name}" for name in workers.LEGAL)
WORKER_COLUMNS = workers.COLUMNS  # declared with the worker's fields (sim/core/workers.py)

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


N_STATUSES = len(STATUSES)
N_LEGAL = len(workers.LEGAL)


@kernel
def flow_sums(host, flows, status, legal, n_hosts):
    """Per-host sums of the month's flows (rows: workers.FLOWS; columns: the workers who worked, in worker-id
    order), added in that order as np.bincount adds; the count of workers per host and per status and host; of
    those still active, per legal status and host."""
    sums = np.zeros((flows.shape[0], n_hosts))
    working = np.zeros(n_hosts, dtype=np.int64)
    exits = np.zeros((N_STATUSES, n_hosts), dtype=np.int64)
    by_legal = np.zeros((N_LEGAL, n_hosts), dtype=np.int64)
    for i in range(len(host)):
        h = host[i]
        for f in range(flows.shape[0]):
            sums[f, h] += flows[f, i]
        working[h] += 1
        exits[status[i], h] += 1
        if status[i] == 0:
            by_legal[legal[i], h] += 1
    return sums, working, exits, by_legal

# the monthly table's name of each worker flow (sim/core/workers.py FLOWS), in the order flow_sums adds them
FLOW_COLUMNS = {"gross": "wages_gross", "side": "side_earnings", "take": "state_take", "bribes": "bribes_paid",
                "retained": "worker_retained", "hours": "hours", "short": "workers_short"}
assert tuple(FLOW_COLUMNS) == tuple(workers.FLOWS)


@dataclass
class FlowTotals:
    """The month's sums over the workers who worked: the flows per host (rows in `workers.FLOWS` order, each
    added in worker-id order), the workers per host, per status after the month and host, still active per legal
    status and host, and what each kept (in worker-id order)."""

    sums: np.ndarray
    working: np.ndarray
    exits: np.ndarray
    by_legal: np.ndarray
    kept: np.ndarray

    @classmethod
    def of_rows(cls, host, flows: dict, status, legal, n_hosts: int, selected=None) -> "FlowTotals":
        """The totals of the workers who worked: arrays in worker-id order (``flows`` named as `workers.FLOWS`),
        of which ``selected`` marks those who worked (None: all)."""
        pick = slice(None) if selected is None else np.asarray(selected, dtype=bool)
        table = np.array([np.asarray(flows[name], dtype=float) for name in FLOW_COLUMNS]).reshape(len(FLOW_COLUMNS), -1)
        table = np.ascontiguousarray(table[:, pick])
        sums, working, exits, by_legal = flow_sums(np.asarray(host, dtype=np.int64)[pick], table,
                                                   np.asarray(status, dtype=np.int64)[pick],
                                                   np.asarray(legal, dtype=np.int64)[pick], n_hosts)
        return cls(sums, working, exits, by_legal, table[list(FLOW_COLUMNS).index("retained")].copy())


@dataclass
class HostTotals:
    """The month's totals per host (arrays over hosts) that are not sums of the workers' flows."""

    deployed: np.ndarray  # workers posted this month
    repatriated_idle: np.ndarray  # repatriated in phase 2, before they worked
    escape_attempts: np.ndarray
    entry_bribes: np.ndarray  # paid by this month's newcomers (USD)
    delivered: np.ndarray  # revenue that reached the state (USD)
    interdicted: np.ndarray  # revenue seized on the way (USD)
    costs: np.ndarray  # transfer costs (USD)
    plans: np.ndarray  # the plan per worker (USD a month)
    forfeited: np.ndarray  # lost by this month's leavers (USD), summed in worker-id order
    ledger_paid: np.ndarray  # ledgers paid to this month's leavers (USD), summed in worker-id order
    minders_active: np.ndarray
    deployed_legal: np.ndarray  # this month's postings per legal status (workers.LEGAL) and host


def workers_table(columns: dict, host_names):
    """The workers table from the archived fields (arrays in worker-id order, host and status as codes)."""
    import pandas as pd

    # the table's types: whole numbers as int64, money as float64 (the array engine stores some narrower)
    cols = {name: np.asarray(columns[name], dtype=np.int64 if workers.FIELD[name].kind is int else float)
            for name in workers.ARCHIVED}
    cols["host"] = np.array(host_names, dtype=object)[cols["host"]]
    cols["status"] = np.array(STATUSES, dtype=object)[cols["status"]]
    cols["legal"] = np.array(workers.LEGAL, dtype=object)[cols["legal"]]
    cols["net_gain"] = workers.net_gain(cols["retained_total"], cols["forfeited_total"], cols["entry_bribe"])
    # the arrays are the table's own (copy=False: a million-worker run would otherwise hold them twice)
    return pd.DataFrame({name: cols[name] for name in WORKER_COLUMNS}, columns=WORKER_COLUMNS, copy=False)


class MonthAggregator:
    """Builds the tables row by row; shared by both engines."""

    def __init__(self, params):
        self.params = params
        self.hosts = list(params.hosts)
        self.monthly: list[dict] = []
        self.host_rows: list[dict] = []
        # last month's share of each host's workers short of the plan (the state reads it, `StateBooks.set_plans`)
        self.short_share = np.zeros(len(self.hosts))

    def month(self, month: int, flows: FlowTotals, totals: HostTotals, policies) -> dict:
        """One month's rows from the sums over the workers who worked (`FlowTotals`, each added in worker-id order,
        so both engines get the same bits) and the per-host totals."""
        date = self.params.calendar.date(month)
        n_hosts = len(self.hosts)
        sums, working, exits, by_legal, retained = flows.sums, flows.working, flows.exits, flows.by_legal, flows.kept
        sums = dict(zip(FLOW_COLUMNS.values(), sums))
        t = totals
        repatriated_idle, deployed, escape_attempts, entry_bribes = t.repatriated_idle, t.deployed, t.escape_attempts, t.entry_bribes
        delivered, interdicted, costs, plans = t.delivered, t.interdicted, t.costs, t.plans
        forfeited, ledger_paid, minders_active = t.forfeited, t.ledger_paid, t.minders_active
        # the hosts' rows, built column by column (numbers as Python ints and floats)
        active, completed, sent_home = STATUS_CODE["active"], STATUS_CODE["completed"], STATUS_CODE["sent_home"]
        n_h = np.asarray(working, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_worker = {name: np.where(n_h > 0, np.asarray(total, dtype=float) / n_h, np.nan)
                          for name, total in (("hours_mean", sums["hours"]), ("retained_mean", sums["worker_retained"]))}
        ints = {
            "workers_active": exits[active], "minders_active": minders_active, "deployed": deployed,
            "completed": exits[completed], "sent_home": exits[sent_home],
            "repatriated": np.asarray(exits[STATUS_CODE["repatriated"]], dtype=np.int64) + np.asarray(repatriated_idle, dtype=np.int64),
            "escape_attempts": escape_attempts, "escaped": exits[STATUS_CODE["escaped"]],
            "caught": exits[STATUS_CODE["caught"]], "deaths": exits[STATUS_CODE["dead"]], "workers_working": n_h,
            "workers_short": sums["workers_short"],
            **{name: by_legal[k] for k, name in enumerate(ABROAD_BY_LEGAL)},
            **{name: t.deployed_legal[k] for k, name in enumerate(DEPLOYED_BY_LEGAL)},
        }
        floats = {
            "wages_gross": sums["wages_gross"], "side_earnings": sums["side_earnings"], "state_take": sums["state_take"],
            "bribes_paid": sums["bribes_paid"], "worker_retained": sums["worker_retained"], "revenue_delivered": delivered,
            "revenue_interdicted": interdicted, "transfer_costs": costs, "plan": plans, **per_worker,
            "entry_bribes": entry_bribes, "forfeited": forfeited, "ledger_paid": ledger_paid,
        }
        values = {**{k: np.asarray(v).astype(np.int64).tolist() for k, v in ints.items()},
                  **{k: np.asarray(v, dtype=float).tolist() for k, v in floats.items()}}
        columns = HOST_COLUMNS[3:]
        rows = [{"month": month, "date": date, "host": self.hosts[h], **{c: values[c][h] for c in columns}}
                for h in range(n_hosts)]
        self.host_rows.extend(rows)
        self.short_share = np.array([s / w if w else 0.0 for s, w in zip(values["workers_short"], values["workers_working"])])
        total = {k: sum(values[k]) for k in ("workers_active", "minders_active", "deployed", *EXITS[:2], "repatriated",
                                             "escape_attempts", "escaped", "caught", "deaths", "workers_working",
                                             "workers_short", *ABROAD_BY_LEGAL, *DEPLOYED_BY_LEGAL)}
        money = {k: math.fsum(values[k]) for k in ("wages_gross", "side_earnings", "state_take", "bribes_paid",
                                                   "worker_retained", "revenue_delivered", "revenue_interdicted",
                                                   "transfer_costs", "entry_bribes", "forfeited", "ledger_paid")}
        n = len(retained)
        total = {k: sum(r[k] for r in rows) for k in ("workers_active", "minders_active", "deployed", *EXITS[:2], "repatriated",
                                                      "escape_attempts", "escaped", "caught", "deaths", "workers_working",
                                                      "workers_short",
                                                      *ABROAD_BY_LEGAL, *DEPLOYED_BY_LEGAL)}
        money = {k: math.fsum(r[k] for r in rows) for k in ("wages_gross", "side_earnings", "state_take", "bribes_paid",
                                                            "worker_retained", "revenue_delivered", "revenue_interdicted",
                                                            "transfer_costs", "entry_bribes", "forfeited", "ledger_paid")}
        if n:
            ordered = np.asarray(retained, dtype=float)
            ordered.sort()  # in place: FlowTotals.kept is the month's own
            dist = {
                "plan_mean": float(np.dot(np.asarray(plans, dtype=float), working)) / n, "hours_mean": math.fsum(sums["hours"]) / n,
                "retained_mean": money["worker_retained"] / n,
                "retained_p10": percentile_sorted(ordered, 10), "retained_median": percentile_sorted(ordered, 50),
                "retained_p90": percentile_sorted(ordered, 90),
                "retained_gini": gini(np.maximum(ordered, 0.0), is_sorted=True),
                "share_zero_retained": float(np.searchsorted(ordered, 0.0, side="right")) / n,
            }
        else:
            dist = {k: float("nan") for k in ("plan_mean", "hours_mean", "retained_mean", "retained_p10", "retained_median",
                                              "retained_p90", "retained_gini", "share_zero_retained")}
        row = {"month": month, "date": date, **total, **money, **dist, "policies": "; ".join(policies)}
        row = {k: row[k] for k in MONTHLY_COLUMNS}
        self.monthly.append(row)
        return row
