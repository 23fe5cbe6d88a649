"""The border closure and its reopening (ODD 7.11, Known gap 10): while a host's border is closed nobody is posted
to it and no candidate is approved for it; a worker kept past his contract (stranded) goes home once it reopens
only as a replacement arrives, at most ``population.stranded_return`` of the stranded a month
(rules.stranded_release, StateBooks.plan_deployments). The rules by value are in tests/test_state_books_by_value.py;
the engines agree on them to the last bit (tests/test_docking.py runs the history through the reopening)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small_params
from sim import run

CLOSED = ("2020-02", "2023-07")  # params/history.toml's border_closure


@pytest.fixture(scope="module")
def history():
    """The calibrated history through 2025-12 at about 2,000 workers."""
    p = small_params(scale=4, months=120, path="params/history_calibrated.toml")
    return p, run(p, seed=5)


def test_nobody_is_posted_or_approved_across_a_closed_border(history):
    _, r = history
    h = r.hosts
    shut = (h["date"] >= CLOSED[0]) & (h["date"] <= CLOSED[1])
    assert shut.sum() > 0 and (h.loc[shut, "deployed"] == 0).all()
    assert (h.loc[shut, "candidates_approved"] == 0).all()
    # the candidates waiting do not grow through the closure (approved before it, they wait)
    waiting = h[shut].groupby("host")["candidates_waiting"]
    assert (waiting.max() == waiting.first()).all()
    # and they were approved before it: somebody was waiting, and is posted the month it reopens
    assert h.loc[shut, "candidates_waiting"].sum() > 0
    assert h.loc[h["date"] == "2023-08", "deployed"].sum() > 0


def test_the_stranded_go_home_only_as_replacements_arrive(history):
    """Per host and month after the reopening, the stranded who went home (completed past their contract)
    against those posted: none in a month nobody arrived; over the months, not more than the arrivals beyond a
    binomial margin (each goes with chance min(stranded_return, arrivals / stranded), so the expected number is
    at most the arrivals; 3 standard deviations of a Poisson count of that mean is the tolerance)."""
    p, r = history
    w, h = r.workers, r.hosts
    contract = p.population.contract_months
    done = w[(w["status"] == "completed") & (w["months_abroad"] > contract + w["extended"])]
    assert len(done) > 50, "too few stranded went home to test"
    dates = r.monthly["date"].to_numpy()
    done = done.assign(date=dates[done["month_left"].to_numpy()])
    gone = done.groupby(["date", "host"]).size()
    posted = h.set_index(["date", "host"])["deployed"]
    after = posted[posted.index.get_level_values("date") >= "2023-08"]
    gone = gone.reindex(after.index, fill_value=0)
    assert (gone[after == 0] == 0).all(), "a stranded worker went home in a month nobody arrived at his host"
    assert gone.sum() <= after.sum() + 3 * np.sqrt(after.sum())
    # and nobody stranded left while the border was closed
    assert done["date"].min() >= "2023-08"
