"""The policy answers under structural variants (sim/explore/structures.py, experiments/structures.toml): each
variant's experiment carries its overrides into every scenario and they win over the posterior's draw; the
robustness table counts and flags what it should; bad input is one line; a tiny run goes end to end."""

from __future__ import annotations

import json
import math
import time

import pandas as pd
import pytest

from conftest import ROOT
from sim.common.errors import ExperimentError
from sim.explore.posterior import read_posterior
from sim.explore.structures import (
    REFERENCE,
    expand_key,
    holds_cell,
    load_structures,
    robustness_flips,
    main,
    robustness_table,
    sign_of,
    structures_from_dict,
)
from sim.results.outcomes import KEPT, REVENUE

SHIPPED = ROOT / "experiments" / "structures.toml"


@pytest.fixture(scope="module")
def shipped():
    return load_structures(SHIPPED)


def first_tasks(plan) -> dict:
    """(scenario, sample) -> the resolved parameters of its first replicate."""
    return {(t["scenario"], t["sample"]): t for t in plan.tasks if t["replicate"] == 0}


def test_the_shipped_variants_and_their_budget(shipped):
    assert list(shipped.plans) == [
        REFERENCE,
        "stock_cap",
        "flow_brake",
        "no_plan_raise",
        "coercion_low",
        "coercion_high",
        "unlimited_recruits",
        "china_0",
        "china_half",
    ]
    for name, plan in shipped.plans.items():
        spec = plan.spec
        assert (spec.sampling.n, spec.replicates, spec.scale) == (20, 1, 0.25), name
        assert len(spec.scenarios) == 16 and plan.reference == "no_sanctions", name
        # every variant draws the same particles with the same seeds: the variants are paired
        assert plan.samples["particle"].tolist() == shipped.plans[REFERENCE].samples["particle"].tolist()
        assert [t["seed"] for t in plan.tasks] == [t["seed"] for t in shipped.plans[REFERENCE].tasks]
    assert shipped.runs == 9 * 16 * 20


def test_overrides_reach_every_scenario_and_win_over_the_posterior(shipped):
    ref = first_tasks(shipped.plans[REFERENCE])
    # the as-fitted runs take state.evasion_flow from the draw: neither 0 nor 1
    drawn = {t["params"]["state"]["evasion_flow"] for t in ref.values()}
    assert len(drawn) > 5 and not drawn & {0.0, 1.0}
    expected = {
        "stock_cap": (("state", "evasion_flow"), 0.0),
        "flow_brake": (("state", "evasion_flow"), 1.0),
        "no_plan_raise": (("state", "plan_raise"), 0.0),
        "coercion_low": (("minder", "threat_prob"), 0.25),
        "coercion_high": (("minder", "threat_prob"), 0.75),
        "unlimited_recruits": (("recruitment", "pipeline"), False),
    }
    for variant, ((table, key), value) in expected.items():
        tasks = first_tasks(shipped.plans[variant])
        assert tasks.keys() == ref.keys()
        for where, t in tasks.items():
            assert t["params"][table][key] == value, (variant, where)
            assert ref[where]["params"][table][key] != value, (variant, where)  # it moved something
            # the draw's other columns are kept: the same particle's plan cut and wages as the as-fitted run
            assert t["params"]["state"]["plan_cut"] == ref[where]["params"]["state"]["plan_cut"]
            assert t["params"]["hosts"]["china"]["wage"] == ref[where]["params"]["hosts"]["china"]["wage"]
            assert t["values"]["particle"] == ref[where]["values"]["particle"]
    # coercion sets the informants' reports too
    assert all(t["params"]["escape"]["report_prob"] == 0.1 for t in shipped.plans["coercion_low"].tasks)
    # runs.parquet records what the draw gave: the overridden column is not taken (NaN), the others are
    stock = first_tasks(shipped.plans["stock_cap"])[("history", 0)]["values"]
    assert math.isnan(stock["state.evasion_flow"]) and stock["state.plan_cut"] == stock["state.plan_cut"]


def test_china_is_fixed_where_a_policy_gives_it_a_compliance(shipped):
    ref = first_tasks(shipped.plans[REFERENCE])
    for variant, value in (("china_0", 0.0), ("china_half", 0.5)):
        tasks = first_tasks(shipped.plans[variant])
        for (scenario, sample), t in tasks.items():
            pols = t["params"]["policies"]
            before = ref[(scenario, sample)]["params"]["policies"]
            if scenario in ("history", "permit_ban_as_fitted"):
                assert pols[0]["compliance"]["china"] == value
                # the posterior's draw of Russia's compliance is kept
                assert pols[0]["compliance"]["russia"] == before[0]["compliance"]["russia"]
            if scenario in ("history", "repatriation_as_fitted"):
                assert (
                    pols[1]["compliance"]["china"] == value and pols[1]["schedule"][0]["compliance"]["china"] == value
                )
            if scenario == "permit_ban_as_fitted":  # the switched-off resolution stays off
                assert pols[1]["compliance"] == 0.0
            if scenario.endswith("_as_fitted") or scenario == "history":
                continue
            assert pols == before, (variant, scenario)  # full compliance and the other kinds: untouched
    # the draws differ from the fixed values: the override won over the posterior's column
    assert {t["params"]["policies"][0]["compliance"]["china"] for (s, _), t in ref.items() if s == "history"} - {
        0.0,
        0.5,
    }


def test_expand_key():
    params = {"policies": [{"compliance": {"china": 0.2, "russia": 1}}, {"compliance": 1.0}], "state": {"x": 1}}
    assert expand_key("policies.*.compliance.china", params) == ["policies.0.compliance.china"]
    assert expand_key("state.x", params) == ["state.x"]
    assert expand_key("state.y", params) == [] and expand_key("policies.*.evasion", params) == []


# ------------------------------------------------------------------------------------------------ bad input


def small_base(folder, n: int = 40):
    """A posterior experiment of four scenarios over the shipped posterior (fast to plan and to run)."""
    path = folder / "small.toml"
    path.write_text(
        f"""name = "small"
base = "{ROOT / "params" / "history.toml"}"
posterior = "{ROOT / "params" / "posterior_sanctions.csv"}"
seeds = "per_sample"
reference = "no_sanctions"
outcomes = ["{REVENUE}", "{KEPT}"]

[sampling]
method = "posterior"
n = {n}

[[scenarios]]
name = "no_sanctions"
without = ["policies.*"]
policies = [{{ kind = "border_closure", start = "2020-02", end = "2023-08", hosts = "all" }}]

[[scenarios]]
name = "history"

[[scenarios]]
name = "permit_ban_as_fitted"
without = ["policies.1.*"]
overrides = {{ "policies.1.compliance" = 0.0, "policies.1.schedule.0.compliance" = 0.0 }}

[[scenarios]]
name = "full_compliance"
without = ["policies.*"]
overrides = {{ "policies.0.compliance" = 1.0, "policies.0.evasion" = 0.0, "policies.1.compliance" = 1.0, "policies.1.evasion" = 0.0, "policies.1.schedule.0.compliance" = 1.0 }}
"""
    )
    return path


def structures(folder, **overrides) -> dict:
    return {
        "name": "tiny",
        "base": str(small_base(folder)),
        "budget": {"draws": 2, "replicates": 1, "scale": 0.01},
        "variants": [
            {"name": "flow_brake", "label": "flow brake", "why": "w", "overrides": {"state.evasion_flow": 1.0}},
            {"name": "china_0", "label": "China 0", "why": "w", "overrides": {"policies.*.compliance.china": 0.0}},
        ],
        **overrides,
    }


def one_error(tmp_path, variant_overrides: dict) -> str:
    raw = structures(tmp_path)
    raw["variants"] = [{"name": "v", "label": "v", "why": "w", "overrides": variant_overrides}]
    with pytest.raises(ExperimentError) as e:
        structures_from_dict(raw, tmp_path)
    assert len(e.value.errors) == 1, e.value.errors
    return e.value.errors[0]


def test_an_unknown_key_is_one_line_naming_it(tmp_path):
    line = one_error(tmp_path, {"state.plan_rase": 0.0})
    assert line == "variants[0] (v).overrides: no parameter state.plan_rase (did you mean 'plan_raise'?)"
    assert "matches no parameter" in one_error(tmp_path, {"policies.*.compliance.mars": 0.0})
    # a key some scenarios lack (full compliance gives one compliance for every host) needs a *
    assert "scenario no_sanctions, full_compliance has no such parameter" in one_error(
        tmp_path, {"policies.0.compliance.china": 0.0}
    )
    # an override that changes nothing, and one that would leave part of a posterior column drawn
    assert "changes nothing" in one_error(tmp_path, {"state.plan_raise": 0.02})
    assert "part of the posterior column hosts.*.wage" in one_error(tmp_path, {"hosts.china.wage": 300.0})
    # a value the parameter does not take: the experiment's own check, naming the variant and the key
    line = one_error(tmp_path, {"state.plan_raise": -1.0})
    assert line.startswith("variants[0] (v): small.toml: ") and "state.plan_raise" in line


def test_the_command_says_what_is_wrong_in_one_line(tmp_path, capsys):
    raw = structures(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'name = "bad"\nbase = "{raw["base"]}"\n[budget]\ndraws = 2\nscale = 0.01\n'
        '[[variants]]\nname = "v"\nlabel = "v"\nwhy = "w"\noverrides = { "state.plan_rase" = 0.0 }\n'
    )
    assert main([str(bad), "--out", str(tmp_path / "out"), "--processes", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"structures: error: {bad}: variants[0] (v).overrides: no parameter state.plan_rase (did you mean 'plan_raise'?)"
    ]
    assert not (tmp_path / "out").exists()  # nothing written before the input is checked
    for budget, variants, said in (
        (
            "draws = 0",
            '[[variants]]\nname = "v"\nlabel = "v"\nwhy = "w"\noverrides = { "state.plan_raise" = 0.0 }',
            "budget.draws: input should be greater than or equal to 1",
        ),
        ("draws = 2", "", "variants: at least one is needed"),
        (
            "draws = 2",
            '[[variants]]\nname = "as_fitted"\nlabel = "v"\nwhy = "w"\noverrides = { "state.plan_raise" = 0.0 }',
            "variants[0].name: 'as_fitted' is the variant without overrides",
        ),
    ):
        top = "variants = []\n" if not variants else ""
        bad.write_text(f'name = "bad"\nbase = "{raw["base"]}"\n{top}[budget]\n{budget}\nscale = 0.01\n{variants}\n')
        assert main([str(bad), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"structures: error: {bad}: {said}"), err


# ------------------------------------------------------------------------------------------ other posteriors

SEED1 = ROOT / "docs" / "calibration" / "sanctions" / "independent" / "seed1" / "posterior.csv"


def test_a_variant_draws_another_runs_posterior_with_the_same_seeds(tmp_path):
    raw = structures(tmp_path, budget={"draws": 6, "replicates": 1, "scale": 0.01})
    raw["variants"] = [
        {"name": "seed1", "label": "seed 1", "why": "w", "posterior": str(SEED1)},
        # a posterior and an override together: the override still wins over that posterior's column
        {
            "name": "seed1_flow",
            "label": "s",
            "why": "w",
            "posterior": str(SEED1),
            "overrides": {"state.evasion_flow": 1.0},
        },
    ]
    s = structures_from_dict(raw, tmp_path)
    other = read_posterior(SEED1).frame.set_index("particle")
    shipped_post = read_posterior(ROOT / "params" / "posterior_sanctions.csv").frame.set_index("particle")
    ref, var, flow = (first_tasks(s.plans[v]) for v in (REFERENCE, "seed1", "seed1_flow"))
    assert var.keys() == ref.keys()
    assert [t["seed"] for t in s.plans["seed1"].tasks] == [t["seed"] for t in s.plans[REFERENCE].tasks]
    for (scenario, sample), t in var.items():
        if scenario != "history":
            continue
        p = t["values"]["particle"]
        # the variant's parameters are its own posterior's particle, not the base's
        assert t["params"]["state"]["plan_cut"] == other.loc[p, "state.plan_cut"]
        r = ref[(scenario, sample)]
        assert r["params"]["state"]["plan_cut"] == shipped_post.loc[r["values"]["particle"], "state.plan_cut"]
        f = flow[(scenario, sample)]
        assert f["params"]["state"]["evasion_flow"] == 1.0 and f["values"]["particle"] == p
        assert f["params"]["state"]["plan_cut"] == t["params"]["state"]["plan_cut"]
    assert {t["params"]["state"]["plan_cut"] for t in var.values()} != {
        t["params"]["state"]["plan_cut"] for t in ref.values()
    }


def test_a_bad_other_posterior_is_one_line(tmp_path):
    def error(variant: dict) -> str:
        raw = structures(tmp_path)
        raw["variants"] = [{"name": "v", "label": "v", "why": "w", **variant}]
        with pytest.raises(ExperimentError) as e:
            structures_from_dict(raw, tmp_path)
        assert len(e.value.errors) == 1, e.value.errors
        return e.value.errors[0]

    assert error({}) == "variants[0]: a variant needs overrides, a posterior, or both"
    line = error({"posterior": "nowhere.csv"})
    assert line.startswith("variants[0] (v).posterior: no such file") and "nowhere.csv" in line
    base_own = error({"posterior": str(ROOT / "params" / "posterior_sanctions.csv")})
    assert base_own.startswith("variants[0] (v).posterior: ") and "the base's own posterior" in base_own
    fewer = tmp_path / "fewer.csv"
    frame = read_posterior(SEED1).frame.drop(columns=["state.plan_cut"])
    frame.to_csv(fewer, index=False)
    assert error({"posterior": str(fewer)}) == (
        f"variants[0] (v).posterior: {fewer} has other columns than the base's posterior (state.plan_cut): "
        "not a run of the same fit"
    )
    # the same columns, another header: a multiplier read as a count would post 1 worker where the base posts 385
    text = SEED1.read_text().splitlines()
    for dropped, what in (
        ("# relative:", "the columns relative to the scenario's value"),
        ("# scenario:", "the fitted scenario"),
    ):
        other = tmp_path / f"header{len(what)}.csv"
        other.write_text("\n".join(x for x in text if not x.startswith(dropped)) + "\n")
        assert error({"posterior": str(other)}) == (
            f"variants[0] (v).posterior: {other} differs from the base's posterior in {what} (its '# ...:' header "
            "lines): not a run of the same fit"
        )


def test_a_variants_posterior_is_relative_to_the_structures_file(tmp_path):
    """A structures file in another folder than its base: the variant's posterior path is read from the structures
    file's folder, and the planned experiment (whose paths are relative to the base's folder) finds it."""
    import shutil

    import tomli_w

    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copy(SEED1, runs / "seed1.csv")
    folder = tmp_path / "deep" / "er"
    folder.mkdir(parents=True)
    raw = structures(tmp_path)  # its base is tmp_path/small.toml
    raw["base"] = "../../small.toml"
    raw["variants"] = [{"name": "seed1", "label": "seed 1", "why": "w", "posterior": "../../runs/seed1.csv"}]
    path = folder / "s.toml"
    path.write_text(tomli_w.dumps(raw))
    s = load_structures(path)
    other = read_posterior(SEED1).frame.set_index("particle")
    for t in s.plans["seed1"].tasks:
        assert t["params"]["state"]["plan_cut"] == other.loc[t["values"]["particle"], "state.plan_cut"]


# ------------------------------------------------------------------------------------------------ the table


def answers(rows: dict[str, tuple[float, float, float]], outcome: str) -> pd.DataFrame:
    """A posterior_summary's rows: per scenario its change's (median, low, high); the reference scenario's 0."""
    out = [{"scenario": "none", "outcome": outcome, **dict.fromkeys(CHANGE_COLUMNS, 0.0)}]
    for sc, (m, lo, hi) in rows.items():
        values = (m, lo, hi, m / 2, lo / 2, hi / 2)
        out.append({"scenario": sc, "outcome": outcome, **dict(zip(CHANGE_COLUMNS, values))})
    return pd.DataFrame(out)


CHANGE_COLUMNS = (
    "change_median",
    "change_low",
    "change_high",
    "change_pct_median",
    "change_pct_low",
    "change_pct_high",
)


def test_the_robustness_table_counts_holds_and_flags_flips():
    # revenue: less is better, so rank 1 is the largest cut
    revenue = {
        REFERENCE: {"A": (-50, -60, -40), "B": (-20, -30, -10), "C": (-5, -8, -2), "D": (0.5, -1, 2), "E": (1, -1, 3)},
        # B turns to a rise: its sign flips (- to +) and it falls from 2nd to 5th; the others move one place
        "flip": {"A": (-50, -60, -40), "B": (10, 5, 15), "C": (-5, -8, -2), "D": (0.2, -1, 1), "E": (1, -1, 3)},
        # C weakens to ~0 (a flip of strength) and falls two places; E jumps from 5th to 3rd, but it is ~0 in
        # both: no rank to keep
        "weak": {"A": (-50, -60, -40), "B": (-20, -30, -10), "C": (-1, -3, 0.5), "D": (-2, -4, 1), "E": (-3, -5, 1)},
    }
    # kept: more is better; in "weak" C ties with A for first
    kept = {
        REFERENCE: {"A": (10, 5, 15), "B": (-10, -15, -5), "C": (5, 2, 8), "D": (0, -1, 1), "E": (-5, -8, -2)},
        "flip": {"A": (10, 5, 15), "B": (-10, -15, -5), "C": (5, 2, 8), "D": (0, -1, 1), "E": (-5, -8, -2)},
        "weak": {"A": (10, 5, 15), "B": (-10, -15, -5), "C": (10, 2, 12), "D": (0, -1, 1), "E": (-5, -8, -2)},
    }
    given = {v: pd.concat([answers(revenue[v], REVENUE), answers(kept[v], KEPT)], ignore_index=True) for v in revenue}
    table = robustness_table(given, "none", (REVENUE, KEPT), scale=0.5).set_index(["scenario", "outcome"])
    assert list(table.index) == [(s, o) for o in (REVENUE, KEPT) for s in "ABCDE"]  # the reference scenario left out
    r = table.xs(REVENUE, level="outcome")
    assert r[f"{REFERENCE}.rank"].tolist() == [1, 2, 3, 4, 5] and r["flip.rank"].tolist() == [1, 5, 2, 3, 4]
    assert r[f"{REFERENCE}.sign"].tolist() == ["-", "-", "-", "~0", "~0"]
    assert r["flip.sign"].tolist() == ["-", "+", "-", "~0", "~0"]
    assert (r["variants"] == 2).all()
    assert r["sign_holds"].tolist() == [2, 1, 1, 2, 2]
    assert r["rank_holds"].tolist() == [2, 1, 1, 2, 2]
    assert r.loc["B", "sign_flips"] == "flip (- to +)" and r.loc["B", "rank_flips"] == "flip (2 to 5)"
    assert r.loc["C", "sign_flips"] == "weak (- to ~0)" and r.loc["C", "rank_flips"] == "weak (3 to 5)"
    assert r.loc["E", "weak.rank"] == 3 and r.loc["E", "rank_flips"] == ""  # ~0 in both: holds
    assert holds_cell(r.loc["B"]) == "sign 1/2, rank 1/2 (flips: sign flip (- to +); rank flip (2 to 5))"
    assert holds_cell(r.loc["A"]) == "sign 2/2, rank 2/2"
    # totals shown at full scale (revenue is one; what a worker keeps is not), percentages as they are
    assert r.loc["A", f"{REFERENCE}.change"] == -100 and r.loc["A", f"{REFERENCE}.change_pct"] == -25
    k = table.xs(KEPT, level="outcome")
    assert k[f"{REFERENCE}.change"].tolist() == [10, -10, 5, 0, -5]
    assert k[f"{REFERENCE}.rank"].tolist() == [1, 5, 2, 3, 4] and k["weak.rank"].tolist() == [1, 5, 1, 3, 4]
    assert (k["sign_holds"] == 2).all() and (k["rank_holds"] == 2).all()
    words = robustness_flips(table.reset_index(), {}, {"flip": "F", "weak": "W"}).splitlines()
    assert words == [
        "- B, revenue delivered per year: sign - to + under F; rank 2 to 5 under F",
        "- C, revenue delivered per year: sign - to ~0 under W; rank 3 to 5 under W",
    ]


def test_the_policy_table_carries_the_robustness_column_and_the_flips_in_words():
    from sim.explore.analysis import answers_table, holds_counts

    revenue = {
        REFERENCE: {"A": (-50, -60, -40), "B": (-20, -30, -10)},
        "flip": {"A": (-50, -60, -40), "B": (10, 5, 15)},
    }
    kept = {REFERENCE: {"A": (10, 5, 15), "B": (-10, -15, -5)}, "flip": {"A": (10, 5, 15), "B": (-10, -15, -5)}}
    given = {v: pd.concat([answers(revenue[v], REVENUE), answers(kept[v], KEPT)], ignore_index=True) for v in revenue}
    rob = robustness_table(given, "none", (REVENUE, KEPT))
    # the policy answers as posterior_summary writes them: the changes above plus the levels
    pa = given[REFERENCE].copy()
    for c in ("median", "low", "high"):
        pa[c] = 100.0
    pa["draws"] = 20
    ranks = pd.DataFrame({"scenario": ["A", "B"] * 2, "outcome": [REVENUE] * 2 + [KEPT] * 2, "p_first": [1, 0, 1, 0]})
    table = answers_table(pa, ranks, {"A": "policy A", "B": "policy B"}, "none", robustness=rob)
    head, _, *rows = table.splitlines()
    assert head.endswith(
        "| revenue delivered per year: sign, rank hold in k of 1 structures "
        "| kept per month worked: sign, rank hold in k of 1 structures |"
    )
    cells = {r.split(" | ")[0].lstrip("| "): r.rstrip(" |").split(" | ")[-2:] for r in rows}
    assert cells["policy A"] == ["1, 1", "1, 1"] and cells["policy B"] == ["0, 1", "1, 1"]
    assert rows[0].startswith("| none |") and rows[0].endswith("|  |  |")  # the reference scenario has no change
    assert holds_counts(rob.iloc[1]) == "0, 1"  # B's sign flips; of two policies its rank cannot move 2 places
    # a policy the structures did not run is said so, not left blank
    partial = answers_table(pa, ranks, {}, "none", robustness=rob[rob["scenario"] != "B"])
    assert "| not run | not run |" in partial
    flips = robustness_flips(rob, {"B": "policy B"}, {"flip": "a flipped world"})
    assert flips == "- policy B, revenue delivered per year: sign - to + under a flipped world"
    assert robustness_flips(rob[rob["scenario"] == "A"], {}, {}) == ""
    # without robustness the table is as before
    assert "structures" not in answers_table(pa, ranks, {}, "none")


def test_signs():
    assert [sign_of(1, 2), sign_of(-2, -1), sign_of(-1, 1), sign_of(0, 0), sign_of(math.nan, 1)] == [
        "+",
        "-",
        "~0",
        "~0",
        "n/a",
    ]


# ------------------------------------------------------------------------------------------------ end to end


def test_a_tiny_run_end_to_end_and_resumed(tmp_path, capsys):
    import tomli_w

    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(structures(tmp_path)))
    out = tmp_path / "out"
    t0 = time.perf_counter()
    assert main([str(path), "--out", str(out), "--processes", "1", "--quiet"]) == 0
    assert time.perf_counter() - t0 < 60
    printed = capsys.readouterr().out
    assert "sign 2/2" in printed or "sign 1/2" in printed or "sign 0/2" in printed
    table = pd.read_csv(out / "robustness.csv")
    assert sorted(table["scenario"].unique()) == ["full_compliance", "history", "permit_ban_as_fitted"]
    assert set(table["outcome"]) == {REVENUE, KEPT} and (table["variants"] == 2).all()
    for v in (REFERENCE, "flow_brake", "china_0"):
        assert (out / v / "policy_answers.csv").exists() and f"{v}.sign" in table
        runs = pd.read_parquet(out / v / "runs.parquet")
        assert len(runs) == 4 * 2 and runs[[REVENUE, KEPT]].notna().all().all()
    assert not list(out.glob(".*"))  # robustness.csv written whole (no temporary left)
    # the variants moved the runs they should: the history's revenue differs from the as-fitted one
    runs = {
        v: pd.read_parquet(out / v / "runs.parquet").set_index("run_id") for v in (REFERENCE, "flow_brake", "china_0")
    }
    for v in ("flow_brake", "china_0"):
        assert runs[v].loc["history.s00000.r0000", REVENUE] != runs[REFERENCE].loc["history.s00000.r0000", REVENUE]
    full = "full_compliance.s00000.r0000"  # China's compliance is 1 there: untouched by china_0
    assert runs["china_0"].loc[full, REVENUE] == runs[REFERENCE].loc[full, REVENUE]
    # again without --resume: refused in one line; with it, nothing runs and the table is the same
    assert main([str(path), "--out", str(out), "--processes", "1", "--quiet"]) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main([str(path), "--out", str(out), "--processes", "1", "--quiet", "--resume"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "robustness.csv"), table)
    for v in (REFERENCE, "flow_brake", "china_0"):
        sessions = json.loads((out / v / "manifest.json").read_text())["sessions"]
        assert [s["runs_run"] for s in sessions] == [8, 0]


# ------------------------------------------------------------------------------------------ runs' answers


def test_the_runs_policy_answers_join_their_comparison_in_the_report(tmp_path, capsys):
    """olsim calibrate --compare ... --answers DIR: the agreement section of the report also says whether the runs'
    policy answers agree (the shipped table of experiments/independent_runs.toml), counted from the table."""
    import shutil

    from sim.cli import main as olsim
    from sim.explore import load_experiment

    table = pd.read_csv(ROOT / "docs" / "results" / "independent_runs_robustness.csv")
    answers = tmp_path / "answers"
    (answers / REFERENCE).mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "results" / "independent_runs_robustness.csv", answers / "robustness.csv")
    plan = load_experiment(ROOT / "experiments" / "sanctions.toml")
    scenarios = [{"name": s.name, "label": s.label} for s in plan.spec.scenarios]
    (answers / REFERENCE / "manifest.json").write_text(json.dumps({"experiment": {"scenarios": scenarios}}))
    report = tmp_path / "report.md"
    shutil.copy(ROOT / "docs" / "calibration" / "sanctions" / "report.md", report)
    runs = [str(ROOT / "params" / "posterior_sanctions.csv")] + [
        str(ROOT / "docs" / "calibration" / "sanctions" / "independent" / s) for s in ("seed1", "seed2")
    ]
    targets = str(ROOT / "params" / "targets_sanctions.toml")
    assert olsim(["calibrate", targets, "--compare", *runs, "--answers", str(answers), "--report", str(report)]) == 0
    capsys.readouterr()
    text = report.read_text()
    section = text[text.index("## Agreement of independent runs") : text.index("## Can the model reach")]
    signs, ranks = int((table["sign_holds"] == 2).sum()), int((table["rank_holds"] == 2).sum())
    assert "### Do the runs give the same policy answers?" in section
    assert f"holds in all 3 runs for {signs} and the rank (within 1 place) for {ranks}" in section
    assert (
        "| seafood and textile ban, full compliance | revenue delivered per year | +2% (~0, 15) | +2% (+, 15) | "
        "+2% (+, 15) | **no**: sign seed1 (~0 to +); sign seed2 (~0 to +) |"
    ) in section
    answers_part = section[section.index("### Do the runs give the same policy answers?") :]
    assert answers_part.count("| yes |") == len(table) - int(
        ((table["sign_holds"] < 2) | (table["rank_holds"] < 2)).sum()
    )
    # the table itself will do (the shipped copy), labels from the manifest beside it; without the manifest, the
    # scenarios' names; bad input is one line and leaves the report as it was
    assert olsim(["calibrate", targets, "--compare", *runs, "--answers", str(answers / "robustness.csv")]) == 0
    assert "| seafood and textile ban, full compliance | revenue delivered per year |" in capsys.readouterr().out
    shutil.rmtree(answers / REFERENCE)
    assert olsim(["calibrate", targets, "--compare", *runs, "--answers", str(answers)]) == 0
    assert "| sector_ban | revenue delivered per year |" in capsys.readouterr().out
    before = report.read_text()
    for flags, said in (
        (["--answers", str(tmp_path)], "no robustness.csv; give the results folder"),
        (["--answers", str(answers), "--recovery", "2"], None),
    ):
        args = ["calibrate", targets, *(["--compare", *runs] if said else []), *flags, "--report", str(report)]
        assert olsim(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and (said or "--answers: only with --compare") in err[0], err
    assert report.read_text() == before
