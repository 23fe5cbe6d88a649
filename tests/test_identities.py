"""The brief's four identities, in every month of every run, over random valid parameters."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import load_params, run
from sim.core.policies import POLICY_KINDS

HOSTS = ["china", "russia", "gulf", "africa", "asia", "europe"]


def check_identities(result):
    m = result.monthly
    scale = max(1.0, float(m["wages_gross"].abs().max()))
    tol = 1e-9 * scale  # float rounding of sums of a few thousand terms
    flows_in = m["wages_gross"] + m["side_earnings"]
    flows_out = m["state_take"] + m["bribes_paid"] + m["worker_retained"]
    assert np.all(np.abs(flows_in - flows_out) <= tol), "gross + side != take + bribes + retained"
    money = m["revenue_delivered"] + m["revenue_interdicted"] + m["transfer_costs"]
    assert np.all(np.abs(m["state_take"] - money) <= tol), "take != delivered + interdicted + costs"
    assert (m["escape_attempts"] == m["escaped"] + m["caught"]).all()
    prev = np.concatenate([[result.manifest["workers_initial"]], m["workers_active"].to_numpy()[:-1]])
    exits = m[["completed", "sent_home", "repatriated", "escaped", "caught", "deaths"]].sum(axis=1)
    assert (m["workers_active"] == prev + m["deployed"] - exits).all(), "workers_active stock-flow"
    # what sources counted adds up: every worker abroad has one legal status, every posting one
    by_legal = m[["permit_holders", "workers_student", "workers_tourist", "workers_other"]].sum(axis=1)
    assert (by_legal == m["workers_active"]).all(), "workers by legal status != workers_active"
    posted = m[["deployed_permit", "deployed_student", "deployed_tourist", "deployed_other"]].sum(axis=1)
    assert (posted == m["deployed"]).all(), "postings by legal status != deployed"
    assert (m["workers_short"] <= m["workers_working"]).all()
    # the hosts table adds up to the monthly one
    h = result.hosts.groupby("month")[
        ["workers_active", "deployed", "state_take", "revenue_delivered", "escaped"]
    ].sum()
    assert np.allclose(h["state_take"].to_numpy(), m["state_take"].to_numpy(), rtol=1e-12, atol=1e-6)
    assert (h["workers_active"].to_numpy() == m["workers_active"].to_numpy()).all()
    assert (h["deployed"].to_numpy() == m["deployed"].to_numpy()).all()
    assert (h["escaped"].to_numpy() == m["escaped"].to_numpy()).all()
    assert np.allclose(h["revenue_delivered"].to_numpy(), m["revenue_delivered"].to_numpy(), rtol=1e-12, atol=1e-6)
    # the workers table agrees with the flows
    w = result.workers
    assert len(w) == result.manifest["workers_initial"] + int(m["deployed"].sum())
    assert (w["status"] == "escaped").sum() == m["escaped"].sum()
    assert (w["status"] == "active").sum() == m["workers_active"].iloc[-1]
    # every worker's running totals start at the run's first month
    assert np.isclose(w["retained_total"].sum(), m["worker_retained"].sum(), rtol=1e-9, atol=1e-6)


policy_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(POLICY_KINDS),
        "start": st.integers(0, 10),
        "hosts": st.one_of(st.just("all"), st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3, unique=True)),
        "compliance": st.floats(0.0, 1.0),
    }
)


@st.composite
def valid_overrides(draw):
    months = draw(st.integers(3, 18))
    ov = {f"hosts.{h}.workers": draw(st.integers(0, 60)) for h in HOSTS}
    ov["hosts.china.workers"] = draw(st.integers(1, 120))
    ov["calendar.months"] = months
    ov["population.contract_months"] = draw(st.integers(2, 40))
    ov["population.team_size"] = draw(st.integers(1, 12))
    ov["population.minder_ratio"] = draw(st.integers(1, 60))
    ov["population.camp_size"] = draw(st.integers(1, 300))
    ov["remittance.rule"] = draw(st.sampled_from(["plan", "share", "group_quota"]))
    ov["remittance.ledger_monthly"] = draw(st.floats(0, 400))
    ov["minder.threat_prob"] = draw(st.floats(0, 1))
    ov["minder.pressure_gain"] = draw(st.floats(0, 10))
    ov["escape.attempt_rate"] = draw(st.floats(0, 1))
    ov["escape.threshold"] = draw(st.floats(-1, 1))
    ov["state.plan_raise"] = draw(st.floats(0, 0.2))
    ov["state.plan_reach"] = draw(st.floats(0, 1))
    ov["state.plan_cut"] = draw(st.floats(0, 0.3))
    ov["state.workforce_growth"] = draw(st.floats(0, 0.05))
    ov["state.evasion_flow"] = draw(st.floats(0, 1))
    ov["population.stranded_return"] = draw(st.floats(0, 1))
    ov["deaths.rate"] = draw(st.floats(0, 2000))
    pols = draw(st.lists(policy_strategy, max_size=4))
    for p in pols:
        if p["kind"] == "repatriation":
            p["deadline"] = p["start"] + draw(st.integers(1, 12))
            p["evasion"] = draw(st.floats(0, 1))
            p["after_deadline"] = draw(st.floats(0, 1))
        if p["kind"] == "permit_ban":
            p["evasion"] = draw(st.floats(0, 1))
        length = draw(st.integers(2, 12))
        if draw(st.booleans()):
            p["end"] = p["start"] + length
        if draw(st.booleans()):  # compliance changing over time
            p["schedule"] = [{"start": p["start"] + 1, "compliance": draw(st.floats(0, 1))}]
    ov["policies"] = pols
    return ov, draw(st.integers(0, 2**31))


@pytest.mark.parametrize("engine", ["array", "mesa"])  # both engines, not only the one olsim run uses
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_overrides())
def test_identities_hold_over_random_valid_parameters(engine, case):
    overrides, seed = case
    result = run(load_params(overrides=overrides), seed=seed, engine=engine)
    check_identities(result)


def test_identities_hold_in_the_baseline(baseline_small):
    check_identities(baseline_small)


def test_identities_hold_in_the_history_scenario():
    from conftest import small_params

    check_identities(run(small_params(path="params/history.toml", months=60), seed=2))
