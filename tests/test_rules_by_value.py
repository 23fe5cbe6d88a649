"""Each rule of `sim/core/rules.py` checked at uneven, non-default inputs against values worked out independently.

Issue 19, item 1. The expected numbers come from the equations of docs/ODD.md section 7
(quoted at each test), worked out by hand (the literal numbers) or written out
again here from the ODD's text, never copied from a rule's body. The inputs are
uneven on purpose (coercion 0.2 not 0.5, memory 0.2, compliance 0.3 and 0.7,
nonzero fees, hours above a cap, ...) so that a swapped argument, ``1 - x`` for
``x``, per 1,000 for per 10,000 or a missing clip gives a different number.

The scalar rules are called as plain Python (`rules.plain.<name>`: the same
code objects the compiled build runs; `tests/test_rules.py` checks the two agree
to the last bit), so this file needs no compilation and runs in well under a
second. The state's vectorised rules are plain numpy functions, called directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import Params
from sim.core import rules
from sim.core.params import make_params

P = rules.plain  # attribute look-up at call time: a rule can be swapped out to check that a test catches it


def close(expected, rel=1e-12, abs=1e-12):
    if isinstance(expected, list) and expected and isinstance(expected[0], (list, np.ndarray)):
        expected = np.array(expected, dtype=float)  # approx compares nested values as an array
    return pytest.approx(expected, rel=rel, abs=abs)


# ---------------------------------------------------------------- 7.3 phase 3: pressure


def test_minder_pressure():
    """ODD 7.3: ``pressure = clip(pressure_base + pressure_gain × ratio, 0, 1)``."""
    # 0.2 + 2.5 × 0.13 = 0.525
    assert P.minder_pressure(0.13, 0.2, 2.5) == close(0.525)
    # 0.15 + 2.5 × 0.4 = 1.15 -> clipped to 1
    assert P.minder_pressure(0.4, 0.15, 2.5) == 1.0
    # 0.2 + 2.5 × (-0.3) = -0.55 -> clipped to 0
    assert P.minder_pressure(-0.3, 0.2, 2.5) == 0.0


# ---------------------------------------------------------------- 7.4 phase 4: work


def test_hours_worked():
    """ODD 7.4: ``hours = min(hours_base + pressure × (hours_max − hours_base), cap)``."""
    # 11 + 0.35 × (17.5 − 11) = 11 + 2.275 = 13.275, no cap
    assert P.hours_worked(0.35, 11.0, 17.5, math.inf) == close(13.275)
    # the same hours under a looser cap
    assert P.hours_worked(0.35, 11.0, 17.5, 14.0) == close(13.275)
    # above an inspected employer's cap of 12.5: the cap
    assert P.hours_worked(0.35, 11.0, 17.5, 12.5) == 12.5


def test_hours_at_the_defaults_are_13_2():
    """ODD 7.4: "At the defaults and no shortfall, hours = 12 + 0.2 × 6 = 13.2"."""
    p = Params()
    assert P.hours_worked(p.minder.pressure_base, p.work.hours_base, p.work.hours_max, math.inf) == close(13.2)


def test_gross_wage():
    """ODD 7.4: ``gross = wage_h × productivity × hours / hours_base``."""
    # 820 × 1.15 × 13.275 / 11 = 943 × 13.275 / 11 = 12518.325 / 11
    assert P.gross_wage(820.0, 1.15, 13.275, 11.0) == close(12518.325 / 11.0)
    assert P.gross_wage(820.0, 1.15, 13.275, 11.0) == close(1138.0295454545454)
    # at the base hours, wage × productivity: 640 × 0.8 = 512
    assert P.gross_wage(640.0, 0.8, 12.0, 12.0) == close(512.0)


# ---------------------------------------------------------------- 7.5 phase 5: the remittance rule


def test_plan_take_above_and_below_what_is_due():
    """ODD 7.5: ``paid = min(gross, due); take = paid + fees_share × (gross − paid)``."""
    # gross 523, due 317: 317 + 0.13 × 206 = 317 + 26.78
    assert P.plan_take(523.0, 317.0, 0.13) == close(343.78)
    # gross 211 below due 317: everything, no fees on nothing left
    assert P.plan_take(211.0, 317.0, 0.13) == close(211.0)


def test_plan_arrears():
    """ODD 7.5: ``arrears ← due − paid`` with ``paid = min(gross, due)``."""
    assert P.plan_arrears(211.0, 317.0) == close(106.0)  # 317 − 211
    assert P.plan_arrears(523.0, 317.0) == 0.0  # 317 − 317


def test_share_take():
    """ODD 7.5: ``take = share × gross``."""
    assert P.share_take(523.0, 0.37) == close(193.51)


def test_group_quota_take():
    """ODD 7.5: ``ratio = min(camp_due / camp_gross, 1)`` (0 if camp_gross = 0);
    ``take = ratio × gross + fees_share × (gross − ratio × gross)``."""
    # ratio 1330 / 1900 = 0.7: 0.7 × 240 + 0.13 × 72 = 168 + 9.36
    assert P.group_quota_take(240.0, 1900.0, 1330.0, 0.13) == close(177.36)
    # the camp owes more than it earns: ratio 1, he pays all his gross
    assert P.group_quota_take(240.0, 1900.0, 2500.0, 0.13) == close(240.0)
    # no camp gross: ratio 0, only the fees
    assert P.group_quota_take(240.0, 0.0, 1330.0, 0.13) == close(0.13 * 240.0)


def test_direct_wage_take():
    """ODD 7.5: ``take ← coercion × take``."""
    assert P.direct_wage_take(431.5, 0.2) == close(86.3)
    assert P.direct_wage_take(431.5, 0.7) == close(302.05)


def test_ledger_credit():
    """ODD 7.5: ``credit = min(max(kept, 0), ledger_monthly)``."""
    assert P.ledger_credit(180.0, 45.0) == close(45.0)  # more kept than the ledger takes
    assert P.ledger_credit(30.0, 45.0) == close(30.0)  # all he keeps
    assert P.ledger_credit(-12.0, 45.0) == 0.0  # nothing kept


def test_remit_plan_rule():
    """ODD 7.5, plan rule: ``due = plan_h + plan_arrears``, ``take = paid + fees_share × (gross − paid)``,
    ``arrears ← due − paid``; ``kept = gross − take``, ``credit = min(max(kept, 0), ledger_monthly)``."""
    # args: rule, gross, plan, arrears, camp_gross, camp_due, fees, share, direct, coercion, ledger_monthly
    # due = 250 + 67 = 317; take = 317 + 0.13 × 206 = 343.78; kept 179.22 > ledger 45
    take, arrears, credit = P.remit(0, 523.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, False, 0.2, 45.0)
    assert (take, arrears, credit) == (close(343.78), close(0.0), close(45.0))
    # a larger ledger writes all he keeps: 523 − 343.78 = 179.22
    take, arrears, credit = P.remit(0, 523.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, False, 0.2, 200.0)
    assert (take, arrears, credit) == (close(343.78), close(0.0), close(179.22))
    # gross 211 below the due 317: all taken, 106 carried, nothing kept to write down
    take, arrears, credit = P.remit(0, 211.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, False, 0.2, 45.0)
    assert (take, arrears, credit) == (close(211.0), close(106.0), close(0.0))


def test_remit_plan_rule_paid_directly():
    """ODD 7.5: paid directly, ``take ← coercion × take`` and the ledger credit is 0 ("none if paid directly");
    the arrears are still ``due − min(gross, due)``."""
    take, arrears, credit = P.remit(0, 523.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, True, 0.2, 45.0)
    assert (take, arrears, credit) == (close(0.2 * 343.78), close(0.0), 0.0)  # 68.756
    take, arrears, credit = P.remit(0, 211.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, True, 0.7, 45.0)
    assert (take, arrears, credit) == (close(0.7 * 211.0), close(106.0), 0.0)  # 147.7


def test_remit_share_rule():
    """ODD 7.5, share rule: ``take = share × gross``; the plan's arrears are untouched (plan rule only, ODD 2.1)."""
    # 0.37 × 523 = 193.51; kept 329.49 > ledger 45
    take, arrears, credit = P.remit(1, 523.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, False, 0.2, 45.0)
    assert (take, arrears, credit) == (close(193.51), close(67.0), close(45.0))
    take, arrears, credit = P.remit(1, 523.0, 250.0, 67.0, 5000.0, 100.0, 0.13, 0.37, True, 0.2, 45.0)
    assert (take, arrears, credit) == (close(0.2 * 193.51), close(67.0), 0.0)


def test_remit_group_quota_rule():
    """ODD 7.5, group quota: ``ratio = min(camp_due / camp_gross, 1)``,
    ``take = ratio × gross + fees_share × (gross − ratio × gross)``."""
    # ratio 0.7: take 177.36, kept 62.64 under a ledger of 200
    take, arrears, credit = P.remit(2, 240.0, 250.0, 0.0, 1900.0, 1330.0, 0.13, 0.37, False, 0.2, 200.0)
    assert (take, credit) == (close(177.36), close(62.64))
    take, arrears, credit = P.remit(2, 240.0, 250.0, 0.0, 1900.0, 1330.0, 0.13, 0.37, True, 0.7, 200.0)
    assert (take, credit) == (close(0.7 * 177.36), 0.0)


def test_expected_takes():
    """ODD 7.15: ``kept0 = gross0 − expected_take(gross0)`` (share rule: ``share × gross0``; plan and group_quota:
    ``plan_take(gross0, plan_h, fees_share)``)."""
    gross = np.array([523.0, 211.0])
    plan = np.array([317.0, 250.0])
    # plan: [317 + 0.13 × 206, 211 (all of it, below the plan)]
    assert P.expected_takes(gross, plan, rules.RULE_CODES["plan"], np.full(2, 0.13), 0.37) == close([343.78, 211.0])
    assert P.expected_takes(gross, plan, rules.RULE_CODES["group_quota"], np.full(2, 0.13), 0.37) == close(
        [343.78, 211.0]
    )
    # share: 0.37 × gross
    assert P.expected_takes(gross, plan, rules.RULE_CODES["share"], np.full(2, 0.13), 0.37) == close([193.51, 78.07])


# ---------------------------------------------------------------- 7.6 phase 6: side jobs


def test_side_earnings():
    """ODD 7.6: ``side = side_wage_h × side_job_share``."""
    assert P.side_earnings(300.0, 0.45) == close(135.0)


def test_wants_side_job_and_granted():
    """ODD 7.6: ``asks = kept_avg < expected_share × gross_avg and draw < side_job_seek``;
    ``granted = draw < greed_minder``."""
    # expected 0.6 × 400 = 240: keeping 230 he is short, keeping 250 he is not
    assert P.short_of_expectation(230.0, 400.0, 0.6)
    assert not P.short_of_expectation(250.0, 400.0, 0.6)
    assert P.wants_side_job(230.0, 400.0, 0.6, 0.2, 0.3)
    assert not P.wants_side_job(230.0, 400.0, 0.6, 0.5, 0.3)  # draw 0.5 ≥ seek 0.3 (would pass with 1 − seek)
    assert not P.wants_side_job(250.0, 400.0, 0.6, 0.2, 0.3)
    assert P.side_job_granted(0.35, 0.3)
    assert not P.side_job_granted(0.35, 0.5)  # draw 0.5 ≥ greed 0.35 (would pass with 1 − greed)


# ---------------------------------------------------------------- 7.7 phase 7: threat and books


def test_plan_shortfall():
    """ODD 7.7: ``shortfall = max(plan_h − gross, 0)``."""
    assert P.plan_shortfall(211.0, 250.0) == close(39.0)
    assert P.plan_shortfall(300.0, 250.0) == 0.0


def test_threatened():
    """ODD 7.7: ``threatened = shortfall > 0 and draw("threat") < threat_prob``."""
    assert P.threatened(39.0, 0.29, 0.3)
    assert not P.threatened(39.0, 0.3, 0.3)  # strict
    assert not P.threatened(39.0, 0.5, 0.3)  # would be threatened with 1 − threat_prob
    assert not P.threatened(0.0, 0.0, 0.3)  # no shortfall, no threat


def test_pays_to_stay():
    """ODD 7.7: ``stays = cash ≥ threat_bribe``."""
    assert P.pays_to_stay(50.0, 50.0)
    assert P.pays_to_stay(80.0, 50.0)
    assert not P.pays_to_stay(49.99, 50.0)


def test_retained():
    """ODD 7.7: ``retained = gross + side − take − side_bribe − threat_bribe``."""
    # 640 + 90 − 410 − 27 − 50 = 243
    assert P.retained(640.0, 90.0, 410.0, 27.0, 50.0) == close(243.0)
    # the bribes in the other order give the same, but the side pay is added, not taken
    assert P.retained(640.0, 90.0, 410.0, 50.0, 27.0) == close(243.0)


def test_debt_payment():
    """ODD 7.7: ``paid = min(entry_debt, max(cash, 0) × debt_repay_share)``, out of his cash."""
    assert P.debt_payment(700.0, 243.0, 0.5) == close(121.5)
    assert P.debt_payment(700.0, 243.0, 1.0) == close(243.0)
    assert P.debt_payment(100.0, 243.0, 0.5) == close(100.0)  # paid off, never more than he owes
    assert P.debt_payment(700.0, -80.0, 0.5) == 0.0  # no cash, no payment (and no new debt)
    assert P.debt_payment(700.0, 243.0, 0.0) == 0.0


def test_carries_out_threat():
    """ODD 7.7: sent home when ``draw("threat") < threat_prob × enforce_h``: the draw that threatened him."""
    assert P.carries_out_threat(0.29, 0.3, 1.0)  # enforce 1: every threatened worker who cannot pay
    assert P.carries_out_threat(0.14, 0.3, 0.5)
    assert not P.carries_out_threat(0.15, 0.3, 0.5)  # strict: 0.3 × 0.5
    assert not P.carries_out_threat(0.0, 0.3, 0.0)  # enforce 0: nobody


def test_running_average():
    """ODD 7.7: ``kept_avg ← (1 − memory) × kept_avg + memory × retained``."""
    # 0.8 × 300 + 0.2 × 180 = 240 + 36 (the swapped weights would give 204)
    assert P.running_average(300.0, 180.0, 0.2) == close(276.0)
    assert P.running_average(300.0, 180.0, 0.7) == close(216.0)  # 90 + 126


# ---------------------------------------------------------------- 7.8 phase 8: intention and reports


def test_hardship():
    """ODD 7.8: ``pay_gap = clip(1 − kept_avg / max(expected_share × gross_avg, 1e−9), 0, 1)``,
    ``overwork = clip((hours − hours_base) / (hours_max − hours_base), 0, 1)`` (0 if hours_max = hours_base),
    ``debt_load = debt / (debt + 6 × max(plan_h, 1))``, hardship their weighted mean."""
    # pay_gap = 1 − 180 / (0.6 × 400) = 0.25; overwork = (14 − 12) / (18 − 12) = 1/3;
    # debt_load = 900 / (900 + 6 × 300) = 1/3; weights 0.5, 0.2, 0.4 (summing to 1.1, not 1)
    expected = (0.5 * 0.25 + 0.2 / 3.0 + 0.4 / 3.0) / (0.5 + 0.2 + 0.4)
    assert P.hardship(180.0, 400.0, 14.0, 900.0, 300.0, 0.6, 12.0, 18.0, 0.5, 0.2, 0.4) == close(expected)
    assert P.hardship(180.0, 400.0, 14.0, 900.0, 300.0, 0.6, 12.0, 18.0, 0.5, 0.2, 0.4) == close(0.2954545455, rel=1e-9)
    # clips: keeps more than expected (gap 0), hours 20 above the max (overwork 1), plan 0.4 counts as 1:
    # debt_load = 6 / (6 + 6) = 0.5
    expected = (0.5 * 0.0 + 0.2 * 1.0 + 0.4 * 0.5) / 1.1
    assert P.hardship(300.0, 400.0, 20.0, 6.0, 0.4, 0.6, 12.0, 18.0, 0.5, 0.2, 0.4) == close(expected)
    # hours_max = hours_base: overwork 0
    assert P.hardship(180.0, 400.0, 14.0, 0.0, 300.0, 0.6, 12.0, 12.0, 0.5, 0.2, 0.4) == close(0.5 * 0.25 / 1.1)


def test_grievance():
    """ODD 7.8: ``grievance = hardship × (1 − loyalty)``."""
    assert P.grievance(0.6, 0.3) == close(0.42)
    assert P.grievance(0.6, 0.7) == close(0.18)


def test_minder_vigilance():
    """ODD 2.2: ``vigilance = min(1, vigilance_base + vigilance_extra)``."""
    assert P.minder_vigilance(0.55, 0.3) == close(0.85)
    assert P.minder_vigilance(0.75, 0.4) == 1.0


def test_open_route():
    """ODD 7.8: ``route = escape_route_h + (1 − escape_route_h) × asylum_boost_h``."""
    assert P.open_route(0.3, 0.4) == close(0.58)  # 0.3 + 0.7 × 0.4
    assert P.open_route(0.3, 0.0) == close(0.3)


def test_escape_success_prob():
    """ODD 7.8: ``success = route × (1 − vigilance_minder) × (1 − passport_effect × [passport])``."""
    # 0.4 × 0.7 × (1 − 0.6) = 0.112
    assert P.escape_success_prob(0.4, 0.3, 1.0, 0.6) == close(0.112)
    # no passport held: 0.4 × 0.7 = 0.28
    assert P.escape_success_prob(0.4, 0.3, 0.0, 0.6) == close(0.28)


def test_escape_risk():
    """ODD 7.8: ``risk = risk_aversion × (1 − success) + reprisal_severity × family``."""
    # 0.7 × (1 − 0.112) + 0.25 × 0.6 = 0.6216 + 0.15
    assert P.escape_risk(0.7, 0.112, 0.25, 0.6) == close(0.7716)


def test_attempt_prob():
    """ODD 7.8: ``z = clip((grievance − risk − threshold) / steepness, −50, 50)``;
    ``attempt = attempt_rate / (1 + exp(−z))``."""
    # z = (0.42 − 0.25 − 0.1) / 0.08 = 0.875
    assert P.attempt_prob(0.42, 0.25, 0.1, 0.08, 0.03) == close(0.03 / (1.0 + math.exp(-0.875)))
    assert P.attempt_prob(0.42, 0.25, 0.1, 0.08, 0.03) == close(0.0211735508, rel=1e-8)
    # G − N − T = 0: half the opportunity rate
    assert P.attempt_prob(0.45, 0.25, 0.2, 0.08, 0.03) == close(0.015)
    # z = −1.2 / 0.01 = −120, clipped to −50 (unclipped it would be 0.03 / (1 + e^120))
    assert P.attempt_prob(0.0, 1.0, 0.2, 0.01, 0.03) == close(0.03 / (1.0 + math.exp(50.0)), rel=1e-9, abs=0.0)
    # z = −20 / 0.01 = −2000: still e^50 in the denominator (e^2000 is beyond a float)
    assert P.attempt_prob(0.0, 20.0, 0.0, 0.01, 0.03) == close(0.03 / (1.0 + math.exp(50.0)), rel=1e-9, abs=0.0)
    # z = +2000, clipped to 50
    assert P.attempt_prob(20.0, 0.0, 0.0, 0.01, 0.03) == close(0.03 / (1.0 + math.exp(-50.0)))


def test_escape_chances_combines_the_phase_8_equations():
    """ODD 7.8 end to end: hardship -> grievance; route opened by asylum, cut by vigilance and passport -> success;
    risk from success and family; attempt from the logistic."""
    # hardship 0.25 / 1 (pay gap only: base hours, no debt); grievance 0.25 × (1 − 0.3) = 0.175
    # route 0.3 + 0.7 × 0.4 = 0.58; success 0.58 × (1 − 0.35) × (1 − 0.6) = 0.1508
    # risk 0.7 × (1 − 0.1508) + 0.25 × 0.6 = 0.59444 + 0.15 = 0.74444
    # z = (0.175 − 0.74444 − (−0.6)) / 0.05 = 0.61120
    success, attempt = P.escape_chances(
        180.0,
        400.0,
        12.0,
        0.0,
        300.0,
        0.3,
        0.7,
        0.6,
        0.3,
        0.4,
        0.35,
        True,
        0.6,
        12.0,
        18.0,
        1.0,
        0.0,
        0.0,
        0.6,
        0.25,
        -0.6,
        0.05,
        0.03,
    )
    assert success == close(0.1508)
    assert attempt == close(0.03 / (1.0 + math.exp(-0.6112)), rel=1e-10)


def test_reported_prob():
    """ODD 7.8: ``reported = draw < 1 − (1 − report_prob)^n``."""
    assert P.reported_prob(3, 0.15) == close(0.385875)  # 1 − 0.85³ = 1 − 0.614125
    assert P.reported_prob(1, 0.15) == close(0.15)
    assert P.reported_prob(0, 0.15) == 0.0


# ---------------------------------------------------------------- 7.9 phase 9: the alarm


def test_alarm_extra():
    """ODD 7.9: ``vigilance_extra ← min(1 − vigilance_base, vigilance_extra + vigilance_boost)``."""
    assert P.alarm_extra(0.4, 0.1, 0.2) == close(0.3)  # 0.1 + 0.2 under 1 − 0.4
    assert P.alarm_extra(0.75, 0.1, 0.2) == close(0.25)  # capped at 1 − 0.75


# ---------------------------------------------------------------- 7.10 phase 10: deaths


def test_death_prob():
    """ODD 7.10: ``p_death = rate / 120,000 × exp(hours_slope × (hours − hours_base))`` (rate per 10,000
    worker-years)."""
    # 16 / 120000 × exp(0.12 × 3)
    assert P.death_prob(14.5, 16.0, 0.12, 11.5) == close(16.0 / 120_000.0 * math.exp(0.36))
    assert P.death_prob(14.5, 16.0, 0.12, 11.5) == close(1.911106e-4, rel=1e-6)
    # at the base hours: the rate alone, 16 per 10,000 a year = 16 / 10,000 / 12 a month
    assert P.death_prob(11.5, 16.0, 0.12, 11.5) == close(16.0 / 10_000.0 / 12.0)


def test_death_rates_at_the_defaults():
    """ODD 7.10: "At the defaults: 14.0 per 10,000 worker-years at 12 h, 16.8 at 13.2 h, 34.4 at 18 h"."""
    p = Params()
    per_10k_years = [
        P.death_prob(h, p.deaths.rate, p.deaths.hours_slope, p.work.hours_base) * 120_000.0 for h in (12.0, 13.2, 18.0)
    ]
    assert [round(x, 1) for x in per_10k_years] == [14.0, 16.8, 34.4]


def test_the_death_draw_cut_off_is_the_hazard_at_the_longest_hours_of_any_host():
    """Both engines skip the hazard for a draw above `death_prob_longest`, so it must be the highest monthly
    hazard any host can reach: each host's rate (``deaths.rate`` x its ``death_factor``: `death_rates`) at its own
    longest hours above its own base. Here north: 20 x 1.5 = 30 per 10,000 a year, 10 to 15 h; south: 20 x 0.5 = 10,
    8 to 18 h; slope 0.1. North reaches 30 / 120,000 x exp(0.5) = 4.122e-4, south 10 / 120,000 x exp(1.0) =
    2.265e-4: the cut-off is north's, and neither host's rate nor its hours are those of the other."""
    p = make_params(
        {
            "deaths": {"rate": 20.0, "hours_slope": 0.1},
            "hosts": {
                "north": {"workers": 10, "wage": 500, "death_factor": 1.5, "hours_base": 10.0, "hours_max": 15.0},
                "south": {"workers": 10, "wage": 500, "death_factor": 0.5, "hours_base": 8.0, "hours_max": 18.0},
            },
        }
    )
    rates = rules.death_rates(p)
    assert rates == [30.0, 10.0]
    north, south = 30.0 / 120_000.0 * math.exp(0.5), 10.0 / 120_000.0 * math.exp(1.0)
    assert rules.death_prob_longest(p, rates) == close(north) and north > south
    assert rules.death_prob_longest(p, [10.0, 30.0]) == close(30.0 / 120_000.0 * math.exp(1.0))  # rates swapped


def test_pay_received():
    """A share ``lost`` of the employer's payment never arrives (`Levers.pay_lost`): 800 x (1 - 0.25) = 600; none
    lost, the payment itself."""
    assert P.pay_received(800.0, 0.25) == close(600.0)
    assert P.pay_received(800.0, 0.0) == 800.0
    assert P.pay_received(800.0, 1.0) == 0.0


# ---------------------------------------------------------------- 7.11 phase 11: contracts end


def test_contract_ends():
    """ODD 7.11: home at ``months_abroad = contract_months`` unless the border is closed; past the contract,
    with chance ``stranded_return`` a month once it is open."""
    assert not P.contract_ends(35, 36, False, 0.0, 0.15)
    assert P.contract_ends(36, 36, False, 0.99, 0.15)
    assert not P.contract_ends(36, 36, True, 0.0, 0.15)  # stranded
    assert P.contract_ends(40, 36, False, 0.1, 0.15)
    assert not P.contract_ends(40, 36, False, 0.5, 0.15)  # would go with 1 − stranded_return


# ---------------------------------------------------------------- 7.2 phase 2: the state's vectorised rules


def test_reachable_share():
    """ODD 7.2.4: ``reachable_h = (1 − ban_h (1 − evasion_ban_h)) (1 − rep_h (1 − evasion_rep_h))``."""
    # (1 − 0.6 × 0.75) × (1 − 0.3 × 0.6) = 0.55 × 0.82 = 0.451
    got = rules.reachable_share(
        np.array([0.6, 0.2, 0.0]), np.array([0.25, 0.5, 0.9]), np.array([0.3, 0.0, 0.0]), np.array([0.4, 0.0, 0.0])
    )
    assert got == close([0.451, 0.9, 1.0])


def test_legal_thresholds():
    """ODD 7.2.3: ``permit = (1 − ban)(1 − rep) / reachable``; ``student = (1 − permit) × route_student / Σ routes``,
    tourist and other likewise (as shares; the thresholds are their running sums: permit below the first,
    student below the second, tourist below the third, other above)."""
    ban = np.array([0.6, 0.2, 0.0])
    evasion = np.array([0.25, 0.5, 0.0])
    rep = np.array([0.3, 0.0, 0.0])
    rep_evasion = np.array([0.4, 0.0, 0.0])
    routes = np.array([[2.0, 1.5, 0.5], [1.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    got = rules.legal_thresholds(ban, evasion, rep, rep_evasion, routes)
    # host 0: reachable 0.451 (above), permit 0.4 × 0.7 / 0.451; routes 1/2, 3/8, 1/8
    p0 = 0.28 / 0.451
    # host 1: reachable 1 − 0.2 × 0.5 = 0.9, permit 0.8 / 0.9; routes 1/4, 3/4, 0
    p1 = 0.8 / 0.9
    expected = [
        [p0, p0 + (1 - p0) * 0.5, p0 + (1 - p0) * 0.875],
        [p1, p1 + (1 - p1) * 0.25, 1.0],
        [1.0, 1.0, 1.0],
    ]  # no measures: every posting gets a permit
    assert got == close(np.array(expected))
    shares = np.diff(np.concatenate([np.zeros((3, 1)), got, np.ones((3, 1))], axis=1), axis=1)
    assert shares[0] == close([p0, (1 - p0) * 0.5, (1 - p0) * 0.375, (1 - p0) * 0.125])
    assert shares[0] == close([0.6208425721, 0.1895787140, 0.1421840355, 0.0473946785], rel=1e-8)


def test_repatriation_prob():
    """ODD 7.2.2: a steady pace, ``hazard = c / ((d − s) − c (t − s))``, which leaves 1 − c by the deadline and is
    ``1 / (d − t)`` at c = 1."""
    c = np.array([0.3, 0.7, 1.0])
    got = rules.repatriation_prob(c, 8, 3)  # d − s = 8 months, d − t = 3 left: 5 gone by
    assert got == close([0.3 / (8 - 0.3 * 5), 0.7 / (8 - 0.7 * 5), 1 / 3])
    assert got[0] == close(0.0461538462, rel=1e-8)
    # the same number a month: of 1,000 found, c x 1,000 / 8 leave each month, 1 − c remain at the deadline
    for ci in c:
        left, gone = 1000.0, []
        for months_left in range(8, 0, -1):
            p = float(rules.repatriation_prob(ci, 8, months_left))
            gone.append(left * p)
            left -= left * p
        assert gone == close([ci * 1000 / 8] * 8)
        assert left == close(1000 * (1 - ci), abs=1e-9)
    # continuous in c: just below full compliance is just below the full pace (the constant hazard jumped here)
    assert rules.repatriation_prob(0.999, 8, 8) == close(0.999 / 8)
    assert rules.repatriation_prob(0.999, 8, 1) == close(0.999 / (8 - 0.999 * 7))


def test_monthly_chance():
    """ODD 7.2.2: a yearly chance becomes ``1 − (1 − yearly)^(1/12)`` a month."""
    assert rules.monthly_chance(0.2) == close(1 - 0.8 ** (1 / 12))
    assert (1 - rules.monthly_chance(0.2)) ** 12 == close(0.8)
    assert rules.monthly_chance(0.0) == 0.0
    assert rules.monthly_chance(1.3) == 1.0  # a chance above 1 is a sure thing


def test_next_plans_raise_and_cut():
    """ODD 7.2.1:
    ``if short_share_h > plan_reach: plan_h ← max(plan_h × (1 − plan_cut), min(plan_floor × plan_initial_h, plan_h))``
    ``elif delivered_last < target: plan_h ← min(plan_h × (1 + plan_raise), plan_cap × plan_initial_h)``
    ``else: unchanged``."""
    plans = np.array([250.0, 295.0, 260.0, 152.0, 140.0, 280.0])
    initial = np.array([250.0, 250.0, 250.0, 250.0, 250.0, 250.0])
    short = np.array([0.2, 0.3, 0.65, 0.55, 0.9, 0.5])
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.2, short, 0.5, 0.03, 0.6)
    expected = [
        260.0,  # raised: 250 × 1.04 under the cap 1.2 × 250 = 300
        300.0,  # raised to the cap: 295 × 1.04 = 306.8 > 300
        252.2,  # cut: 260 × 0.97 above the floor 0.6 × 250 = 150
        150.0,  # cut to the floor: 152 × 0.97 = 147.44 < 150
        140.0,  # already below the floor: kept at its plan (min(150, 140))
        291.2,  # short share 0.5 is not above the reach 0.5: raised, 280 × 1.04
    ]
    assert got == close(np.array(expected))
    # delivered at the target: no raise, the cuts still apply
    got = rules.next_plans(plans, initial, 1000.0, 1000.0, 0.04, 1.2, short, 0.5, 0.03, 0.6)
    assert got == close([250.0, 295.0, 252.2, 150.0, 140.0, 280.0])


def test_repatriation_fate():
    """ODD 7.2.2: a permit holder is due to go with ``u < hazard``; of those due, ``draw("repatriate.relabel") <
    evasion`` are relabelled (student, tourist or other by the routes' draw) and stay, the rest leave (4); a worker
    on a visa or another status is sent home when found (``u <`` his status's monthly detection chance)."""
    # args: legal, u, u_relabel, u_route, permit_hazard, detect_student, detect_tourist, detect_other, evasion,
    #       cut_student, cut_tourist
    fate = P.repatriation_fate
    assert fate(0, 0.06, 0.2, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 0  # not due
    assert fate(0, 0.04, 0.5, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 4  # due, not relabelled
    assert fate(0, 0.04, 0.2, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 1  # relabelled a student
    assert fate(0, 0.04, 0.2, 0.5, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 2  # ... a tourist
    assert fate(0, 0.04, 0.2, 0.8, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 3  # ... another status
    assert fate(1, 0.02, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 4  # student found
    assert fate(1, 0.05, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 1  # student not found
    assert fate(2, 0.05, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 4  # tourist found (0.05 < 0.08)
    assert fate(3, 0.05, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 3  # other not found (0.05 ≥ 0.01)
    assert fate(3, 0.005, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 4


def test_deployments_counts_and_shifts():
    """ODD 7.2.4: ``new_h = floor(max(target_h × reachable_h − active_h × (1 − φ (1 − reachable_h)), 0))``;
    ``lost_h = target_h × (1 − reachable_h)``, ``room_j = max(cap_j − target_j, 0)``,
    ``gain_{h→j} = max(reachable_j − reachable_h, 0) × target_j × [room_j > 0]``,
    ``flow_{h→j} = shift_share × lost_h × gain_{h→j} / Σ_k gain_{h→k}``, ``flow_{h→j} ×= min(1, room_j / Σ_h flow_{h→j})``."""
    target = np.array([100.0, 200.0, 50.0])
    active = np.array([80.0, 150.0, 20.0])
    ban = np.array([0.5, 0.0, 0.2])
    evasion = np.array([0.2, 0.0, 0.0])
    zero = np.zeros(3)
    # reachable = [1 − 0.5 × 0.8, 1, 1 − 0.2] = [0.6, 1, 0.8]
    counts, change = rules.deployments(
        target, active, ban, evasion, zero, 0.4, np.array([200.0, 260.0, 100.0]), zero, 0.3
    )
    # h0: 60 − 80 × (1 − 0.3 × 0.4) = 60 − 70.4 < 0 -> 0; h1: 200 − 150 = 50; h2: 40 − 20 × 0.94 = 21.2 -> 21
    assert counts.tolist() == [0, 50, 21]
    # lost [40, 0, 10]; gains h0 -> [0, 0.4 × 200, 0.2 × 50] = [0, 80, 10]; h2 -> [0, 0.2 × 200, 0] = [0, 40, 0]
    # flows h0: 0.4 × 40 = 16 split 80 : 10; h2: 0.4 × 10 = 4 all to h1; rooms [100, 60, 50] are not reached
    f01, f02, f21 = 16 * 80 / 90, 16 * 10 / 90, 4.0
    assert change == close([-16.0, f01 + f21, f02 - f21])
    # with h1's cap at 210 (room 10) the 18.22 arriving there are scaled to 10
    counts, change = rules.deployments(
        target, active, ban, evasion, zero, 0.4, np.array([200.0, 210.0, 100.0]), zero, 0.3
    )
    s = 10.0 / (f01 + f21)
    assert change == close([-(f01 * s + f02), 10.0, f02 - f21 * s])
    # φ = 0 caps the stock: h2 gets 40 − 20 = 20
    counts, _ = rules.deployments(target, active, ban, evasion, zero, 0.4, np.array([200.0, 260.0, 100.0]), zero, 0.0)
    assert counts.tolist() == [0, 50, 20]


def test_move_money():
    """ODD 7.12: ``mule = min(w_mule × take, returning × mule_capacity)``; ``bank = (take − mule) × w_bank /
    (w_bank + w_courier)`` (half each if both are 0); ``courier = (take − mule) − bank``; ``seized_c = amount_c ×
    loss_c``; ``cost_c = (amount_c − seized_c) × fee_c``; ``delivered = take − interdicted − costs``."""
    take = np.array([1000.0, 500.0])
    weights = np.array([[0.5, 0.3, 0.2], [0.0, 0.0, 1.0]])
    loss = {"bank": np.array([0.1, 0.0]), "courier": np.array([0.25, 0.0]), "mule": np.array([0.05, 0.5])}
    fees = {"bank": 0.02, "courier": 0.05, "mule": 0.01}
    delivered, interdicted, cost, amounts = rules.move_money(take, weights, np.array([150.0, 200.0]), loss, fees)
    # h0: mule min(200, 150) = 150; bank 850 × 0.5 / 0.8 = 531.25; courier 318.75
    # h1: mule min(500, 200) = 200; the other 300 half each
    assert amounts == close(np.array([[531.25, 318.75, 150.0], [150.0, 150.0, 200.0]]))
    # seized h0: 53.125 + 79.6875 + 7.5; h1: 100 (half the mule's cash)
    assert interdicted == close([140.3125, 100.0])
    # costs h0: 478.125 × 0.02 + 239.0625 × 0.05 + 142.5 × 0.01; h1: 150 × 0.02 + 150 × 0.05 + 100 × 0.01
    assert cost == close([9.5625 + 11.953125 + 1.425, 3.0 + 7.5 + 1.0])
    assert delivered == close([1000.0 - 140.3125 - 22.940625, 500.0 - 100.0 - 11.5])


def test_closed_border_sends_no_courier():
    """ODD 7.12: where the border is closed "no courier crosses: the couriers' weight is added to the bank's"."""
    weights = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.0, 0.0, 1.0]])
    got = rules.closed_border_weights(weights, np.array([True, False, True]))
    assert got[0] == close([0.8, 0.0, 0.2])
    assert got[1] == close([0.1, 0.6, 0.3])  # open: unchanged
    # only mules weighted: what they cannot carry still crosses by no courier
    loss = {c: np.zeros(3) for c in rules.CHANNELS}
    fees = {c: 0.0 for c in rules.CHANNELS}
    _, _, _, amounts = rules.move_money(np.array([100.0, 100.0, 100.0]), got, np.array([10.0, 10.0, 10.0]), loss, fees)
    assert amounts[0] == close([90.0, 0.0, 10.0])  # 100 − min(20, 10) = 90 all by bank
    assert amounts[2] == close([90.0, 0.0, 10.0])


def test_next_channel_weights():
    """ODD 7.2.5: ``w ← w × exp(−adapt × loss_rate); w ← w / Σw; w ← max(w, min_weight); w ← w / Σw``."""
    got = rules.next_channel_weights(np.array([[0.6, 0.3, 0.1]]), np.array([[0.1, 0.4, 0.02]]), 2.0, 0.15)
    w = np.array([0.6 * math.exp(-0.2), 0.3 * math.exp(-0.8), 0.1 * math.exp(-0.04)])
    w = w / w.sum()  # [0.6800, 0.1867, 0.1331]: the mule's share is under the floor 0.15
    assert w[2] < 0.15
    w = np.array([w[0], w[1], 0.15])
    assert got[0] == close(w / w.sum())


def test_new_worker_attributes():
    """ODD 7.15: traits from the agent's uniforms (month key −1); ``gross0 = wage × productivity × hours0 /
    hours_base`` with ``hours0 = hours_base + pressure_base × (hours_max − hours_base)``; ``kept0 = gross0 −
    plan_take(gross0, plan, fees_share)``; ``kept_avg = expected_share × gross0`` for a recruit, ``kept0`` for a
    veteran; ``entry_debt = entry_bribe`` for a recruit, ``max(entry_bribe − months_abroad × kept0, 0)`` for a
    veteran."""
    from statistics import NormalDist

    from sim import load_params
    from sim.core import draws

    p = load_params(
        None,
        {
            "worker.productivity_sigma": 0.3,
            "worker.entry_bribe_median": 4000.0,
            "worker.entry_bribe_sigma": 0.8,
            "worker.expected_share": 0.6,
            "worker.loyalty_min": 0.3,
            "worker.loyalty_max": 0.9,
            "minder.pressure_base": 0.35,
            "work.hours_base": 11.0,
            "work.hours_max": 17.5,
            "remittance.fees_share": 0.13,
        },
    )
    seed, ids, months = 7, np.array([3, 11, 20]), np.array([0, 1, 3])
    got = rules.new_worker_attributes(seed, ids, p, 820.0, 300.0, months_abroad=months)

    def u(trait):
        return draws.draws(seed, f"worker.{trait}", -1, ids)

    phi_inv = NormalDist().inv_cdf
    productivity = np.array([math.exp(0.3 * phi_inv(x)) for x in u("productivity")])
    bribe = np.array([round(4000.0 * math.exp(0.8 * phi_inv(x)), 2) for x in u("entry_bribe")])
    gross0 = 820.0 * productivity * 13.275 / 11.0  # hours0 = 11 + 0.35 × 6.5
    take0 = np.minimum(gross0, 300.0) + 0.13 * (gross0 - np.minimum(gross0, 300.0))
    kept0 = gross0 - take0
    assert got["productivity"] == close(productivity, rel=1e-9)
    assert got["loyalty"] == close(0.3 + 0.6 * u("loyalty"))
    assert got["gross_avg"] == close(gross0, rel=1e-9)
    assert got["kept_avg"] == close([0.6 * gross0[0], kept0[1], kept0[2]], rel=1e-9)
    assert got["entry_bribe"] == close(bribe)
    assert got["entry_debt"] == close(
        [bribe[0], max(bribe[1] - kept0[1], 0.0), max(bribe[2] - 3 * kept0[2], 0.0)], rel=1e-9
    )
    assert got["informant"].tolist() == (u("informant") < p.worker.informant_share).tolist()
    assert got["passport_held"].tolist() == (u("passport") < p.worker.passport_confiscation).tolist()
    assert got["legal"].tolist() == [0, 0, 0]  # no thresholds: permits


def test_new_worker_attributes_with_his_cells_own_settings_and_a_bribe_factor():
    """ODD 7.15 with a cell's own settings (a sector's hours and fees, one per worker: ``own``) and the 2024
    tightening's factor on entry bribes: each worker's gross0 uses his own base and longest hours, his kept0 his own
    fees share, and his entry bribe is the drawn one times the factor (rounded to cents). Broken on purpose (the run's
    hours or fees for his own, the factor dividing): fails."""
    from statistics import NormalDist

    from sim import load_params
    from sim.core import draws

    p = load_params(None, {"minder.pressure_base": 0.4, "work.hours_base": 10.0, "work.hours_max": 16.0})
    seed, ids = 5, np.array([2, 9])
    own = {
        "hours_base": np.array([8.0, 12.0]),
        "hours_max": np.array([13.0, 14.0]),
        "fees_share": np.array([0.3, 0.05]),
    }
    got = rules.new_worker_attributes(
        seed, ids, p, 600.0, 250.0, months_abroad=np.array([2, 2]), bribe_factor=2.5, own=own
    )

    def u(trait):
        return draws.draws(seed, f"worker.{trait}", -1, ids)

    phi_inv = NormalDist().inv_cdf
    productivity = np.array([math.exp(p.worker.productivity_sigma * phi_inv(x)) for x in u("productivity")])
    hours0 = np.array([8.0 + 0.4 * 5.0, 12.0 + 0.4 * 2.0])  # 10.0 and 12.8, his own hours, not the run's 12.4
    gross0 = 600.0 * productivity * hours0 / np.array([8.0, 12.0])
    take0 = np.minimum(gross0, 250.0) + np.array([0.3, 0.05]) * (gross0 - np.minimum(gross0, 250.0))
    kept0 = gross0 - take0
    drawn = np.array(
        [p.worker.entry_bribe_median * math.exp(p.worker.entry_bribe_sigma * phi_inv(x)) for x in u("entry_bribe")]
    )
    bribe = np.round(drawn * 2.5, 2)
    assert got["gross_avg"] == close(gross0, rel=1e-9)
    assert got["kept_avg"] == close(kept0, rel=1e-9)  # veterans: what the rule left them
    assert got["entry_bribe"] == close(bribe, rel=1e-9)
    assert got["entry_debt"] == close(np.maximum(bribe - 2 * kept0, 0.0), rel=1e-9)


def test_new_worker_legal_status():
    """ODD 7.2.3: a posting's status is his draw ``draw("worker.legal", id)`` against the thresholds: permit (0)
    below the first, student (1) below the second, tourist (2) below the third, other (3) above."""
    from sim.core import draws

    ids = np.arange(40, 80)
    v = draws.draws(3, "worker.legal", -1, ids)
    cut = np.array([0.3, 0.55, 0.9])
    got = rules.new_worker_attributes(3, ids, Params(), 800.0, 300.0, legal=cut)["legal"]
    expected = [0 if x < 0.3 else 1 if x < 0.55 else 2 if x < 0.9 else 3 for x in v]
    assert sorted(set(expected)) == [0, 1, 2, 3]  # every status drawn at least once
    assert got.tolist() == expected


def test_new_minder_attributes():
    """ODD 7.15: ``vigilance = vigilance_min + (vigilance_max − vigilance_min) × u`` (+ replacement_boost, ≤ 1, for a
    replacement); ``greed = greed_min + (greed_max − greed_min) × u``."""
    from sim import load_params
    from sim.core import draws

    p = load_params(
        None,
        {
            "minder.vigilance_min": 0.3,
            "minder.vigilance_max": 0.9,
            "minder.greed_min": 0.1,
            "minder.greed_max": 0.4,
            "minder.replacement_boost": 0.35,
        },
    )
    ids = np.array([2, 5, 9, 14, 40, 41])
    uv = draws.draws(5, "minder.vigilance", -1, ids)
    ug = draws.draws(5, "minder.greed", -1, ids)
    got = rules.new_minder_attributes(5, ids, p)
    assert got["vigilance"] == close(0.3 + 0.6 * uv)
    assert got["greed"] == close(0.1 + 0.3 * ug)
    got = rules.new_minder_attributes(5, ids, p, replacement=True)
    assert got["vigilance"] == close(np.minimum(1.0, 0.3 + 0.6 * uv + 0.35))


# ---------------------------------------------------------------- sim/core/rules.py: edges of the rules


def test_rule_boundaries_are_strict_where_a_draw_meets_a_chance():
    """A draw u against a chance p succeeds when u < p (so a chance 0 never does): at u = p, not."""
    assert not P.contract_ends(40, 36, False, 0.15, 0.15)
    assert not P.side_job_granted(0.35, 0.35)
    assert not P.wants_side_job(230.0, 400.0, 0.6, 0.3, 0.3)
    assert not P.short_of_expectation(240.0, 400.0, 0.6)  # keeps exactly the 0.6 x 400 he expected
    fate = P.repatriation_fate
    assert fate(0, 0.05, 0.2, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 0  # u = hazard: not due
    assert fate(0, 0.04, 0.3, 0.1, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 4  # relabel draw = evasion: sent home
    assert fate(0, 0.04, 0.2, 0.25, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 2  # route draw = student cut: tourist
    assert fate(0, 0.04, 0.2, 0.7, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 3  # = tourist cut: other
    assert fate(2, 0.08, 0.0, 0.0, 0.05, 0.03, 0.08, 0.01, 0.3, 0.25, 0.7) == 2  # u = detection: not found


def test_threat_on_a_shortfall_below_one_dollar():
    assert P.threatened(0.5, 0.1, 0.3)  # any shortfall, however small


def test_group_quota_of_a_camp_earning_under_a_dollar():
    # ratio 0.2 / 0.5 = 0.4: 0.4 x 0.3 + 0.1 x (0.3 - 0.12)
    assert P.group_quota_take(0.3, 0.5, 0.2, 0.1) == close(0.12 + 0.018)


def test_hardship_edges():
    # expected 0.6 x 1.5 = 0.9 (under a dollar): pay gap 1 - 0.45 / 0.9 = 0.5; base hours, no debt; pay weight only
    assert P.hardship(0.45, 1.5, 12.0, 0.0, 300.0, 0.6, 12.0, 18.0, 1.0, 0.0, 0.0) == close(0.5)
    # a loss (kept -120) is a pay gap of 1, not 1.5
    assert P.hardship(-120.0, 400.0, 12.0, 0.0, 300.0, 0.6, 12.0, 18.0, 1.0, 0.0, 0.0) == close(1.0)
    # a span of half an hour: 12.25 h is half way, overwork 0.5 (hours weight only)
    assert P.hardship(240.0, 400.0, 12.25, 0.0, 300.0, 0.6, 12.0, 12.5, 0.0, 1.0, 0.0) == close(0.5)


def test_escape_chances_without_a_held_passport():
    # route 0.3 + 0.7 x 0.4 = 0.58, vigilance 0.35, passport not held: 0.58 x 0.65 = 0.377
    success, _ = P.escape_chances(
        180.0,
        400.0,
        12.0,
        0.0,
        300.0,
        0.3,
        0.7,
        0.6,
        0.3,
        0.4,
        0.35,
        False,
        0.6,
        12.0,
        18.0,
        1.0,
        0.0,
        0.0,
        0.6,
        0.25,
        -0.6,
        0.05,
        0.03,
    )
    assert success == close(0.377)


def test_closed_border_weights_with_only_mules_give_the_bank_weight_one():
    got = rules.closed_border_weights(np.array([[0.0, 0.0, 1.0], [0.2, 0.5, 0.3]]), np.array([True, False]))
    assert got.tolist() == close([[1.0, 0.0, 1.0], [0.2, 0.5, 0.3]])


def test_legal_thresholds_where_nothing_is_reachable_and_with_no_other_route():
    # a full ban without evasion: reachable 0; thresholds 1 (nobody is posted there anyway)
    got = rules.legal_thresholds(
        np.array([1.0]), np.array([0.0]), np.zeros(1), np.zeros(1), np.array([[0.4, 0.4, 0.2]])
    )
    assert got.tolist() == [[1.0, 1.0, 1.0]]
    # no "other" route: the last threshold is exactly 1 (the running sum rounds to 0.9999999999999999 here)
    got = rules.legal_thresholds(
        np.array([0.3]), np.array([0.6]), np.zeros(1), np.zeros(1), np.array([[0.39, 0.2, 0.0]])
    )
    permit = 0.7 / 0.88  # (1 - 0.3) / (1 - 0.3 x 0.4)
    assert got[0, :2].tolist() == close([permit, permit + (1 - permit) * 0.39 / 0.59])
    assert got[0, 2] == 1.0


def test_deployments_destinations_by_their_room():
    z = np.zeros(3)
    ban = np.array([1.0, 0.0, 0.0])
    # host 1 is at its cap (room 0), host 2 has room: all of host 0's moved posts go to host 2
    counts, change = rules.deployments(
        np.array([100.0, 50.0, 40.0]), np.zeros(3), ban, z, z, 0.5, np.array([200.0, 50.0, 100.0]), z, 0.0
    )
    assert change.tolist() == close([-50.0, 0.0, 50.0])
    # host 1 has half a post of room: 0.5 x 100 = 50 lost posts split 50 : 40 between hosts 1 and 2, host 1's
    # 27.78 cut to its room 0.5
    _, change = rules.deployments(
        np.array([100.0, 50.0, 40.0]), np.zeros(3), ban, z, z, 0.5, np.array([200.0, 50.5, 100.0]), z, 0.0
    )
    to2 = 50.0 * 40 / 90
    assert change.tolist() == close([-(0.5 + to2), 0.5, to2])
    # a small destination (target 2, reach gap 0.3: gain 0.6 < 1) still receives; 0.8 arriving, room 0.5
    ban2 = np.array([0.3, 0.0])
    _, change = rules.deployments(
        np.array([10.0, 2.0]),
        np.zeros(2),
        ban2,
        np.zeros(2),
        np.zeros(2),
        0.8 / 3.0,
        np.array([20.0, 2.5]),
        np.zeros(2),
        0.0,
    )
    # lost 10 x 0.3 = 3, a share 0.8 / 3 of it: 0.8 arriving at host 1, scaled to its room 0.5
    assert change.tolist() == close([-0.5, 0.5])


def test_repatriation_over_a_single_month():
    # a mandate one month long: the monthly hazard is the compliance itself
    assert rules.repatriation_prob(np.array([0.3, 0.65]), 1, 1).tolist() == close([0.3, 0.65])


def test_next_plans_with_the_default_cut_and_floor():
    plans, initial = np.array([300.0, 200.0]), np.array([250.0, 250.0])
    # out of reach but no cut given: the plans stay as they are (not cut, nor raised)
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.5, np.array([0.9, 0.2]), 0.5)
    assert got.tolist() == close([300.0, 208.0])
    # a cut with the default floor (the initial plan): 300 x 0.9 = 270 stays above 250
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.5, np.array([0.9, 0.9]), 0.5, 0.1)
    assert got.tolist() == close([270.0, 200.0])  # 200 is below its floor 250: kept at 200
    # a reach given but no short shares: nobody is short, so every plan is raised (300 x 1.04 and 200 x 1.04)
    got = rules.next_plans(plans, initial, 900.0, 1000.0, 0.04, 1.5, reach=0.5, cut=0.1)
    assert got.tolist() == close([312.0, 208.0])


def test_expected_take_under_each_remittance_rule():
    gross = np.array([523.0, 211.0])
    for rule, expected in (
        ("share", [0.37 * 523, 0.37 * 211]),
        ("plan", [317 + 0.13 * 206, 211.0]),
        ("group_quota", [317 + 0.13 * 206, 211.0]),
    ):
        p = make_params({}, {"remittance.rule": rule, "remittance.fees_share": 0.13, "remittance.share": 0.37})
        assert rules.expected_take(gross, 317.0, p).tolist() == close(expected), rule


def test_new_worker_traits_boundaries_and_paid_off_veterans():
    from sim.core import draws

    seed, ids = 13, np.array([4, 9, 17, 23, 31, 40])

    def u(trait):
        return draws.draws(seed, f"worker.{trait}", -1, ids)

    p = make_params(
        {},
        {
            "worker.risk_aversion_min": 0.1,
            "worker.risk_aversion_max": 0.7,
            "worker.family_min": 0.2,
            "worker.family_max": 0.95,
            "worker.informant_share": float(u("informant")[2]),
            "worker.passport_confiscation": float(u("passport")[4]),
            "worker.entry_bribe_median": 30.0,
            "worker.entry_bribe_sigma": 0.1,
            "work.hours_base": 11.0,
            "work.hours_max": 17.0,
            "remittance.rule": "plan",
            "remittance.fees_share": 0.0,
        },
    )
    months = np.array([0, 0, 0, 0, 0, 30])  # the last a veteran who paid his small bribe off long ago
    v = u("legal")
    on = sorted([1, 3, 5], key=lambda i: v[i])
    legal = v[on]  # three workers' draws fall exactly on the thresholds
    got = rules.new_worker_attributes(seed, ids, p, 820.0, 300.0, months_abroad=months, legal=legal)
    assert got["risk_aversion"].tolist() == close((0.1 + 0.6 * u("risk_aversion")).tolist())
    assert got["family"].tolist() == close((0.2 + 0.75 * u("family")).tolist())
    # a draw equal to the share is not below it
    assert got["informant"].tolist() == (u("informant") < u("informant")[2]).tolist() and not got["informant"][2]
    assert got["passport_held"].tolist() == (u("passport") < u("passport")[4]).tolist() and not got["passport_held"][4]
    # a draw on a threshold is above it: permit below the first, student below the second, tourist below the third
    expected = [int(x >= legal[0]) + int(x >= legal[1]) + int(x >= legal[2]) for x in v]
    assert got["legal"].tolist() == expected and [expected[i] for i in on] == [1, 2, 3]
    assert got["entry_debt"][5] == 0.0 and got["entry_debt"][:5].tolist() == got["entry_bribe"][:5].tolist()
    plain = rules.new_worker_attributes(seed, ids, p, 820.0, 300.0)
    assert plain["legal"].dtype == np.int64 and plain["legal"].tolist() == [0] * 6  # permits, as whole codes
