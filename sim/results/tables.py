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
from ..core.compiled import helper_kernel, kernel, numba_disabled
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


# the radix sort's digits: 11 bits, six passes over a float's 64 (a pass whose digit is the same for every value is
# skipped: the sign and the exponent's top bits, for money in a month's range)
RADIX_BITS = 11
RADIX_PASSES = 6
SORT_BY_RADIX_AT = 2_000  # below this many values numpy's sort is quicker (measured: equal at about 1,000)


@helper_kernel
def radix_sort(values):
    """Sort float64 ``values`` in place, in ascending order, and return them: a least-significant-digit radix sort
    of their bits mapped to unsigned keys that order as the numbers do (a negative's bits flipped, a positive's
    sign bit set). The same values as numpy's sort, bit for bit, with no NaN among them (-0.0 comes before 0.0,
    which numpy treats as equal); about three times quicker than numpy's at 100,000 values here (1.3 against 3.9
    ms). ``values``: contiguous float64 (`sort_values` sends anything else to numpy)."""
    n = len(values)
    bits = values.view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    every = ~np.uint64(0)
    mask = np.uint64((1 << RADIX_BITS) - 1)
    keys = np.empty(n, dtype=np.uint64)
    counts = np.zeros((RADIX_PASSES, 1 << RADIX_BITS), dtype=np.int64)
    for i in range(n):
        b = bits[i]
        k = b ^ every if b & sign else b ^ sign
        keys[i] = k
        for p in range(RADIX_PASSES):
            counts[p, (k >> np.uint64(p * RADIX_BITS)) & mask] += 1
    spare = np.empty(n, dtype=np.uint64)
    src, dst = keys, spare
    for p in range(RADIX_PASSES):
        c = counts[p]
        if np.max(c) == n:  # every value has this digit: the pass would move nothing
            continue
        total = 0
        for d in range(len(c)):
            t = c[d]
            c[d] = total
            total += t
        shift = np.uint64(p * RADIX_BITS)
        for i in range(n):
            k = src[i]
            d = (k >> shift) & mask
            dst[c[d]] = k
            c[d] += 1
        src, dst = dst, src
    for i in range(n):
        k = src[i]
        bits[i] = k ^ sign if k & sign else k ^ every
    return values


def sort_values(values: np.ndarray) -> np.ndarray:
    """Sort ``values`` in place (numpy's sort for a few, the compiled radix sort for many contiguous float64
    values): the same values in the same order either way."""
    radix = values.dtype == np.float64 and values.flags.c_contiguous and values.flags.writeable
    if radix and len(values) >= SORT_BY_RADIX_AT and not numba_disabled():
        return radix_sort(values)
    values.sort()
    return values


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


def names_of(names, codes: np.ndarray):
    """A column of names from their codes (``names[code]`` for each), as pandas makes a column of strings (its
    ``str`` type, kept by pyarrow), built from the codes directly: a million workers' column in a few milliseconds
    instead of a second through Python strings, the same values and type."""
    import pandas as pd

    dtype = pd.Series(np.array(["a name"], dtype=object)).dtype  # what pandas makes of a column of strings
    if not isinstance(dtype, pd.StringDtype):  # pandas without a string type of its own: the plain column
        return np.array(list(names), dtype=object)[codes]
    import pyarrow as pa

    decoded = pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int64()), pa.array(list(names), type=pa.large_string())
    ).dictionary_decode()
    return pd.array(decoded, dtype=dtype)


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
        cols["host"] = names_of(host_names, code)
        cols["sector"] = names_of([""], np.zeros(len(code), dtype=np.int64))
    else:
        cols["host"] = names_of([cells.groups[g] for g in cells.group_of], code)
        cols["sector"] = names_of(cells.sector_of, code)
    cols["status"] = names_of(STATUSES, cols["status"])
    cols["legal"] = names_of(workers.LEGAL, cols["legal"])
    cols["net_gain"] = workers.net_gain(
        cols["retained_total"], cols["forfeited_total"], cols["entry_bribe"], cols["coupons_total"], coupon_value
    )
    # the arrays are the table's own (copy=False: a million-worker run would otherwise hold them twice)
    return pd.DataFrame({name: cols[name] for name in WORKER_COLUMNS}, columns=WORKER_COLUMNS, copy=False)


# the month's distribution of what each worker kept is sorted in a thread beside the next month's passes once it is
# this large (smaller ones cost less than handing them over); the same sort and sums either way, so the same bits
DEFER_AT = 20_000
_POOL: dict = {}


def _helper():
    """This process's one helper thread (made again in a forked child: a parent's thread is not there)."""
    import os

    pid = os.getpid()
    if _POOL.get("pid") != pid:
        from concurrent.futures import ThreadPoolExecutor

        _POOL["pid"], _POOL["pool"] = pid, ThreadPoolExecutor(max_workers=1, thread_name_prefix="olsim-distribution")
    return _POOL["pool"]


def distribution(kept: np.ndarray, statistics) -> list[float]:
    """The distribution columns' values (``statistics``: their functions of the sorted values) of what each worker
    kept this month; sorts ``kept`` in place."""
    sort_values(kept)
    return [statistic(kept) for statistic in statistics]


def _row_of(c):
    """Where a host column's values are read: the row of its flow, status or legal status, its books' key, or None."""
    if c.kind in ("flow", "mean"):
        return FLOW_INDEX[c.source]
    if c.kind == "status":
        return STATUS_CODE[c.source]
    if c.kind in ("abroad", "posted"):
        return LEGAL_INDEX[c.source]
    return c.source if c.kind == "books" else None


class MonthAggregator:
    """Builds the tables month by month, column by column as sim/results/columns.py declares them; shared by both
    engines. A month's host (cell) values are kept as arrays and the host and sector tables built from them at the
    end (`frames`), so a month costs the same few array operations whatever its number of hosts."""

    def __init__(self, params, columns=COLUMNS, defer: bool = False):
        self.params = params
        # where the engine's hosts are cells (host group x sector), a host row adds up its cells and the sectors
        # table keeps a row per cell
        self.cells = cells_of(params)
        self.cell_names = list(params.hosts)
        self.hosts = self.cell_names if self.cells is None else list(self.cells.groups)
        self.defer = defer  # sort a large month's distribution in the helper thread (`DEFER_AT`)
        # only the host table is made (`hosts_frame`): a calibration's candidate reads nothing else, so the monthly
        # rows and the month's distribution (a sort of what every worker kept) are not made; `month` returns {}
        self.hosts_only = False
        self._monthly: list[dict] = []
        self._pending: tuple | None = None  # (row, future) of a distribution being sorted
        self._months: list[int] = []
        self._dates: list[str] = []
        self._values: list[dict] = []  # per month: each host column's values over the engine's hosts (arrays)
        self._sums: list[dict] = []  # per month, with cells: the per-cell flow sums behind each mean column
        self._working: list[np.ndarray] = []  # per month, with cells: the workers who worked per cell
        self.columns = columns
        self._computed = [c for c in columns if c.kind != "key" and (HOSTS in c.tables or c.summed)]  # per host
        self._host_values = [c.name for c in columns if HOSTS in c.tables and c.kind != "key"]
        self._host_names = [c.name for c in columns if HOSTS in c.tables]
        self._monthly_values = [c for c in columns if MONTHLY in c.tables and c.kind != "key"]
        self._monthly_names = [c.name for c in columns if MONTHLY in c.tables]
        self._distributions = [c for c in self._monthly_values if c.kind == "distribution"]
        self._statistics = [c.statistic for c in self._distributions]
        self._means = [c for c in self._computed if c.kind == "mean" and c.name in self._host_values]
        # each column's reading, worked out once: (name, kind, row in its per-host array, whole, plus)
        self._plan = [(c.name, c.kind, _row_of(c), c.whole, c.plus) for c in self._computed]
        self._monthly_plan = [(c.name, c.kind, c.summed, c.whole, c.source) for c in self._monthly_values]

    def month(self, month: int, flows: FlowTotals, totals, policies) -> dict:
        """One month's rows from the sums over the workers who worked (`FlowTotals`, each added in worker-id order,
        so both engines get the same bits) and the per-host totals (`HostTotals`). Returns the monthly row (with
        ``defer``, its distribution columns are filled when the next month is added or a table is read)."""
        self._settle()
        date = self.params.calendar.date(month)
        n_h = np.asarray(flows.working, dtype=np.int64)
        per_host = {}  # each host column's values over hosts (arrays of their own: the engines reuse theirs)
        sums, exits = flows.sums, flows.exits
        for name, kind, i, whole, plus in self._plan:
            if kind == "flow":
                v = sums[i]
            elif kind == "status":
                v = exits[i]
                if plus:
                    v = np.asarray(v, dtype=np.int64) + np.asarray(getattr(totals, plus), dtype=np.int64)
            elif kind == "total":
                v = getattr(totals, name)
            elif kind == "books":
                v = totals.books[i]
            elif kind == "working":
                v = n_h
            elif kind == "mean":
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(n_h > 0, np.asarray(sums[i], dtype=float) / n_h, np.nan)
            elif kind == "abroad":
                v = flows.by_legal[i]
            elif kind == "posted":
                v = totals.deployed_by_legal[i]
            else:
                raise ValueError(f"column {name}: a host row has no {kind!r} value")
            per_host[name] = np.asarray(v).astype(np.int64) if whole else np.array(v, dtype=float)
        self._months.append(month)
        self._dates.append(date)
        self._values.append({name: per_host[name] for name in self._host_values})
        if self.cells is not None:
            self._sums.append({c.name: np.array(flows.sums[FLOW_INDEX[c.source]], dtype=float) for c in self._means})
            self._working.append(n_h.copy())
        if self.hosts_only:
            return {}
        n = int(n_h.sum())
        row = {"month": month, "date": date, "policies": "; ".join(policies)}
        for name, kind, summed, whole, source in self._monthly_plan:
            if summed:  # whole numbers added exactly, money by fsum: the same bits in any order
                row[name] = sum(per_host[name].tolist()) if whole else math.fsum(per_host[name].tolist())
            elif not n or kind == "distribution":
                row[name] = float("nan")  # a distribution's: set below
            elif kind == "mean":
                row[name] = math.fsum(sums[FLOW_INDEX[source]]) / n
            elif kind == "weighted":
                row[name] = float(np.dot(np.asarray(getattr(totals, source), dtype=float), n_h)) / n
            else:
                raise ValueError(f"column {name}: the monthly row has no {kind!r} value")
        row = {k: row[k] for k in self._monthly_names}
        self._monthly.append(row)
        if n and self._distributions:
            kept = np.asarray(flows.kept, dtype=float)  # sorted in place: FlowTotals.kept is the month's own
            if self.defer and n >= DEFER_AT:
                # the engine reuses its buffer next month: the helper sorts a copy
                self._pending = (row, _helper().submit(distribution, kept.copy(), self._statistics))
            else:
                self._fill(row, distribution(kept, self._statistics))
        return row

    def _fill(self, row: dict, values: list[float]) -> None:
        for c, value in zip(self._distributions, values):
            row[c.name] = value

    def _settle(self) -> None:
        """Wait for the distribution being sorted, and put it in its row."""
        if self._pending is not None:
            row, future = self._pending
            self._pending = None
            self._fill(row, future.result())

    @property
    def monthly(self) -> list[dict]:
        """The monthly rows so far (dicts, in month order), complete."""
        self._settle()
        return self._monthly

    def frames(self):
        """(monthly, hosts, sectors): the run's tables as DataFrames (sectors empty unless the hosts are cells)."""
        import pandas as pd

        from .columns import SECTOR_COLUMNS

        monthly = pd.DataFrame(self.monthly, columns=self._monthly_names)
        at = self._host_names.index("host") + 1
        sector_names = [*self._host_names[:at], "sector", *self._host_names[at:]]
        if not self._months:
            return monthly, pd.DataFrame([], columns=self._host_names), pd.DataFrame([], columns=SECTOR_COLUMNS)
        cells = self._table(self.cell_names, self._values)
        if self.cells is None:
            return monthly, pd.DataFrame(cells, columns=self._host_names), pd.DataFrame([], columns=SECTOR_COLUMNS)
        sectors = dict(cells)
        sectors["host"] = np.tile(
            np.array([self.cells.groups[g] for g in self.cells.group_of], dtype=object), len(self._months)
        )
        sectors["sector"] = np.tile(np.array(self.cells.sector_of, dtype=object), len(self._months))
        hosts = self._grouped_table()
        return (
            monthly,
            pd.DataFrame(hosts, columns=self._host_names),
            pd.DataFrame(sectors, columns=sector_names),
        )

    def hosts_frame(self):
        """The host table alone (as `frames` makes it): what a calibration's candidate is measured on."""
        import pandas as pd

        if not self._months:
            return pd.DataFrame([], columns=self._host_names)
        table = self._table(self.cell_names, self._values) if self.cells is None else self._grouped_table()
        return pd.DataFrame(table, columns=self._host_names)

    def _table(self, names: list[str], values: list[dict]) -> dict:
        """A table's columns (arrays), a row per month and name in ``names``, from each month's values over them."""
        k = len(names)
        out = {
            "month": np.repeat(np.array(self._months, dtype=np.int64), k),
            "date": np.repeat(np.array(self._dates, dtype=object), k),
            "host": np.tile(np.array(names, dtype=object), len(self._months)),
        }
        for name in self._host_values:
            out[name] = np.concatenate([v[name] for v in values])
        return out

    @property
    def host_rows(self) -> list[dict]:
        """The host table's rows as dicts (in month order, then host)."""
        return self.frames()[1].to_dict("records")

    @property
    def sector_rows(self) -> list[dict]:
        """The sector table's rows as dicts (in month order, then cell)."""
        return self.frames()[2].to_dict("records")

    def _grouped_table(self) -> dict:
        """The host groups' table from their cells' values (in cell order), all months at once: counts and money
        added; a mean per worker who worked recomputed from the flow's sums; a level (the plan) averaged over the
        workers who worked (over the cells, if none worked). Each group's cells are added in cell order from 0, as
        np.add.at adds them month by month: the same bits."""
        assert self.cells is not None  # called only where the hosts are cells
        group_of = [int(g) for g in self.cells.group_of]
        n_groups, n_months = len(self.hosts), len(self._months)

        def added(x: np.ndarray) -> np.ndarray:  # months x cells -> months x groups
            out = np.zeros((n_months, n_groups), dtype=x.dtype)
            for cell, g in enumerate(group_of):
                out[:, g] += x[:, cell]
            return out

        def stacked(values: list[dict], name: str) -> np.ndarray:
            return np.stack([v[name] for v in values])

        n_h = np.stack(self._working)
        working = added(n_h)
        busy = working > 0
        per = np.where(busy, working, 1)
        count = added(np.ones((1, len(group_of))))  # cells per group
        out = {
            "month": np.repeat(np.array(self._months, dtype=np.int64), n_groups),
            "date": np.repeat(np.array(self._dates, dtype=object), n_groups),
            "host": np.tile(np.array(self.hosts, dtype=object), n_months),
        }
        for c in self._computed:
            if c.name not in self._host_values:
                continue
            if c.kind == "mean":
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(busy, added(stacked(self._sums, c.name)) / per, np.nan)
            elif c.level:
                x = stacked(self._values, c.name)
                v = np.where(busy, added(x * n_h) / per, added(x) / count)
            else:
                v = added(stacked(self._values, c.name))
            out[c.name] = v.ravel()
        return {k: out[k] for k in ("month", "date", "host", *self._host_values)}
