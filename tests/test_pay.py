"""Pay as the article tells it, by value: families paid in coupons for state stores (`remittance.coupon_share`,
`remittance.coupon_value`; `rules.coupons`) and cash handed out at paydays (`remittance.cash_months`;
`rules.payday`).

What a worker keeps beyond the state's take and the ledger goes, in the share ``coupon_share``, to his family in
coupons rather than to him in cash; his net gain counts them at ``coupon_value`` a dollar. The rest is held by the
company and handed to him every ``cash_months`` months of his posting; held pay is paid when he completes or is
repatriated, lost when he is sent home, escapes, is caught or dies. A worker paid directly by a complying employer
gets no coupons and is paid every month.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small_params
from sim import run
from sim.core import rules, workers
from sim.core.workers import STATUS_CODE, STATUSES


def test_coupons_are_a_share_of_what_is_left_beyond_the_take_and_the_ledger():
    assert rules.coupons(200.0, 0.25, False) == 50.0
    assert rules.coupons(-30.0, 0.25, False) == 0.0  # nothing left: no coupons
    assert rules.coupons(200.0, 0.25, True) == 0.0  # paid directly by his employer: cash
    assert rules.coupons(200.0, 0.0, False) == 0.0


def test_net_gain_counts_coupons_at_their_value():
    # kept 1,000 of which 400 in coupons worth 0.3 a dollar: 280 of them lost; 100 forfeited, a bribe of 50
    assert workers.net_gain(1000.0, 100.0, 50.0, 400.0, 0.3) == pytest.approx(1000 - 100 - 50 - 0.7 * 400, abs=1e-9)
    assert workers.net_gain(1000.0, 100.0, 50.0) == 850.0  # no coupons


def _plain_pay(**remittance):
    """A small run with no ledger, no side jobs and no threats (each month he keeps exactly what is left beyond the
    take, and cash in hand changes nothing else) and many escapes; ``remittance`` as given."""
    p = small_params(
        scale=0.2,
        months=30,
        remittance__ledger_monthly=0.0,
        worker__side_job_seek=0.0,
        minder__threat_prob=0.0,
        escape__attempt_rate=0.3,
        escape__threshold=-1.0,
        **{f"remittance__{k}": v for k, v in remittance.items()},
    )
    return run(p, seed=6)


@pytest.fixture(scope="module")
def runs():
    """The same small run with and without coupons (cash only moves what a caught or dead worker loses)."""
    return _plain_pay(coupon_share=0.0, coupon_value=0.3), _plain_pay(coupon_share=0.4, coupon_value=0.3)


def test_in_a_run_coupons_are_the_share_of_what_he_kept_and_his_net_gain_counts_them_at_their_value(runs):
    plain, paid = runs
    a, b = plain.workers, paid.workers
    assert (a["coupons_total"] == 0).all()
    # coupons change no one's pay, only how he holds it: the same workers keep the same amounts
    assert np.array_equal(a["retained_total"].to_numpy(), b["retained_total"].to_numpy())
    assert np.allclose(b["coupons_total"], 0.4 * b["retained_total"].clip(lower=0), rtol=1e-12, atol=1e-6)
    assert (b["coupons_total"] > 0).any()
    expected = b["retained_total"] - b["forfeited_total"] - b["entry_bribe"] - 0.7 * b["coupons_total"]
    assert np.allclose(b["net_gain"], expected, rtol=0, atol=1e-6)
    # a caught or dead worker loses his cash, not his family's coupons: he forfeits less
    lost = b["status"].isin([STATUSES[STATUS_CODE["caught"]], STATUSES[STATUS_CODE["dead"]]])
    assert lost.any()
    assert (b.loc[lost, "forfeited_total"] <= a.loc[lost, "forfeited_total"] + 1e-9).all()
    assert (b.loc[lost, "forfeited_total"] < a.loc[lost, "forfeited_total"] - 1e-9).any()


def test_payday_every_cash_months_of_his_posting_and_every_month_when_paid_directly():
    # months_abroad counts the months before this one: his 5th, 10th... month is a payday
    assert [rules.payday(m, 5, False) for m in range(11)] == [m in (4, 9) for m in range(11)]
    assert all(rules.payday(m, 1, False) for m in range(5))  # monthly: the model as it was
    assert rules.payday(0, 5, True)  # his employer pays him directly


@pytest.fixture(scope="module")
def paydays():
    """The same small run with monthly paydays and with one in five months."""
    return _plain_pay(cash_months=1), _plain_pay(cash_months=5)


def test_in_a_run_pay_held_is_paid_to_those_who_complete_and_lost_by_those_who_escape(paydays):
    monthly, rare = (r.workers for r in paydays)
    assert np.array_equal(monthly["retained_total"].to_numpy(), rare["retained_total"].to_numpy())
    assert (monthly["status"] == rare["status"]).all()
    status, months = rare["status"], rare["months_abroad"]
    extra = rare["forfeited_total"] - monthly["forfeited_total"]  # the pay held when he left
    paid = status.isin([STATUSES[STATUS_CODE["completed"]], STATUSES[STATUS_CODE["repatriated"]], "active"])
    assert (extra[paid].abs() < 1e-9).all()  # paid as he goes (or still posted)
    # the caught and the dead lose their cash too: held or handed out, it is lost the same
    seized = status.isin([STATUSES[STATUS_CODE["caught"]], STATUSES[STATUS_CODE["dead"]]])
    assert seized.any() and (extra[seized].abs() < 1e-9).all()
    # the escaped and the sent home keep their cash but lose the pay held, unless the month they left was their
    # payday (their 5th, 10th... month: it was handed to them)
    gone = status.isin([STATUSES[STATUS_CODE["escaped"]], STATUSES[STATUS_CODE["sent_home"]]])
    on_payday = gone & ((months + 1) % 5 == 0)
    assert on_payday.any() and (extra[on_payday].abs() < 1e-9).all()
    assert (extra[gone & ~on_payday] >= -1e-9).all() and (extra[gone & ~on_payday] > 0).mean() > 0.5
