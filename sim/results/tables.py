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
from ..core.workers import STATUS_CODE, STATUSES
from ..core.sectors import cells_of
from .columns import COLUMNS, HOSTS, MONTHLY

WORKER_COLUMNS = workers.COLUMNS  # declared with the worker's fields (sim/core/workers.py)
FLOW_INDEX = workers.FLOW_INDEX  # the row of each flow in FlowTotals.sums
LEGAL_INDEX = {name: k for k, name in enumerate(workers.LEGAL)}

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
        table = np.array([np.asarray(flows[name], dtype=float) for name in workers.FLOWS]).reshape(
            len(workers.FLOWS), -1
        )
        table = np.ascontiguousarray(table[:, pick])
        sums, working, exits, by_legal = flow_sums(
            np.asarray(host, dtype=np.int64)[pick],
            table,
            np.asarray(status, dtype=np.int64)[pick],
            np.asarray(legal, dtype=np.int64)[pick],
            n_hosts,
        )
        return cls(sums, working, exits, by_legal, table[FLOW_INDEX["retained"]].copy())


def workers_table(columns: dict, host_names, coupon_value: float = 1.0, cells=None):
    """The workers table from the archived fields (arrays in worker-id order, host and status as codes); net gain
    counts coupons at ``coupon_value`` (params.remittance.coupon_value). Where the engine's hosts are cells
    (``cells``, `sim.core.sectors.Cells`), each worker's host is his cell's host group, and his sector its sector."""
    import pandas as pd

    # the table's types: whole numbers as int64, money as float64 (the array engine stores some narrower)
    cols = {
        name: np.asarray(columns[name], dtype=np.int64 if workers.FIELD[name].kind is int else float)
        for name in workers.ARCHIVED
    }
    code = cols["host"]
    if cells is None:
        cols["host"] = np.array(host_names, dtype=object)[code]
        cols["sector"] = np.full(len(code), "", dtype=object)
    else:
        cols["host"] = np.array([cells.groups[g] for g in cells.group_of], dtype=object)[code]
        cols["sector"] = np.array(cells.sector_of, dtype=object)[code]
    cols["status"] = np.array(STATUSES, dtype=object)[cols["status"]]
    cols["legal"] = np.array(workers.LEGAL, dtype=object)[cols["legal"]]
    cols["net_gain"] = workers.net_gain(
        cols["retained_total"], cols["forfeited_total"], cols["entry_bribe"], cols["coupons_total"], coupon_value
    )
    # the arrays are the table's own (copy=False: a million-worker run would otherwise hold them twice)
    return pd.DataFrame({name: cols[name] for name in WORKER_COLUMNS}, columns=WORKER_COLUMNS, copy=False)


class MonthAggregator:
    """Builds the tables row by row, column by column as sim/results/columns.py declares them; shared by both
    engines."""

    def __init__(self, params, columns=COLUMNS):
        self.params = params
        # where the engine's hosts are cells (host group x sector), a host row adds up its cells and the sectors
        # table keeps a row per cell
        self.cells = cells_of(params)
        self.cell_names = list(params.hosts)
        self.hosts = self.cell_names if self.cells is None else list(self.cells.groups)
        self.monthly: list[dict] = []
        self.host_rows: list[dict] = []
        self.sector_rows: list[dict] = []
        self.columns = columns
        self._computed = [c for c in columns if c.kind != "key" and (HOSTS in c.tables or c.summed)]  # per host
        self._host_values = [c.name for c in columns if HOSTS in c.tables and c.kind != "key"]
        self._monthly_values = [c for c in columns if MONTHLY in c.tables and c.kind != "key"]
        self._monthly_names = [c.name for c in columns if MONTHLY in c.tables]

    def month(self, month: int, flows: FlowTotals, totals, policies) -> dict:
        """One month's rows from the sums over the workers who worked (`FlowTotals`, each added in worker-id order,
        so both engines get the same bits) and the per-host totals (`HostTotals`)."""
        date = self.params.calendar.date(month)
        n_hosts = len(self.cell_names)
        n_h = np.asarray(flows.working, dtype=np.int64)
        per_host = {}  # each host column's values, a list over hosts (Python ints and floats)
        for c in self._computed:
            if c.kind == "flow":
                v = flows.sums[FLOW_INDEX[c.source]]
            elif c.kind == "status":
                v = flows.exits[STATUS_CODE[c.source]]
                if c.plus:
                    v = np.asarray(v, dtype=np.int64) + np.asarray(getattr(totals, c.plus), dtype=np.int64)
            elif c.kind == "total":
                v = getattr(totals, c.name)
            elif c.kind == "books":
                v = totals.books[c.source]
            elif c.kind == "working":
                v = n_h
            elif c.kind == "mean":
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(n_h > 0, np.asarray(flows.sums[FLOW_INDEX[c.source]], dtype=float) / n_h, np.nan)
            elif c.kind == "abroad":
                v = flows.by_legal[LEGAL_INDEX[c.source]]
            elif c.kind == "posted":
                v = totals.deployed_by_legal[LEGAL_INDEX[c.source]]
            else:
                raise ValueError(f"column {c.name}: a host row has no {c.kind!r} value")
            per_host[c.name] = (
                np.asarray(v).astype(np.int64).tolist() if c.whole else np.asarray(v, dtype=float).tolist()
            )
        if self.cells is None:
            rows = [
                {"month": month, "date": date, "host": self.hosts[h], **{c: per_host[c][h] for c in self._host_values}}
                for h in range(n_hosts)
            ]
        else:
            cells = self.cells
            self.sector_rows.extend(
                {
                    "month": month,
                    "date": date,
                    "host": cells.groups[cells.group_of[h]],
                    "sector": cells.sector_of[h],
                    **{c: per_host[c][h] for c in self._host_values},
                }
                for h in range(n_hosts)
            )
            grouped = self._grouped(per_host, flows, n_h)
            rows = [
                {"month": month, "date": date, "host": self.hosts[g], **{c: grouped[c][g] for c in self._host_values}}
                for g in range(len(self.hosts))
            ]
        self.host_rows.extend(rows)
        n = int(n_h.sum())
        ordered = None
        if n:
            ordered = np.asarray(flows.kept, dtype=float)
            ordered.sort()  # in place: FlowTotals.kept is the month's own
        row = {"month": month, "date": date, "policies": "; ".join(policies)}
        for c in self._monthly_values:
            if c.summed:
                row[c.name] = sum(per_host[c.name]) if c.whole else math.fsum(per_host[c.name])
            elif not n:
                row[c.name] = float("nan")
            elif c.kind == "mean":
                row[c.name] = math.fsum(flows.sums[FLOW_INDEX[c.source]]) / n
            elif c.kind == "weighted":
                row[c.name] = float(np.dot(np.asarray(getattr(totals, c.source), dtype=float), n_h)) / n
            elif c.kind == "distribution":
                row[c.name] = c.statistic(ordered)
            else:
                raise ValueError(f"column {c.name}: the monthly row has no {c.kind!r} value")
        row = {k: row[k] for k in self._monthly_names}
        self.monthly.append(row)
        return row

    def _grouped(self, per_cell: dict, flows: FlowTotals, n_h: np.ndarray) -> dict:
        """The host groups' values from their cells' (in cell order): counts and money added; a mean per worker who
        worked recomputed from the flow's sums; a level (the plan) averaged over the workers who worked (over the
        cells, if none worked)."""
        group_of = np.asarray(self.cells.group_of, dtype=np.int64)
        n_groups = len(self.hosts)
        working = np.zeros(n_groups, dtype=np.int64)
        np.add.at(working, group_of, n_h)
        out = {}
        for c in self._computed:
            if c.name not in self._host_values:
                continue
            if c.kind == "mean":
                sums = np.zeros(n_groups)
                np.add.at(sums, group_of, np.asarray(flows.sums[FLOW_INDEX[c.source]], dtype=float))
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(working > 0, sums / np.where(working > 0, working, 1), np.nan)
            elif c.level:
                x = np.asarray(per_cell[c.name], dtype=float)
                weighted, plain, count = np.zeros(n_groups), np.zeros(n_groups), np.zeros(n_groups)
                np.add.at(weighted, group_of, x * n_h)
                np.add.at(plain, group_of, x)
                np.add.at(count, group_of, 1.0)
                v = np.where(working > 0, weighted / np.where(working > 0, working, 1), plain / count)
            else:
                v = np.zeros(n_groups, dtype=np.int64 if c.whole else float)
                np.add.at(v, group_of, np.asarray(per_cell[c.name], dtype=v.dtype))
            out[c.name] = v.astype(np.int64).tolist() if c.whole else np.asarray(v, dtype=float).tolist()
        return out
