"""The array engine's state, bundled: workers, minders, camps, the hosts' month, the settings, the month's
draws and its totals, each one named tuple of arrays (or numbers) that the compiled loops take whole.

The workers' columns are derived from their declaration (`sim.core.workers.STORED`: name, dtype, phases), so a
new worker field is one line there: it becomes a column here, an attribute of the mesa worker, a column of
the workers table if archived, and is moved by compaction and compared by the docking test, with no kernel's
signature to change (`W.new_field[i]` inside a loop).
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...core import workers
from ...core.draws import Decision, stream_key
from ...core.params import value_at
from ...core.workers import LEGAL, STATUSES
from .kernels import N_ESCAPED, N_KEPT, keep_rows  # noqa: F401  (the totals' counter slots, re-exported)

if TYPE_CHECKING:
    from typing import Self

    class _Named(tuple):
        """To a type checker, a named tuple whose fields are built from declarations at run time: each is Any."""

        _fields: ClassVar[tuple[str, ...]]

        def __new__(cls, *args: Any, **kwargs: Any) -> Self: ...
        def __getattr__(self, name: str) -> Any: ...


WORKER_FIELDS = tuple(f.name for f in workers.STORED)
WORKER_DTYPES = {f.name: np.dtype(f.dtype) for f in workers.STORED}
if TYPE_CHECKING:

    class Workers(_Named): ...
else:
    Workers = namedtuple("Workers", WORKER_FIELDS)  # one column per declared field, rows in worker-id order

# minders: one row per minder ever made (ids are rows)
MINDER_DTYPES = {
    "host": np.int16,
    "camp": np.int32,
    "vig_base": np.float64,
    "vig_extra": np.float64,
    "greed": np.float64,
    "pressure": np.float64,
    "status": np.int8,
}
if TYPE_CHECKING:

    class Minders(_Named): ...
else:
    Minders = namedtuple("Minders", tuple(MINDER_DTYPES))
# camps: one row per camp ever made; gross, due (quota + arrears) and present are this month's, under a group quota
CAMP_DTYPES = {
    "host": np.int16,
    "arrears": np.float64,
    "occupancy": np.int64,
    "gross": np.float64,
    "due": np.float64,
    "present": np.bool_,
}
if TYPE_CHECKING:

    class Camps(_Named): ...
else:
    Camps = namedtuple("Camps", tuple(CAMP_DTYPES))

# the hosts this month: their parameters, the state's plans and the levers of the policies in force
HOST_FIELDS = (
    "wages",
    "side_wages",
    "routes",
    "plans",
    "closed",
    "inspections",
    "max_hours",
    "direct_wages",
    "coercion",
    "asylum_boost",
    "return_passports",
    "repatriation_hazard",
    "detection",
    "repatriation_evasion",
    "relabel",
    "death_rates",
    "pay_lost",
    "hours_base",
    "hours_max",
    "fees_share",
    "enforce",
    "release",
)
if TYPE_CHECKING:

    class Hosts(_Named): ...
else:
    Hosts = namedtuple("Hosts", HOST_FIELDS)

# the month's stream keys (sim.core.draws), by decision; the employers' draws are fixed for the run (month -1)
MONTH_KEYS = {
    "inspected": Decision.EMPLOYER_INSPECTIONS,
    "direct": Decision.EMPLOYER_DIRECT_WAGES,
    "seek": Decision.SIDE_SEEK,
    "grant": Decision.SIDE_GRANT,
    "threat": Decision.THREAT,
    "intend": Decision.ESCAPE_INTEND,
    "report": Decision.ESCAPE_REPORT,
    "success": Decision.ESCAPE_SUCCESS,
    "death": Decision.DEATH,
    "back": Decision.RETURN,
    "ledger": Decision.LEDGER,
    "repatriate": Decision.REPATRIATE,
    "relabel": Decision.RELABEL,
    "route": Decision.RELABEL_ROUTE,
}
ONCE = ("inspected", "direct")
if TYPE_CHECKING:

    class Month(_Named): ...
else:
    Month = namedtuple("Month", ("month", "mandate", "worked", *MONTH_KEYS))


def month_bundle(seed: int, month: int, mandate: bool, worked: bool) -> Month:
    """This month's number, whether a mandate sends anyone home, whether the work was done before the month's
    main loop (a group quota needs each camp's gross first), and the stream key of every decision."""
    keys = {name: np.uint64(stream_key(seed, d, -1 if name in ONCE else month)) for name, d in MONTH_KEYS.items()}
    return Month(np.int64(month), bool(mandate), bool(worked), **keys)


# the settings the loops read, fixed for a run: (name, where in the parameters)
SETTINGS = {
    "side_job_share": "work.side_job_share",
    "share": "remittance.share",
    "ledger_monthly": "remittance.ledger_monthly",
    "ledger_pay_prob": "remittance.ledger_pay_prob",
    "coupon_share": "remittance.coupon_share",
    "cash_months": "remittance.cash_months",
    "extension_prob": "population.extension_prob",
    "extension_months": "population.extension_months",
    "max_contract_months": "population.max_contract_months",
    "expected_share": "worker.expected_share",
    "side_job_seek": "worker.side_job_seek",
    "debt_repay_share": "worker.debt_repay_share",
    "side_bribe_share": "minder.side_bribe_share",
    "threat_prob": "minder.threat_prob",
    "threat_bribe": "minder.threat_bribe",
    "pressure_base": "minder.pressure_base",
    "pressure_gain": "minder.pressure_gain",
    "vigilance_decay": "minder.vigilance_decay",
    "memory": "escape.memory",
    "weight_pay": "escape.weight_pay",
    "weight_hours": "escape.weight_hours",
    "weight_debt": "escape.weight_debt",
    "passport_effect": "escape.passport_effect",
    "threshold": "escape.threshold",
    "steepness": "escape.steepness",
    "attempt_rate": "escape.attempt_rate",
    "report_prob": "escape.report_prob",
    "reprisal_severity": "state.reprisal_severity",
    "hours_slope": "deaths.hours_slope",
}
if TYPE_CHECKING:

    class Settings(_Named): ...
else:
    Settings = namedtuple("Settings", (*SETTINGS, "death_prob_max", "contract_months", "rule_code"))


def settings_bundle(params, death_prob_max: float, rule_code: int) -> Settings:
    return Settings(
        **{name: value_at(params, path) for name, path in SETTINGS.items()},
        death_prob_max=float(death_prob_max),
        contract_months=np.int64(params.population.contract_months),
        rule_code=np.int64(rule_code),
    )


# what the month's first pass counts (phase 2's inputs and phase 3's sums), sized before the newcomers arrive
Census = namedtuple(
    "Census",
    (
        "active_by_host",
        "stranded_by_host",
        "by_minder",
        "by_team",
        "minder_short",
        "minder_owed",
        "repatriated_idle",
        "remap",
        "left_rows",
    ),
)


def census_bundle(n_hosts: int, n_minders: int, n_teams: int, remap: np.ndarray, rows: "RowBuffers") -> Census:
    return Census(
        np.zeros(n_hosts),
        np.zeros(n_hosts),
        np.zeros(n_minders, dtype=np.int64),
        np.zeros(n_teams, dtype=np.int64),
        np.zeros(n_minders),
        np.zeros(n_minders),
        np.zeros(n_hosts, dtype=np.int64),
        remap,
        rows.get("repatriated", np.int64),
    )


class RowBuffers:
    """Scratch arrays of one value per row, kept from month to month (a fresh array each month would cost its pages
    again, every month): ``get(name, dtype)`` is the first ``n`` values of a buffer that grows with the rows."""

    def __init__(self):
        self.n = 0
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, dtype) -> np.ndarray:
        buffer = self._buffers.get(name)
        if buffer is None or len(buffer) < self.n:
            buffer = self._buffers[name] = np.empty(
                max(self.n, int(1.25 * len(buffer) if buffer is not None else 0)), dtype=dtype
            )
        return buffer[: self.n]


# the month's totals, added by the loops as they go (in worker-id order, as the mesa engine adds them)
Totals = namedtuple(
    "Totals",
    (
        "flows",
        "working",
        "exits",
        "by_legal",
        "kept",
        "informants",
        "attempts",
        "escaped_rows",
        "left_rows",
        "left",
        "returning",
        "stranded",
        "counts",
        "by_team",
        "minder_short",
        "minder_owed",
        "remap",
    ),
)


def totals_bundle(n_hosts: int, n_minders: int, n_teams: int, rows: RowBuffers, remap: np.ndarray) -> Totals:
    return Totals(
        flows=np.zeros((len(workers.FLOWS), n_hosts)),
        working=np.zeros(n_hosts, dtype=np.int64),
        exits=np.zeros((len(STATUSES), n_hosts), dtype=np.int64),
        by_legal=np.zeros((len(LEGAL), n_hosts), dtype=np.int64),
        kept=rows.get("kept", np.float64),
        informants=np.zeros(n_teams, dtype=np.int64),
        attempts=np.zeros(n_hosts, dtype=np.int64),
        escaped_rows=rows.get("escaped", np.int64),
        left_rows=rows.get("left", np.int64),
        left=np.zeros(n_minders, dtype=np.int64),
        returning=np.zeros(n_hosts, dtype=np.int64),
        stranded=np.zeros(n_hosts),
        counts=np.zeros(2, dtype=np.int64),
        by_team=np.zeros(n_teams, dtype=np.int64),
        minder_short=np.zeros(n_minders),
        minder_owed=np.zeros(n_minders),
        remap=remap,
    )


PAGE, LINE = 4096, 64
STAGGER = 11 * LINE  # successive columns start this many bytes further into a page (11 is prime to 64)


def columns_in_one_buffer(dtypes: dict, capacity: int) -> dict:
    """Zeroed columns of ``capacity`` rows, carved from one buffer so that column j starts j x STAGGER bytes (mod a
    page) after column 0. Columns allocated one by one start at the same offset in their pages, so the same row of
    every column falls in the same cache set: a loop over 25 such columns runs about ten times slower than over
    staggered ones (python benchmarks/layout.py)."""
    starts, end = [], 0
    for j, dt in enumerate(dtypes.values()):
        want = (j * STAGGER) % PAGE
        start = end + (want - end) % PAGE
        starts.append(start)
        end = start + capacity * np.dtype(dt).itemsize
    buffer = np.zeros(end + PAGE, dtype=np.uint8)
    base = (-buffer.ctypes.data) % PAGE  # column 0 at a page's start
    return {
        name: buffer[base + s : base + s + capacity * np.dtype(dt).itemsize].view(dt)
        for (name, dt), s in zip(dtypes.items(), starts)
    }


class Table:
    """Rows of named columns that grow as agents are made; ``bundle`` is the named tuple of the rows in use. With
    ``staggered``, the columns are carved from one buffer at staggered offsets (`columns_in_one_buffer`)."""

    def __init__(self, kind, dtypes: dict, capacity: int = 64, staggered: bool = False):
        self.kind, self.dtypes, self.n, self.staggered = kind, dtypes, 0, staggered
        self.data = self._allocate(capacity)
        self.bundle = self._view()

    def _allocate(self, capacity: int) -> dict:
        if self.staggered:
            return columns_in_one_buffer(self.dtypes, capacity)
        return {name: np.zeros(capacity, dtype=dt) for name, dt in self.dtypes.items()}

    def _view(self):
        return self.kind(*(a[: self.n] for a in self.data.values()))

    def extend(self, k: int, values: dict):
        """Add k rows, each column from ``values`` (an array or one value for all; absent: zeros)."""
        need = self.n + k
        cap = len(next(iter(self.data.values())))
        if need > cap:
            grown = self._allocate(max(need, int(1.25 * cap) + 1024))
            for name, a in self.data.items():
                grown[name][: self.n] = a[: self.n]
            self.data = grown
        for name, a in self.data.items():
            a[self.n : need] = values.get(name, 0)
        self.n = need
        self.bundle = self._view()

    def keep(self, rows: np.ndarray):
        """Keep the rows ``rows`` (indices, increasing), in order (in place)."""
        k = self.n
        for a in self.data.values():
            k = keep_rows(rows, a[: self.n])
        self.n = k
        self.bundle = self._view()

    def view(self, name: str) -> np.ndarray:
        return getattr(self.bundle, name)
