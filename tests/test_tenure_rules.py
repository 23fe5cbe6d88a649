"""Contracts and their extensions (`population.extension_prob`, `extension_months`, `max_contract_months`;
`rules.contract_extended`), by value: at the end of his contract, the border open, a worker stays for another
``extension_months`` with chance ``extension_prob``, as long as that keeps him within ``max_contract_months``."""

from __future__ import annotations

import numpy as np

from conftest import small_params
from sim import run
from sim.core import rules
from sim.core.workers import STATUS_CODE, STATUSES

COMPLETED = STATUSES[STATUS_CODE["completed"]]


def test_an_extension_comes_at_the_end_of_a_contract_with_its_chance_within_the_longest():
    assert rules.contract_extended(36, 36, False, 0.2, 0.3, 12, 120)
    assert not rules.contract_extended(36, 36, False, 0.4, 0.3, 12, 120)  # the draw above the chance
    assert not rules.contract_extended(36, 36, False, 0.3, 0.3, 12, 120)  # a draw in [0, 1) below the chance: not at it
    assert not rules.contract_extended(35, 36, False, 0.0, 0.3, 12, 120)  # not yet at the end
    assert not rules.contract_extended(40, 36, False, 0.0, 0.3, 12, 120)  # past it (stranded): no extension
    assert not rules.contract_extended(36, 36, True, 0.0, 0.3, 12, 120)  # the border closed
    assert rules.contract_extended(108, 108, False, 0.0, 0.3, 12, 120)  # 108 + 12 = 120: allowed
    assert not rules.contract_extended(112, 112, False, 0.0, 0.3, 12, 120)  # 124 would pass the longest


def test_in_a_run_completers_served_their_contract_and_whole_extensions_and_about_the_chance_extend():
    p = small_params(
        scale=0.3,
        months=72,
        population__extension_prob=0.5,
        population__extension_months=12,
        population__max_contract_months=60,
    )
    w = run(p, seed=5).workers
    done = w[w["status"] == COMPLETED]
    # no closure: each completer served exactly his contract, 36 months plus his extensions (0 or 12; 60 at most)
    assert (done["months_abroad"] == 36 + done["extended"]).all()
    assert set(done["extended"].unique()) <= {0, 12, 24} and {0, 12} <= set(done["extended"].unique())
    assert (done["months_abroad"] <= 60).all()  # 36 + 12 + 12: a third extension would pass the longest
    # of the contracts that reached their end in the run, about half were extended (each worker's first draw: 0.5
    # within 4 standard errors of a binomial share, so a wrong chance fails and a right one passes but 1 in 15,000)
    reached = w[w["months_abroad"] >= 36]
    share = float((reached["extended"] > 0).mean())
    se = (0.25 / len(reached)) ** 0.5
    assert len(reached) > 200 and abs(share - 0.5) < 4 * se, (share, len(reached))
    off = run(small_params(scale=1.0, months=72), seed=5).workers
    assert (off["extended"] == 0).all() and np.array_equal(
        off.loc[off["status"] == COMPLETED, "months_abroad"].unique(), [36]
    )
