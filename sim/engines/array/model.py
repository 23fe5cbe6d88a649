"""The array engine: the same month as the mesa engine, over numpy arrays.

Every phase of `OverseasLaborModel.step` (sim/engines/mesa/model.py) has its
counterpart in `ArrayModel.step`, calling the same rule functions
(sim/core/rules.py) inside compiled loops over workers (kernels.py), the same state's books
(sim/core/state_books.py), the same policy levers (sim/core/policies.py) and
the same counter-based draws (sim/core/draws.py), keyed by the same worker and
minder ids.
Workers are kept in dense arrays in id order, holding only those posted now;
leavers are moved to an archive at the end of each month.

Docking: tests/test_docking.py checks that both engines give the same tables.
"""

from __future__ import annotations


import numpy as np

from ...core import draws as rnd
from ...core.draws import Decision
from ...core import rules
from ...core.params import Params
from ...core.phases import PhaseClock
from ...core.policies import levers_for_month
from ...core.state_books import StateBooks
from ...core import workers
from ...core.workers import STATUS_CODE
from ...results.tables import HostTotals, MonthAggregator, workers_table
from . import kernels

ACTIVE = STATUS_CODE["active"]
M_ACTIVE, M_LEFT, M_PUNISHED, M_REPATRIATED = 0, 1, 2, 3

FIELDS = tuple(f.name for f in workers.FIELDS)  # one column per declared field (sim/core/workers.py)
KIND = {f.name: (np.int64 if f.kind is int else f.kind) for f in workers.FIELDS}
COMPACT_SHARE = 0.2  # rows of leavers are dropped once they are this share of the arrays


class _Growable:
    """Per-minder or per-camp arrays that grow as agents are created."""

    def __init__(self, **dtypes):
        self.n = 0
        self._dtypes = dtypes
        for name, dt in dtypes.items():
            setattr(self, name, np.zeros(64, dtype=dt))

    def extend(self, **values):
        k = len(next(iter(values.values())))
        need = self.n + k
        cap = len(getattr(self, next(iter(self._dtypes))))
        if need > cap:
            new_cap = max(need, 2 * cap)
            for name, dt in self._dtypes.items():
                old = getattr(self, name)
                grown = np.zeros(new_cap, dtype=dt)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
        for name in self._dtypes:
            getattr(self, name)[self.n:need] = values.get(name, 0)
        self.n = need

    def view(self, name):
        return getattr(self, name)[: self.n]


class ArrayModel:
    """The model over arrays of all workers and minders; one `step` is one month."""

    def __init__(self, params: Params, seed: int = 0):
        self.p = p = params
        self.seed = rnd.check_seed(seed)
        self.calendar = p.calendar
        self.host_names = list(p.hosts)
        self.n_hosts = len(self.host_names)
        self.wages = np.array([h.wage for h in p.hosts.values()])
        self.side_wages = np.array([h.side_wage for h in p.hosts.values()])
        self.routes = np.array([h.escape_route for h in p.hosts.values()])
        self.rule_code = rules.RULE_CODES[p.remittance.rule]
        # the death hazard at the longest hours: a draw above it cannot be a death
        self.death_prob_max = rules.death_prob(p.work.hours_max, p.deaths.rate, p.deaths.hours_slope, p.work.hours_base)
        self.month = 0
        self.state = StateBooks.for_params(p)
        self.aggregator = MonthAggregator(p)
        # workers: dense arrays in id order; rows of those who left stay (status != active)
        # until they are COMPACT_SHARE of the rows, then move to the archive
        self._data = {name: np.zeros(0, dtype=self._dtype(name)) for name in FIELDS}
        self._groups = [tuple(f for f in FIELDS if KIND[f] is kind) for kind in (float, np.int64, bool)]
        self.n = 0
        self._refresh()
        self.archive: list[dict] = []
        self.minders = _Growable(host=np.int64, camp=np.int64, vig_base=float, vig_extra=float, greed=float,
                                 pressure=float, status=np.int8)
        self.camps = _Growable(host=np.int64, arrears=float, occupancy=np.int64)
        self.next_worker = 0
        self.next_team = 0
        self.team_minder = np.zeros(0, dtype=np.int64)  # each team's minder
        self.workers_initial = sum(h.workers for h in p.hosts.values())
        self.clock = PhaseClock()
        C = p.population.contract_months
        for k in range(C - 1, -1, -1):
            counts = [host.workers // C + (1 if (C - 1 - k) < host.workers % C else 0) for host in p.hosts.values()]
            self.deploy(counts, month_deployed=-k, months_abroad=k)

    @staticmethod
    def _dtype(name):
        return KIND[name]

    # ------------------------------------------------------------ population
    def deploy(self, counts, month_deployed: int, months_abroad: int = 0, posted=None):
        """Post counts[h] workers to each host h, in host order, as the mesa engine's cohorts:
        camps of camp_size, a minder per minder_ratio, teams of team_size. ``posted``: the workers posted now
        per minder and per team, if already counted (`kernels.posted_counts`)."""
        pop = self.p.population
        counts = np.asarray(counts, dtype=np.int64)
        total = int(counts.sum())
        if total == 0:
            return
        ids = np.arange(self.next_worker, self.next_worker + total)
        self.next_worker += total
        host_of = np.repeat(np.arange(self.n_hosts), counts)
        traits = rules.new_worker_attributes(self.seed, ids, self.p, self.wages[host_of], self.state.plans[host_of], months_abroad,
                                             legal=self.state.legal_thresholds[host_of])
        camp_of = np.empty(total, dtype=np.int64)
        minder_of = np.empty(total, dtype=np.int64)
        team_of = np.empty(total, dtype=np.int64)
        if posted is None:
            _, m_count, t_count = kernels.posted_counts(self.w["status"], ACTIVE, self.w["host"], self.w["minder"],
                                                        self.w["team"], self.n_hosts, self.minders.n, self.next_team)
        else:
            m_count, t_count = posted
        m_camp, m_status = self.minders.view("camp"), self.minders.view("status")
        n_camps = self.camps.n
        # who has room, grouped once (in id order): each camp's minders with room, each minder's teams with room
        cand = np.flatnonzero((m_status == M_ACTIVE) & (m_count < pop.minder_ratio))
        order = np.argsort(m_camp[cand], kind="stable")
        mr_id, mr_room, by_camp = cand[order], (pop.minder_ratio - m_count[cand])[order], m_camp[cand][order]
        camps = np.arange(n_camps)
        mr_start, mr_end = np.searchsorted(by_camp, camps, "left"), np.searchsorted(by_camp, camps, "right")
        cand = np.flatnonzero((t_count > 0) & (t_count < pop.team_size))
        order = np.argsort(self.team_minder[cand], kind="stable")
        tr_id, tr_room, by_minder = cand[order], (pop.team_size - t_count[cand])[order], self.team_minder[cand][order]
        minders = np.arange(self.minders.n)
        tr_start, tr_end = np.searchsorted(by_minder, minders, "left"), np.searchsorted(by_minder, minders, "right")
        occupancy = np.concatenate([self.camps.view("occupancy"), np.zeros(total, dtype=np.int64)])
        new_camp_host, new_minder_camp, new_minder_host, new_team_minder = (np.empty(total, dtype=np.int64) for _ in range(4))
        made_camps, made_minders, made_teams = kernels.place_newcomers(
            counts, self.camps.view("host"), occupancy, n_camps, pop.camp_size, mr_start, mr_end, mr_id, mr_room,
            pop.minder_ratio, tr_start, tr_end, tr_id, tr_room, pop.team_size, self.minders.n, self.next_team,
            camp_of, minder_of, team_of, new_camp_host, new_minder_camp, new_minder_host, new_team_minder)
        self.camps.view("occupancy")[:] = occupancy[:n_camps]
        if made_camps:
            self.camps.extend(host=new_camp_host[:made_camps], arrears=np.zeros(made_camps),
                              occupancy=occupancy[n_camps:n_camps + made_camps])
        self.next_team += made_teams
        self.team_minder = np.concatenate([self.team_minder, new_team_minder[:made_teams]])
        new_minders = np.arange(self.minders.n, self.minders.n + made_minders)
        m = rules.new_minder_attributes(self.seed, new_minders, self.p)
        k = made_minders
        self.minders.extend(host=new_minder_host[:k], camp=new_minder_camp[:k], vig_base=m["vigilance"], vig_extra=np.zeros(k),
                            greed=m["greed"], pressure=np.full(k, self.p.minder.pressure_base),
                            status=np.zeros(k, dtype=np.int8))
        posting = {"worker_id": ids, "host": host_of, "camp": camp_of, "team": team_of, "minder": minder_of,
                   "month_deployed": month_deployed, "months_abroad": months_abroad}
        self._append(total, {f.name: traits[f.name] if f.initial == workers.TRAIT else posting[f.name]
                             if f.initial == workers.POSTING else STATUS_CODE[f.initial] if f.name == "status" else f.initial
                             for f in workers.FIELDS})

    def _refresh(self):
        self.w = {name: a[: self.n] for name, a in self._data.items()}

    def _append(self, k: int, cohort: dict):
        """Add k rows, each field set from ``cohort`` (an array or one value for all)."""
        cap = len(self._data["worker_id"])
        if self.n + k > cap:
            new_cap = max(self.n + k, int(1.25 * cap) + 1024)
            for name, a in self._data.items():
                grown = np.zeros(new_cap, dtype=a.dtype)
                grown[: self.n] = a[: self.n]
                self._data[name] = grown
        for name, a in self._data.items():
            a[self.n:self.n + k] = cohort[name]
        self.n += k
        self._refresh()

    def _compact(self, force: bool = False):
        """Move the rows of those who have left to the archive, keeping id order."""
        dead = self.w["status"] != ACTIVE
        n_dead = int(dead.sum())
        if n_dead == 0 or (not force and n_dead < COMPACT_SHARE * self.n):
            return
        self.archive.append({name: self.w[name][dead] for name in workers.ARCHIVED})
        keep = ~dead
        for group in self._groups:  # columns of one type, compacted in place by one compiled loop
            self.n = kernels.compact_columns(keep, tuple(self._data[name] for name in group))
        self._refresh()

    # ------------------------------------------------------------ helpers
    def draws(self, decision: str, ids) -> np.ndarray:
        return rnd.draws(self.seed, decision, self.month, ids)

    def key(self, decision: str) -> np.uint64:
        """The stream key of a decision this month, for the compiled loops."""
        return np.uint64(rnd.stream_key(self.seed, decision, self.month))

    def once_key(self, decision: str) -> np.uint64:
        """The stream key of a draw fixed for the whole run (an employer's compliance type)."""
        return np.uint64(rnd.stream_key(self.seed, decision, -1))

    def leave(self, rows: np.ndarray, status: str):
        """Vectorised Worker.leave: settle the ledger and the cash of those leaving (their rows, in id order)."""
        if not len(rows):
            return
        w = self.w
        w["status"][rows] = STATUS_CODE[status]
        w["month_left"][rows] = self.month
        self.camps.view("occupancy")[:] -= np.bincount(w["camp"][rows], minlength=self.camps.n)
        ledger = w["ledger"][rows]
        lost = ledger.copy()
        if status in ("completed", "repatriated"):
            ok = self.draws(Decision.LEDGER, w["worker_id"][rows]) < self.p.remittance.ledger_pay_prob
            w["ledger_paid"][rows] = np.where(ok, ledger, 0.0)
            lost = np.where(ok, 0.0, ledger)
        if status in ("caught", "dead"):
            lost = lost + w["cash"][rows]
            w["cash"][rows] = 0.0
        w["forfeited_total"][rows] += lost
        w["lost"][rows] = lost
        w["ledger"][rows] = 0.0
        # a leaver adds nothing to his minder's sums next month (the mesa minder forgets him)
        w["shortfall"][rows] = 0.0
        w["plan"][rows] = 0.0

    @property
    def phase_seconds(self) -> dict[str, float]:
        return self.clock.seconds

    # ------------------------------------------------------------ the month
    def step(self):
        p, H = self.p, self.n_hosts
        self.clock.start()
        # 1. policies switch on or off
        lv = levers_for_month(p, self.month)
        self.clock.tick(1)

        # 2. the state: plans, repatriation, deployments, channels
        self.state.set_plans(self.aggregator.short_share)
        ms = self.minders
        repatriated_idle = np.zeros(H, dtype=np.int64)
        if (lv.repatriation_hazard > 0).any() or (lv.detection > 0).any():
            rows = np.empty(self.n, dtype=np.int64)
            k = kernels.repatriate(self.w["status"], ACTIVE, self.w["worker_id"], self.w["host"], self.w["legal"],
                                   lv.repatriation_hazard, lv.detection, lv.repatriation_evasion, self.state.relabel_thresholds,
                                   self.key(Decision.REPATRIATE), self.key(Decision.RELABEL),
                                   self.key(Decision.RELABEL_ROUTE), rows)
            self.leave(rows[:k], "repatriated")
            repatriated_idle = np.bincount(self.w["host"][rows[:k]], minlength=H)
        active_by_host, m_count, t_count = kernels.posted_counts(
            self.w["status"], ACTIVE, self.w["host"], self.w["minder"], self.w["team"], H, ms.n, self.next_team)
        counts = self.state.plan_deployments(active_by_host, lv)
        n_before = self.n
        self.deploy(counts, month_deployed=self.month, months_abroad=0, posted=(m_count, t_count))
        self.state.pick_channels()
        plans = self.state.plans
        w = self.w
        n = self.n
        ids, host, minder = w["worker_id"], w["host"], w["minder"]
        alive = w["status"] == ACTIVE  # who works this month (rows of earlier leavers are still here)
        # the newcomers are the last rows, in id order
        entry_bribes = np.bincount(host[n_before:], weights=w["entry_bribe"][n_before:], minlength=H)
        self.clock.tick(2)

        # 3. minders set pressure from last month's shortfall (sums over their workers, in id order)
        mp = p.minder
        short, owed = kernels.per_minder_sums(minder, w["shortfall"], w["plan"], ms.n)
        pressure, extra = ms.view("pressure"), ms.view("vig_extra")
        kernels.set_pressure(short, owed, ms.view("status") == M_ACTIVE, pressure, extra, mp.pressure_base,
                             mp.pressure_gain, mp.vigilance_decay)
        self.clock.tick(3)

        # 4. workers work
        wk = p.work
        self.flows = flows = {name: np.empty(n) for name in workers.FLOWS}  # this month's, per row
        hours, gross, inspected = flows["hours"], flows["gross"], np.empty(n, dtype=bool)
        kernels.work(ids, host, minder, w["productivity"], pressure, self.wages, lv.inspections, lv.max_hours,
                     self.once_key(Decision.EMPLOYER_INSPECTIONS), wk.hours_base, wk.hours_max, hours, gross, inspected)
        self.clock.tick(4)

        # 5-7. the remittance rule, side jobs, the send-home threat (one loop; no worker's phase reads another's)
        r, wp = p.remittance, p.worker
        camp = w["camp"]
        camp_gross = camp_due = np.zeros(max(self.camps.n, 1))
        if self.rule_code == rules.RULE_CODES["group_quota"]:
            camp_gross, quota, present = kernels.camp_sums(camp, alive, gross, plans[host], self.camps.n)
            arrears = self.camps.view("arrears")
            camp_due = quota + arrears
            kernels.camp_arrears(present, camp_gross, camp_due, arrears)
        take, side, bribes, retained = flows["take"], flows["side"], flows["bribes"], flows["retained"]
        rows = np.empty(n, dtype=np.int64)  # the rows of those who leave in a phase (a buffer, reused)
        k = kernels.remit_side_jobs_threat(
            alive, ids, host, minder, camp, gross, plans, self.rule_code, camp_gross, camp_due, r.fees_share, r.share,
            lv.direct_wages, lv.coercion, self.once_key(Decision.EMPLOYER_DIRECT_WAGES), r.ledger_monthly, self.side_wages,
            ms.view("greed"), wp.expected_share, wp.side_job_seek, wk.side_job_share, mp.side_bribe_share,
            self.key(Decision.SIDE_SEEK), self.key(Decision.SIDE_GRANT), mp.threat_prob, mp.threat_bribe, self.key(Decision.THREAT),
            p.escape.memory, lv.closed,
            w["plan"], w["plan_arrears"], w["ledger"], w["cash"], w["shortfall"], w["retained_total"],
            w["bribes_total"], w["side_earnings_total"], w["entry_debt"], w["kept_avg"], w["gross_avg"],
            take, side, bribes, retained, flows["short"], rows)
        self.leave(rows[:k], "sent_home")
        self.clock.tick(5, 7)

        # 8-9. surveillance and escapes; then minders are punished and camps alarmed
        e = p.escape
        informants = kernels.informants_per_team(w["status"], ACTIVE, w["informant"], w["team"], self.next_team)
        escape_attempts = np.zeros(H, dtype=np.int64)
        escaped_rows = np.empty(n, dtype=np.int64)
        n_caught, n_escaped = kernels.consider_escape(
            w["status"], ACTIVE, ids, host, minder, w["team"], w["informant"], w["passport_held"], inspected, informants,
            w["kept_avg"], w["gross_avg"], hours, w["entry_debt"], w["plan_arrears"], w["plan"], w["loyalty"],
            w["risk_aversion"], w["family"], self.routes, lv.asylum_boost, lv.return_passports, ms.view("vig_base"),
            ms.view("vig_extra"), wp.expected_share, wk.hours_base, wk.hours_max, e.weight_pay, e.weight_hours,
            e.weight_debt, e.passport_effect, p.state.reprisal_severity, e.threshold, e.steepness, e.attempt_rate,
            e.report_prob, self.key(Decision.ESCAPE_INTEND), self.key(Decision.ESCAPE_REPORT), self.key(Decision.ESCAPE_SUCCESS),
            escape_attempts, rows, escaped_rows)
        escaped = escaped_rows[:n_escaped]
        self.leave(rows[:n_caught], "caught")
        self.leave(escaped, "escaped")
        if n_escaped:
            self._after_escapes(np.unique(minder[escaped]), np.unique(w["camp"][escaped]))
        self.clock.tick(8, 9)

        # 10. deaths
        d = p.deaths
        k = kernels.deaths(w["status"], ACTIVE, ids, hours, d.rate, d.hours_slope, wk.hours_base, self.death_prob_max,
                           self.key(Decision.DEATH), rows)
        self.leave(rows[:k], "dead")
        self.clock.tick(10)

        # 11. contracts end; minders with nobody left go home
        k, left_per_minder = kernels.contracts(w["status"], w["months_abroad"], p.population.contract_months, minder,
                                               ms.n, ACTIVE, ids, host, lv.closed, p.population.stranded_return,
                                               self.key(Decision.RETURN), rows)
        self.leave(rows[:k], "completed")
        m_status = ms.view("status")
        m_status[(m_status == M_ACTIVE) & (left_per_minder == 0)] = M_LEFT
        self.clock.tick(11)

        # 12. money moves home
        status = w["status"]
        take_by_host, returning = kernels.money_inputs(alive, status, host, take, STATUS_CODE["completed"],
                                                       STATUS_CODE["repatriated"], H)
        returning += repatriated_idle
        delivered, interdicted, costs = self.state.send_money_home(take_by_host, returning.astype(float), lv)
        self.clock.tick(12)

        # 13. data are collected (this month's leavers, in id order, are the rows with month_left == month)
        forfeited, ledger_paid = kernels.leaver_sums(w["month_left"], self.month, host, w["lost"], w["ledger_paid"], H)
        totals = HostTotals(
            deployed=counts, repatriated_idle=repatriated_idle, escape_attempts=escape_attempts, entry_bribes=entry_bribes,
            delivered=delivered, interdicted=interdicted, costs=costs, plans=plans, forfeited=forfeited,
            ledger_paid=ledger_paid, minders_active=np.bincount(ms.view("host")[ms.view("status") == M_ACTIVE], minlength=H),
            deployed_legal=np.bincount(w["legal"][n_before:] * H + host[n_before:],
                                       minlength=len(workers.LEGAL) * H).reshape(len(workers.LEGAL), H))
        self.latest = self.aggregator.month(self.month, flows, host, status, w["legal"], totals, lv.active, selected=alive)
        self._compact()
        self.month += 1
        self.clock.tick(13)

    def _after_escapes(self, punished: np.ndarray, camps: np.ndarray):
        """Alarm every minder of the camps with an escape; replace each punished minder (in id order)."""
        ms = self.minders
        m_camp, m_status = ms.view("camp"), ms.view("status")
        alarmed = np.isin(m_camp, camps) & (m_status != M_PUNISHED)
        base, extra = ms.view("vig_base"), ms.view("vig_extra")
        kernels.alarm(alarmed, base, extra, self.p.minder.vigilance_boost)
        new_ids = np.arange(ms.n, ms.n + len(punished))
        attrs = rules.new_minder_attributes(self.seed, new_ids, self.p, replacement=True)
        m_status[punished] = M_PUNISHED
        ms.extend(host=ms.view("host")[punished], camp=m_camp[punished], vig_base=attrs["vigilance"],
                  vig_extra=np.zeros(len(punished)), greed=attrs["greed"],
                  pressure=np.full(len(punished), self.p.minder.pressure_base),
                  status=np.zeros(len(punished), dtype=np.int8))
        remap = np.arange(ms.n)
        remap[punished] = new_ids
        self.team_minder = remap[self.team_minder]
        kernels.remap_minders(self.w["status"], self.w["minder"], remap, ACTIVE)

    # ------------------------------------------------------------ tables
    def workers_table(self):
        parts = self.archive + [self.w]
        order = np.argsort(np.concatenate([p["worker_id"] for p in parts]), kind="stable")
        # one column at a time, so only one unsorted copy is alive at once
        return workers_table({name: np.concatenate([p[name] for p in parts])[order] for name in workers.ARCHIVED},
                             self.host_names)
