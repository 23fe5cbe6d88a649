"""The thirteen phases of a month, declared once, and a clock that times them.

`PHASE_TABLE` names each phase, says who acts, what it reads and writes (docs/ODD.md section 3's table is
generated from it: ``python -m sim.core.phases --odd``), and the method each engine runs for it. Both engines'
`step` run `run_month`, which calls those methods in this order and times them with `PhaseClock`; the array
engine runs some phases as one fused pass (4-7, 8-11): they name the same method and are timed together, under a
label naming all of them. Nothing else writes the order down (tests/test_architecture.py checks it).
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    number: int
    name: str  # short: the profiler's label
    title: str  # what happens, for the ODD
    code: str  # the functions that do it (the mesa engine's agents' methods and the shared books)
    who: str  # who acts
    reads: str
    writes: str
    mesa: str  # the mesa engine's method (OverseasLaborModel)
    array: str  # the array engine's method (ArrayModel); phases run in one pass name the same method


PHASE_TABLE: tuple[Phase, ...] = (
    Phase(
        1,
        "policies",
        "policies switch on or off",
        "`levers_for_month`",
        "model",
        "the policy list, the month",
        "this month's levers per host",
        mesa="_policies",
        array="_policies",
    ),
    Phase(
        2,
        "state",
        "state",
        "`set_plans`, `State.repatriate`, `State.deploy` → `plan_deployments`, `pick_channels`",
        "State",
        "last month's delivered revenue, share of workers short of the plan and channel losses; levers; "
        "active workers per host and their legal status, and those kept past their contracts",
        "plans; targets; repatriated or relabelled workers; new cohorts with their legal status; channel weights; "
        "each host's chance of carrying out the send-home threat and of releasing a stranded worker",
        mesa="_state",
        array="_state",
    ),
    Phase(
        3,
        "pressure",
        "pressure",
        "`Minder.set_pressure`",
        "active minders",
        "their workers' shortfall and plan **of last month**",
        "pressure; decayed alarm",
        mesa="_pressure",
        array="_pressure",
    ),
    Phase(
        4,
        "work",
        "work",
        "`Worker.work`",
        'workers active after phase 2 ("working")',
        "minder's pressure; inspection lever",
        "hours, gross",
        mesa="_work",
        array="_work_and_pay",
    ),
    Phase(
        5,
        "remittance",
        "remittance",
        "`_camp_accounts`, `Worker.remit`",
        "working",
        "gross, plan, arrears, camp totals, direct-wage lever",
        "take, arrears, ledger, cash",
        mesa="_remit",
        array="_work_and_pay",
    ),
    Phase(
        6,
        "side jobs",
        "side jobs",
        "`Worker.seek_side_job`",
        "working",
        "kept/gross averages (to last month), minder's greed",
        "side earnings, side bribe, cash, minder's bribes",
        mesa="_side_jobs",
        array="_work_and_pay",
    ),
    Phase(
        7,
        "threat",
        "send-home threat",
        "`Worker.face_threat`",
        "working",
        "gross vs plan, cash",
        "threat bribe or `sent_home`; month's books; running averages",
        mesa="_threat",
        array="_work_and_pay",
    ),
    Phase(
        8,
        "surveillance",
        "surveillance",
        "`Worker.consider_escape`",
        "working still active",
        "hardship, loyalty, route, vigilance, passport, family; informants in the team",
        "intends, reported, success chance",
        mesa="_surveillance",
        array="_watch_die_return",
    ),
    Phase(
        9,
        "escape",
        "escape",
        "`Worker.attempt_escape`, then `_after_escapes`",
        "those who intend",
        "reported, success chance",
        "`escaped` / `caught`; then alarms and minder replacement",
        mesa="_escape",
        array="_watch_die_return",
    ),
    Phase(
        10,
        "deaths",
        "deaths",
        "`Worker.face_hazards`",
        "working still active",
        "hours",
        "`dead`",
        mesa="_deaths",
        array="_watch_die_return",
    ),
    Phase(
        11,
        "contracts",
        "contracts end",
        "`Worker.finish_contract`, `Minder.check_unit`",
        "working still active; active minders; his host's chance of releasing a stranded worker",
        "months abroad",
        "`completed`; minders with no workers → `left`",
        mesa="_contracts",
        array="_watch_die_return",
    ),
    Phase(
        12,
        "money",
        "money moves home",
        "`State.move_money` → `send_money_home`",
        "State",
        "the month's take of every working worker, returning workers, channel levers",
        "delivered, interdicted, costs; loss rates; delivered total",
        mesa="_money",
        array="_money",
    ),
    Phase(
        13,
        "collect",
        "data are collected",
        "`_collect`, `_end_month`",
        "model",
        "everything above",
        "a row of `monthly`, a row per host of `hosts`; leavers deregistered; month + 1",
        mesa="_collect_month",
        array="_collect",
    ),
)
PHASES = {p.number: p.name for p in PHASE_TABLE}
ENGINES = ("mesa", "array")


def steps(engine: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The engine's month: (method, the phases it runs), consecutive phases naming one method run together."""
    out: list[tuple[str, list[int]]] = []
    for p in PHASE_TABLE:
        method = getattr(p, engine)
        if out and out[-1][0] == method:
            out[-1][1].append(p.number)
        else:
            out.append((method, [p.number]))
    return tuple((m, tuple(n)) for m, n in out)


def run_month(model, engine: str) -> None:
    """One month of ``model``: each phase's method in the table's order, each timed by ``model.clock``."""
    clock = model.clock
    clock.start()
    for method, numbers in _STEPS[engine]:
        getattr(model, method)()
        clock.tick(*numbers)


_STEPS = {engine: steps(engine) for engine in ENGINES}


@functools.lru_cache(maxsize=None)
def label(*numbers: int) -> str:
    """'3 pressure'; for phases run together, '5-7 remittance, side jobs, threat'."""
    first, last = min(numbers), max(numbers)
    span = str(first) if first == last else f"{first}-{last}"
    return f"{span} {', '.join(PHASES[k] for k in range(first, last + 1))}"


def odd_table() -> str:
    """docs/ODD.md section 3's table of the phases, from `PHASE_TABLE`."""
    rows = ["| # | phase (code) | who acts | reads | writes | array engine |", "|---|---|---|---|---|---|"]
    for p in PHASE_TABLE:
        rows.append(f"| {p.number} | {p.title} ({p.code}) | {p.who} | {p.reads} | {p.writes} | `{p.array}` |")
    return "\n".join(rows)


class PhaseClock:
    """Seconds spent in each phase over a run, in the order of the month."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()
        # called with the phase numbers after each tick (the phase-by-phase docking test); not timed
        self.observer = None

    def start(self) -> None:
        self._last = time.perf_counter()

    def tick(self, *numbers: int) -> None:
        """The time since the last tick was spent in these phases."""
        now = time.perf_counter()
        key = label(*numbers)
        self.seconds[key] = self.seconds.get(key, 0.0) + now - self._last
        if self.observer is not None:
            self.observer(numbers)
            now = time.perf_counter()
        self._last = now


if __name__ == "__main__":
    if sys.argv[1:] != ["--odd"]:
        sys.exit("usage: python -m sim.core.phases --odd   (prints docs/ODD.md section 3's table of the phases)")
    print(odd_table())
