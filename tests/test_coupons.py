"""Pay as the article tells it: families paid in coupons for state stores (`remittance.coupon_share`,
`remittance.coupon_value`; `rules.coupons`), by value.

What a worker keeps beyond the state's take and the ledger goes, in the share ``coupon_share``, to his family in
coupons rather than to him in cash; his net gain counts them at ``coupon_value`` a dollar. A worker paid directly by
a complying employer gets no coupons.
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


@pytest.fixture(scope="module")
def runs():
    """The same small run with and without coupons; no ledger, no side jobs, no threats: each month he keeps
    exactly what is left beyond the take (cash only moves what a caught or dead worker loses)."""

    def one(share):
        p = small_params(
            scale=0.2,
            months=30,
            remittance__ledger_monthly=0.0,
            remittance__coupon_share=share,
            remittance__coupon_value=0.3,
            worker__side_job_seek=0.0,
            minder__threat_prob=0.0,
            escape__attempt_rate=0.3,
            escape__threshold=-1.0,
        )
        return run(p, seed=6)

    return one(0.0), one(0.4)


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
