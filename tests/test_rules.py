"""Each rule alone, on scalars and on arrays (the two engines' two ways of calling it)."""

import math

import numpy as np
import pytest

from sim import Params
from sim.core import rules


def test_pressure_is_clipped_and_rises_with_shortfall():
    assert rules.minder_pressure(0.0, 0.2, 3.0) == pytest.approx(0.2)
    assert rules.minder_pressure(0.1, 0.2, 3.0) == pytest.approx(0.5)
    assert rules.minder_pressure(5.0, 0.2, 3.0) == 1.0
    assert rules.minder_pressure(-1.0, 0.2, 3.0) == 0.0


def test_hours_between_base_and_max_and_capped():
    assert rules.hours_worked(0.0, 12, 18, math.inf) == 12
    assert rules.hours_worked(1.0, 12, 18, math.inf) == 18
    assert rules.hours_worked(0.5, 12, 18, math.inf) == 15
    assert rules.hours_worked(0.5, 12, 18, 10.0) == 10.0


def test_gross_wage_is_proportional_to_hours_and_productivity():
    assert rules.gross_wage(900, 1.0, 12, 12) == 900
    assert rules.gross_wage(900, 1.1, 15, 12) == pytest.approx(900 * 1.1 * 15 / 12)


def test_plan_take_covers_the_plan_then_fees_and_arrears_carry():
    # gross above plan: the plan, then 30% of the rest
    assert rules.plan_take(500, 300, 0.3) == pytest.approx(300 + 0.3 * 200)
    assert rules.plan_arrears(500, 300) == 0
    # gross below plan: everything goes, the shortfall becomes a debt
    assert rules.plan_take(200, 300, 0.3) == 200
    assert rules.plan_arrears(200, 300) == 100


def test_group_quota_shares_the_camp_quota_in_proportion_to_gross():
    gross = np.array([100.0, 300.0])
    take = np.array([rules.group_quota_take(g, gross.sum(), 200.0, 0.0) for g in gross])
    assert take.sum() == pytest.approx(200.0)
    assert take[1] / take[0] == pytest.approx(3.0)
    # the camp cannot pay more than it earns
    assert rules.group_quota_take(100.0, 400.0, 1000.0, 0.0) == 100.0
    assert rules.group_quota_take(0.0, 0.0, 10.0, 0.0) == 0.0


def test_direct_wages_and_ledger():
    assert rules.direct_wage_take(400.0, 0.5) == 200.0
    assert rules.ledger_credit(250.0, 150.0) == 150.0
    assert rules.ledger_credit(80.0, 150.0) == 80.0
    assert rules.ledger_credit(-5.0, 150.0) == 0.0


def test_side_jobs_and_threats():
    assert rules.wants_side_job(50.0, 400.0, 0.5, 0.1, 0.5)
    assert not rules.wants_side_job(250.0, 400.0, 0.5, 0.1, 0.5)  # keeps what he expected
    assert not rules.wants_side_job(50.0, 400.0, 0.5, 0.9, 0.5)
    assert rules.side_job_granted(0.7, 0.5) and not rules.side_job_granted(0.3, 0.5)
    assert rules.plan_shortfall(250.0, 300.0) == 50.0 and rules.plan_shortfall(350.0, 300.0) == 0.0
    assert rules.threatened(50.0, 0.1, 0.5) and not rules.threatened(0.0, 0.1, 0.5)
    assert rules.pays_to_stay(100.0, 100.0) and not rules.pays_to_stay(99.0, 100.0)


def test_hardship_grows_with_pay_gap_hours_and_debt():
    p = Params()
    w, e, wk = p.worker, p.escape, p.work

    def hardship(kept, gross, hours, debt, plan):
        return rules.hardship(
            kept,
            gross,
            hours,
            debt,
            plan,
            w.expected_share,
            wk.hours_base,
            wk.hours_max,
            e.weight_pay,
            e.weight_hours,
            e.weight_debt,
        )

    low = hardship(200.0, 400.0, 12.0, 0.0, 300.0)
    assert low == 0.0  # keeps what he expected, base hours, no debt
    assert hardship(100.0, 400.0, 12.0, 0.0, 300.0) > low
    assert hardship(200.0, 400.0, 16.0, 0.0, 300.0) > low
    assert hardship(200.0, 400.0, 12.0, 3000.0, 300.0) > low
    top = hardship(0.0, 400.0, 18.0, 1e12, 300.0)
    assert top == pytest.approx(1.0, abs=1e-6)


def test_escape_decision_follows_epstein():
    assert rules.grievance(0.5, 0.2) == pytest.approx(0.4)
    # more vigilance, a held passport: less chance of success
    assert rules.escape_success_prob(0.5, 0.6, 1.0, 0.5) < rules.escape_success_prob(0.5, 0.2, 0.0, 0.5)
    # risk rises with risk aversion, falls with the chance of success, rises with reprisals
    assert rules.escape_risk(0.9, 0.1, 0.1, 1.0) > rules.escape_risk(0.1, 0.1, 0.1, 1.0)
    assert rules.escape_risk(0.5, 0.9, 0.1, 1.0) < rules.escape_risk(0.5, 0.1, 0.1, 1.0)
    # attempts: at most the rate, half of it at the threshold, rising with grievance
    assert rules.attempt_prob(0.3, 0.3, 0.0, 0.05, 0.05) == pytest.approx(0.025)
    assert rules.attempt_prob(0.9, 0.0, 0.0, 0.05, 0.05) == pytest.approx(0.05, rel=1e-6)
    assert rules.attempt_prob(0.0, 0.9, 0.0, 0.05, 0.05) < 1e-9
    assert rules.reported_prob(0, 0.2) == 0.0
    assert rules.reported_prob(2, 0.2) == pytest.approx(0.36)


def test_death_hazard_rises_with_hours():
    base = rules.death_prob(12.0, 12.0, 0.15, 12.0)
    assert base == pytest.approx(12.0 / 120_000)  # 12 per 10,000 worker-years
    assert rules.death_prob(16.0, 12.0, 0.15, 12.0) == pytest.approx(base * math.exp(0.6))


def test_compiled_and_plain_python_rules_agree_bit_for_bit():
    """The array engine calls the compiled rules, the mesa engine the same functions as plain Python (rules.plain):
    they give the same bits."""
    x = np.linspace(-1, 2, 50)
    for f, args in [
        (rules.minder_pressure, (0.2, 3.0)),
        (rules.plan_shortfall, (1.0,)),
        (rules.ledger_credit, (0.5,)),
        (rules.attempt_prob, (0.2, 0.0, 0.05, 0.05)),
        (rules.death_prob, (14.0, 0.15, 12.0)),
        (rules.reported_prob, (0.2,)),
    ]:
        plain = getattr(rules.plain, getattr(f, "__name__", ""), None) or getattr(f, "py_func", f)
        assert plain is not f or not hasattr(f, "py_func")  # a plain build, not the compiled one
        for v in x:
            v = int(round(abs(v) * 3)) if f is rules.reported_prob else float(v)
            assert f(v, *args) == plain(v, *args), (f, v)
    for v in x:  # a combination: the month's take under each rule, paid directly or not
        for code in (0, 1, 2):
            for direct in (False, True):
                a = (code, 300.0 + 100 * v, 260.0, 20.0, 4000.0, 3000.0, 0.3, 0.7, direct, 0.5, 150.0)
                assert rules.remit(*a) == rules.plain.remit(*a)
    k = (
        200.0,
        400.0,
        14.0,
        300.0,
        260.0,
        0.7,
        0.4,
        0.3,
        0.6,
        0.3,
        0.2,
        True,
        0.5,
        12.0,
        18.0,
        0.5,
        0.25,
        0.25,
        0.5,
        0.3,
        0.0,
        0.05,
        0.05,
    )
    assert rules.escape_chances(*k) == rules.plain.escape_chances(*k)


def test_state_raises_plans_within_the_cap():
    plans0 = np.array([100.0, 200.0])
    up = rules.next_plans(plans0, plans0, delivered_last=50.0, target=100.0, raise_=0.1, cap=1.5)
    assert np.allclose(up, plans0 * 1.1)
    capped = rules.next_plans(plans0 * 1.49, plans0, 50.0, 100.0, 0.1, 1.5)
    assert np.allclose(capped, plans0 * 1.5)
    assert np.allclose(rules.next_plans(plans0, plans0, 150.0, 100.0, 0.1, 1.5), plans0)


def test_deployments_fill_what_sanctions_leave_reachable():
    target, active = np.array([100.0, 100.0]), np.array([90.0, 95.0])
    z = np.zeros(2)
    counts, change = rules.deployments(target, active, z, z, z, 0.5, 10 * target)
    assert list(counts) == [10, 5] and np.allclose(change, 0)
    # host 0 bans fully, no evasion: nothing goes there, and half its lost posts move to host 1
    counts, change = rules.deployments(target, active, np.array([1.0, 0.0]), z, z, 0.5, 10 * target)
    assert list(counts) == [0, 5] and change[0] == pytest.approx(-50) and change[1] == pytest.approx(50)
    # a ban with 50% evasion leaves half the market reachable on visas
    counts, _ = rules.deployments(
        target, np.array([40.0, 0.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), z, 0.5, 10 * target
    )
    assert list(counts) == [10, 50]
    # equal compliance everywhere: nowhere more open to move to
    counts, change = rules.deployments(target, np.array([0.0, 0.0]), np.array([0.5, 0.5]), z, z, 0.5, 10 * target)
    assert list(counts) == [50, 50] and np.allclose(change, 0)
    # whole workers, rounded down
    counts, _ = rules.deployments(
        np.array([10.0]), np.array([0.0]), np.array([0.55]), np.zeros(1), np.zeros(1), 0.0, np.array([20.0])
    )
    assert list(counts) == [4]
    # a host full to its cap takes no more posts: they stay lost
    counts, change = rules.deployments(target, active, np.array([1.0, 0.0]), z, z, 0.5, np.array([100.0, 120.0]))
    assert change[1] == pytest.approx(20) and change[0] == pytest.approx(-20)


def test_evasion_flow_moves_from_a_cap_on_the_stock_to_a_brake_on_the_flow():
    """Target 100, 80 active, a ban at 0.7 compliance with 2/7 evasion on host 0 (reachable 0.5), none on
    host 1: the stock cap posts nobody (50 < 80); the flow brake fills half the 20 vacancies; in between
    target x reach - active x (1 - flow x (1 - reach)), rounded down; an open host is the same in every mode."""
    target, active = np.array([100.0, 100.0]), np.array([80.0, 80.0])
    ban, ev, z = np.array([0.7, 0.0]), np.array([2 / 7, 0.0]), np.zeros(2)
    got = {
        f: list(rules.deployments(target, active, ban, ev, z, 0.0, 10 * target, 0.0, f)[0])
        for f in (0.0, 0.5, 0.8, 1.0)
    }
    assert got[0.0] == [0, 20]  # max(50 - 80, 0)
    assert got[0.5] == [0, 20]  # 50 - 80 x 0.75 = -10
    assert got[0.8] == [2, 20]  # 50 - 80 x 0.6 = 2
    assert got[1.0] == [10, 20]  # 0.5 x (100 - 80)
    # a mandate's evasion enters the same way: repatriation 0.5 with no evasion halves the reach too
    counts = rules.deployments(target, np.array([60.0, 60.0]), z, z, np.array([0.5, 0.0]), 0.0, 10 * target, 0.0, 1.0)[
        0
    ]
    assert list(counts) == [20, 40]  # 0.5 x (100 - 60); the open host fills its 40


def test_repatriation_reaches_compliance_by_the_deadline():
    left = 1.0
    for months_left in range(24, 0, -1):
        left *= 1 - float(rules.repatriation_prob(0.6, 24, months_left))
    assert left == pytest.approx(0.4)
    # full compliance empties the host at the deadline: 1/24, then 1/23, ... then 1/1
    left = 1.0
    for months_left in range(24, 0, -1):
        left *= 1 - float(rules.repatriation_prob(1.0, 24, months_left))
    assert left == pytest.approx(0.0, abs=1e-12)


def test_money_moves_home_and_identity_holds():
    take = np.array([1000.0, 500.0])
    w = np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    loss = {"bank": np.array([0.9, 0.0]), "courier": np.array([0.01, 0.01]), "mule": np.array([0.0, 0.0])}
    fees = {"bank": 0.02, "courier": 0.05, "mule": 0.03}
    delivered, interdicted, costs, amounts = rules.move_money(take, w, np.array([100.0, 1e9]), loss, fees)
    assert np.allclose(delivered + interdicted + costs, take)
    assert amounts[0, 2] == 100.0  # mules carry no more than they can
    assert interdicted[0] > interdicted[1]
    # the state moves money away from the channel that lost it
    new = rules.next_channel_weights(w, np.array([[0.9, 0.06, 0.03], [0.02, 0.06, 0.03]]), 0.5, 0.02)
    assert new[0, 0] < w[0, 0] and np.allclose(new.sum(axis=1), 1)
