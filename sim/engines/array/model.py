"""The array engine: the same month as the mesa engine, over numpy arrays.

Every phase of `OverseasLaborModel.step` (sim/engines/mesa/model.py) has its
counterpart in `ArrayModel.step`, calling the same rule functions
(sim/core/rules/) inside compiled loops over workers (kernels.py), the same state's books
(sim/core/state_books.py), the same policy levers (sim/core/policies.py) and
the same counter-based draws (sim/core/draws.py), keyed by the same worker and
minder ids.
Workers are kept as columns declared in sim/core/workers.py (state.py: carved
from one buffer), rows in id order; rows of those who left stay until they
are a fifth of the rows, then move to the archive in a chunk. A month is two
fused passes over the workers (kernels.py).

Docking: tests/test_docking.py checks that both engines give the same tables.
"""

from __future__ import annotations

from collections import namedtuple
from typing import cast

import numpy as np

from ...core import draws as rnd
from ...core import rules
from ...core.sectors import OWN_SETTINGS, cells_of, expand, per_host
from ...core.compiled import plain_function
from ...core.params import Params, value_at
from ...core.phases import PhaseClock, run_month
from ...core.policies import levers_for_month
from ...core.state_books import StateBooks
from ...core import workers
from ...core.workers import STATUS_CODE
from ...results.columns import HostTotals
from ...results.tables import FLOW_INDEX, FlowTotals, MonthAggregator, workers_table
from . import kernels
from .kernels import M_ACTIVE, M_LEFT, M_PUNISHED
from .state import (
    CAMP_DTYPES,
    MINDER_DTYPES,
    N_ESCAPED,
    N_KEPT,
    WORKER_DTYPES,
    Camps,
    Census,
    Hosts,
    Minders,
    RowBuffers,
    Table,
    Workers,
    census_bundle,
    month_bundle,
    settings_bundle,
    totals_bundle,
)

ACTIVE = STATUS_CODE["active"]
COMPLETED = STATUS_CODE["completed"]
COMPACT_SHARE = 0.2  # rows of leavers are moved to the archive once they are this share of the rows
NO_REMAP = np.zeros(0, dtype=np.int64)
# a newcomer's stored fields: drawn (`rules.new_worker_attributes`), set by his posting, or the declared value
_TRAITS = tuple(f.name for f in workers.STORED if f.initial == workers.TRAIT)
_POSTED = {f.name for f in workers.STORED if f.initial == workers.POSTING}
_AT_POSTING = {
    f.name: STATUS_CODE[cast(str, f.initial)] if f.name == "status" else f.initial
    for f in workers.STORED
    if f.initial not in (workers.TRAIT, workers.POSTING)
}
Rooms = namedtuple("Rooms", ("mr_start", "mr_end", "mr_id", "mr_room", "tr_start", "tr_end", "tr_id", "tr_room"))
Placed = namedtuple(
    "Placed",
    ("camp_of", "minder_of", "team_of", "new_camp_host", "new_minder_camp", "new_minder_host", "new_team_minder"),
)


def update_of(params, field):
    """A declared update (sim/core/workers.py: Update) ready to run: (field, compiled rule, inputs), each input a
    column's name or a parameter's value."""
    import numba

    u = field.update
    if len(u.reads) not in kernels.UPDATES:
        raise ValueError(
            f"workers.{field.name}: an update reads 1 to {max(kernels.UPDATES)} values, not {len(u.reads)}"
        )
    function = plain_function(getattr(rules, u.rule))
    compiled = numba.cfunc(numba.float64(*(numba.float64,) * len(u.reads)), cache=True)(function)
    inputs = [name if "." not in name else value_at(params, name) for name in u.reads]
    return field.name, compiled, inputs


def _plus_posted(counts: np.ndarray, posted_to: np.ndarray, n: int) -> np.ndarray:
    """Workers posted per unit (minder or team), ``n`` units now, after the newcomers posted to ``posted_to``."""
    return np.bincount(posted_to, minlength=n) + np.concatenate([counts, np.zeros(n - len(counts), dtype=np.int64)])


class ArrayModel:
    """The model over arrays of all workers and minders; one `step` is one month."""

    def __init__(self, params: Params, seed: int = 0):
        self.p = p = expand(params)  # the engine's hosts are cells: host group x sector (sim/core/sectors.py)
        self.seed = rnd.check_seed(seed)
        self.calendar = p.calendar
        self.host_names = list(p.hosts)
        self.n_hosts = len(self.host_names)
        self.wages = np.array([h.wage for h in p.hosts.values()])
        self.side_wages = np.array([h.side_wage for h in p.hosts.values()])
        self.routes = np.array([h.escape_route for h in p.hosts.values()])
        self.rule_code = rules.RULE_CODES[p.remittance.rule]
        # the death hazard at the longest hours: a draw above it cannot be a death
        rates = rules.death_rates(p)
        self.death_rates = np.array(rates)
        death_prob_max = rules.death_prob_longest(p, rates)
        # each host's own settings (a sector's, for a cell; sim/core/sectors.py OWN_SETTINGS)
        self.own = {name: np.array(per_host(p, name)) for name in OWN_SETTINGS}
        # each host's camp size, minder ratio and team size (rows), as `kernels.place_newcomers` reads them
        self.units = np.stack([self.own["camp_size"], self.own["minder_ratio"], self.own["team_size"]]).astype(np.int64)
        self.settings = settings_bundle(p, death_prob_max, self.rule_code)
        self.month = 0
        self.state = StateBooks.for_params(p)
        self.aggregator = MonthAggregator(p, defer=True)  # a large month's distribution sorted beside the next
        # workers: one column per declared field (state.Workers), rows in id order; rows of those who left stay
        # until they are COMPACT_SHARE of the rows; room for the first workforce and those rows, so the table rarely
        # grows (a growth copies every column)
        initial = sum(h.workers for h in p.hosts.values())
        self.workers = Table(
            Workers, WORKER_DTYPES, capacity=int((1 + 1.5 * COMPACT_SHARE) * initial) + 1024, staggered=True
        )
        self.archive: list[dict] = []  # chunks of the archived fields of those who left, each in id order
        self.minders = Table(Minders, MINDER_DTYPES)
        self.camps = Table(Camps, CAMP_DTYPES)
        self.rows = RowBuffers()  # the month's scratch arrays, one value per row, reused
        self.pending_remap = NO_REMAP  # punished minders' replacements, for the workers still posted (staged)
        self.carried = None  # next month's census, counted by this month's last pass
        self.next_worker = 0
        self.next_team = 0
        self.team_minder = np.zeros(0, dtype=np.int64)  # each team's minder
        self.workers_initial = sum(h.workers for h in p.hosts.values())
        self.clock = PhaseClock()
        self.levers_cache: dict | None = None  # each month's levers, shared by models of these parameters (`_policies`)
        workers.check_updates()
        self.updates = {
            after: [update_of(p, f) for f in workers.updates_after(after)] for after in workers.UPDATE_AFTER
        }
        C = p.population.contract_months
        self.deploy_cohorts(
            [
                ([rules.initial_cohort(host.workers, C, k) for host in p.hosts.values()], -k, k)
                for k in range(C - 1, -1, -1)
            ]
        )

    @property
    def w(self) -> Workers:
        """The workers' columns (rows in id order, including those who left this month)."""
        return self.workers.bundle

    @property
    def n(self) -> int:
        return self.workers.n

    def posted_minders(self) -> np.ndarray:
        """Each row's minder, with the replacements of punished minders applied (they are applied to the column by
        the next month's first pass over the workers: the census, or else work_and_pay)."""
        minder = self.w.minder
        return self._full_remap()[minder] if len(self.pending_remap) else minder

    def _full_remap(self) -> np.ndarray:
        """The pending replacements over every minder made so far (those made since map to themselves)."""
        remap = self.pending_remap
        if not len(remap) or len(remap) == self.minders.n:
            return remap
        full = np.arange(self.minders.n)
        full[: len(remap)] = remap
        return full

    # ------------------------------------------------------------ population
    def deploy(self, counts, month_deployed: int, months_abroad: int = 0, posted=None):
        """Post counts[h] workers to each host h, in host order, as the mesa engine's cohorts:
        camps of camp_size, a minder per minder_ratio, teams of team_size. ``posted``: the workers posted now
        per minder and per team, if already counted (`kernels.census`)."""
        self.deploy_cohorts([(counts, month_deployed, months_abroad)], posted)

    def deploy_cohorts(self, cohorts, posted=None):
        """Post several cohorts one after the other, each ``(counts, month_deployed, months_abroad)`` as `deploy`
        posts it (ids, camps, minders and teams exactly as a `deploy` per cohort would make them), with one draw
        of the traits and one extension of the workers' table for all: the first workforce, 36 cohorts of the
        workers already abroad, is posted in one call. Every cohort is posted in the same month (the traits read
        this month's plans, legal thresholds and bribe factor)."""
        cohorts = [(np.asarray(c, dtype=np.int64), md, ma) for c, md, ma in cohorts]
        cohorts = [c for c in cohorts if int(c[0].sum())]
        if not cohorts:
            return
        sizes_ = [int(c.sum()) for c, _, _ in cohorts]
        total = sum(sizes_)
        ids = np.arange(self.next_worker, self.next_worker + total)
        self.next_worker += total
        host_of = np.concatenate([np.repeat(np.arange(self.n_hosts), c) for c, _, _ in cohorts])
        if len(cohorts) == 1:
            _, month_deployed, months_abroad = cohorts[0]
        else:
            month_deployed = np.repeat(np.array([md for _, md, _ in cohorts], dtype=np.int64), sizes_)
            months_abroad = np.repeat(np.array([ma for _, _, ma in cohorts], dtype=np.int64), sizes_)
        traits = rules.new_worker_attributes(
            self.seed,
            ids,
            self.p,
            self.wages[host_of],
            self.state.plans[host_of],
            months_abroad,
            legal=self.state.legal_thresholds[host_of],
            bribe_factor=self.state.bribe_factor,
            own={name: self.own[name][host_of] for name in ("hours_base", "hours_max", "fees_share")},
        )
        if posted is None:
            m_count, t_count = kernels.posted_counts(self.w, self.minders.n, self.next_team)
        else:
            m_count, t_count = posted
        places = []
        for k, (counts, _, _) in enumerate(cohorts):
            placed = self._place(counts, sizes_[k], m_count, t_count)
            places.append(placed)
            if k + 1 < len(cohorts):  # the next cohort finds this one posted, as `kernels.posted_counts` counts
                m_count = _plus_posted(m_count, placed.minder_of, self.minders.n)
                t_count = _plus_posted(t_count, placed.team_of, self.next_team)

        def joined(field):
            return (
                getattr(places[0], field) if len(places) == 1 else np.concatenate([getattr(x, field) for x in places])
            )

        posting = {
            "worker_id": ids,
            "host": host_of,
            "camp": joined("camp_of"),
            "team": joined("team_of"),
            "minder": joined("minder_of"),
            "month_deployed": month_deployed,
            "months_abroad": months_abroad,
        }
        assert posting.keys() == _POSTED, "every field set at posting, and only those"
        self.workers.extend(total, {**_AT_POSTING, **{name: traits[name] for name in _TRAITS}, **posting})

    def _place(self, counts, total: int, m_count, t_count):
        """Place one cohort (`kernels.place_newcomers`), making the camps, minders and teams it needs; returns its
        placement (`Placed`: each newcomer's camp, minder and team, in id order)."""
        n_camps = self.camps.n
        units = self.units
        # who has room (in id order): each camp's minders with room, each minder's teams with room; the unit sizes
        # are each host's own (a sector's): a minder's and a team's are those of his host
        rooms = Rooms(*kernels.find_rooms(self.minders.bundle, m_count, t_count, self.team_minder, units, n_camps))
        occupancy = np.concatenate([self.camps.view("occupancy"), np.zeros(total, dtype=np.int64)])
        placed = Placed(*(np.empty(total, dtype=np.int64) for _ in Placed._fields))
        sizes = (n_camps, self.minders.n, self.next_team)
        made_camps, made_minders, made_teams = kernels.place_newcomers(
            counts, self.camps.view("host").astype(np.int64), occupancy, sizes, units, rooms, placed
        )
        self.camps.view("occupancy")[:] = occupancy[:n_camps]
        if made_camps:
            self.camps.extend(
                made_camps,
                {"host": placed.new_camp_host[:made_camps], "occupancy": occupancy[n_camps : n_camps + made_camps]},
            )
        if made_teams:
            self.next_team += made_teams
            self.team_minder = np.concatenate([self.team_minder, placed.new_team_minder[:made_teams]])
        if made_minders:  # most months post into the minders there are
            new_minders = np.arange(self.minders.n, self.minders.n + made_minders)
            m = rules.new_minder_attributes(self.seed, new_minders, self.p)
            k = made_minders
            self.minders.extend(
                k,
                {
                    "host": placed.new_minder_host[:k],
                    "camp": placed.new_minder_camp[:k],
                    "vig_base": m["vigilance"],
                    "greed": m["greed"],
                    "pressure": self.p.minder.pressure_base,
                },
            )
        return placed

    def _compact(self):
        """Move the rows of those who have left to the archive (a chunk in id order), keeping id order."""
        status = self.w.status
        gone = status != ACTIVE
        n_gone = int(np.count_nonzero(gone))
        if n_gone == 0 or n_gone < COMPACT_SHARE * self.n:
            return
        # by indices: gathering by a mask costs about four times as much per column
        rows = np.flatnonzero(gone)
        self.archive.append({name: getattr(self.w, name)[rows] for name in workers.ARCHIVED})
        self.workers.keep(np.flatnonzero(~gone))

    @property
    def latest(self) -> dict:
        """The last month's row of the monthly table (complete: its distribution may be sorted in a thread)."""
        return self.aggregator.monthly[-1]

    @property
    def phase_seconds(self) -> dict[str, float]:
        return self.clock.seconds

    def _hosts(self, lv) -> Hosts:
        """The hosts this month: their parameters, the plans and the levers of the policies in force."""
        return Hosts(
            wages=self.wages,
            side_wages=self.side_wages,
            routes=self.routes,
            plans=self.state.plans,
            closed=lv.closed,
            inspections=lv.inspections,
            max_hours=lv.max_hours,
            direct_wages=lv.direct_wages,
            coercion=lv.coercion,
            asylum_boost=lv.asylum_boost,
            return_passports=lv.return_passports,
            repatriation_hazard=lv.repatriation_hazard,
            detection=lv.detection,
            repatriation_evasion=lv.repatriation_evasion,
            relabel=self.state.relabel_thresholds,
            death_rates=self.death_rates,
            pay_lost=lv.pay_lost,
            hours_base=self.own["hours_base"],
            hours_max=self.own["hours_max"],
            fees_share=self.own["fees_share"],
            enforce=self.state.enforce,
            release=self.state.release,
        )

    # ------------------------------------------------------------ the month
    def step(self):
        """One month: the thirteen phases of the ODD, each group a method named in sim/core/phases.py
        (PHASE_TABLE); phases 4-7 and 8-11 are one pass over the workers each (kernels.py)."""
        run_month(self, "array")

    def _policies(self):
        """1. policies switch on or off (read from ``levers_cache`` where models of the same parameters share one:
        a month's levers depend on the parameters and the month alone, and nothing writes to them)."""
        cache = self.levers_cache
        lv = None if cache is None else cache.get(self.month)
        if lv is None:
            lv = levers_for_month(self.p, self.month)
            if cache is not None:
                cache[self.month] = lv
        self.lv = lv

    def _state(self):
        """2. the state: plans; the first pass (last month's minder replacements, repatriation, the census);
        deployments, channels."""
        H, lv = self.n_hosts, self.lv
        self.state.set_plans()
        ms, camps = self.minders, self.camps
        self.rows.n = self.n
        self.group_quota = group_quota = self.rule_code == rules.RULE_CODES["group_quota"]
        mandate = bool((lv.repatriation_hazard > 0).any() or (lv.detection > 0).any())
        self.month_keys = month = month_bundle(self.seed, self.month, mandate, group_quota)
        self.hosts_now = hosts = self._hosts(lv)
        if mandate or self.carried is None:
            # a pass of its own: the first month, or a mandate that sends workers home before the count
            census = census_bundle(H, ms.n, self.next_team, self.pending_remap, self.rows)
            n_repatriated = kernels.census(self.w, hosts, month, self.settings, census)
            repatriated = census.left_rows[:n_repatriated]
            kernels.settle(self.w, camps.bundle, month, self.settings, repatriated)
            self.pending_remap = NO_REMAP
        else:
            census = self.carried  # counted by last month's watch_die_return
            repatriated = NO_REMAP
        self.census_now, self.repatriated = census, repatriated
        self.carried = None
        self.counts = counts = self.state.plan_deployments(census.active_by_host, lv, census.stranded_by_host)
        self.n_before = n_before = self.n
        self.deploy(counts, month_deployed=self.month, months_abroad=0, posted=(census.by_minder, census.by_team))
        self.state.pick_channels()
        W = self.w
        # the newcomers are the last rows, in id order
        self.entry_bribes = np.bincount(W.host[n_before:], weights=W.entry_bribe[n_before:], minlength=H)

    def _pressure(self):
        """3. minders set pressure from last month's shortfall (summed over their workers in the census)."""
        ms, census = self.minders, self.census_now
        grown = ms.n - len(census.minder_short)
        short = np.concatenate([census.minder_short, np.zeros(grown)])
        owed = np.concatenate([census.minder_owed, np.zeros(grown)])
        kernels.set_pressure(ms.bundle, short, owed, self.settings)
        self._update(3)

    def _work_and_pay(self):
        """4-7. work, the remittance rule, side jobs, the send-home threat, the flows' totals (one pass; under a
        group quota the work is done first, as each camp's gross must be known)."""
        W, M, S, month, hosts = self.w, self.minders.bundle, self.settings, self.month_keys, self.hosts_now
        self.rows.n = self.n
        self.totals = totals = totals_bundle(
            self.n_hosts, self.minders.n, self.next_team, self.rows, self._full_remap()
        )
        C = self.camps.bundle
        if self.group_quota:
            C.gross[:] = 0.0
            C.due[:] = 0.0
            C.present[:] = False
            kernels.work_for_quota(W, M, C, hosts, month, S)
            C.due[:] = C.due + C.arrears  # the quota plus what the camp owes from earlier months
            kernels.camp_arrears(C)
        self.n_sent = n_sent = kernels.work_and_pay(W, M, C, hosts, month, S, totals)
        self.pending_remap = NO_REMAP
        kernels.settle(W, C, month, S, totals.left_rows[:n_sent])
        self._update(7)

    def _watch_die_return(self):
        """8-11. surveillance, escapes, deaths, contracts (one pass); then minders are punished, camps alarmed,
        and minders with nobody left go home."""
        W, ms, S, month, totals, n_sent = self.w, self.minders, self.settings, self.month_keys, self.totals, self.n_sent
        self.n_left = n_left = kernels.watch_die_return(W, ms.bundle, self.hosts_now, month, S, totals, n_sent)
        kernels.settle(W, self.camps.bundle, month, S, totals.left_rows[n_sent:n_left])
        escaped = totals.escaped_rows[: totals.counts[N_ESCAPED]]
        left, short, owed = totals.left, totals.minder_short, totals.minder_owed
        if len(escaped):
            remap = self._after_escapes(np.unique(W.minder[escaped]), np.unique(W.camp[escaped]))[: len(left)]
            # each punished minder's counts go to his replacement (one each: the sums are moved, not re-added)
            left = np.bincount(remap, weights=left, minlength=ms.n).astype(np.int64)
            short = np.bincount(remap, weights=short, minlength=ms.n)
            owed = np.bincount(remap, weights=owed, minlength=ms.n)
        m_status = ms.view("status")
        m_status[(m_status == M_ACTIVE) & (left == 0)] = M_LEFT
        H = self.n_hosts
        self.carried = Census(
            active_by_host=totals.by_legal.sum(axis=0).astype(float),
            stranded_by_host=totals.stranded,
            by_minder=left,
            by_team=totals.by_team,
            minder_short=short,
            minder_owed=owed,
            repatriated_idle=np.zeros(H, dtype=np.int64),
            remap=NO_REMAP,
            left_rows=NO_REMAP,
        )
        self._update(11)

    def _money(self):
        """12. money moves home: the month's take per host (added in id order) and who carries cash home."""
        totals = self.totals
        take_by_host = totals.flows[FLOW_INDEX["take"]]
        returning = totals.returning + self.census_now.repatriated_idle
        self.moved = self.state.send_money_home(take_by_host, returning.astype(float), self.lv)

    def _collect(self):
        """13. data are collected: what the month's leavers lost and were paid, added in id order."""
        W, H, ms, totals, census, lv = self.w, self.n_hosts, self.minders, self.totals, self.census_now, self.lv
        n_before = self.n_before
        leavers = np.sort(np.concatenate([self.repatriated, totals.left_rows[: self.n_left]]))
        forfeited, ledger_paid = np.zeros(H), np.zeros(H)
        kernels.leaver_sums(W, leavers, forfeited, ledger_paid)
        hosts_totals = HostTotals(
            deployed=self.counts,
            repatriated_idle=census.repatriated_idle,
            escape_attempts=totals.attempts,
            entry_bribes=self.entry_bribes,
            books=self.moved,
            plan=self.state.plans,
            forfeited=forfeited,
            ledger_paid=ledger_paid,
            minders_active=np.bincount(ms.view("host")[ms.view("status") == M_ACTIVE], minlength=H),
            deployed_by_legal=np.bincount(
                W.legal[n_before:].astype(np.int64) * H + W.host[n_before:], minlength=len(workers.LEGAL) * H
            ).reshape(len(workers.LEGAL), H),
        )
        flows = FlowTotals(
            sums=totals.flows,
            working=totals.working,
            exits=totals.exits,
            by_legal=totals.by_legal,
            kept=totals.kept[: totals.counts[N_KEPT]],
        )
        self.aggregator.month(self.month, flows, hosts_totals, lv.active)
        self.state.count_short(totals.flows[FLOW_INDEX["short"]], totals.working)
        self.state.count_returns(totals.exits[COMPLETED])
        self._compact()
        self.month += 1

    def _update(self, after: int):
        """The declared updates after this phase, for every worker still posted (sim/core/workers.py: Update)."""
        W = self.w
        for name, compiled, inputs in self.updates[after]:
            X = np.empty((len(inputs), self.n))
            for j, source in enumerate(inputs):
                X[j] = getattr(W, source) if isinstance(source, str) else source
            kernels.UPDATES[len(inputs)](W.status, getattr(W, name), X, compiled)

    def _after_escapes(self, punished: np.ndarray, camps: np.ndarray) -> np.ndarray:
        """Alarm every minder of the camps with an escape; replace each punished minder (in id order). Returns the
        map from each minder to who watches his workers now (applied to the workers at the next census)."""
        ms = self.minders
        m_camp, m_status = ms.view("camp"), ms.view("status")
        alarmed = np.isin(m_camp, camps) & (m_status != M_PUNISHED)
        kernels.alarm(alarmed, ms.bundle, self.p.minder.vigilance_boost)
        new_ids = np.arange(ms.n, ms.n + len(punished))
        attrs = rules.new_minder_attributes(self.seed, new_ids, self.p, replacement=True)
        m_status[punished] = M_PUNISHED
        ms.extend(
            len(punished),
            {
                "host": ms.view("host")[punished],
                "camp": m_camp[punished],
                "vig_base": attrs["vigilance"],
                "greed": attrs["greed"],
                "pressure": self.p.minder.pressure_base,
            },
        )
        remap = np.arange(ms.n)
        remap[punished] = new_ids
        self.team_minder = remap[self.team_minder]
        self.pending_remap = remap
        return remap

    # ------------------------------------------------------------ tables
    def workers_table(self):
        """The workers table (one row per worker ever posted, in id order). The archive is consumed as it is built,
        column by column, so a large run never holds the archive and the table whole at once."""
        parts = self.archive + [{name: getattr(self.w, name) for name in workers.ARCHIVED}]
        order = np.argsort(np.concatenate([p["worker_id"] for p in parts]), kind="stable")
        columns = {}
        for name in workers.ARCHIVED:
            dtype = np.int64 if workers.FIELD[name].kind is int else float
            columns[name] = np.concatenate([p.pop(name) for p in parts]).astype(dtype, copy=False)[order]
        self.archive = []
        return workers_table(columns, self.host_names, self.p.remittance.coupon_value, cells_of(self.p))
