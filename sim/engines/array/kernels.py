"""The array engine's compiled loops over workers (numba): the month in two fused passes.

Each pass runs several phases of the month for every row, in worker-id order, calling the rulebook's
functions (`sim.core.rules`) exactly as the mesa engine's agents do, drawing with `uniform_at` from the same
counter-based streams, and adding the month's totals as it goes (a loop that moves money also adds it to its
host's totals), in worker-id order, as the mesa engine adds them:

1. `work_and_pay` (phases 4-7): work, the remittance rule, side jobs, the send-home threat, the flows' totals
   and each team's informants;
2. `watch_die_return` (phases 8-11): escapes, deaths, contracts, the exits, and for those who stay next month's
   census (the workers per host, minder and team, each minder's shortfall and plan: phases 2 and 3 read it).

`census` is a pass of its own only in the first month and while a repatriation mandate sends workers home in
phase 2 (it counts after them); under a group quota, `work_for_quota` runs phase 4 first (each camp's gross must
be known before anyone remits). Leavers are settled by `settle` after their pass, over the leavers only. Effects
on others (alarms, replacing a punished minder) stay staged in `ArrayModel.step`, after the pass of their phase.
Every loop takes bundles (`state.py`): no more than eight parameters. A helper called inside a loop takes
numbers, never a bundle (a call passes every array of a bundle with a reference count, for every worker).

Two habits of these loops are for speed alone (the same arithmetic, so the same bits; measured with perf on the
compiled code, the passes about a fifth quicker together): rows and the indices read from the workers' columns
(host, camp, minder, team) are unsigned (`np.uint64`), since numba adds a fix-up for a negative index to every
access with a signed one; and the arrays of the month's totals are taken out of their bundle before a loop (an
array read from a bundle inside a branch is reference-counted, through two calls, each time the branch is taken).
"""

from __future__ import annotations

import math

import numpy as np

from ...core import rules
from ...core.compiled import kernel
from ...core.draws import uniform_at
from ...core.workers import FLOW_INDEX, STATUS_CODE

ACTIVE = STATUS_CODE["active"]
COMPLETED = STATUS_CODE["completed"]
SENT_HOME = STATUS_CODE["sent_home"]
REPATRIATED = STATUS_CODE["repatriated"]
ESCAPED = STATUS_CODE["escaped"]
CAUGHT = STATUS_CODE["caught"]
DEAD = STATUS_CODE["dead"]
# a minder's status (the minders table's column)
M_ACTIVE, M_LEFT, M_PUNISHED, M_REPATRIATED = 0, 1, 2, 3
# each flow's row in the month's per-host sums (T.flows)
F_GROSS, F_SIDE, F_TAKE, F_BRIBES, F_RETAINED, F_HOURS, F_SHORT = (
    FLOW_INDEX[name] for name in ("gross", "side", "take", "bribes", "retained", "hours", "short")
)
N_KEPT, N_ESCAPED = 0, 1  # the slots of Totals.counts (state.py): rows kept, rows escaped

# the loops that visit every worker; a month makes two passes (docs/ODD.md section 3): work_and_pay and
# watch_die_return, which counts next month's census as it goes; the census is a pass of its own only in the first
# month and under a repatriation mandate, and work_for_quota runs before work_and_pay under a group quota
FULL_PASSES = ("census", "work_for_quota", "work_and_pay", "watch_die_return")
PASSES_PER_MONTH = 2
# the phases each loop over workers runs, phase 13 for the totals the passes add as they go
# (tests/test_engine_state.py checks the fields they touch against the phases declared in sim/core/workers.py)
PHASES_OF = {
    "census": (2, 3),
    "settle": (2, 7, 9, 10, 11),
    "set_pressure": (3,),
    "work_for_quota": (4, 5),
    "work_and_pay": (4, 5, 6, 7, 13),
    "watch_die_return": (8, 9, 10, 11, 13),
    "leaver_sums": (13,),
    "posted_counts": (2,),
}


@kernel
def settle(W, C, month, S, rows):
    """Worker.leave for the rows that left in a pass (their status and month set there): his camp's occupancy,
    the ledger paid or lost, the cash of the caught and the dead lost; his minder forgets his shortfall and plan.
    Nothing else in the month reads these fields of a leaver, so they are settled after the pass."""
    for r in range(len(rows)):
        i = np.uint64(rows[r])
        status = W.status[i]
        C.occupancy[np.uint64(W.camp[i])] -= 1
        ledger = W.ledger[i]
        lost = ledger
        if status == COMPLETED or status == REPATRIATED:
            if uniform_at(month.ledger, W.worker_id[i]) < S.ledger_pay_prob:
                W.ledger_paid[i] = ledger
                lost = 0.0
            else:
                W.ledger_paid[i] = 0.0
        if status == CAUGHT or status == DEAD:
            lost = lost + W.cash[i]
            W.cash[i] = 0.0
        if status == COMPLETED or status == REPATRIATED:  # the pay held for him: paid as he goes, else lost
            W.cash[i] += W.held[i]
        else:
            lost = lost + W.held[i]
        W.held[i] = 0.0
        W.forfeited_total[i] += lost
        W.lost[i] = lost
        W.ledger[i] = 0.0
        W.shortfall[i] = 0.0
        W.plan[i] = 0.0


@kernel
def leaver_sums(W, rows, forfeited, ledger_paid):
    """Phase 13: what the month's leavers (their rows, in id order) lost and were paid of their ledgers, per host."""
    for r in range(len(rows)):
        i = np.uint64(rows[r])
        forfeited[np.uint64(W.host[i])] += W.lost[i]
        ledger_paid[np.uint64(W.host[i])] += W.ledger_paid[i]


@kernel
def work_month(inspection, key, worker_id, pressure, wage, productivity, lost, hours_range):
    """Phase 4 for one worker: (inspected, hours, gross wage); his employer is inspected with the host's
    compliance (``inspection``: compliance, hours allowed; a draw fixed for the run), which caps his hours; a share
    ``lost`` of the payment never arrives. ``hours_range``: his host's (hours_base, hours_max). Numbers and tuples
    of numbers only (a bundle passed to a helper costs a reference count per array, per worker)."""
    inspections, max_hours = inspection
    base, top = hours_range
    inspected = inspections > 0 and uniform_at(key, worker_id) < inspections
    hours = rules.hours_worked(pressure, base, top, max_hours if inspected else math.inf)
    return inspected, hours, rules.pay_received(rules.gross_wage(wage, productivity, hours, base), lost)


@kernel
def census(W, H, month, S, N):
    """Phase 2's first pass and phase 3's sums: every posted worker follows his minder's replacement (staged
    from last month's escapes); under a mandate, he may be sent home (his row listed for `settle`) or relabelled
    (`rules.repatriation_fate`); those who stay are counted per host, minder and team, and their shortfall and plan
    added to their minder's (in worker-id order); those kept past their contracts by a closed border are counted
    per host too (`StateBooks.plan_deployments`)."""
    N_remap = N.remap
    N_left_rows = N.left_rows
    N_repatriated_idle = N.repatriated_idle
    N_active_by_host = N.active_by_host
    N_stranded = N.stranded_by_host
    N_by_minder = N.by_minder
    N_by_team = N.by_team
    N_minder_short = N.minder_short
    N_minder_owed = N.minder_owed
    remapping = len(N_remap) > 0
    n_left = 0
    for i in range(np.uint64(len(W.status))):
        if W.status[i] != ACTIVE:
            continue
        if remapping:
            W.minder[i] = N_remap[W.minder[i]]
        h = np.uint64(W.host[i])
        if month.mandate and (
            H.repatriation_hazard[h] > 0 or H.detection[h, 0] > 0 or H.detection[h, 1] > 0 or H.detection[h, 2] > 0
        ):
            wid = W.worker_id[i]
            fate = rules.repatriation_fate(
                W.legal[i],
                uniform_at(month.repatriate, wid),
                uniform_at(month.relabel, wid),
                uniform_at(month.route, wid),
                H.repatriation_hazard[h],
                H.detection[h, 0],
                H.detection[h, 1],
                H.detection[h, 2],
                H.repatriation_evasion[h],
                H.relabel[h, 0],
                H.relabel[h, 1],
            )
            if fate == 4:
                W.status[i] = REPATRIATED
                W.month_left[i] = month.month
                N_left_rows[n_left] = i
                n_left += 1
                N_repatriated_idle[h] += 1
                continue
            W.legal[i] = fate
        m = np.uint64(W.minder[i])
        N_active_by_host[h] += 1.0
        if W.months_abroad[i] >= S.contract_months + (W.extended[i] if S.extension_prob > 0 else 0):
            N_stranded[h] += 1.0
        N_by_minder[m] += 1
        N_by_team[np.uint64(W.team[i])] += 1
        N_minder_short[m] += W.shortfall[i]
        N_minder_owed[m] += W.plan[i]
    return n_left


@kernel
def set_pressure(M, short, owed, S):
    """Phase 3: each active minder's pressure from his workers' shortfall; the alarm fades."""
    for m in range(len(short)):
        if M.status[m] == 0:
            ratio = short[m] / owed[m] if owed[m] > 0 else 0.0
            M.pressure[m] = rules.minder_pressure(ratio, S.pressure_base, S.pressure_gain)
            M.vig_extra[m] *= 1.0 - S.vigilance_decay


@kernel
def work_for_quota(W, M, C, H, month, S):
    """Phase 4 under a group quota, before anyone remits: every posted worker works, and each camp's gross and
    quota are added (in worker-id order)."""
    for i in range(np.uint64(len(W.status))):
        if W.status[i] != ACTIVE:
            continue
        h = np.uint64(W.host[i])
        inspected, hours, gross = work_month(
            (H.inspections[h], H.max_hours[h]),
            month.inspected,
            W.worker_id[i],
            M.pressure[np.uint64(W.minder[i])],
            H.wages[h],
            W.productivity[i],
            H.pay_lost[h],
            (H.hours_base[h], H.hours_max[h]),
        )
        W.inspected[i], W.hours[i], W.gross[i] = inspected, hours, gross
        camp = np.uint64(W.camp[i])
        C.gross[camp] += gross
        C.due[camp] += H.plans[h]
        C.present[camp] = True


@kernel
def work_and_pay(W, M, C, H, month, S, T):
    """Phases 4-7 for every posted worker: work (unless done already, under a group quota), the remittance rule,
    side jobs sold by the minder, the send-home threat, and the month's books (what he kept, his debts, his
    running averages); adds the month's flows per host, counts who worked, keeps what each kept (for the month's
    percentiles), sends home those who neither meet the plan nor pay (their rows listed for `settle`), and counts
    each team's informants still posted."""
    k = 0
    n_left = 0
    flows = T.flows
    remapping = len(T.remap) > 0
    T_working = T.working
    T_kept = T.kept
    T_left_rows = T.left_rows
    T_exits = T.exits
    T_informants = T.informants
    for i in range(np.uint64(len(W.status))):
        if W.status[i] != ACTIVE:
            continue
        if remapping:  # punished minders' replacements, staged from last month's escapes (when no census ran)
            W.minder[i] = T.remap[W.minder[i]]
        h = np.uint64(W.host[i])
        wid = W.worker_id[i]
        # 4. work: hours (capped where the employer is inspected) and the gross wage
        if not month.worked:
            inspected, hours, gross = work_month(
                (H.inspections[h], H.max_hours[h]),
                month.inspected,
                wid,
                M.pressure[np.uint64(W.minder[i])],
                H.wages[h],
                W.productivity[i],
                H.pay_lost[h],
                (H.hours_base[h], H.hours_max[h]),
            )
            W.inspected[i], W.hours[i], W.gross[i] = inspected, hours, gross
        gross = W.gross[i]
        p = H.plans[h]
        W.plan[i] = p
        # 5. the remittance rule (a complying employer pays the worker directly)
        c = H.direct_wages[h]
        direct = c > 0 and uniform_at(month.direct, wid) < c
        camp = np.uint64(W.camp[i])
        t, arrears, credit = rules.remit(
            S.rule_code,
            gross,
            p,
            W.plan_arrears[i],
            C.gross[camp],
            C.due[camp],
            H.fees_share[h],
            S.share,
            direct,
            H.coercion[h],
            S.ledger_monthly,
        )
        W.plan_arrears[i] = arrears
        W.ledger[i] += credit
        free = gross - t - credit
        coupons = rules.coupons(free, S.coupon_share, direct)
        if coupons > 0.0:  # written only when paid: a column left untouched costs no memory traffic
            W.coupons_total[i] += coupons
        if S.cash_months == 1:  # paid every month: nothing is ever held (the held column is not read)
            cash = W.cash[i] + (free - coupons)
        else:
            held = W.held[i] + (free - coupons)
            if rules.payday(W.months_abroad[i], S.cash_months, direct):
                cash = W.cash[i] + held
                held = 0.0
            else:
                cash = W.cash[i]
            W.held[i] = held
        # 6. side jobs. Draws are made for everyone and the outcome selected without a branch: a counter-based draw
        # depends on nothing else, so drawing one that is not used changes nothing, and a chance outcome is a branch
        # the processor cannot predict
        kept_avg = W.kept_avg[i]
        gross_avg = W.gross_avg[i]
        side_wage = H.side_wages[h]
        wants = rules.wants_side_job(
            kept_avg, gross_avg, S.expected_share, uniform_at(month.seek, wid), S.side_job_seek
        )
        granted = rules.side_job_granted(M.greed[np.uint64(W.minder[i])], uniform_at(month.grant, wid))
        s = rules.side_earnings(side_wage, S.side_job_share) if (side_wage > 0) & wants & granted else 0.0
        s_bribe = s * S.side_bribe_share
        cash += s - s_bribe
        # 7. the send-home threat
        short = rules.plan_shortfall(gross, p)
        W.shortfall[i] = short
        u = uniform_at(month.threat, wid)
        threat = rules.threatened(short, u, S.threat_prob)
        pays = threat & rules.pays_to_stay(cash, S.threat_bribe)
        t_bribe = S.threat_bribe if pays else 0.0
        cash -= t_bribe
        debt = W.entry_debt[i]
        if debt > 0.0:  # he pays toward his entry-bribe debt from the cash he holds
            paid = rules.debt_payment(debt, cash, S.debt_repay_share)
            W.entry_debt[i] = debt - paid
            cash -= paid
        W.cash[i] = cash
        kept = rules.retained(gross, s, t, s_bribe, t_bribe)
        bribes = s_bribe + t_bribe
        W.take[i] = t
        W.side[i] = s
        W.bribes[i] = bribes
        W.retained[i] = kept
        W.short[i] = short > 0
        W.retained_total[i] += kept
        W.bribes_total[i] += bribes
        W.side_earnings_total[i] += s
        W.kept_avg[i] = rules.running_average(kept_avg, kept, S.memory)
        W.gross_avg[i] = rules.running_average(gross_avg, gross + s, S.memory)
        # the month's flows, per host, in worker-id order (rows in workers.FLOWS order)
        flows[F_GROSS, h] += gross
        flows[F_SIDE, h] += s
        flows[F_TAKE, h] += t
        flows[F_BRIBES, h] += bribes
        flows[F_RETAINED, h] += kept
        flows[F_HOURS, h] += W.hours[i]
        flows[F_SHORT, h] += 1.0 if short > 0 else 0.0
        T_working[h] += 1
        T_kept[k] = kept
        k += 1
        if threat and not pays and not H.closed[h] and rules.carries_out_threat(u, S.threat_prob, H.enforce[h]):
            W.status[i] = SENT_HOME
            W.month_left[i] = month.month
            T_left_rows[n_left] = i
            n_left += 1
            T_exits[SENT_HOME, h] += 1
        elif W.informant[i]:
            T_informants[np.uint64(W.team[i])] += 1
    T.counts[N_KEPT] = k
    return n_left


@kernel
def watch_die_return(W, M, H, month, S, T, first):
    """Phases 8-11 for every worker still posted: surveillance and escapes (the escaped rows listed, in id order,
    for the staged alarm and minder replacement), deaths (a hazard rising with hours; a draw above the hazard at
    the longest hours cannot be a death), one more month abroad and contracts that end; each leaver's row listed
    for `settle` after ``first`` rows of the list; for every worker who worked, his exit; and for those who stay,
    next month's census (the workers per minder and team, each minder's shortfall and plan), so that a month
    without a mandate needs no census pass. Returns how many rows the list of leavers holds."""
    n_escaped = 0
    n_left = first
    T_attempts = T.attempts
    T_informants = T.informants
    T_escaped_rows = T.escaped_rows
    T_left = T.left
    T_by_team = T.by_team
    T_minder_short = T.minder_short
    T_minder_owed = T.minder_owed
    T_exits = T.exits
    T_by_legal = T.by_legal
    T_left_rows = T.left_rows
    T_returning = T.returning
    T_stranded = T.stranded
    for i in range(np.uint64(len(W.status))):
        if W.status[i] != ACTIVE:
            continue
        h = np.uint64(W.host[i])
        wid = W.worker_id[i]
        s = ACTIVE
        # 8-9. who intends to escape (Epstein's rule; the chance of trying never exceeds attempt_rate), who is
        # reported by an informant, who gets away
        u = uniform_at(month.intend, wid)
        if u < S.attempt_rate:
            m = np.uint64(W.minder[i])
            passport = W.passport_held[i] and not (H.return_passports[h] and W.inspected[i])
            success, chance = rules.escape_chances(
                W.kept_avg[i],
                W.gross_avg[i],
                W.hours[i],
                W.entry_debt[i] + W.plan_arrears[i],
                W.plan[i],
                W.loyalty[i],
                W.risk_aversion[i],
                W.family[i],
                H.routes[h],
                H.asylum_boost[h],
                rules.minder_vigilance(M.vig_base[m], M.vig_extra[m]),
                passport,
                S.expected_share,
                H.hours_base[h],
                H.hours_max[h],
                S.weight_pay,
                S.weight_hours,
                S.weight_debt,
                S.passport_effect,
                S.reprisal_severity,
                S.threshold,
                S.steepness,
                S.attempt_rate,
            )
            if u < chance:
                T_attempts[h] += 1
                n_inf = T_informants[np.uint64(W.team[i])] - (1 if W.informant[i] else 0)
                if (
                    not uniform_at(month.report, wid) < rules.reported_prob(n_inf, S.report_prob)
                    and uniform_at(month.success, wid) < success
                ):
                    s = ESCAPED
                    T_escaped_rows[n_escaped] = i
                    n_escaped += 1
                else:
                    s = CAUGHT
        # 10. deaths
        if s == ACTIVE:
            u = uniform_at(month.death, wid)
            if u < S.death_prob_max and u < rules.death_prob(
                W.hours[i], H.death_rates[h], S.hours_slope, H.hours_base[h]
            ):
                s = DEAD
        # 11. one more month abroad; contracts end (a stranded worker goes home with his host's chance
        # H.release, as replacements arrive)
        if s == ACTIVE:
            months = W.months_abroad[i] + 1
            W.months_abroad[i] = months
            shut = H.closed[h]
            # no extensions: nobody's contract is extended (the column is not read)
            contract = S.contract_months + (W.extended[i] if S.extension_prob > 0 else 0)
            u = uniform_at(month.back, wid) if months >= contract and not shut else 1.0
            if rules.contract_extended(
                months, contract, shut, u, S.extension_prob, S.extension_months, S.max_contract_months
            ):
                W.extended[i] += S.extension_months
                contract += S.extension_months
            if months >= contract and rules.contract_ends(months, contract, shut, u, H.release[h]):
                s = COMPLETED
            else:
                # next month's census, counted now (phase 2's counts and phase 3's sums, in worker-id order)
                m = np.uint64(W.minder[i])
                T_left[m] += 1
                T_by_team[np.uint64(W.team[i])] += 1
                T_minder_short[m] += W.shortfall[i]
                T_minder_owed[m] += W.plan[i]
                if months >= contract:  # kept past his contract: stranded
                    T_stranded[h] += 1.0
        T_exits[s, h] += 1
        if s == ACTIVE:
            T_by_legal[W.legal[i], h] += 1
        else:
            W.status[i] = s
            W.month_left[i] = month.month
            T_left_rows[n_left] = i
            n_left += 1
            if s == COMPLETED:
                T_returning[h] += 1
    T.counts[N_ESCAPED] = n_escaped
    return n_left


@kernel
def posted_counts(W, n_minders, n_teams):
    """The workers posted now per minder and per team (before the first month's postings)."""
    by_minder = np.zeros(n_minders, dtype=np.int64)
    by_team = np.zeros(n_teams, dtype=np.int64)
    for i in range(np.uint64(len(W.status))):
        if W.status[i] == ACTIVE:
            by_minder[np.uint64(W.minder[i])] += 1
            by_team[np.uint64(W.team[i])] += 1
    return by_minder, by_team


@kernel
def grouped(key, keep, n_groups):
    """The rows ``i`` with ``keep[i]``, grouped by ``key[i]`` (0 .. n_groups - 1) and in row order within a group
    (a counting sort: stable, as a stable argsort by key): each group's start and end in the rows, and the rows."""
    end = np.zeros(n_groups, dtype=np.int64)
    for i in range(len(key)):
        if keep[i]:
            end[key[i]] += 1
    start = np.zeros(n_groups, dtype=np.int64)
    total = 0
    for g in range(n_groups):
        start[g] = total
        total += end[g]
        end[g] = total
    rows = np.empty(total, dtype=np.int64)
    fill = start.copy()
    for i in range(len(key)):
        if keep[i]:
            rows[fill[key[i]]] = i
            fill[key[i]] += 1
    return start, end, rows


@kernel
def find_rooms(M, m_count, t_count, team_minder, units, n_camps):
    """The rooms `place_newcomers` fills first: each camp's active minders with room (``m_count`` posted of his
    host's minder ratio, ``units[1]``) and each minder's teams with room (``t_count`` of his host's team size,
    ``units[2]``; an empty team is not reused), each in id order, as start and end per camp (per minder) into
    the ids and their room."""
    n_m = len(M.status)
    ratio = np.empty(n_m, dtype=np.int64)
    for m in range(n_m):
        ratio[m] = units[1, M.host[m]]
    size = np.empty(len(t_count), dtype=np.int64)
    for t in range(len(t_count)):
        size[t] = units[2, M.host[team_minder[t]]]
    mr_start, mr_end, mr_id = grouped(M.camp, (M.status == M_ACTIVE) & (m_count < ratio), n_camps)
    tr_start, tr_end, tr_id = grouped(team_minder, (t_count > 0) & (t_count < size), n_m)
    return mr_start, mr_end, mr_id, ratio[mr_id] - m_count[mr_id], tr_start, tr_end, tr_id, size[tr_id] - t_count[tr_id]


@kernel
def keep_rows(rows, column):
    """Move the rows ``rows`` (increasing) of a column to its front, in order, in place (no copy of the column);
    returns how many. Given as indices, not a mask: a mask's branch per row, taken at random, costs twice as much."""
    for k in range(len(rows)):
        column[k] = column[rows[k]]
    return len(rows)


@kernel
def camp_arrears(C):
    """Group quota: what each camp with workers this month still owes the plan after it (``due`` is its quota plus
    its arrears)."""
    for c in range(len(C.gross)):
        if C.present[c]:
            C.arrears[c] = rules.plan_arrears(C.gross[c], C.due[c])


@kernel
def alarm(alarmed, M, boost):
    """After an escape: every minder of the camp watches harder (staged after phase 9)."""
    for m in range(len(alarmed)):
        if alarmed[m]:
            M.vig_extra[m] = rules.alarm_extra(M.vig_base[m], M.vig_extra[m], boost)


@kernel
def place_newcomers(counts, camp_host, camp_occ, sizes, units, rooms, placed):
    """Phase 2's placement of a month's newcomers, host by host in id order: into the host's camps with room (in
    camp-id order), then new camps of ``camp_size``; within a camp, to its minders with room, then new minders;
    within a minder, to his teams with room, then new teams. ``camp_occ`` has room for the new camps;
    ``rooms`` lists the minders with room per camp and the teams with room per minder (as they were before this
    month's newcomers). ``sizes`` = (camps, minders, next team); ``units``: each host's camp size, minder ratio and
    team size (rows). Returns how many camps, minders and teams were made."""
    n_before, n_minders, next_team = sizes
    made_camps = 0
    made_minders = 0
    made_teams = 0
    i = 0
    for h in range(len(counts)):
        camp_size, minder_ratio, team_size = units[0, h], units[1, h], units[2, h]
        left_host = counts[h]
        c = 0
        while left_host > 0:
            # the next camp of this host with room, in id order, else a new one
            while c < n_before and not (camp_host[c] == h and camp_occ[c] < camp_size):
                c += 1
            if c < n_before:
                camp = c
                k = min(camp_size - camp_occ[c], left_host)
                c += 1
            else:
                camp = n_before + made_camps
                placed.new_camp_host[made_camps] = h
                made_camps += 1
                k = min(camp_size, left_host)
            camp_occ[camp] += k
            left_host -= k
            # within the camp: its minders with room (an existing camp only), then new minders
            left_camp = k
            r = rooms.mr_start[camp] if camp < n_before else 0
            r_end = rooms.mr_end[camp] if camp < n_before else 0
            while left_camp > 0:
                if r < r_end:
                    mid = rooms.mr_id[r]
                    j = min(rooms.mr_room[r], left_camp)
                    existing = True
                    r += 1
                else:
                    mid = n_minders + made_minders
                    placed.new_minder_camp[made_minders] = camp
                    placed.new_minder_host[made_minders] = h
                    made_minders += 1
                    j = min(minder_ratio, left_camp)
                    existing = False
                left_camp -= j
                # within the minder: his teams with room (an existing minder only), then new teams
                left_minder = j
                t = rooms.tr_start[mid] if existing else 0
                t_end = rooms.tr_end[mid] if existing else 0
                while left_minder > 0:
                    if t < t_end:
                        team = rooms.tr_id[t]
                        q = min(rooms.tr_room[t], left_minder)
                        t += 1
                    else:
                        team = next_team + made_teams
                        placed.new_team_minder[made_teams] = mid
                        made_teams += 1
                        q = min(team_size, left_minder)
                    for _ in range(q):
                        placed.camp_of[i] = camp
                        placed.minder_of[i] = mid
                        placed.team_of[i] = team
                        i += 1
                    left_minder -= q
    return made_camps, made_minders, made_teams


# ---------------------------------------------------------------- declared updates (sim/core/workers.py: Update)
# A field declared with an update is set by its rule for every worker still posted, after the pass that ends with
# its phase: one loop per update, the rule called through its compiled address (so these loops are compiled once,
# for any rule of the same number of inputs). ``X`` holds the inputs, one row each, as float64.


@kernel
def update_1(status, out, X, rule):
    for i in range(np.uint64(len(status))):
        if status[i] == ACTIVE:
            out[i] = rule(X[0, i])


@kernel
def update_2(status, out, X, rule):
    for i in range(np.uint64(len(status))):
        if status[i] == ACTIVE:
            out[i] = rule(X[0, i], X[1, i])


@kernel
def update_3(status, out, X, rule):
    for i in range(np.uint64(len(status))):
        if status[i] == ACTIVE:
            out[i] = rule(X[0, i], X[1, i], X[2, i])


@kernel
def update_4(status, out, X, rule):
    for i in range(np.uint64(len(status))):
        if status[i] == ACTIVE:
            out[i] = rule(X[0, i], X[1, i], X[2, i], X[3, i])


UPDATES = {1: update_1, 2: update_2, 3: update_3, 4: update_4}
