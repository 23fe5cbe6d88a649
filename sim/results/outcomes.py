"""The outcome registry: every figure a run is judged by, declared once.

An `Outcome` has a name (the key in summaries, ``runs.parquet`` and
experiment and targets files), a short label and a description for people, a
unit, how it is computed from a run's tables, and, for the six patterns of
the design brief, the calibration range the no-sanctions run should land in.
Each also says which way is better (``better``: up, down or neither),
whether it is one of the brief's two headline questions (``headline``:
revenue delivered, what the worker keeps), whether an experiment measures it
by default (``default``) and whether its change is shown in percent.
The run summary, the experiments' outcomes, the calibration targets, the
command line's table, the rankings and the figures all read this registry:
`HEADLINE`, `DEFAULT_OUTCOMES` and the selections shown together
(`REPORTED`, `CHANGES`, `WELFARE`, ...) are declared here, and no other
module writes an outcome's name (tests/test_architecture.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Callable

import numpy as np
import pandas as pd

from ..common.formatting import fixed, number, percent
from .columns import COL


class RunTables:
    """A run's tables and the totals several outcomes share, computed once."""

    def __init__(self, result):
        self.result = result
        self.m, self.w = result.monthly, result.workers
        self.months = len(self.m)

    @cached_property
    def worker_months(self) -> float:
        return float(self.m[COL.workers_working].sum())

    @cached_property
    def worker_years(self) -> float:
        return self.worker_months / 12.0

    @cached_property
    def left(self) -> pd.DataFrame:
        return self.w[self.w["status"] != "active"]

    def per_year(self, column: str) -> float:
        return float(self.m[column].sum()) / (self.months / 12.0) if self.months else math.nan

    def per_worker_month(self, column: str) -> float:
        return float(self.m[column].sum()) / self.worker_months if self.worker_months else math.nan

    def rate(self, column: str, per: float) -> float:
        """Events per ``per`` worker-years."""
        return per * float(self.m[column].sum()) / self.worker_years if self.worker_years else math.nan

    def monthly_mean(self, column: str) -> float:
        return float(self.m[column].mean()) if self.months else math.nan

    @cached_property
    def host_params(self) -> dict:
        return (self.result.manifest.get("params") or {}).get("hosts") or {}

    def host_per_worker_month(self, host: str, column: str) -> float:
        h = self.result.hosts
        h = h[h["host"] == host]
        months = float(h[COL.workers_working].sum())
        return float(h[column].sum()) / months if months else math.nan

    def net_gain(self, q: float) -> float:
        return float(np.percentile(self.left["net_gain"], q)) if len(self.left) else math.nan


BETTER = ("up", "down", "neither")  # which way an outcome moves when the sanctions do what they are for


# per-worker money outcomes that cannot be negative (the others in USD, what a worker keeps or gains, can)
NONNEGATIVE_USD = frozenset({"state_take_per_worker_month", "entry_bribe_median"})


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str  # short, for tables and axes: "state take per worker-month"
    what: str  # the description, with its unit
    unit: str  # "USD", "USD a year", "share", "hours a day", "per 1,000 worker-years", "workers"
    compute: Callable[[RunTables], float]
    target: tuple[float, float] | None = None  # the no-sanctions calibration range (params/targets.toml)
    spec: str | None = None  # how the command line shows it ("{:.2f}"); money and shares have their own
    reported: str | None = None  # a magnitude the seed article reports, to compare with (not fitted)
    # better "up" (the workers keep more), "down" (less reaches the state, fewer die) or "neither" (more escapes
    # or more workers abroad are not better or worse in themselves): the rankings and the figures' "better" read it
    better: str = "neither"
    headline: bool = False  # one of the brief's two questions: what reaches the state, what the worker keeps
    default: bool = False  # measured by an experiment whose file names no outcomes (DEFAULT_OUTCOMES)
    change_in_percent: bool = False  # a change from the reference is shown in percent of it (a level that scales)
    heading: str = ""  # its column in the policy answers' table, with its unit (default: the label)
    first: str = ""  # a headline outcome: what ranking first on it means ("largest revenue cut")

    def __post_init__(self):
        if self.better not in BETTER:
            raise ValueError(f"outcome {self.name}: better must be one of {', '.join(BETTER)} (got {self.better!r})")
        if self.headline and self.better == "neither":
            raise ValueError(f"outcome {self.name}: a headline outcome is ranked, so it needs a better direction")

    @property
    def interval_scale(self) -> str:
        """The scale its level's interval is computed on, so that no bound is one the outcome cannot take (issue 32):
        "logit" for a share (in 0-1), "log" for what cannot be negative (rates, counts, hours, months, revenue,
        the state's take, bribes), "linear" for what can (what a worker keeps, his net gain)."""
        if self.unit == "share":
            return "logit"
        if self.unit != "USD" or self.name in NONNEGATIVE_USD:
            return "log"
        return "linear"

    @property
    def money(self) -> bool:
        return self.unit.startswith("USD")

    @property
    def total(self) -> bool:
        """A total that grows with the simulated workforce (shown at full scale when a run is scaled)."""
        return self.unit in ("USD a year", "workers", "worker-months")

    def format(self, value: float, full: bool = False) -> str:
        """The value as the command line and the reports show it."""
        if self.unit == "share":
            return percent(value)
        if self.spec is not None and not full:
            return fixed(value, self.spec)
        return number(value, money=self.money, full=full)


def _earned_share(r: RunTables) -> float:
    earned = float(r.m[COL.wages_gross].sum() + r.m[COL.side_earnings].sum())
    return float(r.m[COL.worker_retained].sum()) / earned if earned > 0 else math.nan


def kept_of_promised(hosts: pd.DataFrame, host_params: dict) -> float:
    """What workers kept, as a share of what they were promised (each host's promised pay, else its wage), from a
    run's per-host table and its hosts' parameters (also the article's stories, sim/results/stories.py)."""
    promised = 0.0
    for name, months in hosts.groupby("host")[COL.workers_working].sum().items():
        hp = host_params.get(name, {})
        promised += float(months) * float(hp.get("promised_wage") or hp.get("wage") or math.nan)
    return float(hosts[COL.worker_retained].sum()) / promised if promised > 0 else math.nan


def _kept_of_promised(r: RunTables) -> float:
    """Per cell where the run has its sectors table (a cell's promise moves with its work's pay,
    `sim.core.sectors.expand`: an IT worker is not held to a builder's promise), else per host."""
    sectors, given = getattr(r.result, "sectors", None), r.result.manifest.get("params")
    if sectors is None or not len(sectors) or not given:
        return kept_of_promised(r.result.hosts, r.host_params)
    from ..core.params import make_params
    from ..core.sectors import CELL_SEPARATOR, expand

    cells = expand(make_params(given)).hosts
    promised = {name: {"promised_wage": h.promised_wage} for name, h in cells.items()}
    table = sectors.assign(host=sectors["host"] + CELL_SEPARATOR + sectors[SECTOR_KEY])
    return kept_of_promised(table, promised)


def _received_under(r: RunTables, amount: float) -> float:
    """Share of the workers who completed their contract and took home at most ``amount`` (kept less forfeited)."""
    done = r.w[r.w["status"] == "completed"]
    if not len(done):
        return math.nan
    return float(((done["retained_total"] - done["forfeited_total"]) <= amount).mean())


SECTOR_KEY = "sector"  # the sectors table's column naming the sector (sim/results/columns.py, SECTOR_COLUMNS)
IT_SECTOR = "it"  # the IT workers' sector (sim/core/sectors.py)
FACTORY_SECTOR = "factory"  # textiles and seafood: the sector UNSCR 2371/2375's bans hit (sim/core/sectors.py)
IT_YEAR = 2019  # the year the UN Panel of Experts reported the IT workers' revenue for (UN Panel 2020)


def sector_per_year_in(sectors: pd.DataFrame | None, sector: str, year: int, column: str) -> float:
    """A sector's ``column`` (every host group) summed over the months of calendar year ``year`` the run covers and
    scaled to a year (12 / those months); NaN if the run has no sectors table, no such sector or no month of the
    year."""
    if sectors is None or not len(sectors):
        return math.nan
    rows = sectors[(sectors[SECTOR_KEY] == sector) & sectors[COL.date].astype(str).str.startswith(f"{year}-")]
    months = rows[COL.month].nunique()
    return float(rows[column].sum()) / (months / 12.0) if months else math.nan


def sector_per_run_year(sectors: pd.DataFrame | None, sector: str, column: str) -> float:
    """A sector's ``column`` (every host group) over the whole run, per year; NaN if the run has no sectors table or
    no such sector."""
    if sectors is None or not len(sectors) or not (sectors[SECTOR_KEY] == sector).any():
        return math.nan
    months = sectors[COL.month].nunique()
    return float(sectors.loc[sectors[SECTOR_KEY] == sector, column].sum()) / (months / 12.0)


def _sector_revenue(r: RunTables, sector: str) -> float:
    """Revenue from one sector's work that reached the state, USD a year over the run."""
    return sector_per_run_year(getattr(r.result, "sectors", None), sector, COL.revenue_delivered)


def _hours(r: RunTables) -> float:
    return (
        float((r.m["hours_mean"] * r.m[COL.workers_working]).sum()) / r.worker_months if r.worker_months else math.nan
    )


_ALL = [
    Outcome(
        "revenue_delivered_per_year",
        "revenue delivered per year",
        "revenue that reaches the state, USD a year",
        "USD a year",
        lambda r: r.per_year(COL.revenue_delivered),
        better="down",
        headline=True,
        default=True,
        change_in_percent=True,
        heading="revenue delivered, $M a year",
        first="largest revenue cut",
    ),
    Outcome(
        "state_take_per_year",
        "state take per year",
        "what the state takes from the workers, USD a year (before losses on the way home)",
        "USD a year",
        lambda r: r.per_year(COL.state_take),
        better="down",
        change_in_percent=True,
    ),
    Outcome(
        "revenue_interdicted_per_year",
        "revenue seized per year",
        "revenue seized on the way home, USD a year",
        "USD a year",
        lambda r: r.per_year(COL.revenue_interdicted),
    ),
    Outcome(
        "state_take_per_worker_month",
        "state take per worker-month",
        "state take per worker-month, USD",
        "USD",
        lambda r: r.per_worker_month(COL.state_take),
        target=(190.0, 830.0),
        spec="${:,.0f}",
        better="down",
        default=True,
    ),
    Outcome(
        "worker_share_kept",
        "share of earnings the worker keeps",
        "share of gross earnings the worker keeps",
        "share",
        _earned_share,
        target=(0.10, 0.35),
        better="up",
        default=True,
    ),
    Outcome(
        "retained_per_worker_month",
        "kept per month worked",
        "what a worker keeps per month worked, USD",
        "USD",
        lambda r: r.per_worker_month(COL.worker_retained),
        spec="${:,.0f}",
        better="up",
        headline=True,
        default=True,
        change_in_percent=True,
        heading="a worker keeps, $ per month worked",
        first="workers keep most",
    ),
    Outcome(
        "net_gain_mean",
        "mean net gain of a posting",
        "mean net gain of a worker over his posting (kept, less ledger forfeited, less entry bribe), USD",
        "USD",
        lambda r: float(r.w["net_gain"].mean()) if len(r.w) else math.nan,
        better="up",
    ),
    Outcome(
        "net_gain_p10",
        "net gain, 10th percentile",
        "10th percentile of net gain of workers who left, USD",
        "USD",
        lambda r: r.net_gain(10),
        better="up",
    ),
    Outcome(
        "net_gain_p50",
        "median net gain of a posting",
        "median net gain of workers who left, USD",
        "USD",
        lambda r: r.net_gain(50),
        better="up",
        default=True,
        heading="median net gain of a posting, $",
    ),
    Outcome(
        "net_gain_p90",
        "net gain, 90th percentile",
        "90th percentile of net gain of workers who left, USD",
        "USD",
        lambda r: r.net_gain(90),
        better="up",
    ),
    Outcome(
        "share_zero_retained_mean",
        "share keeping nothing",
        "mean monthly share of workers who keep nothing",
        "share",
        lambda r: r.monthly_mean(COL.share_zero_retained),
        better="down",
    ),
    Outcome(
        "hours_mean",
        "mean hours per day",
        "mean hours per day",
        "hours a day",
        _hours,
        target=(12.0, 16.0),
        spec="{:,.1f}",
        better="down",
    ),
    Outcome(
        "escapes_per_1000_worker_years",
        "escapes per 1,000 worker-years",
        "successful escapes per 1,000 worker-years",
        "per 1,000 worker-years",
        lambda r: r.rate("escaped", 1000),
        target=(0.5, 5.0),
        spec="{:,.2f}",
        default=True,
    ),
    Outcome(
        "caught_per_1000_worker_years",
        "caught per 1,000 worker-years",
        "caught escaping per 1,000 worker-years",
        "per 1,000 worker-years",
        lambda r: r.rate("caught", 1000),
        spec="{:,.2f}",
        better="down",
    ),
    Outcome(
        "deaths_per_10000_worker_years",
        "deaths per 10,000 worker-years",
        "deaths per 10,000 worker-years",
        "per 10,000 worker-years",
        lambda r: r.rate("deaths", 10000),
        target=(10.0, 25.0),
        spec="{:,.1f}",
        better="down",
        default=True,
    ),
    Outcome(
        "sent_home_per_1000_worker_years",
        "sent home per 1,000 worker-years",
        "sent home per 1,000 worker-years",
        "per 1,000 worker-years",
        lambda r: r.rate("sent_home", 1000),
        spec="{:,.2f}",
        target=(0.5, 50.0),  # issue 28: a rare punishment, tens per 1,000 worker-years at most (assumption)
    ),
    # how long a posting lasts: the completed spells (issue 28: sending home should stay a rare punishment and the
    # typical posting end near the contract's length)
    Outcome(
        "tenure_median_months",
        "median months abroad of those who left",
        "median months abroad of the workers who left, for any reason (a contract is population.contract_months)",
        "months",
        lambda r: float(r.left["months_abroad"].median()) if len(r.left) else math.nan,
        spec="{:.0f}",
        target=(30.0, 48.0),  # issue 28: contracts typically 3 years (facts), 2.5-4 years (assumption)
    ),
    Outcome(
        "left_in_first_month_share",
        "leavers gone in their first month",
        "share of the workers who left who did so in their first month abroad (sent home, caught, escaped or dead)",
        "share",
        lambda r: float((r.left["months_abroad"] == 0).mean()) if len(r.left) else math.nan,
    ),
    Outcome(
        "entry_bribe_median",
        "median entry bribe",
        "median entry bribe, USD",
        "USD",
        lambda r: float(r.w["entry_bribe"].median()) if len(r.w) else math.nan,
        target=(100.0, 3000.0),
        spec="${:,.0f}",
        better="down",
    ),
    Outcome(
        "workers_active_mean",
        "mean workers abroad",
        "mean workers abroad",
        "workers",
        lambda r: r.monthly_mean(COL.workers_active),
        default=True,
    ),
    Outcome(
        "workers_final",
        "workers abroad at the end",
        "workers abroad at the end",
        "workers",
        lambda r: int(r.m[COL.workers_active].iloc[-1]) if r.months else 0,
    ),
    Outcome(
        "worker_months",
        "worker-months worked",
        "months worked by all the workers over the run (a total: at full scale when the run is scaled); beside a "
        "rate, it says how much work the rate is over",
        "worker-months",
        lambda r: r.worker_months,
    ),
    # the seed article's magnitudes (NYT 2015 and the testimonies it cites), reported beside the model, not fitted
    Outcome(
        "kept_share_of_promised",
        "kept, share of the promised pay",
        "what workers kept as a share of the pay they were promised (each host's promised_wage, else its wage)",
        "share",
        _kept_of_promised,
        reported="~10% of promised pay, or nothing; NYT 2015",
        better="up",
    ),
    Outcome(
        "russia_kept_per_day",
        "kept per day in Russia",
        "what a worker in Russia keeps per day (30 a month), USD",
        "USD",
        lambda r: r.host_per_worker_month("russia", COL.worker_retained) / 30.0,
        spec="${:,.2f}",
        reported="$5.30 a day, a logger, locals $30; NYT 2015",
        better="up",
    ),
    Outcome(
        "share_received_under_160",
        "completers taking home $160 or less",
        "share of workers who completed their contract and took home $160 or less (kept less forfeited)",
        "share",
        lambda r: _received_under(r, 160.0),
        reported="$160 in three years, for some; NYT 2015",
        better="down",
    ),
    # magnitudes reported for a sector, beside the model's (not fitted)
    Outcome(
        "it_revenue_2019",
        "IT work's state take in 2019",
        f"what the state takes from its IT workers (sector {IT_SECTOR!r}, every host) in calendar year {IT_YEAR}, "
        f"USD a year (the months of {IT_YEAR} the run covers, scaled to a year; n/a if the run has none of them or "
        "no IT sector)",
        "USD a year",
        lambda r: sector_per_year_in(getattr(r.result, "sectors", None), IT_SECTOR, IT_YEAR, COL.state_take),
        reported="~$20.4M a year; UN Panel 2020",
        better="down",
    ),
    # what each sectoral measure acts on: the revenue from its sector over the run
    *(
        Outcome(
            f"{words.split()[0].lower()}_revenue_per_year",
            f"{words} work's revenue per year",
            f"revenue from {words} work (sector {sector!r}{more}; every host) that reached the state, USD a year over "
            "the run",
            "USD a year",
            partial(_sector_revenue, sector=sector),
            better="down",
            change_in_percent=True,
            heading=f"{words} work's revenue, $M a year",
        )
        for sector, words, more in ((IT_SECTOR, "IT", ""), (FACTORY_SECTOR, "factory", ": textiles, seafood"))
    ),
    Outcome(
        "retained_median_mean",
        "median kept in a month",
        "the month's median kept by a worker, averaged over months, USD",
        "USD",
        lambda r: r.monthly_mean(COL.retained_median),
        better="up",
    ),
]
OUTCOMES: dict[str, Outcome] = {o.name: o for o in _ALL}
# the brief's two questions (ranked, the trade-off figure's axes): what reaches the state, what the worker keeps
HEADLINE = tuple(o.name for o in _ALL if o.headline)
REVENUE, KEPT = HEADLINE
# an experiment's outcomes when its file names none (experiments, EMA)
DEFAULT_OUTCOMES = tuple(o.name for o in _ALL if o.default)
# the outcomes shown together, each selection in its reading order (named here, so no other module names one)
REPORTED = (
    REVENUE,
    "state_take_per_year",
    KEPT,
    "net_gain_p50",
    "deaths_per_10000_worker_years",
    "escapes_per_1000_worker_years",
    "sent_home_per_1000_worker_years",
    "workers_final",
    "worker_months",
)  # the report's headline table: the workforce at the end and the months worked, so a collapse cannot hide behind
# a rate (issue 32)
COMPARED = (*REPORTED, "worker_share_kept", "state_take_per_worker_month", "workers_active_mean")  # olsim compare
CHANGES = tuple(
    o
    for o in REPORTED
    if o not in ("state_take_per_year", "sent_home_per_1000_worker_years", "workers_final", "worker_months")
)  # forest, answers
WELFARE = (
    KEPT,
    "net_gain_p50",
    "worker_share_kept",
    "deaths_per_10000_worker_years",
    "escapes_per_1000_worker_years",
)  # the workers' welfare under the sanctions' prior and posterior
WELFARE_AXES = (
    KEPT,
    "net_gain_p50",
    "net_gain_mean",
    "worker_share_kept",
)  # the trade-off's welfare axis: the first present
RUN_SUMMARY = (
    REVENUE,
    "state_take_per_year",
    "state_take_per_worker_month",
    "worker_share_kept",
    "hours_mean",
    "escapes_per_1000_worker_years",
    "caught_per_1000_worker_years",
    "deaths_per_10000_worker_years",
    "sent_home_per_1000_worker_years",
    "tenure_median_months",
    "left_in_first_month_share",
    "entry_bribe_median",
)  # olsim run's table
NET_GAIN_QUANTILES = ("net_gain_p10", "net_gain_p50", "net_gain_p90")  # olsim run's table: one row of the three
WORKERS_AT_END = "workers_final"  # olsim run's table: beside the workers at the start
# the tenure table's columns that are these outcomes per calendar year and host (sim/results/tenure.py): the sending
# home and caught rates, the median months abroad of the leavers and the share gone in their first month
TENURE_OUTCOMES = (
    "sent_home_per_1000_worker_years",
    "caught_per_1000_worker_years",
    "tenure_median_months",
    "left_in_first_month_share",
)
# the sector table's figures (sim/results/sectors.py): these outcomes computed over one sector's rows of the sectors
# table (revenue delivered per year, state take and kept per worker-month, deaths per 10,000 worker-years)
SECTOR_OUTCOMES = (REVENUE, "state_take_per_worker_month", KEPT, "deaths_per_10000_worker_years")
CALIBRATION_WELFARE = (KEPT, "net_gain_p50", REVENUE)  # the no-sanctions calibration: reported, not targeted
PREDICTIVE = (REVENUE, *WELFARE, "workers_active_mean")  # the sanctions fit's predictive check
# the no-sanctions calibration's target ranges (params/targets.toml): the design brief's six (model.md) and, since
# issue 28, two of tenure (the median months abroad of those who left, the rate of sending home)
BRIEF_TARGETS = {o.name: o.target for o in _ALL if o.target is not None}


def outcomes_of(result, names: list[str] | None = None) -> dict[str, float]:
    """The named outcomes (default: all) of one run (a `Result`), as floats."""
    r = RunTables(result)
    return {k: float(OUTCOMES[k].compute(r)) for k in (names if names is not None else OUTCOMES)}


def summarise(result) -> dict:
    """Headline figures of a run: every outcome, and where it falls against the brief's calibration targets."""
    r = RunTables(result)
    s = {"months": r.months, "workers_initial": int(result.manifest.get("workers_initial", 0))}
    s.update({name: o.compute(r) for name, o in OUTCOMES.items()})
    s["calibration"] = {
        k: {
            "value": s[k],
            "low": lo,
            "high": hi,
            "inside": None if s[k] != s[k] else bool(lo <= s[k] <= hi),
            "what": OUTCOMES[k].what,
        }
        for k, (lo, hi) in BRIEF_TARGETS.items()
    }
    return s


QUANTILES = np.arange(0, 101)  # percentiles stored per run for the welfare distributions


def distributions_of(result) -> pd.DataFrame:
    """Percentiles 0..100 of each worker's net gain (workers who left) and of what he kept per month abroad."""
    w = result.workers
    left = w.loc[w["status"] != "active", "net_gain"].to_numpy(float)
    abroad = w["months_abroad"].to_numpy(float)
    monthly = (w["retained_total"].to_numpy(float) / np.where(abroad > 0, abroad, 1.0))[abroad > 0]
    nan = np.full(len(QUANTILES), np.nan)
    return pd.DataFrame(
        {
            "q": QUANTILES.astype("int64"),
            "net_gain": np.percentile(left, QUANTILES) if len(left) else nan,
            "retained_monthly": np.percentile(monthly, QUANTILES) if len(monthly) else nan,
        }
    )
