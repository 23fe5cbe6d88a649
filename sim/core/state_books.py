"""The state's books and decisions, shared by both engines.

`StateBooks` holds the plans, the workforce targets, the money channels and
the revenue accounts, and decides on them once a month. The mesa engine's
`State` agent (sim/engines/mesa/agents.py) is these books plus a mesa.Agent;
the array engine uses them as they are.
"""

from __future__ import annotations

import math

import numpy as np

from . import rules
from .policies import Levers, channel_losses


# what the books count each month, per host (each a ``books`` column of the tables, sim/results/columns.py): the
# money sent home (`send_money_home`: reaching the state, seized on the way, paid in fees), what recruiting cost
# and the candidates approved and waiting (`plan_deployments`)
MONEY = ("delivered", "interdicted", "costs", "recruitment")
CANDIDATES = ("approved", "waiting", "veterans")
TARGET = "target"  # the workforce the state wants at each host, after this month's decisions (`plan_deployments`)
BOOKS = (*MONEY, *CANDIDATES, TARGET)


class StateBooks:
    @classmethod
    def for_params(cls, p) -> "StateBooks":
        books = cls()
        books.open_books(p)
        return books

    def open_books(self, p):
        self.p_state = p
        self.plans_initial = np.array([h.plan for h in p.hosts.values()], dtype=float)
        self.plans = self.plans_initial.copy()
        self.target_workers = np.array([h.workers for h in p.hosts.values()], dtype=float)
        self.target_cap = p.state.host_growth_cap * self.target_workers
        # the hosts (a sector's cells) the state may move posts lost to sanctions elsewhere to
        self.shift_in = np.array([getattr(h, "shift_in", True) for h in p.hosts.values()], dtype=bool)
        self.revenue_target = p.state.revenue_target_share * float(self.plans_initial @ self.target_workers)
        c = p.channels
        w = np.array([c.bank, c.courier, c.mule], dtype=float)
        self.channel_weights = np.tile(w / w.sum(), (len(p.hosts), 1))
        for h, host in enumerate(p.hosts.values()):  # a host (a sector's cell) that sends its money its own way
            if getattr(host, "bank_share", None) is not None:
                rest = w[1] + w[2]
                b = host.bank_share
                # with courier and mule switched off (channels.courier = mule = 0) all of it goes by bank
                self.channel_weights[h] = [b, (1 - b) * w[1] / rest, (1 - b) * w[2] / rest] if rest > 0 else [1, 0, 0]
        # the legal-status thresholds of this month's postings (rules.legal_thresholds): permits until a measure bites
        self.routes = np.array(
            [[h.route_student, h.route_tourist, h.route_other] for h in p.hosts.values()], dtype=float
        )
        self.legal_thresholds = np.ones((len(p.hosts), 3))
        # a relabelled worker's draw against these, per host: student below the first, tourist below the second
        r = self.routes / self.routes.sum(axis=1, keepdims=True)
        self.relabel_thresholds = np.stack([r[:, 0], np.where(r[:, 2] > 0, r[:, 0] + r[:, 1], 1.0)], axis=1)
        self.delivered_last: float | None = None
        self.short_share = np.zeros(len(p.hosts))  # last month's share of each host's workers short of the plan
        self.loss_rate_last: np.ndarray | None = None
        # the recruitment pipeline (p.recruitment): row k of `screening` holds the candidates approved for each host
        # who are ready in k months; `ready`, those ready and not yet posted. Off: a post is filled the month it opens
        n = len(p.hosts)
        r = p.recruitment
        self.pipeline = r.pipeline
        # from ``tightened_month`` on (the 2024 tightening) selection takes longer and entry bribes are multiplied
        self.tightened_month = (
            p.calendar.index(r.tightened_from) if r.pipeline and r.tightened_from != "never" else None
        )
        self.bribe_factor = 1.0  # this month's multiple of the entry bribes (`new_worker_attributes` reads it)
        longest = max(r.selection_months, r.selection_months_tightened if self.tightened_month is not None else 0)
        self.screening = np.zeros(((longest if r.pipeline else 0) + 1, n), dtype=np.int64)
        # contracts due to end: row j holds, per host, those expected to complete in j months (this month: 0), from
        # the postings the state made (the initial workforce spread over the contract as the engines post it, then
        # each month's postings); with ``anticipate`` the state screens ahead for them. It cannot know who will
        # leave early, or be kept past his contract by a closed border
        self.anticipate = r.pipeline and r.anticipate
        C = p.population.contract_months
        self.contract_months = C
        self.ends = np.zeros(((C + longest if self.anticipate else 0) + 1, n), dtype=np.int64)
        if self.anticipate:
            for k in range(C):
                self.ends[C - 1 - k] += [rules.initial_cohort(h.workers, C, k) for h in p.hosts.values()]
        self.ready = np.zeros(n, dtype=np.int64)
        # per host, the chance a minder carries out the send-home threat on a worker who cannot pay (phase 7,
        # rules.carries_out_threat): 1 while a candidate or a veteran waits to replace him (or with the pipeline
        # off: a post is filled the month it opens); minder.send_home_unreplaced when nobody does. Updated in place
        # each month by `plan_deployments` (the array engine's hosts bundle holds this array)
        self.enforce = np.ones(n)
        # per host, the chance a worker kept past his contract by a closure goes home this month (phase 11,
        # rules.contract_ends): he waits for a replacement (rules.stranded_release); updated in place each month by
        # `plan_deployments` (the array engine's hosts bundle holds this array)
        self.release = np.full(n, p.population.stranded_return)
        # veterans: row k of `resting` holds those who came home from each host and may go again in k months;
        # `veterans`, those rested and not yet posted again (they go first, to the host they served)
        self.resting = np.zeros(((r.rest_months if r.pipeline else 0) + 1, n), dtype=np.int64)
        self.veterans = np.zeros(n, dtype=np.int64)
        self.veteran_carry = np.zeros(n)  # the share of a veteran each host's completers have added so far
        if self.anticipate:
            # the run starts in a steady state: the veterans of the last rest_months of completions (the initial
            # workforce / contract months a month) rest at home, due back in 1 to rest_months months; and the state
            # screened ahead before month 0, so the posts that the first selection_months of contract ends open are
            # covered, by veterans due back by then and by candidates ready in time
            per_month = np.array([h.workers for h in p.hosts.values()], dtype=float) / C
            R = r.rest_months
            for k in range(1, R + 1):
                self.count_returns(per_month)  # into row R; moved to row k (back in k months)
                if k < R:
                    self.resting[k] += self.resting[R]
                    self.resting[R] = 0
            lag = r.selection_months
            back = np.zeros((lag, n), dtype=np.int64)  # row j: veterans back in j + 1 months
            back[: min(lag, R)] = self.resting[1 : min(lag, R) + 1]
            self.screening[1 : lag + 1] += np.maximum(self.ends[:lag] - back, 0)
        self.intake_month = r.intake_share * sum(h.workers for h in p.hosts.values()) / 12.0  # candidates a month
        self.intake_room = 0.0  # what may be approved this month (whole candidates; a part of one carries over)
        self.month_books: dict[str, np.ndarray] = {name: np.zeros(n) for name in BOOKS}
        # revenue accounts, per host, since the start of the run
        self.accounts = {
            "taken": np.zeros(n),
            "delivered": np.zeros(n),
            "interdicted": np.zeros(n),
            "costs": np.zeros(n),
        }

    def count_short(self, short, working):
        """What the state sees at the month's end: per host, the workers short of the plan (``short``) of those who
        worked (``working``); next month's `set_plans` reads their share."""
        short = np.asarray(short).astype(np.int64).tolist()
        self.short_share = np.array([s / w if w else 0.0 for s, w in zip(short, np.asarray(working).tolist())])

    def set_plans(self, short_share=None):
        """Adapt both ways: raise the plans (bounded) and the workforce targets while last month's delivered
        revenue fell short of the target; lower a host's plan (bounded) when too many of its workers fell
        short of it last month (``short_share`` per host; default: as the books counted it, `count_short`)."""
        if self.delivered_last is not None:
            s = self.p_state.state
            short = np.asarray(self.short_share if short_share is None else short_share, dtype=float)
            self.plans = rules.next_plans(
                self.plans,
                self.plans_initial,
                self.delivered_last,
                self.revenue_target,
                s.plan_raise,
                s.plan_cap,
                short,
                s.plan_reach,
                s.plan_cut,
                s.plan_floor,
            )
            if self.delivered_last < self.revenue_target and s.workforce_growth > 0:
                self.target_workers = np.minimum(
                    self.target_workers * (1.0 + s.workforce_growth), np.maximum(self.target_cap, self.target_workers)
                )
        s = self.p_state.state
        if s.target_growth > 0:  # the state's plan to send more workers, whatever the revenue
            self.target_workers = np.minimum(
                self.target_workers * (1.0 + s.target_growth) ** (1.0 / 12.0),
                np.maximum(self.target_cap, self.target_workers),
            )

    def plan_deployments(self, active_by_host: np.ndarray, lv: Levers, stranded_by_host=None) -> np.ndarray:
        """How many to post to each host this month; lost posts move toward hosts that do not comply. Of the
        ``active_by_host``, ``stranded_by_host`` were kept past their contracts by a closed border: the state
        counts their posts as open (they are to be replaced), approves no candidate for a closed host, and each goes
        home only as a replacement arrives (`release`, rules.stranded_release)."""
        stranded = np.zeros(len(self.release)) if stranded_by_host is None else np.asarray(stranded_by_host, float)
        counts, target_change = rules.deployments(
            self.target_workers,
            np.asarray(active_by_host, dtype=float) - stranded,
            lv.ban,
            lv.evasion,
            lv.repatriation,
            self.p_state.state.shift_share,
            self.target_cap,
            lv.repatriation_evasion,
            self.p_state.state.evasion_flow,
            self.shift_in,
        )
        self.legal_thresholds = rules.legal_thresholds(
            lv.ban, lv.evasion, lv.repatriation, lv.repatriation_evasion, self.routes
        )
        self.target_workers = self.target_workers + target_change
        self.month_books[TARGET] = np.floor(self.target_workers + 1e-9)  # whole posts, rounded down as postings are
        if not self.pipeline:
            posted = np.where(lv.closed, 0, counts)  # nobody is posted across a closed border
            self.release[:] = rules.stranded_release(self.p_state.population.stranded_return, stranded, posted)
            self._note_candidates(posted, np.zeros_like(posted), 0.0)
            return posted
        # the pipeline: rested veterans first; then approve candidates for the posts nobody covers yet (within the
        # year's intake); those approved selection_months ago are ready; post them, up to the posts open, across
        # open borders
        r = self.p_state.recruitment
        tightened = self.tightened_month is not None and lv.month >= self.tightened_month
        lag = r.selection_months_tightened if tightened else r.selection_months
        self.bribe_factor = r.bribe_factor_tightened if tightened else 1.0
        self.veterans = self.veterans + self.resting[0]
        self.resting[:-1] = self.resting[1:]
        self.resting[-1] = 0
        again = np.where(lv.closed, 0, np.minimum(counts, self.veterans))
        self.veterans = self.veterans - again
        counts = counts - again
        # the posts to cover: those open now and, screening ahead, those that contracts ending within the lag will
        # open (in the share of the host's market still reachable), less the candidates and veterans who will be
        # there by then
        if self.anticipate:
            reach = rules.reachable_share(lv.ban, lv.evasion, lv.repatriation, lv.repatriation_evasion)
            ahead = np.floor(self.ends[:lag].sum(axis=0) * reach + 1e-9).astype(np.int64)
            back = self.resting[:lag].sum(axis=0)
        else:
            ahead, back = 0, self.resting.sum(axis=0)
        uncovered = counts + ahead - self.ready - self.screening.sum(axis=0) - self.veterans - back
        uncovered = np.where(lv.closed, 0, uncovered)  # no candidate is approved for a host whose border is closed
        # the month's screening capacity; what a month leaves unused is lost (only a part of a candidate carries)
        self.intake_room = min(self.intake_room + self.intake_month, self.intake_month + 1.0)
        approved = rules.approvals(uncovered, int(self.intake_room))
        self.intake_room -= int(approved.sum())
        self.screening[lag] += approved
        self.ready = self.ready + self.screening[0]
        self.screening[:-1] = self.screening[1:]
        self.screening[-1] = 0
        posted = np.where(lv.closed, 0, np.minimum(counts, self.ready))
        self.ready = self.ready - posted
        self.enforce[:] = np.where(self.ready + self.veterans > 0, 1.0, self.p_state.minder.send_home_unreplaced)
        self.release[:] = rules.stranded_release(self.p_state.population.stranded_return, stranded, posted + again)
        if self.anticipate:  # those posted now are due home in a contract's time; then the schedule moves a month
            self.ends[self.contract_months - 1] += posted + again
            self.ends[:-1] = self.ends[1:]
            self.ends[-1] = 0
        self._note_candidates(approved, self.ready + self.screening.sum(axis=0), r.screening_cost, again)
        return posted + again

    def count_returns(self, completed) -> None:
        """The workers who completed a contract this month, per host: with the pipeline on, ``veteran_share`` of
        them (whole workers; the fractions carried per host) rest ``rest_months`` at home, then may go again."""
        if not self.pipeline:
            return
        share = self.p_state.recruitment.veteran_share
        self.veteran_carry = self.veteran_carry + np.asarray(completed, dtype=float) * share
        whole = np.floor(self.veteran_carry + 1e-9).astype(np.int64)
        self.veteran_carry = self.veteran_carry - whole
        self.resting[-1] += whole

    def _note_candidates(self, approved, waiting, cost: float, veterans=None) -> None:
        self.month_books["veterans"] = (
            np.zeros(len(approved)) if veterans is None else np.asarray(veterans, dtype=float)
        )
        self.month_books["approved"] = np.asarray(approved, dtype=float)
        self.month_books["waiting"] = np.asarray(waiting, dtype=float)
        self.month_books["recruitment"] = np.asarray(approved, dtype=float) * cost

    def pick_channels(self):
        """Shift money away from channels that lost it last month."""
        if self.loss_rate_last is not None:
            c = self.p_state.channels
            self.channel_weights = rules.next_channel_weights(
                self.channel_weights, self.loss_rate_last, c.adapt, c.min_weight
            )

    def send_money_home(self, take: np.ndarray, returning: np.ndarray, lv: Levers) -> dict[str, np.ndarray]:
        """Send the month's take home by bank, courier and mule; some is seized, some lost to fees. Returns the
        month's money per host under the names of `MONEY` (the tables' ``books`` columns read them)."""
        p = self.p_state
        loss = channel_losses(p, lv)
        fees = {"bank": p.channels.bank_fee, "courier": p.channels.courier_fee, "mule": p.channels.mule_fee}
        # across a closed border no courier goes: that month his share goes by bank and front companies
        weights = rules.closed_border_weights(self.channel_weights, lv.closed)
        delivered, interdicted, costs, _ = rules.move_money(
            take, weights, returning * p.channels.mule_capacity, loss, fees
        )
        # the loss rate of each channel, as the state sees it, guides next month's choice
        self.loss_rate_last = np.stack([loss[c] + (1 - loss[c]) * fees[c] for c in rules.CHANNELS], axis=1)
        # what the state counts toward its target: delivered, less what recruiting cost this month
        self.delivered_last = math.fsum(delivered) - math.fsum(self.month_books["recruitment"])
        for name, amount in (("taken", take), ("delivered", delivered), ("interdicted", interdicted), ("costs", costs)):
            self.accounts[name] += amount
        self.month_books.update(zip(("delivered", "interdicted", "costs"), (delivered, interdicted, costs)))
        return self.month_books
