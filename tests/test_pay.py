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
    """A small run with no ledger, no side jobs, no threats and no entry-bribe debt paid from cash (each month he
    keeps exactly what is left beyond the take, and cash in hand changes nothing else) and many escapes;
    ``remittance`` as given."""
    p = small_params(
        scale=0.2,
        months=30,
        remittance__ledger_monthly=0.0,
        worker__side_job_seek=0.0,
        worker__debt_repay_share=0.0,
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


def _debtors(share, cash_months=1):
    """The tenth month of the Mesa engine with no ledger, coupons, side jobs or threats: what each worker holds and owes
    before it, and the workers after it (`debt_repay_share` = ``share``)."""
    from sim.engines.mesa.model import OverseasLaborModel

    m = OverseasLaborModel(
        small_params(
            scale=1.0,
            months=12,
            remittance__ledger_monthly=0.0,
            remittance__cash_months=cash_months,
            worker__side_job_seek=0.0,
            worker__debt_repay_share=share,
            worker__entry_bribe_median=3000.0,  # debts that take months to pay
            minder__threat_prob=0.0,
        ),
        rng=5,
    )
    for _ in range(9):  # the initial workers have paid off most of their debt; the newcomers owe it all
        m.step()
    before = {w.unique_id: (w.cash, w.entry_debt, w.held) for w in m.workers if w.active}
    m.step()
    return before, [w for w in m.workers if w.active and w.unique_id in before]


@pytest.mark.parametrize("share", [0.5, 1.0])
def test_the_entry_bribe_debt_is_paid_from_the_cash_he_holds(share):
    """ODD 7.7: after the month's bribes, ``paid = min(entry_debt, cash x debt_repay_share)`` leaves his cash for
    his lender: debt and cash both fall by it, to the cent."""
    before, after = _debtors(share)
    owing = [w for w in after if before[w.unique_id][1] > 0]
    assert len(owing) > 20
    paid_off = 0
    for w in owing:
        cash0, debt0, _ = before[w.unique_id]
        cash = cash0 + w.retained  # monthly paydays, no ledger or bribes: he holds what he kept
        paid = min(debt0, cash * share)
        assert w.entry_debt == pytest.approx(debt0 - paid, abs=1e-9)
        assert w.cash == pytest.approx(cash - paid, abs=1e-9)
        paid_off += w.entry_debt == 0
    assert 0 < paid_off < len(owing)  # some paid off this month, some still owe (the min binds both ways)


def test_pay_held_by_the_company_pays_no_debt_until_payday_and_none_with_a_share_of_zero():
    before, after = _debtors(1.0, cash_months=5)
    held = [w for w in after if before[w.unique_id][1] > 0 and w.held > 0]  # not his payday: nothing in hand
    assert held and all(w.entry_debt == before[w.unique_id][1] for w in held)
    before, after = _debtors(0.0)
    assert all(w.entry_debt == before[w.unique_id][1] for w in after)
    assert any(w.cash > 0 and w.entry_debt > 0 for w in after)
