"""The mesa engine: the reference implementation of the month.

`OverseasLaborModel.step` runs the thirteen phases of docs/ODD.md in order.
Within a phase every agent acts on the state the previous phase left
(staged): a phase's effects on others (alarms, replacements, exits from the
model) are applied after the phase, so the order of agents never matters.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import mesa
import numpy as np

import pandas as pd  # noqa: F401  (the workers table's type)

from ...core import draws as rnd
from ...core import rules
from ...core.sectors import OWN_SETTINGS, cell_words, cells_of, expand, per_host
from ...core.rules import plain as rulebook  # the same rules the array engine compiles, as plain Python
from ...core.compiled import numba_disabled, plain_function
from ...core.draws import Decision
from ...core.params import Params, load_params, make_params, params_to_dict, value_at
from ...core.phases import PhaseClock, run_month
from ...core.policies import levers_for_month
from ...core import workers
from ...core.workers import STATUS_CODE
from ...results.columns import ABROAD_BY_LEGAL, COL, MONTHLY_COLUMNS, HostTotals
from ...results.tables import FLOW_INDEX, FlowTotals, MonthAggregator, workers_table
from .agents import ACTIVE, Camp, Minder, State, Worker


def resolve_params(params, overrides) -> Params:
    """`Params` from a `Params`, a path, a dict of dotted overrides or None (the baseline), plus overrides."""
    if params is None or isinstance(params, (str, bytes)) or hasattr(params, "__fspath__"):
        return load_params(params, overrides)
    if isinstance(params, Params):
        return make_params(params_to_dict(params), overrides) if overrides else params
    if isinstance(params, dict):
        return load_params(None, {**params, **(overrides or {})})
    raise TypeError(f"params must be a Params, a path or None, not {type(params).__name__}")


def seed_from_rng(rng) -> int:
    """A seed (0 to 2**63 - 1) from what Mesa passes as ``rng``: an int as it is; a numpy Generator or
    SeedSequence, drawn from it (reproducible from its state); None, fresh entropy."""
    if rng is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError("rng must be an int, a numpy Generator or SeedSequence, or None, not a bool")
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1, dtype=np.int64, endpoint=True))
    raise TypeError(f"rng must be an int, a numpy Generator or SeedSequence, or None, not {type(rng).__name__}")


def _number(worker, name: str):
    """A worker's field as the array engine stores it: his camp and minder by id, his status by code."""
    value = getattr(worker, name)
    if name == "camp":
        return value.camp_id
    if name == "minder":
        return value.minder_id
    return STATUS_CODE[value] if name == "status" else value


# the decisions every posted worker draws each month (or, for a side job, every worker short of what he expected):
# `OverseasLaborModel.worker_draw` takes them from a table of the month's draws
TABLED = frozenset({Decision.THREAT, Decision.ESCAPE_INTEND, Decision.DEATH, Decision.SIDE_SEEK})


class OverseasLaborModel(mesa.Model):
    """A state-run overseas labour system, one month per step.

    Args:
        params: a `Params`, a path to a TOML file, or None for the baseline.
        seed: the seed of every counter-based draw (0 to 2**63 - 1). Default: from ``rng``.
        rng: as Mesa documents it (`mesa.batch_run` and SolaraViz pass it): an int is the seed; a numpy
            ``Generator`` or ``SeedSequence`` gives one (the same generator state, the same seed); None, with no
            ``seed`` either, is fresh entropy. The seed used is ``model.seed``, so any run can be repeated with
            ``OverseasLaborModel(params, seed=model.seed)``.
        overrides: dotted keys, e.g. ``{"hosts.russia.workers": 500}``.
        **levers: more overrides as keywords, ``__`` standing for ``.``
            (``remittance__rule="share"``), so a page can rebuild the model.
    """

    def __init__(self, params=None, seed: int | None = None, rng=None, overrides: dict | None = None, **levers):
        overrides = dict(overrides or {})
        overrides.update({k.replace("__", "."): v for k, v in levers.items()})
        self.p = expand(resolve_params(params, overrides))  # hosts as cells: host group x sector (sim/core/sectors.py)
        workers.check_updates()
        # mesa.batch_run passes its rng values as ``seed`` (the constructor has one), so seed takes a Generator or
        # SeedSequence too; anything else given as seed is checked as a seed (one-line ParamsError)
        if seed is None:
            seed = seed_from_rng(rng)
        elif isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
            seed = seed_from_rng(seed)
        self.seed = rnd.check_seed(seed)
        super().__init__(rng=self.seed)  # mesa's own generator, from the same seed (the model draws none from it)
        p = self.p
        self.calendar = p.calendar
        self.host_names = list(p.hosts)
        self.cell_words = cell_words(p)  # "russia, logging and forestry": each host (cell) in words, for his story
        self.wages = [h.wage for h in p.hosts.values()]
        self.side_wages = [h.side_wage for h in p.hosts.values()]
        self.routes = [h.escape_route for h in p.hosts.values()]
        self.rule_code = rules.RULE_CODES[p.remittance.rule]
        # the death hazard at the longest hours: a draw above it cannot be a death
        self.death_rates = rules.death_rates(p)
        self.death_prob_max = rules.death_prob_longest(p, self.death_rates)
        # each host's own settings (a sector's, for a cell; sim/core/sectors.py OWN_SETTINGS), Python numbers
        self.own = {name: per_host(p, name) for name in OWN_SETTINGS}
        self.month = 0
        self.clock = PhaseClock()
        self.workers: list[Worker] = []  # posted now (registered with mesa)
        self.minders: list[Minder] = []
        self.everyone: list[Worker] = []  # every worker ever posted, in id order
        self.camps: list[Camp] = []
        self._next = {"worker": 0, "minder": 0, "camp": 0, "team": 0}
        self._keys: dict[str, int] = {}
        self._keys_month: int | None = None
        self._uniforms: dict[str, list[float]] = {}  # this month's draws of a decision for every worker id
        self._uniforms_month: int | None = None
        self._plain_draws = numba_disabled()  # no tables without the compiled hash (`worker_draw`)
        self._once: dict[str, int] = {}
        self.state = State(self)
        self.policy = levers_for_month(p, 0)
        self.levers = self.policy.as_lists()
        self.aggregator = MonthAggregator(p)
        self.workers_initial = sum(h.workers for h in p.hosts.values())
        self._reset_counters()
        # the workforce at month 0, spread over the contract so completions are steady
        C = p.population.contract_months
        for k in range(C - 1, -1, -1):
            for h, host in enumerate(p.hosts.values()):
                n = rules.initial_cohort(host.workers, C, k)
                if n:
                    self.deploy_cohort(h, n, month_deployed=-k, months_abroad=k)
        # Mesa's DataCollector: every column of the monthly table, one row per step; step 0 is the workforce as
        # posted before the first month (month -1: stocks set, flows not yet known)
        self.latest: dict = self._initial_row()
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, name=name: m.latest.get(name, float("nan"))) for name in MONTHLY_COLUMNS}
        )
        self.running = self.calendar.months > 0
        self.datacollector.collect(self)

    def _initial_row(self) -> dict:
        posted = [w for w in self.workers if w.active]
        by_legal = Counter(w.legal for w in posted)
        row: dict[str, Any] = {name: float("nan") for name in MONTHLY_COLUMNS}
        row.update(
            {
                "month": -1,
                "date": self.calendar.date(-1),
                COL.workers_active: len(posted),
                COL.minders_active: len(self.active_minders()),
                "policies": "",
            }
        )
        row.update({name: by_legal.get(k, 0) for k, name in enumerate(ABROAD_BY_LEGAL)})
        return row

    @property
    def phase_seconds(self) -> dict[str, float]:
        """Seconds spent in each phase of the month over the run (`olsim run --profile`)."""
        return self.clock.seconds

    # ------------------------------------------------------------ randomness
    def draw(self, decision: str, agent_id: int) -> float:
        """A uniform for (seed, decision, this month, agent id)."""
        return rnd.uniform(self.month_key(decision), agent_id)

    def month_key(self, decision: str) -> int:
        """The stream key of a decision this month (cached)."""
        if self._keys_month != self.month:
            self._keys, self._keys_month = {}, self.month
        key = self._keys.get(decision)
        if key is None:
            key = self._keys[decision] = rnd.stream_key(self.seed, decision, self.month)
        return key

    def worker_draw(self, decision: str, worker_id: int) -> float:
        """``draw(decision, worker_id)``, the same number. For the decisions every posted worker draws each month
        (`TABLED`) it is taken from a table of the month's draws for every worker id so far, made on the
        decision's first draw in the month by the compiled hash (`rnd.uniforms`, bit-identical to `rnd.uniform`):
        about 0.07 us an id against 0.57 for a hash in Python, so a table pays when at least one id in nine draws
        it. Rarer decisions, and every draw when numba is off (its table would be built in Python), are hashed one
        at a time."""
        if decision not in TABLED or self._plain_draws:
            return rnd.uniform(self.month_key(decision), worker_id)
        if self._uniforms_month != self.month:
            self._uniforms, self._uniforms_month = {}, self.month
        table = self._uniforms.get(decision)
        if table is None or worker_id >= len(table):
            n = max(self._next["worker"], worker_id + 1)
            table = self._uniforms[decision] = rnd.uniforms(self.month_key(decision), np.arange(n)).tolist()
        return table[worker_id]

    def draw_once(self, decision: str, agent_id: int) -> float:
        """A uniform fixed for the whole run (an employer's compliance type)."""
        key = self._once.get(decision)
        if key is None:
            key = self._once[decision] = rnd.stream_key(self.seed, decision, -1)
        return rnd.uniform(key, agent_id)

    # ------------------------------------------------------------ population
    def _new_id(self, kind: str) -> int:
        i = self._next[kind]
        self._next[kind] = i + 1
        return i

    def deploy_cohort(self, host: int, n: int, month_deployed: int, months_abroad: int = 0):
        """Post n workers to a host: into camps (of at most camp_size), a minder per minder_ratio, teams of team_size
        (the host's own: a sector's)."""
        first = self._next["worker"]
        ids = np.arange(first, first + n)
        self._next["worker"] = first + n
        traits = rules.new_worker_attributes(
            self.seed,
            ids,
            self.p,
            self.wages[host],
            self.state.plans[host],
            months_abroad,
            legal=self.state.legal_thresholds[host],
            bribe_factor=self.state.bribe_factor,
            own={name: self.own[name][host] for name in ("hours_base", "hours_max", "fees_share")},
        )
        traits = {k: v.tolist() for k, v in traits.items()}
        camp_size, minder_ratio, team_size = (self.own[k][host] for k in ("camp_size", "minder_ratio", "team_size"))
        # newcomers fill the host's camps that have room, then open new camps
        open_camps = [
            (c.camp_id, camp_size - c.occupancy) for c in self.camps if c.host == host and c.occupancy < camp_size
        ]
        by_id = {c.camp_id: c for c in self.camps}
        start = 0
        for camp_id, k in rules.fill_units(n, open_camps, camp_size):
            if camp_id is None:
                camp = Camp(self._new_id("camp"), host)
                self.camps.append(camp)
            else:
                camp = by_id[camp_id]
            camp.occupancy += k
            # newcomers join the camp's minders with room, then new minders; teams likewise
            active_minders = sorted((mi for mi in camp.minders if mi.status == ACTIVE), key=lambda mi: mi.minder_id)
            sizes = {mi.minder_id: sum(1 for w in mi.workers if w.active) for mi in active_minders}
            open_minders = [
                (mi.minder_id, minder_ratio - sizes[mi.minder_id])
                for mi in active_minders
                if sizes[mi.minder_id] < minder_ratio
            ]
            by_mid = {mi.minder_id: mi for mi in active_minders}
            i = start
            for mid, j in rules.fill_units(k, open_minders, minder_ratio):
                if mid is None:
                    mid = self._new_id("minder")
                    m = rules.new_minder_attributes(self.seed, [mid], self.p)
                    minder = Minder(self, mid, host, camp, float(m["vigilance"][0]), float(m["greed"][0]))
                    camp.minders.append(minder)
                    self.minders.append(minder)
                else:
                    minder = by_mid[mid]
                members = Counter(w.team for w in minder.workers if w.active)
                open_teams = sorted((team, team_size - c) for team, c in members.items() if c < team_size)
                for team, q in rules.fill_units(j, open_teams, team_size):
                    if team is None:
                        team = self._new_id("team")
                    for _ in range(q):
                        t = {key: v[i] for key, v in traits.items()}
                        w = Worker(self, first + i, host, camp, team, minder, month_deployed, months_abroad, t)
                        before = " (before the run began)" if month_deployed < 0 else ""
                        w.note(
                            f"posted to {self.cell_words[host]}{before}, paid an entry bribe of ${w.entry_bribe:,.0f}",
                            month=month_deployed,
                        )
                        minder.workers.append(w)
                        self.workers.append(w)
                        self.everyone.append(w)
                        i += 1
            start += k

    def replace_minder(self, old: Minder):
        """A minder on whose watch a worker escaped is punished and replaced."""
        old.status = "punished"
        mid = self._new_id("minder")
        m = rules.new_minder_attributes(self.seed, [mid], self.p, replacement=True)
        new = Minder(self, mid, old.host, old.camp, float(m["vigilance"][0]), float(m["greed"][0]))
        new.workers = [w for w in old.workers if w.active]
        for w in new.workers:
            w.minder = new
        old.camp.minders[old.camp.minders.index(old)] = new
        self.minders.append(new)

    def active_minders(self) -> list[Minder]:
        return [m for m in self.minders if m.status == ACTIVE]

    def count_by_host(self) -> tuple[np.ndarray, np.ndarray]:
        """Per host, in one pass: the active workers, and those of them kept past their contracts by a closed
        border (stranded)."""
        active, stranded = np.zeros(len(self.host_names)), np.zeros(len(self.host_names))
        for w in self.workers:
            if w.active:
                active[w.host] += 1
                if w.months_abroad >= w.contract_months + w.extended:
                    stranded[w.host] += 1
        return active, stranded

    def _reset_counters(self):
        n = len(self.host_names)
        self.deployed = np.zeros(n, dtype=np.int64)
        self.escape_attempts = np.zeros(n, dtype=np.int64)
        self.leavers: list[Worker] = []  # who left this month, in any phase
        self.escapes_this_month: list[Worker] = []

    # ------------------------------------------------------------ the month
    def step(self):
        """One month: the thirteen phases of the ODD, each a method named in sim/core/phases.py (PHASE_TABLE)."""
        self._reset_counters()
        self._entry_before = self._next["worker"]
        run_month(self, "mesa")

    def _policies(self):
        """1. policies switch on or off."""
        self.policy = levers_for_month(self.p, self.month)  # arrays, for the state
        self.levers = self.policy.as_lists()  # lists, for one agent at a time

    def _state(self):
        """2. the state sets plans, repatriates under a mandate, deploys, picks channels."""
        self.state.set_plans()
        self.repatriated_now = self.state.repatriate()
        self.state.deploy()
        self.state.pick_channels()
        self.plans = self.state.plans.tolist()
        self.working = [w for w in self.workers if w.active]

    def _pressure(self):
        """3. minders set pressure from last month's shortfall."""
        for m in self.active_minders():
            m.set_pressure()
        self._update(3)

    def _work(self):
        """4. workers work."""
        for w in self.working:
            w.work()

    def _remit(self):
        """5. the remittance rule splits the gross (a group quota needs camp totals first)."""
        if self.p.remittance.rule == "group_quota":
            self._camp_accounts(self.working)
        for w in self.working:
            w.remit()

    def _side_jobs(self):
        """6. side jobs."""
        for w in self.working:
            w.seek_side_job()

    def _threat(self):
        """7. the send-home threat."""
        for w in self.working:
            w.face_threat()
        self._update(7)

    def _surveillance(self):
        """8. surveillance: who intends to escape, who is reported."""
        self.still = [w for w in self.working if w.active]
        self.informants_in_team = Counter(w.team for w in self.still if w.informant)
        for w in self.still:
            w.consider_escape()

    def _escape(self):
        """9. escapes; afterwards, minders are punished and camps alarmed."""
        for w in self.still:
            w.attempt_escape()
        self._after_escapes()

    def _deaths(self):
        """10. deaths."""
        for w in [w for w in self.working if w.active]:
            w.face_hazards()

    def _contracts(self):
        """11. contracts end."""
        for w in [w for w in self.working if w.active]:
            w.finish_contract()
        for minder in self.active_minders():
            minder.check_unit()
        self._update(11)

    def _money(self):
        """12. money moves home."""
        working = self.working
        take = np.array([w.take for w in working])
        self.working_host = host = np.array([w.host for w in working], dtype=np.int64)
        n = len(self.host_names)
        take_by_host = np.bincount(host, weights=take, minlength=n)
        returning = np.bincount([w.host for w in working if w.status in ("completed", "repatriated")], minlength=n)
        # workers repatriated in phase 2 did not work, but they carry cash home too
        returning = returning + np.bincount([w.host for w in self.repatriated_now], minlength=n)
        self.moved = self.state.move_money(take_by_host, returning.astype(float))

    def _collect_month(self):
        """13. data are collected; leavers are deregistered."""
        self._collect(self.working, self.working_host, self.moved, self._next["worker"] - self._entry_before)
        self._end_month()

    def _update(self, after: int):
        """The fields declared with an update after this phase (sim/core/workers.py: Update): each worker still
        posted gets field = rule(*reads), the rule as plain Python, its inputs as floats."""
        for f in workers.updates_after(after):
            rule = plain_function(getattr(rules, f.update.rule))
            cast = f.kind
            constants = {name: value_at(self.p, name) for name in f.update.reads if "." in name}
            for w in self.workers:
                if w.active:
                    values = [
                        constants[name] if name in constants else float(_number(w, name)) for name in f.update.reads
                    ]
                    setattr(w, f.name, cast(rule(*values)))

    def _camp_accounts(self, working):
        """Group quota: each camp's gross and what it owes (quota + arrears), summed in worker-id order."""
        camp_ids = np.array([w.camp.camp_id for w in working], dtype=np.int64)
        gross = np.bincount(camp_ids, weights=[w.gross for w in working], minlength=self._next["camp"])
        quota = np.bincount(camp_ids, weights=[self.plans[w.host] for w in working], minlength=self._next["camp"])
        for camp in {w.camp.camp_id: w.camp for w in working}.values():
            camp.gross = float(gross[camp.camp_id])
            camp.due = float(quota[camp.camp_id]) + camp.arrears
            camp.arrears = rulebook.plan_arrears(camp.gross, camp.due)

    def _after_escapes(self):
        punished = {w.minder.minder_id: w.minder for w in self.escapes_this_month}
        alarmed = {w.camp.camp_id: w.camp for w in self.escapes_this_month}
        for camp in sorted(alarmed.values(), key=lambda c: c.camp_id):
            for m in camp.minders:
                m.alarm()
        for mid in sorted(punished):
            self.replace_minder(punished[mid])

    def _collect(self, working, host, moved, entered):
        n = len(self.host_names)
        newcomers = self.everyone[len(self.everyone) - entered :] if entered else []
        leavers = sorted(self.leavers, key=lambda w: w.worker_id)  # summed in id order, as the array engine does
        totals = HostTotals(
            deployed=self.deployed,
            repatriated_idle=np.bincount([w.host for w in self.repatriated_now], minlength=n),
            escape_attempts=self.escape_attempts,
            entry_bribes=np.bincount(
                [w.host for w in newcomers], weights=[w.entry_bribe for w in newcomers], minlength=n
            ),
            books=moved,
            plan=self.state.plans,
            forfeited=np.bincount([w.host for w in leavers], weights=[w.lost for w in leavers], minlength=n),
            ledger_paid=np.bincount([w.host for w in leavers], weights=[w.ledger_paid for w in leavers], minlength=n),
            minders_active=np.bincount([m.host for m in self.active_minders()], minlength=n),
            deployed_by_legal=np.bincount(
                [w.legal * n + w.host for w in newcomers], minlength=len(workers.LEGAL) * n
            ).reshape(len(workers.LEGAL), n),
        )
        flows = {name: [getattr(w, name) for w in working] for name in workers.FLOWS}
        status = [STATUS_CODE[w.status] for w in working]
        legal = [w.legal for w in working]
        month_flows = FlowTotals.of_rows(host, flows, status, legal, n)
        rec = self.aggregator.month(self.month, month_flows, totals, self.levers.active)
        self.state.count_short(month_flows.sums[FLOW_INDEX["short"]], month_flows.working)
        self.state.count_returns(month_flows.exits[STATUS_CODE["completed"]])
        self.latest = rec
        self.datacollector.collect(self)

    def _end_month(self):
        # staged exits: leavers are deregistered from mesa at the end of the month
        gone = [w for w in self.workers if not w.active]
        self.workers = [w for w in self.workers if w.active]
        for w in gone:
            w.remove()
        for m in [m for m in self.minders if m.status != ACTIVE]:
            m.remove()
        self.minders = [m for m in self.minders if m.status == ACTIVE]
        self.month += 1
        if self.month >= self.calendar.months:
            self.running = False  # the calendar's end: mesa's run_model and batch_run stop here

    # ------------------------------------------------------------ tables
    def workers_table(self) -> pd.DataFrame:
        """One row per worker ever posted."""
        everyone = self.everyone
        columns = {name: [getattr(w, name) for w in everyone] for name in workers.ARCHIVED}
        columns["status"] = [STATUS_CODE[s] for s in columns["status"]]
        return workers_table(columns, self.host_names, self.p.remittance.coupon_value, cells_of(self.p))
