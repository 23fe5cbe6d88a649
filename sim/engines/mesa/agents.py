"""Worker, Minder and State: the agents of the mesa engine.

Each phase of the month (see model.py) is one method here, and reads like the
sentence in docs/ODD.md that describes it. The equations themselves live in
sim/core/rules/ (called here as plain Python, `rules.plain`; the array engine calls the same functions
compiled), shared with the array engine. Every random number is
``self.model.draw(decision, id)``: a pure function of (seed, decision, month,
id), so the order in which agents act never matters (a worker's, `Worker.draw`,
may come from a table of the month's draws: the same number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mesa
import numpy as np

from ...core.draws import Decision
from ...core import rules, workers
from ...core.rules import plain as rulebook  # the same rules the array engine compiles, as plain Python
from ...core.state_books import StateBooks

ACTIVE = workers.STATUSES[0]


@dataclass(eq=False)
class Camp:
    """Workers of one host posted together; the unit of a group quota."""

    camp_id: int
    host: int
    minders: list = field(default_factory=list)
    occupancy: int = 0  # workers posted here now
    arrears: float = 0.0  # what the camp owes the plan from earlier months
    gross: float = 0.0  # this month's gross wages of the camp
    due: float = 0.0  # this month's quota plus arrears


class Worker(mesa.Agent):
    """A worker posted abroad by the state."""

    # two of his declared fields (sim/core/workers.py), set in __init__, for a type checker
    ledger: float
    cash: float

    def __init__(self, model, worker_id, host, camp, team, minder, month_deployed, months_abroad, traits):
        super().__init__(model)
        # his fields, as declared once for both engines (sim/core/workers.py): traits drawn at posting,
        # the posting itself, the rest at their initial values
        posting = {
            "worker_id": worker_id,
            "host": host,
            "camp": camp,
            "team": team,
            "minder": minder,
            "month_deployed": month_deployed,
            "months_abroad": months_abroad,
        }
        for f in workers.FIELDS:
            setattr(
                self,
                f.name,
                traits[f.name]
                if f.initial == workers.TRAIT
                else posting[f.name]
                if f.initial == workers.POSTING
                else f.initial,
            )
        self.contract_months = model.p.population.contract_months
        self.gross_total = 0.0  # wages earned, for the classroom page's story
        self.take_total = 0.0  # what the state took from him
        self.history: list[str] = []  # one line per notable event, for the classroom page
        self._clear_month()

    def _clear_month(self):
        self.hours = 0.0
        self.gross = self.take = self.side = self.side_bribe = self.threat_bribe = self.retained = 0.0
        self.intends = self.reported = False
        self.success_prob = 0.0

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def short(self) -> float:
        """1 if his gross fell short of the plan this month (a flow collected, `workers.FLOWS`)."""
        return 1.0 if self.shortfall > 0 else 0.0

    @property
    def bribes(self) -> float:
        """This month's bribes to his minder (a flow collected, `workers.FLOWS`)."""
        return self.side_bribe + self.threat_bribe

    def draw(self, decision: str) -> float:
        """A uniform for (seed, decision, this month, this worker)."""
        return self.model.worker_draw(decision, self.worker_id)

    # -- employers under a policy: the same employers comply as long as compliance holds
    def paid_directly(self) -> bool:
        c = self.model.levers.direct_wages[self.host]
        return c > 0 and self.model.draw_once(Decision.EMPLOYER_DIRECT_WAGES, self.worker_id) < c

    def inspected(self) -> bool:
        c = self.model.levers.inspections[self.host]
        return c > 0 and self.model.draw_once(Decision.EMPLOYER_INSPECTIONS, self.worker_id) < c

    # -- phase 4
    def work(self):
        """Work the hours the minder's pressure sets (capped by inspectors); earn the gross wage."""
        self._clear_month()
        own, lv, h = self.model.own, self.model.levers, self.host
        cap = lv.max_hours[h] if self.inspected() else math.inf
        base = own["hours_base"][h]
        self.hours = rulebook.hours_worked(self.minder.pressure, base, own["hours_max"][h], cap)
        wage = self.model.wages[h]
        self.gross = rulebook.pay_received(
            rulebook.gross_wage(wage, self.productivity, self.hours, base), lv.pay_lost[h]
        )

    # -- phase 5
    def remit(self):
        """The remittance rule splits the gross between the state and the worker."""
        r = self.model.p.remittance
        self.plan = self.model.plans[self.host]
        direct = self.paid_directly()
        self.take, self.plan_arrears, credit = rulebook.remit(
            self.model.rule_code,
            self.gross,
            self.plan,
            self.plan_arrears,
            self.camp.gross,
            self.camp.due,
            self.model.own["fees_share"][self.host],
            r.share,
            direct,
            self.model.levers.coercion[self.host],
            r.ledger_monthly,
        )
        self.gross_total += self.gross
        self.take_total += self.take
        self.ledger += credit
        free = self.gross - self.take - credit
        coupons = rulebook.coupons(free, r.coupon_share, direct)
        self.coupons_total += coupons
        self.held += free - coupons
        if rulebook.payday(self.months_abroad, r.cash_months, direct):
            self.cash += self.held
            self.held = 0.0

    # -- phase 6
    def seek_side_job(self):
        """A worker keeping less than he expected asks his minder for a side job; the minder may sell it."""
        w = self.model.p.worker
        side_wage = self.model.side_wages[self.host]
        # (draws are counter-based, so skipping one for a worker who cannot want a job changes nothing else)
        if side_wage <= 0 or not rulebook.short_of_expectation(self.kept_avg, self.gross_avg, w.expected_share):
            return
        if not rulebook.wants_side_job(
            self.kept_avg, self.gross_avg, w.expected_share, self.draw(Decision.SIDE_SEEK), w.side_job_seek
        ):
            return
        if rulebook.side_job_granted(self.minder.greed, self.draw(Decision.SIDE_GRANT)):
            self.side = rulebook.side_earnings(side_wage, self.model.p.work.side_job_share)
            self.side_bribe = self.side * self.model.p.minder.side_bribe_share
            self.cash += self.side - self.side_bribe
            self.minder.bribes_taken += self.side_bribe

    # -- phase 7
    def face_threat(self):
        """Short of the plan, he pays the minder to stay, or is sent home."""
        m = self.model.p.minder
        self.shortfall = rulebook.plan_shortfall(self.gross, self.plan)
        sent_home = False
        u = self.draw(Decision.THREAT)
        if rulebook.threatened(self.shortfall, u, m.threat_prob):
            if rulebook.pays_to_stay(self.cash, m.threat_bribe):
                self.threat_bribe = m.threat_bribe
                self.cash -= m.threat_bribe
                self.minder.bribes_taken += m.threat_bribe
                self.note(f"paid his minder ${m.threat_bribe:.0f} not to be sent home")
            elif self.model.levers.closed[self.host]:  # nobody is sent home across a closed border
                pass
            elif rulebook.carries_out_threat(u, m.threat_prob, self.model.state.enforce[self.host]):
                sent_home = True
            else:
                self.note("could not pay his minder, but was kept: nobody was waiting to replace him")
        if self.entry_debt > 0:  # he pays toward his entry-bribe debt from the cash he holds
            paid = rulebook.debt_payment(self.entry_debt, self.cash, self.model.p.worker.debt_repay_share)
            self.entry_debt -= paid
            self.cash -= paid
        # the month's books: what he kept after the state and the bribes
        self.retained = rulebook.retained(self.gross, self.side, self.take, self.side_bribe, self.threat_bribe)
        self.retained_total += self.retained
        self.bribes_total += self.side_bribe + self.threat_bribe
        self.side_earnings_total += self.side
        memory = self.model.p.escape.memory
        self.kept_avg = rulebook.running_average(self.kept_avg, self.retained, memory)
        self.gross_avg = rulebook.running_average(self.gross_avg, self.gross + self.side, memory)
        if sent_home:
            self.leave("sent_home", "could not pay the minder and was sent home")

    # -- phase 8
    def consider_escape(self):
        """Grievance against risk (Epstein's rule); informants in the team may report an intent."""
        p, lv, h = self.model.p, self.model.levers, self.host
        u = self.draw(Decision.ESCAPE_INTEND)
        if u >= p.escape.attempt_rate:
            return  # the chance of trying never exceeds attempt_rate: no need to weigh it
        e, w = p.escape, p.worker
        passport = self.passport_held and not (lv.return_passports[h] and self.inspected())
        self.success_prob, chance = rulebook.escape_chances(
            self.kept_avg,
            self.gross_avg,
            self.hours,
            self.entry_debt + self.plan_arrears,
            self.plan,
            self.loyalty,
            self.risk_aversion,
            self.family,
            self.model.routes[h],
            lv.asylum_boost[h],
            self.minder.vigilance,
            passport,
            w.expected_share,
            self.model.own["hours_base"][h],
            self.model.own["hours_max"][h],
            e.weight_pay,
            e.weight_hours,
            e.weight_debt,
            e.passport_effect,
            p.state.reprisal_severity,
            e.threshold,
            e.steepness,
            e.attempt_rate,
        )
        self.intends = u < chance
        if self.intends:
            informants = self.model.informants_in_team[self.team] - (1 if self.informant else 0)
            self.reported = self.draw(Decision.ESCAPE_REPORT) < rulebook.reported_prob(informants, p.escape.report_prob)

    # -- phase 9
    def attempt_escape(self):
        """Reported, he is caught before he goes; otherwise he succeeds or is caught."""
        if not self.intends:
            return
        self.model.escape_attempts[self.host] += 1
        if self.reported:
            self.leave("caught", "was reported by an informant and caught")
        elif self.draw(Decision.ESCAPE_SUCCESS) < self.success_prob:
            self.leave("escaped", "escaped")
            self.model.escapes_this_month.append(self)
        else:
            self.leave("caught", "tried to escape and was caught")

    # -- phase 10
    def face_hazards(self):
        """Accidents and exhaustion: a death hazard rising with hours."""
        d = self.model.p.deaths
        u = self.draw(Decision.DEATH)
        rate, base = self.model.death_rates[self.host], self.model.own["hours_base"][self.host]
        if u < self.model.death_prob_max and u < rulebook.death_prob(self.hours, rate, d.hours_slope, base):
            self.leave("dead", "died")

    # -- phase 11
    def finish_contract(self):
        """One more month abroad; at the end of the contract he goes home."""
        self.months_abroad += 1
        contract = self.contract_months + self.extended
        if self.months_abroad < contract:
            return
        pop = self.model.p.population
        closed = self.model.levers.closed[self.host]
        u = self.draw(Decision.RETURN) if not closed else 1.0
        if rulebook.contract_extended(
            self.months_abroad, contract, closed, u, pop.extension_prob, pop.extension_months, pop.max_contract_months
        ):
            self.extended += pop.extension_months
            self.note(f"had his contract extended by {pop.extension_months} months")
            return
        if rulebook.contract_ends(self.months_abroad, contract, closed, u, self.model.state.release[self.host]):
            self.leave("completed", "finished his contract and went home")
        elif self.months_abroad == contract:
            self.note("was kept past his contract: the border is closed")

    # -- leaving, in any phase
    def leave(self, status: str, story: str = ""):
        """Leave the posting; settle the ledger and the cash he holds."""
        model = self.model
        self.status = status
        self.month_left = model.month
        self.camp.occupancy -= 1
        lost = self.ledger
        if status in ("completed", "repatriated") and self.draw(Decision.LEDGER) < model.p.remittance.ledger_pay_prob:
            self.ledger_paid = self.ledger
            lost = 0.0
        if status in ("caught", "dead"):
            lost += self.cash  # confiscated, or never reaches the family
            self.cash = 0.0
        if status in ("completed", "repatriated"):  # the pay held for him: paid as he goes, else lost
            self.cash += self.held
        else:
            lost += self.held
        self.held = 0.0
        self.forfeited_total += lost
        self.lost = lost
        model.leavers.append(self)
        self.ledger = 0.0
        self.note(story or status)

    def note(self, text: str, month: int | None = None):
        """A line of his story, dated this month (or ``month``: his posting, for those posted before the run)."""
        at = self.model.month if month is None else month
        self.history.append(f"{self.model.calendar.date(at)}: {text}")

    @property
    def net_gain(self) -> float:
        value = self.model.p.remittance.coupon_value
        return workers.net_gain(self.retained_total, self.forfeited_total, self.entry_bribe, self.coupons_total, value)


class Minder(mesa.Agent):
    """A security officer who lives with his workers, holds their passports and watches them."""

    def __init__(self, model, minder_id, host, camp, vigilance, greed):
        super().__init__(model)
        self.minder_id = minder_id
        self.host = host
        self.camp = camp
        self.workers: list[Worker] = []
        self.vigilance_base = vigilance
        self.vigilance_extra = 0.0
        self.greed = greed
        self.pressure = model.p.minder.pressure_base
        self.bribes_taken = 0.0
        self.status = ACTIVE

    @property
    def vigilance(self) -> float:
        return rulebook.minder_vigilance(self.vigilance_base, self.vigilance_extra)

    # -- phase 3
    def set_pressure(self):
        """Pressure (hours) rises with his workers' shortfall of the plan last month; alarm fades."""
        m = self.model.p.minder
        # workers repatriated this month (phase 2) have left: they add nothing
        short = rules.total(w.shortfall for w in self.workers if w.active)
        owed = rules.total(w.plan for w in self.workers if w.active)
        ratio = short / owed if owed > 0 else 0.0
        self.pressure = rulebook.minder_pressure(ratio, m.pressure_base, m.pressure_gain)
        self.vigilance_extra *= 1.0 - m.vigilance_decay

    # -- phase 11
    def check_unit(self):
        """Forget workers who have left; with none left, the minder goes home too."""
        self.workers = [w for w in self.workers if w.active]
        if not self.workers:
            self.status = "left"

    def alarm(self):
        """An escape in the camp: every minder there watches harder."""
        self.vigilance_extra = rulebook.alarm_extra(
            self.vigilance_base, self.vigilance_extra, self.model.p.minder.vigilance_boost
        )


class State(StateBooks, mesa.Agent):
    """The state: plans, deployments, repatriation, money channels, revenue accounts.

    Its books and decisions are `StateBooks` (sim/core/state_books.py), shared with the array engine.
    """

    def __init__(self, model):
        mesa.Agent.__init__(self, model)
        self.open_books(model.p)

    # -- phase 2 (set_plans and pick_channels come from StateBooks)
    def repatriate(self) -> list:
        """Under a mandate, complying hosts send workers home: permit holders on the mandate's schedule (some
        relabelled as students, tourists or under another status instead), others when they are found."""
        model = self.model
        lv = model.levers
        hazard, detection = lv.repatriation_hazard, lv.detection
        sent = []
        for w in model.workers:
            h = w.host
            if not w.active or (hazard[h] <= 0 and max(detection[h]) <= 0):
                continue
            fate = rulebook.repatriation_fate(
                w.legal,
                w.draw(Decision.REPATRIATE),
                w.draw(Decision.RELABEL),
                w.draw(Decision.RELABEL_ROUTE),
                hazard[h],
                *detection[h],
                lv.repatriation_evasion[h],
                *self.relabel_thresholds[h],
            )
            if fate == 4:
                w.leave("repatriated", "was sent home under a UN repatriation mandate")
                sent.append(w)
            elif fate != w.legal:
                w.note(f"was relabelled from {workers.LEGAL[w.legal]} to {workers.LEGAL[fate]} to stay")
                w.legal = fate
        return sent

    def deploy(self):
        """Fill each host up to what sanctions leave reachable of the target; move lost posts to open hosts."""
        model = self.model
        active, stranded = model.count_by_host()
        counts = self.plan_deployments(active, model.policy, stranded)
        for h, n in enumerate(counts):
            if n > 0:
                model.deploy_cohort(h, int(n), month_deployed=model.month, months_abroad=0)
        model.deployed += counts

    # -- phase 12
    def move_money(self, take: np.ndarray, returning: np.ndarray):
        """Send the month's take home by bank, courier and mule; some is seized, some lost to fees."""
        return self.send_money_home(take, returning, self.model.policy)
