"""The array engine's compiled loops over workers and minders (numba).

Each loop is one or more phases of the month for every row, in worker-id
order, calling the rulebook's functions (`sim.core.rules`) exactly as the
mesa engine's agents do, and drawing with `uniform_at` from the same
counter-based streams. Sums that both engines compare (a minder's team, a
camp) add in id order, as the mesa engine adds. Effects on others (alarms,
replacing a punished minder, removing leavers) stay staged in
`ArrayModel.step`, after the loop of their phase.
"""

from __future__ import annotations

import math

import numpy as np

from ...core import rules
from ...core.compiled import kernel
from ...core.draws import uniform_at


@kernel
def per_minder_sums(minder, shortfall, plan, n_minders):
    """Phase 3's inputs: each minder's workers' shortfall and plan last month, added in worker-id order."""
    short = np.zeros(n_minders)
    owed = np.zeros(n_minders)
    for i in range(len(minder)):
        short[minder[i]] += shortfall[i]
        owed[minder[i]] += plan[i]
    return short, owed


@kernel
def set_pressure(short, owed, active, pressure, vig_extra, pressure_base, pressure_gain, vigilance_decay):
    """Phase 3: each active minder's pressure from his workers' shortfall; the alarm fades."""
    for m in range(len(short)):
        if active[m]:
            ratio = short[m] / owed[m] if owed[m] > 0 else 0.0
            pressure[m] = rules.minder_pressure(ratio, pressure_base, pressure_gain)
            vig_extra[m] *= 1.0 - vigilance_decay


@kernel
def work(ids, host, minder, productivity, pressure, wages, inspections, max_hours, key_inspected, hours_base,
         hours_max, hours, gross, inspected):
    """Phase 4: hours (capped where the employer is inspected) and the gross wage, for every row."""
    for i in range(len(ids)):
        h = host[i]
        c = inspections[h]
        inspected[i] = c > 0 and uniform_at(key_inspected, ids[i]) < c
        cap = max_hours[h] if inspected[i] else math.inf
        hours[i] = rules.hours_worked(pressure[minder[i]], hours_base, hours_max, cap)
        gross[i] = rules.gross_wage(wages[host[i]], productivity[i], hours[i], hours_base)


@kernel
def camp_sums(camp, alive, gross, plan_of_row, n_camps):
    """Phase 5 under a group quota: each camp's gross and quota this month, added in worker-id order."""
    camp_gross = np.zeros(n_camps)
    quota = np.zeros(n_camps)
    present = np.zeros(n_camps, dtype=np.bool_)
    for i in range(len(camp)):
        if alive[i]:
            camp_gross[camp[i]] += gross[i]
            quota[camp[i]] += plan_of_row[i]
            present[camp[i]] = True
    return camp_gross, quota, present


@kernel
def camp_arrears(present, camp_gross, camp_due, arrears):
    """Group quota: what each camp with workers still owes the plan after this month."""
    for c in range(len(present)):
        if present[c]:
            arrears[c] = rules.plan_arrears(camp_gross[c], camp_due[c])


@kernel
def alarm(alarmed, base, extra, boost):
    """After an escape: every minder of the camp watches harder (staged after phase 9)."""
    for m in range(len(alarmed)):
        if alarmed[m]:
            extra[m] = rules.alarm_extra(base[m], extra[m], boost)


@kernel
def remap_minders(status, minder, remap, active):
    """Workers still posted follow their punished minder's replacement (staged after phase 9)."""
    for i in range(len(status)):
        if status[i] == active:
            minder[i] = remap[minder[i]]


@kernel
def remit_side_jobs_threat(alive, ids, host, minder, camp, gross, plans, rule_code, camp_gross, camp_due, fees_share,
                           share, direct_wages, coercion, key_direct, ledger_monthly, side_wages, greed, expected_share,
                           side_job_seek, side_job_share, side_bribe_share, key_seek, key_grant, threat_prob,
                           threat_bribe, key_threat, memory, closed,
                           plan, plan_arrears, ledger, cash, shortfall, retained_total, bribes_total, side_earnings_total,
                           entry_debt, kept_avg, gross_avg,
                           take, side, bribes, retained, short_flag, sent_home_rows):
    """Phases 5-7 for every worker who works: the remittance rule, side jobs sold by the minder, the send-home
    threat, and the month's books (what he kept, his debts, his running averages). Writes the rows of those
    sent home, in id order, to ``sent_home_rows`` and returns how many."""
    n_sent = 0
    for i in range(len(ids)):
        take[i] = 0.0
        side[i] = 0.0
        bribes[i] = 0.0
        retained[i] = 0.0
        short_flag[i] = 0.0
        if not alive[i]:
            plan[i] = 0.0
            shortfall[i] = 0.0
            continue
        h = host[i]
        p = plans[h]
        plan[i] = p
        # 5. the remittance rule (a complying employer pays the worker directly)
        c = direct_wages[h]
        direct = c > 0 and uniform_at(key_direct, ids[i]) < c
        t, arrears, credit = rules.remit(rule_code, gross[i], p, plan_arrears[i], camp_gross[camp[i]],
                                         camp_due[camp[i]], fees_share, share, direct, coercion[h], ledger_monthly)
        plan_arrears[i] = arrears
        take[i] = t
        ledger[i] += credit
        cash[i] += gross[i] - t - credit
        # 6. side jobs (draws only for who may want one: a counter-based draw depends on nothing else)
        s = 0.0
        s_bribe = 0.0
        if side_wages[h] > 0 and rules.short_of_expectation(kept_avg[i], gross_avg[i], expected_share):
            if rules.wants_side_job(kept_avg[i], gross_avg[i], expected_share, uniform_at(key_seek, ids[i]), side_job_seek):
                if rules.side_job_granted(greed[minder[i]], uniform_at(key_grant, ids[i])):
                    s = rules.side_earnings(side_wages[h], side_job_share)
                    s_bribe = s * side_bribe_share
        cash[i] += s - s_bribe
        # 7. the send-home threat
        short = rules.plan_shortfall(gross[i], p)
        shortfall[i] = short
        short_flag[i] = 1.0 if short > 0 else 0.0
        threat = short > 0 and rules.threatened(short, uniform_at(key_threat, ids[i]), threat_prob)
        pays = threat and rules.pays_to_stay(cash[i], threat_bribe)
        t_bribe = threat_bribe if pays else 0.0
        cash[i] -= t_bribe
        kept = rules.retained(gross[i], s, t, s_bribe, t_bribe)
        retained[i] = kept
        side[i] = s
        bribes[i] = s_bribe + t_bribe
        retained_total[i] += kept
        bribes_total[i] += s_bribe + t_bribe
        side_earnings_total[i] += s
        entry_debt[i] = rules.repay_entry_debt(entry_debt[i], kept)
        kept_avg[i] = rules.running_average(kept_avg[i], kept, memory)
        gross_avg[i] = rules.running_average(gross_avg[i], gross[i] + s, memory)
        if threat and not pays and not closed[h]:
            sent_home_rows[n_sent] = i
            n_sent += 1
    return n_sent


@kernel
def consider_escape(status, active, ids, host, minder, team, informant, passport_held, inspected, informants, kept_avg, gross_avg,
                    hours, entry_debt, plan_arrears, plan, loyalty, risk_aversion, family, routes, asylum_boost,
                    return_passports, vig_base, vig_extra, expected_share, hours_base, hours_max, weight_pay,
                    weight_hours, weight_debt, passport_effect, reprisal_severity, threshold, steepness, attempt_rate,
                    report_prob, key_intend, key_report, key_success, attempts, caught_rows, escaped_rows):
    """Phases 8-9: who intends to escape (Epstein's rule), who is reported by an informant, who gets away.
    Counts the attempts per host; writes the rows of the caught and of the escaped, each in id order;
    returns how many of each."""
    n_caught = 0
    n_escaped = 0
    for i in range(len(ids)):
        if status[i] != active:
            continue
        u = uniform_at(key_intend, ids[i])
        if u >= attempt_rate:
            continue  # the chance of trying never exceeds attempt_rate
        h = host[i]
        m = minder[i]
        passport = passport_held[i] and not (return_passports[h] and inspected[i])
        success, chance = rules.escape_chances(
            kept_avg[i], gross_avg[i], hours[i], entry_debt[i] + plan_arrears[i], plan[i], loyalty[i], risk_aversion[i],
            family[i], routes[h], asylum_boost[h], rules.minder_vigilance(vig_base[m], vig_extra[m]), passport,
            expected_share, hours_base, hours_max, weight_pay, weight_hours, weight_debt, passport_effect,
            reprisal_severity, threshold, steepness, attempt_rate)
        if u < chance:
            attempts[h] += 1
            n_inf = informants[team[i]] - (1 if informant[i] else 0)
            if not uniform_at(key_report, ids[i]) < rules.reported_prob(n_inf, report_prob) and \
                    uniform_at(key_success, ids[i]) < success:
                escaped_rows[n_escaped] = i
                n_escaped += 1
            else:
                caught_rows[n_caught] = i
                n_caught += 1
    return n_caught, n_escaped


@kernel
def deaths(status, active, ids, hours, rate, hours_slope, hours_base, death_prob_max, key_death, dead_rows):
    """Phase 10: a death hazard rising with hours, for every worker still posted (a draw above the hazard at
    the longest hours, ``death_prob_max``, cannot be a death: the hazard is not computed, as in the mesa
    engine). Writes the rows of the dead (in id order) to ``dead_rows``; returns how many."""
    k = 0
    for i in range(len(ids)):
        if status[i] != active:
            continue
        u = uniform_at(key_death, ids[i])
        if u < death_prob_max and u < rules.death_prob(hours[i], rate, hours_slope, hours_base):
            dead_rows[k] = i
            k += 1
    return k
@kernel
def place_newcomers(counts, camp_host, camp_occ, n_camps, camp_size, mr_start, mr_end, mr_id, mr_room, minder_ratio,
                    tr_start, tr_end, tr_id, tr_room, team_size, n_minders, next_team, camp_of, minder_of, team_of,
                    new_camp_host, new_minder_camp, new_minder_host, new_team_minder):
    """Phase 2's placement of a month's newcomers, host by host in id order: into the host's camps with room (in
    camp-id order), then new camps of ``camp_size``; within a camp, to its minders with room, then new minders;
    within a minder, to his teams with room, then new teams. ``camp_occ`` has room for the new camps;
    ``mr_*`` and ``tr_*`` list the minders with room per camp and the teams with room per minder (as they were
    before this month's newcomers). Returns how many camps, minders and teams were made."""
    n_before = n_camps
    made_camps = 0
    made_minders = 0
    made_teams = 0
    i = 0
    for h in range(len(counts)):
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
                new_camp_host[made_camps] = h
                made_camps += 1
                k = min(camp_size, left_host)
            camp_occ[camp] += k
            left_host -= k
            # within the camp: its minders with room (an existing camp only), then new minders
            left_camp = k
            r = mr_start[camp] if camp < n_before else 0
            r_end = mr_end[camp] if camp < n_before else 0
            while left_camp > 0:
                if r < r_end:
                    mid = mr_id[r]
                    j = min(mr_room[r], left_camp)
                    existing = True
                    r += 1
                else:
                    mid = n_minders + made_minders
                    new_minder_camp[made_minders] = camp
                    new_minder_host[made_minders] = h
                    made_minders += 1
                    j = min(minder_ratio, left_camp)
                    existing = False
                left_camp -= j
                # within the minder: his teams with room (an existing minder only), then new teams
                left_minder = j
                t = tr_start[mid] if existing else 0
                t_end = tr_end[mid] if existing else 0
                while left_minder > 0:
                    if t < t_end:
                        team = tr_id[t]
                        q = min(tr_room[t], left_minder)
                        t += 1
                    else:
                        team = next_team + made_teams
                        new_team_minder[made_teams] = mid
                        made_teams += 1
                        q = min(team_size, left_minder)
                    for _ in range(q):
                        camp_of[i] = camp
                        minder_of[i] = mid
                        team_of[i] = team
                        i += 1
                    left_minder -= q
    return made_camps, made_minders, made_teams


@kernel
def informants_per_team(status, active, informant, team, n_teams):
    """Phase 8's input: the informants still posted in each team."""
    counts = np.zeros(n_teams, dtype=np.int64)
    for i in range(len(team)):
        if status[i] == active and informant[i]:
            counts[team[i]] += 1
    return counts


@kernel
def contracts(status, months_abroad, contract_months, minder, n_minders, active, ids, host, closed, stranded_return,
              key_return, completed_rows):
    """Phase 11: one more month abroad for every worker still posted; who completes his contract (his row
    written to ``completed_rows``, in id order); how many workers each minder has left after them.
    Returns (how many completed, workers left per minder)."""
    left = np.zeros(n_minders, dtype=np.int64)
    k = 0
    for i in range(len(status)):
        if status[i] == active:
            months_abroad[i] += 1
            m = months_abroad[i]
            shut = closed[host[i]]
            u = uniform_at(key_return, ids[i]) if m > contract_months and not shut else 1.0
            if m >= contract_months and rules.contract_ends(m, contract_months, shut, u, stranded_return):
                completed_rows[k] = i
                k += 1
            else:
                left[minder[i]] += 1
    return k, left


@kernel
def leaver_sums(month_left, month, host, lost, ledger_paid, n_hosts):
    """Phase 13: what this month's leavers lost and were paid of their ledgers, per host, added in worker-id order."""
    forfeited = np.zeros(n_hosts)
    paid = np.zeros(n_hosts)
    for i in range(len(host)):
        if month_left[i] == month:
            forfeited[host[i]] += lost[i]
            paid[host[i]] += ledger_paid[i]
    return forfeited, paid


@kernel
def posted_counts(status, active, host, minder, team, n_hosts, n_minders, n_teams):
    """Phase 2's inputs: the workers posted now per host, per minder and per team (one pass)."""
    by_host = np.zeros(n_hosts)
    by_minder = np.zeros(n_minders, dtype=np.int64)
    by_team = np.zeros(n_teams, dtype=np.int64)
    for i in range(len(status)):
        if status[i] == active:
            by_host[host[i]] += 1.0
            by_minder[minder[i]] += 1
            by_team[team[i]] += 1
    return by_host, by_minder, by_team


@kernel
def money_inputs(alive, status, host, take, completed, repatriated, n_hosts):
    """Phase 12's inputs: the month's take per host (added in worker-id order) and the workers who worked and
    are going home (who can carry cash) per host."""
    take_by_host = np.zeros(n_hosts)
    returning = np.zeros(n_hosts, dtype=np.int64)
    for i in range(len(host)):
        if alive[i]:
            take_by_host[host[i]] += take[i]
            if status[i] == completed or status[i] == repatriated:
                returning[host[i]] += 1
    return take_by_host, returning


@kernel
def compact_columns(keep, columns):
    """Move the kept rows of each column to its front, in order (in place); returns how many were kept."""
    k = 0
    for a in columns:
        k = 0
        for i in range(len(keep)):
            if keep[i]:
                a[k] = a[i]
                k += 1
    return k


@kernel
def repatriate(status, active, ids, host, legal, permit_hazard, detection, evasion, cuts, key_rep, key_relabel,
               key_route, rows):
    """Phase 2 under a mandate: each posted worker's fate (`rules.repatriation_fate`): his legal status may
    change (relabelled); the rows of those sent home are written to ``rows`` in id order; returns how many."""
    k = 0
    for i in range(len(ids)):
        if status[i] != active:
            continue
        h = host[i]
        if permit_hazard[h] <= 0 and detection[h, 0] <= 0 and detection[h, 1] <= 0 and detection[h, 2] <= 0:
            continue
        fate = rules.repatriation_fate(legal[i], uniform_at(key_rep, ids[i]), uniform_at(key_relabel, ids[i]),
                                       uniform_at(key_route, ids[i]), permit_hazard[h], detection[h, 0],
                                       detection[h, 1], detection[h, 2], evasion[h], cuts[h, 0], cuts[h, 1])
        if fate == 4:
            rows[k] = i
            k += 1
        else:
            legal[i] = fate
    return k
