"""The seed article's stories as shipped scenarios, and every figure the article gives beside the model's.

The New York Times (2015; facts.md) tells two stories: a desert camp in Kuwait in 1996
(``params/kuwait_1996.toml``) and a logging camp in Siberia in the 1990s (``params/siberia_logging.toml``).
Each `Story` names its scenario file and lists the article's figures (`Figure`): the figure as reported,
with its source, as a range (a point is a range of one value), and how the model's figure is computed from
a run's tables (`StoryTables`), or why the model cannot produce it. `compare` judges each: **inside** if the
model is within a factor of `FACTOR` of the reported range (issue 28's criterion), else a **miss**, with the
figure's reason (the mechanism the model lacks).

`run_story` runs a story's scenario and compares it. It takes the function that runs a model (`sim.run`) as
an argument: the results layer sits below the engines and does not import them (tests/test_architecture.py);
``olsim stories`` passes it.

What "received" means here: a worker's ``retained_total`` (what he kept each month, his ledger credit
included) less his ``forfeited_total`` (a ledger not paid on return, cash lost when caught or dead): the
cash he had in hand plus the ledger paid to him. Summed over the workers who left, less the ledgers paid to
them (the monthly ``ledger_paid``), it leaves the cash alone.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..common import shipped
from ..common.errors import OlsimError
from ..common.files import current_umask
from ..common.formatting import fixed, percent
from ..common.validation import suggest
from .columns import COL
from .outcomes import kept_of_promised
from .result import check_output_folder, output_folder

if TYPE_CHECKING:
    import pandas as pd

FACTOR = 1.5  # issue 28: a model figure within a factor of 1.5 of the article's is inside
DAYS_A_MONTH = 30  # a month's pay over 30 days, as the outcome registry's pay per day
INSIDE, MISS, CANNOT = "inside", "miss", "cannot say"
FILES = ("stories.csv", "stories.md")  # what --out writes


class StoryError(OlsimError):
    """An unknown story, or an output folder that cannot be written."""


# ---------------------------------------------------------------- the tables a figure reads


class StoryTables:
    """A run's tables as the stories read them (a `Result`, or any object with ``monthly``, ``hosts``,
    ``workers`` and ``manifest``, so a test can build them by hand).

    ``first`` is the first month the model simulated in the tables' numbering (``-calendar.warmup``): a worker
    posted at or after it had his whole posting simulated, so his totals cover all of it."""

    def __init__(self, result: Any):
        self.m: pd.DataFrame = result.monthly
        self.h: pd.DataFrame = result.hosts
        self.w: pd.DataFrame = result.workers
        self.params: dict = (result.manifest or {}).get("params") or {}
        self.first = -int((self.params.get("calendar") or {}).get("warmup", 0) or 0)
        self.last = len(self.m) - 1

    @cached_property
    def promised(self) -> dict[str, float]:
        """Each host's promised pay a month (its ``promised_wage``, else its wage)."""
        hosts = self.params.get("hosts") or {}
        return {name: float(h.get("promised_wage") or h.get("wage") or math.nan) for name, h in hosts.items()}

    @cached_property
    def worker_months(self) -> float:
        return float(self.m[COL.workers_working].sum())

    def per_worker_month(self, column: str) -> float:
        return float(self.m[column].sum()) / self.worker_months if self.worker_months else math.nan

    def weighted_mean(self, column: str) -> float:
        """A monthly mean over the workers who worked, averaged over the months weighted by those workers."""
        if not self.worker_months:
            return math.nan
        return float((self.m[column] * self.m[COL.workers_working]).sum()) / self.worker_months

    @cached_property
    def received(self) -> pd.Series:
        """What each worker took home: kept (cash and ledger credit) less what he forfeited (USD)."""
        return self.w["retained_total"] - self.w["forfeited_total"]

    @cached_property
    def left(self) -> pd.Series:
        return self.w["status"] != "active"

    @cached_property
    def whole(self) -> pd.Series:
        """Workers whose posting was simulated from its first month."""
        return self.w["month_deployed"] >= self.first

    @cached_property
    def months_posted(self) -> pd.Series:
        """Months each worker worked in his posting: from the month posted to the month left (or the last)."""
        end = self.w["month_left"].where(self.left, self.last)
        return end - self.w["month_deployed"] + 1

    @cached_property
    def months_simulated(self) -> pd.Series:
        """Months of each worker's posting that the model simulated (his totals cover these)."""
        end = self.w["month_left"].where(self.left, self.last)
        return end - self.w["month_deployed"].clip(lower=self.first) + 1


# ---------------------------------------------------------------- the model's figures


def received_share_of_promised(t: StoryTables) -> float:
    """Σ received / Σ (promised × months worked) over the workers who left and whose whole posting was simulated."""
    done = t.left & t.whole
    promised = t.w.loc[done, "host"].map(t.promised) * t.months_posted[done]
    total = float(promised.sum())
    return float(t.received[done].sum()) / total if total > 0 else math.nan


def kept_share_of_promised(t: StoryTables) -> float:
    """Σ kept (cash and ledger credit, each month) / Σ (promised × workers who worked), over hosts: the outcome
    registry's computation."""
    return kept_of_promised(t.h, t.params.get("hosts") or {})


def cash_per_month(t: StoryTables) -> float:
    """Cash in hand per month abroad, of the workers who left in the tables' months: what they took home less the
    ledgers paid to them (``ledger_paid``: paid to this month's leavers), over the months simulated of their
    postings (USD)."""
    months = float(t.months_simulated[t.left].sum())
    if months <= 0:
        return math.nan
    return (float(t.received[t.left].sum()) - float(t.m[COL.ledger_paid].sum())) / months


def cash_in_five_months(t: StoryTables) -> float:
    return 5.0 * cash_per_month(t)


def completers_received_median(t: StoryTables) -> float:
    """The median received by the workers who completed their contract and whose whole posting was simulated."""
    done = (t.w["status"] == "completed") & t.whole
    return float(t.received[done].median()) if done.any() else math.nan


def kept_per_day(t: StoryTables) -> float:
    """What a worker kept (cash and ledger credit) per day, 30 days a month (USD)."""
    return t.per_worker_month(COL.worker_retained) / DAYS_A_MONTH


def hours_a_day(t: StoryTables) -> float:
    return t.weighted_mean(COL.hours_mean)


def months_between_paydays(t: StoryTables) -> float:
    """The months between a worker's paydays (``remittance.cash_months``; 1 when the file does not set it)."""
    return float((t.params.get("remittance") or {}).get("cash_months", 1) or 1)


def take_a_month_for(workers: int) -> Callable[[StoryTables], float]:
    """The state's take a month (what the workers hand over to be sent home) for ``workers`` workers: the take
    per worker-month times ``workers`` (USD)."""

    def take(t: StoryTables) -> float:
        return workers * t.per_worker_month(COL.state_take)

    return take


def plan_a_year(t: StoryTables) -> float:
    """The plan per worker, averaged over the workers who worked each month, times 12 (USD a year)."""
    return 12.0 * t.weighted_mean(COL.plan_mean)


# ---------------------------------------------------------------- the stories


@dataclass(frozen=True)
class Figure:
    what: str  # the figure in words
    article: str  # as reported, with its source
    low: float  # the reported figure as a range (a point: low == high; "12 or more": high = inf)
    high: float
    spec: str  # how the model's figure is shown ("${:,.2f}", "{:.1f} h"); "share": a percentage
    compute: Callable[[StoryTables], float] | None  # None: the model cannot produce it
    why: str  # why it misses (or, with no compute, why the model cannot say)
    note: str = ""  # what the reader must know whatever the verdict (an input, a scale)

    def show(self, value: float) -> str:
        return percent(value) if self.spec == "share" else fixed(value, self.spec)


@dataclass(frozen=True)
class Story:
    name: str  # the shipped parameter file (params/NAME.toml)
    title: str
    figures: tuple[Figure, ...]


CAMP = 1800  # facts: one desert camp of 1,800 workers (Kuwait, 1996, NYT 2015): the scale of the group's quota
NO_DAYS = (
    "the model has no days of rest: a month's pay scales with the hours worked a day, and every day of the "
    "month is worked"
)

KUWAIT = Story(
    "kuwait_1996",
    "Kuwait, 1996: one desert camp of 1,800 workers (NYT 2015)",
    (
        Figure(
            "share of the promised $120 a month the worker received (cash in hand + ledger paid)",
            "commonly ~10% of promised pay, or nothing (NK Watch petition, via NYT 2015)",
            0.10,
            0.10,
            "share",
            received_share_of_promised,
            "the model takes the quota and 30% fees of the rest, leaves the worker the remainder on his ledger and "
            "pays 70% of ledgers on return; it has no deductions for food, lodging or 'loyalty' contributions and "
            "no wages withheld for good ('we were never paid our wages'); the assumed employer's wage ($400: the "
            "quota plus the promise) decides how much is left",
            "workers who left, whole postings simulated",
        ),
        Figure(
            "share of the promised pay the worker kept, ledger included (whether paid or not)",
            "commonly ~10% of promised pay, or nothing (NK Watch petition, via NYT 2015)",
            0.10,
            0.10,
            "share",
            kept_share_of_promised,
            "what the employer pays beyond the quota goes 70% to the worker (fees_share 0.3), and the assumed wage "
            "($400) leaves about the promised $120 beyond it; no rule of the model withholds the rest",
        ),
        Figure(
            "cash in hand over five months",
            "~$65 once in five months, for cigarettes on a leader's birthday (NYT 2015)",
            65.0,
            65.0,
            "${:,.2f}",
            cash_in_five_months,
            "the model writes what a worker keeps, up to ledger_monthly ($120), in the ledger and hands out only "
            "the rest in cash (here at paydays once in five months); it has no occasional handout such as the $65 "
            "on a leader's birthday",
            "workers who left, months simulated",
        ),
        Figure(
            "months between the paydays on which cash is in hand",
            "once in five months (NYT 2015)",
            5.0,
            5.0,
            "{:.0f} months",
            months_between_paydays,
            "the scenario's paydays differ from the article's",
            "an input (remittance.cash_months = 5): inside by construction; pay held between paydays is lost by a "
            "worker sent home or escaping",
        ),
        Figure(
            "hours a day",
            "7 a.m. to 7 p.m. or midnight: 12-17 h (NYT 2015)",
            12.0,
            17.0,
            "{:.1f} h",
            hours_a_day,
            "the minders' pressure sets the day between hours_base and hours_max",
            "12 and 17 h are the scenario's hours_base and hours_max: inside by construction",
        ),
        Figure(
            "days of rest",
            "two half days a month (NYT 2015)",
            math.nan,
            math.nan,
            "",
            None,
            NO_DAYS,
        ),
        Figure(
            f"the group's money sent home a month, for a camp of {CAMP:,}",
            "$500,000 a month (NYT 2015: a former supervisor, 2011-2014, not 1996; the group's size not given)",
            500_000.0,
            500_000.0,
            "${:,.0f}",
            take_a_month_for(CAMP),
            "the camp's take is its quota plus 30% fees on the rest of its pay",
            f"the state's take per worker-month x {CAMP:,}; an input: the quota is $500,000 / {CAMP:,} a worker, "
            "so this checks only that the camp's pay covers it",
        ),
    ),
)

SIBERIA = Story(
    "siberia_logging",
    "Siberia, 1990s: a logging camp in the Russian Far East (NYT 2015)",
    (
        Figure(
            "pay a day (what the worker kept, ledger included), against $30 for the locals",
            "$5.30 a day, against $30 for Chinese and Russian workers (NYT 2015)",
            5.30,
            5.30,
            "${:,.2f}",
            kept_per_day,
            "the model leaves the worker 70% of what the employer pays beyond the plan, and the plan is a later "
            "period's ($4,500 a year; the 1990s plan is not reported); it has no deductions for food, lodging or "
            "contributions; and the employer's payment (the local $30 a day) is an assumption",
            "kept per worker-month / 30",
        ),
        Figure(
            "received in three years (median of those who completed a three-year contract)",
            "$160 received in three years (NYT 2015)",
            160.0,
            160.0,
            "${:,.0f}",
            completers_received_median,
            "the model pays what is kept beyond the $150 ledger in cash every month and 70% of ledgers on return; "
            "it has no wages withheld for good, deductions or confiscations that leave a completer almost nothing",
            "completers whose whole contract was simulated",
        ),
        Figure(
            "hours a day",
            "12-hour days and more (NYT 2015)",
            12.0,
            math.inf,
            "{:.1f} h",
            hours_a_day,
            "the minders' pressure sets the day above hours_base",
            "12 h is the scenario's hours_base: inside by construction",
        ),
        Figure(
            "days of rest",
            "none reported for the 1990s; two days a year in Russia (BBC 2025, a later period)",
            math.nan,
            math.nan,
            "",
            None,
            NO_DAYS,
        ),
        Figure(
            "plan contribution per worker a year",
            "forestry $4,500 rising to $7,000 (Daily NK ~2019-21, a later period)",
            4500.0,
            7000.0,
            "${:,.0f}",
            plan_a_year,
            "the state raises plans only while its revenue is short of its target",
            "an input: the plan starts at $4,500 a year; this shows whether the state raised it",
        ),
    ),
)

STORIES: dict[str, Story] = {s.name: s for s in (KUWAIT, SIBERIA)}


def story(name: str) -> Story:
    """The story of that name; `StoryError` (one line) naming the stories otherwise."""
    if name not in STORIES:
        raise StoryError(f"{name}: no such story{suggest(name, STORIES)} (stories: {', '.join(STORIES)})")
    return STORIES[name]


# ---------------------------------------------------------------- judging and the table


def judge(value: float, low: float, high: float, factor: float = FACTOR) -> tuple[float, str]:
    """(ratio, verdict) of a model figure against a reported range: the ratio is the model over the nearest end
    of the range (1 inside it); inside if it is within ``factor`` either way. NaN (the model cannot say, or
    the article gives no number) gives (NaN, CANNOT)."""
    if value != value or low != low:
        return math.nan, CANNOT
    if low <= value <= high:
        ratio = 1.0
    elif value > high:
        ratio = value / high
    else:
        ratio = value / low if low else math.inf
    return ratio, INSIDE if 1.0 / factor <= ratio <= factor else MISS


def ratio_text(ratio: float) -> str:
    if ratio != ratio:
        return "-"
    return f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.2g}"


ROW_KEYS = ("story", "figure", "article", "model", "value", "ratio", "verdict", "reason", "note")


def compare(s: Story, result: Any) -> list[dict]:
    """One row per figure of the story: the article's figure, the model's (as shown and as a number), the ratio,
    the verdict, the reason (a miss's, or why the model cannot say) and the figure's note (what it is measured
    over, or that it is an input)."""
    t = StoryTables(result)
    rows = []
    for f in s.figures:
        value = float(f.compute(t)) if f.compute is not None else math.nan
        ratio, verdict = judge(value, f.low, f.high)
        rows.append(
            dict(
                story=s.name,
                figure=f.what,
                article=f.article,
                model=f.show(value) if f.compute is not None else CANNOT,
                value=value,
                ratio=ratio,
                verdict=verdict,
                reason=f.why if verdict != INSIDE else "",
                note=f.note,
            )
        )
    return rows


def run_story(name: str, run: Callable[..., Any], seed: int = 0) -> tuple[list[dict], Any]:
    """Run a story's shipped scenario with ``run`` (`sim.run`: passed in, as the results layer does not import the
    engines) and compare it; the rows and the run's `Result`."""
    from ..core.params import load_params

    s = story(name)
    params = load_params(shipped.resolve(s.name, "params"))
    result = run(params, seed=seed)
    return compare(s, result), result


def heading(s: Story, result: Any) -> str:
    """What was run: the story, the months, the warm-up, the workers, the seed."""
    p = (result.manifest or {}).get("params") or {}
    cal = p.get("calendar") or {}
    workers = sum(int(h.get("workers", 0)) for h in (p.get("hosts") or {}).values())
    warm = f" after a {cal['warmup']}-month warm-up" if cal.get("warmup") else ""
    return (
        f"{s.title}: params/{s.name}.toml, {workers:,} workers, {len(result.monthly)} months from "
        f"{cal.get('start', '?')}{warm}, seed {result.manifest.get('seed', '?')}"
    )


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table (the article's figure, the model's, the ratio, the verdict, the reason, the
    note)."""
    lines = [
        "| figure | article (source) | model | model / article | verdict | reason | note |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for r in rows:
        cells = (r["figure"], r["article"], r["model"], ratio_text(r["ratio"]), r["verdict"], r["reason"], r["note"])
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def frame(rows: list[dict]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=list(ROW_KEYS))


def check_new_folder(folder: str | os.PathLike) -> Path:
    """The folder the table will go to; `StoryError` (one line) if it exists or cannot be made: a folder is
    never replaced."""
    out = output_folder(folder)
    if out.exists() or out.is_symlink():
        raise StoryError(f"{folder}: already exists; choose a new folder (olsim stories never replaces one)")
    try:
        check_output_folder(out)
    except OSError as e:
        text, prefix = str(e), f"{out}: "
        raise StoryError(f"{folder}: {text[len(prefix) :] if text.startswith(prefix) else text}") from None
    return out


def save(rows: list[dict], text: str, folder: str | os.PathLike) -> Path:
    """Write ``stories.csv`` (the rows) and ``stories.md`` (``text``) into a new folder, all at once (a temporary
    folder, then a rename); an existing folder is never touched."""
    out = check_new_folder(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        frame(rows).to_csv(tmp / FILES[0], index=False)
        (tmp / FILES[1]).write_text(text + "\n", encoding="utf-8")
        check_new_folder(folder)  # it may have appeared meanwhile
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
