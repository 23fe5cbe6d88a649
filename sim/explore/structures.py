"""How much the policy answers depend on the model's structure (issue 30, item 6).

    python -m sim.explore.structures experiments/structures.toml [--out DIR] [--processes N] [--resume] [--force]

A structures file (``experiments/structures.toml``) names a posterior experiment (the base: its scenarios, its
posterior, its reference scenario), a reduced budget (draws, replicates, scale) and the structural variants,
each a set of dotted overrides (or another run's posterior: below). Every variant is the base experiment at that
budget with the variant's overrides on top of every scenario; the "as fitted" variant (`REFERENCE`, no override)
is run at the same budget, so the variants are compared with it like for like. Each is an ordinary experiment
(`plan_experiment`, `run_experiment`) in its own folder, ``OUT/<variant>/``, resumable like any other; all of them
use the same posterior draws and seeds, so the variants are paired too.

A variant may instead (or as well) name another ``posterior`` file, an independent run of the same calibration
(the same parameter columns; not the base's own file): it draws that run's particles, with the same seeds, so
the table says whether the policy answers of independent calibrations agree in sign and rank
(``experiments/independent_runs.toml``; issue 30, item 1). Such a variant is not paired with the others draw by
draw (its particles are another run's); its medians and intervals are compared, as every variant's are.

A variant's override:

- applies to every scenario, after the scenario's own overrides (the variant wins);
- wins over the posterior: a posterior column it sets is added to the scenario's ``without``, so the draw keeps
  its other columns and this one takes the variant's value (a column shared by every host, ``hosts.*.x``, is
  taken out only by an override of ``hosts.*.x`` itself: setting one host of it is an error);
- with a ``*`` in its key (``policies.*.compliance.china``), applies where the scenario has such a parameter
  (each policy whose compliance is given per host); without one, every scenario must have it;
- must name a parameter (a typo is one line naming it) and change something: a value some scenario does not
  already have, or a posterior column some scenario takes.

`robustness_table` reads each variant's policy answers (`posterior_summary`: per scenario and outcome, the median
and 90% credible interval over the draws of the paired change from the reference scenario) and says, per policy
(every scenario but the reference scenario) and outcome:

- its **sign** in each variant: ``+`` or ``-`` when the 90% interval of the change is above or below 0, ``~0``
  when it holds 0. The sign holds in a variant when it is the same as in the as-fitted variant (a ``~0`` holds
  if the variant's interval also holds 0; ``-`` to ``~0`` is a flip, of strength rather than of direction);
- its **rank** among the policies in each variant, by the median change, 1 the best (the largest revenue cut;
  the most kept by the workers: each outcome's ``better``), ties sharing the smaller rank. The rank holds when
  it is within `RANK_TOLERANCE` (1) of the as-fitted rank, or when the change is ``~0`` in both: with 15
  policies, several of them doing nothing to an outcome, an exact rank would flip on the noise of changes that
  tie near 0, and a policy that does nothing has no rank to keep.

``sign_holds`` and ``rank_holds`` count the variants (the as-fitted one aside) where each holds, of
``variants``; ``sign_flips`` and ``rank_flips`` name every variant where it does not, with the two values.
`write_robustness` writes the table (``robustness.csv``) atomically.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w
from pydantic import Field, ValidationError, model_validator

from ..common import shipped
from ..common.errors import ExperimentError, OlsimError
from ..common.files import atomic_write
from ..common.formatting import fixed, number
from ..common.validation import Strict, format_validation_error, read_toml, suggest
from ..results.outcomes import HEADLINE, OUTCOMES
from .plan import Plan, plan_experiment
from .posterior import read_posterior, scenario_columns
from .spec import NAME_RE

REFERENCE = "as_fitted"  # the variant without overrides: the base experiment at the reduced budget
REFERENCE_LABEL = "as fitted"
RANK_TOLERANCE = 1  # a rank holds within this many places of the as-fitted rank
# what robustness.csv gives of each variant, as <variant>.<column>
COLUMNS = ("change", "low", "high", "change_pct", "pct_low", "pct_high", "sign", "rank")


class Budget(Strict):
    """What every variant (the as-fitted one included) runs, in place of the base experiment's own."""

    draws: int = Field(ge=1, le=10_000, description="posterior draws per variant (the base's sampling.n)")
    replicates: int = Field(1, ge=1, le=1000, description="seeds per draw")
    scale: float = Field(gt=0, le=1, description="share of every host's workers simulated")
    months: int | None = Field(None, ge=1, le=2400, description="overrides calendar.months (default: the base's)")


class Variant(Strict):
    """One variant: overrides applied on top of every scenario of the base experiment, another run's posterior
    drawn in place of the base's, or both."""

    name: str = Field(description="names its folder (OUT/NAME) and its column in robustness.csv")
    label: str = Field(min_length=1, max_length=60, description="a short name for people")
    why: str = Field(min_length=1, description="one line: what structural choice it tests")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="dotted keys; a * applies the key wherever the scenario has such a parameter",
    )
    posterior: str | None = Field(
        None,
        description="another calibration's posterior file (relative to the structures file), drawn in place of the "
        "base's: an independent run of the same fit, whose policy answers are compared with the shipped fit's",
    )

    @model_validator(mode="after")
    def _changes_something(self):
        if not self.overrides and self.posterior is None:
            raise ValueError("a variant needs overrides, a posterior, or both")
        return self


class StructuresFile(Strict):
    name: str = Field(description="names the results folder (results/experiments/NAME)")
    description: str = ""
    base: str = Field(description="the posterior experiment whose policy answers are checked (relative to this file)")
    outcomes: list[str] = Field(
        default_factory=lambda: list(HEADLINE), description="the outcomes whose signs and ranks are checked"
    )
    budget: Budget
    variants: list[Variant]

    @model_validator(mode="after")
    def _consistent(self):
        errors = []
        if not NAME_RE.fullmatch(self.name):
            errors.append(f"name: {self.name!r} must be letters, digits, _ and - (it names a folder)")
        if not self.variants:
            errors.append("variants: at least one is needed")
        names = [v.name for v in self.variants]
        for i, n in enumerate(names):
            if not NAME_RE.fullmatch(n):
                errors.append(f"variants[{i}].name: {n!r} must be letters, digits, _ and - (it names a folder)")
            elif n == REFERENCE:
                errors.append(f"variants[{i}].name: '{REFERENCE}' is the variant without overrides, always run")
            elif [m.lower() for m in names].index(n.lower()) != i:
                errors.append(f"variants[{i}].name: '{n}' is used twice (or differs only in case)")
        if not self.outcomes:
            errors.append("outcomes: at least one is needed")
        for o in self.outcomes:
            if o not in OUTCOMES:
                errors.append(f"outcomes: unknown outcome '{o}'{suggest(o, OUTCOMES)}")
            elif OUTCOMES[o].better not in ("up", "down"):
                errors.append(f"outcomes: {o} has no better direction (better = 'neither'), so it cannot be ranked")
        if len(set(self.outcomes)) != len(self.outcomes):
            errors.append("outcomes: an outcome is listed twice")
        if errors:
            raise ValueError("\n".join(errors))
        return self


@dataclass
class Structures:
    """A structures file, read and planned: one experiment plan per variant, the as-fitted one first."""

    spec: StructuresFile
    path: Path | None
    base_path: Path
    plans: dict[str, Plan]
    labels: dict[str, str] = field(default_factory=dict)  # variant -> its label
    why: dict[str, str] = field(default_factory=dict)

    @property
    def reference_scenario(self) -> str:
        return self.plans[REFERENCE].reference

    @property
    def scenario_labels(self) -> dict[str, str]:
        return {s.name: s.label or s.name.replace("_", " ") for s in self.plans[REFERENCE].spec.scenarios}

    @property
    def runs(self) -> int:
        return sum(len(p.tasks) for p in self.plans.values())


def load_structures(path: str | os.PathLike) -> Structures:
    """Read, validate and plan a structures file; `ExperimentError` (one line per problem) if anything is wrong."""
    p = Path(path)
    _, raw = read_toml(p, "a structures file", ExperimentError)
    try:
        return structures_from_dict(raw, p.parent, p)
    except ExperimentError as e:
        raise e.prefixed(f"{p}: ") from None


def structures_from_dict(raw: dict, folder: str | os.PathLike = ".", path: Path | None = None) -> Structures:
    """A structures file given as a dict (paths relative to ``folder``): every variant's experiment, planned."""
    try:
        spec = StructuresFile.model_validate(raw)
    except ValidationError as e:
        raise ExperimentError(format_validation_error(e, StructuresFile)) from None
    base_path = Path(folder) / spec.base
    _, base_raw = read_toml(base_path, "an experiment file", ExperimentError)
    where = Path(spec.base).name
    if not isinstance(base_raw.get("posterior"), str):
        raise ExperimentError(
            f'base: {where} samples no posterior (posterior = "..."); the structural variants re-run a '
            f"posterior experiment's policy answers"
        )
    plans = {REFERENCE: _plan(_with_budget(base_raw, spec, REFERENCE), base_path, REFERENCE_LABEL, "")}
    reference = plans[REFERENCE]
    missing = [o for o in spec.outcomes if o not in reference.spec.outcomes]
    if missing:
        raise ExperimentError(f"outcomes: {', '.join(missing)} not measured by the base experiment {where}")
    base_posterior = base_path.parent / base_raw["posterior"]
    posterior = read_posterior(base_posterior)
    errors: list[str] = []
    variant_raws = {}
    for i, v in enumerate(spec.variants):
        at = f"variants[{i}] ({v.name})"
        raw = _with_budget(base_raw, spec, v.name)
        drawn = posterior
        if v.posterior is not None:
            own = Path(folder) / v.posterior
            try:
                drawn = read_posterior(own)
            except ExperimentError as e:  # its lines begin "posterior: "
                errors += e.prefixed(f"{at}.").errors
                continue
            if own.resolve() == base_posterior.resolve():
                errors.append(f"{at}.posterior: {v.posterior} is the base's own posterior; name another run's")
                continue
            if set(drawn.names) != set(posterior.names):
                errors.append(
                    f"{at}.posterior: {v.posterior} has other columns than the base's posterior "
                    f"({', '.join(sorted(set(drawn.names) ^ set(posterior.names)))}): not a run of the same fit"
                )
                continue
            differs = [
                what
                for what, mine, base in (
                    ("the fitted scenario", drawn.scenario, posterior.scenario),
                    ("its policies", drawn.policies, posterior.policies),
                    ("the columns relative to the scenario's value", drawn.relative, posterior.relative),
                )
                if mine != base
            ]
            if differs:
                errors.append(
                    f"{at}.posterior: {v.posterior} differs from the base's posterior in {', '.join(differs)} "
                    f"(its '# ...:' header lines): not a run of the same fit"
                )
                continue
            raw["posterior"] = os.path.relpath(own.resolve(), base_path.parent.resolve())
        if v.overrides:
            try:
                raw = _with_overrides(raw, v.overrides, reference, drawn, f"{at}.overrides")
            except ExperimentError as e:
                errors += e.errors
                continue
        variant_raws[v.name] = raw
    if errors:
        raise ExperimentError(errors)
    for i, v in enumerate(spec.variants):
        try:
            plans[v.name] = _plan(variant_raws[v.name], base_path, v.label, v.why)
        except ExperimentError as e:
            errors += e.prefixed(f"variants[{i}] ({v.name}): ").errors
    if errors:
        raise ExperimentError(errors)
    return Structures(
        spec=spec,
        path=path,
        base_path=base_path,
        plans=plans,
        labels={REFERENCE: REFERENCE_LABEL, **{v.name: v.label for v in spec.variants}},
        why={REFERENCE: "the base experiment as fitted, at the same budget", **{v.name: v.why for v in spec.variants}},
    )


def _with_budget(base_raw: dict, spec: StructuresFile, variant: str) -> dict:
    """The base experiment's dict with the variants' budget and the variant's name."""
    raw = dict(base_raw)
    b = spec.budget
    raw["name"] = f"{base_raw.get('name', 'base')}-{variant}"
    sampling = base_raw.get("sampling", {})
    raw["sampling"] = {**sampling, "n": b.draws} if isinstance(sampling, dict) else sampling  # else: the plan says
    raw["replicates"] = b.replicates
    raw["scale"] = b.scale
    if b.months is not None:
        raw["months"] = b.months
    scenarios = base_raw.get("scenarios", [])
    raw["scenarios"] = (
        [dict(s) if isinstance(s, dict) else s for s in scenarios] if isinstance(scenarios, list) else scenarios
    )
    return raw


def _plan(raw: dict, base_path: Path, label: str, why: str) -> Plan:
    """A variant's experiment planned (its file, as run, is the plan's text: the folder's experiment.toml)."""
    raw = {**raw, "description": f"{raw.get('description', '')}; structural variant: {label}".lstrip("; ")}
    text = (
        f"# written by python -m sim.explore.structures: {base_path.name} at the structures' budget, variant "
        f"{label}{': ' + why if why else ''}\n# (its paths are relative to {base_path.parent})\n" + tomli_w.dumps(raw)
    )
    try:
        return plan_experiment(raw, base_path.parent, text=text)
    except ExperimentError as e:
        raise e.prefixed(f"{base_path.name}: ") from None


def _lookup(d: Any, parts: Sequence[str]) -> tuple[bool, Any]:
    for part in parts:
        if isinstance(d, list) and part.isdigit() and int(part) < len(d):
            d = d[int(part)]
        elif isinstance(d, dict) and part in d:
            d = d[part]
        else:
            return False, None
    return True, d


def expand_key(key: str, params: dict) -> list[str]:
    """The parameters (or tables of them) of ``params``, a scenario's resolved parameters, that a dotted key names:
    itself if it exists, and for a key with ``*`` parts every existing one they match (a list's indices, a table's
    keys): ``policies.*.compliance.china`` names the China compliance of each policy whose compliance is per host."""
    paths: list[tuple[list[str], Any]] = [([], params)]
    for part in key.split("."):
        nxt = []
        for prefix, node in paths:
            if part == "*":
                items = (
                    [(str(i), x) for i, x in enumerate(node)]
                    if isinstance(node, list)
                    else list(node.items())
                    if isinstance(node, dict)
                    else []
                )
                nxt += [([*prefix, k], x) for k, x in items]
            else:
                found, x = _lookup(node, [part])
                if found:
                    nxt.append(([*prefix, part], x))
        paths = nxt
    return [".".join(p) for p, _ in paths]


def _with_overrides(raw: dict, overrides: dict, reference: Plan, posterior, at: str) -> dict:
    """``raw`` (an experiment's dict) with ``overrides`` on top of every scenario, each winning over the posterior
    column it sets (added to the scenario's ``without``); one line per problem, each naming the key."""
    errors: list[str] = []
    moved = {key: False for key in overrides}
    partial: dict[tuple[str, str], list[str]] = {}  # (key, the posterior column it is part of) -> scenarios
    scenarios = raw["scenarios"]
    for sc in scenarios:
        name = sc["name"]
        resolved = reference.scenario_params[name]
        taken = scenario_columns(posterior, list(sc.get("without", [])), resolved["policies"], name)
        own = dict(sc.get("overrides", {}))
        without = list(sc.get("without", []))
        for key, value in overrides.items():
            keys = expand_key(key, resolved)
            if "*" not in key and not keys:
                continue  # said below, once for every scenario that lacks it
            for k in keys:
                _, current = _lookup(resolved, k.split("."))
                moved[key] |= current != value or isinstance(current, bool) != isinstance(value, bool)
                own.pop(k, None)  # after the scenario's own overrides, so that it wins over them
                own[k] = value
            for c in taken:
                c_pattern = c.replace("*", "[!.]*")
                if c == key or c in keys or c.startswith(key + ".") or any(c.startswith(k + ".") for k in keys):
                    if c not in without:  # the override sets all of the column: the scenario no longer takes it
                        without.append(c)
                    moved[key] = True
                elif any(fnmatch.fnmatchcase(k, c_pattern) or fnmatch.fnmatchcase(k, c_pattern + ".*") for k in keys):
                    partial.setdefault((key, c), []).append(name)
        sc["overrides"] = own
        if without:
            sc["without"] = without
    for (key, c), names in partial.items():
        which = "every scenario" if len(names) == len(scenarios) else f"scenario {', '.join(names)}"
        errors.append(
            f"{at}: {key} is part of the posterior column {c} ({which} takes it), which would keep drawing the "
            f"rest of it; override {c} itself"
        )
    for key, value in overrides.items():
        lacking = [sc["name"] for sc in scenarios if not expand_key(key, reference.scenario_params[sc["name"]])]
        if lacking and "*" not in key:
            if len(lacking) == len(scenarios):
                parent, _, last = key.rpartition(".")
                found, siblings = _lookup(reference.scenario_params[lacking[0]], parent.split(".") if parent else [])
                hint = suggest(last, list(siblings)) if found and isinstance(siblings, dict) else ""
                errors.append(f"{at}: no parameter {key}{hint}")
            else:
                errors.append(
                    f"{at}: {key}: scenario {', '.join(lacking)} has no such parameter; write its parts as * "
                    f"(e.g. policies.*.compliance.china) to set it only where it exists"
                )
        elif lacking and len(lacking) == len(scenarios):
            errors.append(f"{at}: {key} matches no parameter of any scenario")
        elif not moved[key]:
            errors.append(
                f"{at}: {key} = {value!r} changes nothing: every scenario has that value already and none takes "
                f"it from the posterior"
            )
    if errors:
        raise ExperimentError(errors)
    return raw


# ---------------------------------------------------------------------------------------------------- running


def run_structures(
    structures: Structures,
    out: str | os.PathLike,
    processes: int | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Run every variant (the as-fitted one first) into ``out/<variant>/``, what is missing of them with
    ``resume``; write ``out/robustness.csv`` and return it (`robustness_table`). Interrupted, the finished runs
    are kept (KeyboardInterrupt propagates): run it again with ``resume=True``."""
    from .runner import run_experiment

    out = Path(out)
    if not resume and not force:
        held = [out / v for v in structures.plans if (out / v).is_dir() and any((out / v).iterdir())]
        if held:
            raise ExperimentError(
                [
                    f"--out {f}: already holds a variant's runs; add --resume to finish it, --force to replace it"
                    for f in held
                ]
            )
    answers = {}
    for name, plan in structures.plans.items():
        result = run_experiment(
            plan, out / name, processes=processes, resume=resume, force=force, progress=progress, plots=False
        )
        if not result.complete:
            raise ExperimentError(f"--out {out / name}: the variant's runs are not all done; run again with --resume")
        answers[name] = result.policy_answers()
    table = robustness_table(
        answers, structures.reference_scenario, structures.spec.outcomes, scale=structures.spec.budget.scale
    )
    write_robustness(table, out / "robustness.csv")
    return table


# ---------------------------------------------------------------------------------------------------- the table


def sign_of(low: float, high: float) -> str:
    """``+`` or ``-`` when a 90% interval lies above or below 0, ``~0`` when it holds 0, ``n/a`` when unknown."""
    if not (low == low and high == high):
        return "n/a"
    return "+" if low > 0 else "-" if high < 0 else "~0"


def robustness_table(
    answers: Mapping[str, pd.DataFrame],
    reference_scenario: str,
    outcomes: Sequence[str] = HEADLINE,
    reference_variant: str = REFERENCE,
    scale: float = 1.0,
) -> pd.DataFrame:
    """One row per policy (every scenario but ``reference_scenario``) and outcome: per variant (columns
    ``<variant>.change``, ``.low``, ``.high``: the median paired change and its 90% interval, totals at full scale;
    ``.change_pct``, ``.pct_low``, ``.pct_high``: the same in percent of the reference scenario; ``.sign``;
    ``.rank``), then ``variants`` (N, the as-fitted one aside), ``sign_holds``,
    ``rank_holds`` (k of N: the module's rules) and ``sign_flips``, ``rank_flips`` (``variant (as fitted to
    variant)``, ``; ``-separated). ``answers``: each variant's `posterior_summary`, the reference variant's
    among them."""
    if reference_variant not in answers:
        raise ExperimentError(f"robustness: no answers of the reference variant {reference_variant}")
    variants = [reference_variant, *(v for v in answers if v != reference_variant)]
    per: dict[str, pd.DataFrame] = {}
    for v in variants:
        a = answers[v]
        a = a[(a["scenario"] != reference_scenario) & a["outcome"].isin(outcomes)].set_index(["scenario", "outcome"])
        frame = pd.DataFrame(index=a.index)
        div = pd.Series([scale if OUTCOMES[o].total else 1.0 for _, o in a.index], index=a.index, dtype=float)
        frame["change"] = a["change_median"] / div
        frame["low"] = a["change_low"] / div
        frame["high"] = a["change_high"] / div
        frame["change_pct"] = a["change_pct_median"]
        frame["pct_low"] = a["change_pct_low"]
        frame["pct_high"] = a["change_pct_high"]
        frame["sign"] = [sign_of(lo, hi) for lo, hi in zip(a["change_low"], a["change_high"])]
        frame["rank"] = math.nan
        for o in outcomes:
            rows = frame.index.get_level_values("outcome") == o
            up = OUTCOMES[o].better == "up"
            frame.loc[rows, "rank"] = frame.loc[rows, "change"].rank(method="min", ascending=not up)
        per[v] = frame
    ref = per[reference_variant]
    index = [
        (sc, o)
        for o in outcomes
        for sc in dict.fromkeys(answers[reference_variant]["scenario"])
        if sc != reference_scenario and (sc, o) in ref.index
    ]
    rows = []
    for sc, o in index:
        row: dict[str, Any] = {"scenario": sc, "outcome": o}
        for v in variants:
            f = per[v]
            x = f.loc[(sc, o)] if (sc, o) in f.index else pd.Series({"sign": "n/a", "rank": math.nan})
            for col in COLUMNS:
                row[f"{v}.{col}"] = x.get(col, math.nan)
        s0, r0 = row[f"{reference_variant}.sign"], row[f"{reference_variant}.rank"]
        sign_flips, rank_flips = [], []
        for v in variants[1:]:
            s, r = row[f"{v}.sign"], row[f"{v}.rank"]
            if s != s0 or s0 == "n/a":
                sign_flips.append(f"{v} ({s0} to {s})")
            if not (s == s0 == "~0" or (r == r and r0 == r0 and abs(r - r0) <= RANK_TOLERANCE)):
                rank_flips.append(f"{v} ({_rank(r0)} to {_rank(r)})")
        n = len(variants) - 1
        row.update(
            variants=n,
            sign_holds=n - len(sign_flips),
            rank_holds=n - len(rank_flips),
            sign_flips="; ".join(sign_flips),
            rank_flips="; ".join(rank_flips),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _rank(r: float) -> str:
    return "n/a" if r != r else str(int(r))


def write_robustness(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """``robustness.csv``, written atomically (a reader never sees half of it)."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format="%.6g")
    path = Path(path)
    atomic_write(path, buf.getvalue().encode())
    return path


def _flips(row: Mapping[str, Any], what: str) -> list[str]:
    """A row's flips of ``what`` ("sign" or "rank") as written in its ``<what>_flips`` column (empty: NaN)."""
    text = row[f"{what}_flips"]
    return [f for f in text.split("; ") if f] if isinstance(text, str) else []


def _flip_words(row: Mapping[str, Any]) -> list[str]:
    """A row's sign and rank flips, each as "sign variant (a to b)"."""
    return [f"{what} {f}" for what in ("sign", "rank") for f in _flips(row, what)]


def holds_cell(row: Mapping[str, Any]) -> str:
    """A row's robustness in a few words, for a table's column: "sign 9/9, rank 8/9 (flips: ...)"."""
    n = row["variants"]
    flips = _flip_words(row)
    cell = f"sign {row['sign_holds']}/{n}, rank {row['rank_holds']}/{n}"
    return cell + (f" (flips: {'; '.join(flips)})" if flips else "")


def robustness_flips(table: pd.DataFrame, labels: Mapping[str, str], variants: Mapping[str, str]) -> str:
    """Every flip of a robustness table in words, one Markdown bullet per policy and outcome: which structural
    variant turns the sign (``+``, ``-``, ``~0``: a 90% interval above, below or holding 0) or moves the rank by
    more than one place, from what to what. '' when nothing flips."""
    out = []
    for _, r in table.iterrows():
        parts = []
        for what in ("sign", "rank"):
            for f in _flips(r, what):
                v, _, change = f.partition(" (")
                parts.append(f"{what} {change.rstrip(')')} under {variants.get(v, v)}")
        if parts:
            o = OUTCOMES[r["outcome"]]
            out.append(f"- {labels.get(r['scenario'], r['scenario'])}, {o.label}: " + "; ".join(parts))
    return "\n".join(out)


def _change(row: Mapping[str, Any], v: str, o: str) -> tuple[str, str]:
    """A variant's median change of an outcome and its interval, as the policy table writes them."""
    if OUTCOMES[o].change_in_percent and row[f"{v}.change_pct"] == row[f"{v}.change_pct"]:
        pct = [fixed(row[f"{v}.{c}"], "{:+.0f}%") for c in ("change_pct", "pct_low", "pct_high")]
        return pct[0], f"[{pct[1]}, {pct[2]}]"
    money = OUTCOMES[o].money
    x = [number(row[f"{v}.{c}"], money=money, sign=True) for c in ("change", "low", "high")]
    return x[0], f"[{x[1]}, {x[2]}]"


def robustness_report(
    table: pd.DataFrame, labels: Mapping[str, str], scenario_labels: Mapping[str, str], why: Mapping[str, str]
) -> str:
    """The table for people: per outcome and policy, the as-fitted change [90% interval], sign and rank, and
    whether they hold in the variants; then what each variant is."""
    if not len(table):
        return "robustness: no policy to compare"
    n = int(table["variants"].iloc[0])
    width = max([20, *(len(scenario_labels.get(s, s)) for s in table["scenario"])])
    lines = [
        f"policy answers under {n} variants: the change from the reference scenario in the as-fitted "
        f"variant, median [90% interval] over the draws (totals at full scale), its sign (+, -, ~0: the interval "
        f"holds 0) and rank (1 = best); whether each holds in the variants (rank: within {RANK_TOLERANCE}, "
        f"or ~0 in both)"
    ]
    for o, g in table.groupby("outcome", sort=False):
        lines.append(f"  {OUTCOMES[o].label} ({'more' if OUTCOMES[o].better == 'up' else 'less'} is better)")
        for _, r in g.iterrows():
            change, interval = _change(r, REFERENCE, o)
            lines.append(
                f"    {scenario_labels.get(r['scenario'], r['scenario']):<{width}} {change:>7} {interval:<16} "
                f"{r[f'{REFERENCE}.sign']:>2}  rank {_rank(r[f'{REFERENCE}.rank']):>2}   " + holds_cell(r)
            )
    lines.append("  variants:")
    for v, label in labels.items():
        lines.append(f"    {v}: {label}: {why.get(v, '')}")
    return "\n".join(lines)


def read_answers(folder: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, str]]:
    """A finished structures run (its results folder, or its ``robustness.csv`` itself): the table and its scenarios'
    labels (the as-fitted variant's manifest beside it; the names where there is none). `ExperimentError` (one
    line) if there is no table."""
    import json

    given = Path(folder)
    path = given if given.is_file() else given / "robustness.csv"  # the table itself (a shipped copy), or its folder
    folder = path.parent
    if not path.is_file():
        raise ExperimentError(
            f"{given}: no robustness.csv; give the results folder of a finished python -m sim.explore.structures run"
        )
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise ExperimentError(f"{path}: not a robustness table ({str(e).splitlines()[0][:200]})") from None
    missing = [c for c in ("scenario", "outcome", "variants", "sign_holds", "rank_holds") if c not in table]
    if missing or f"{REFERENCE}.sign" not in table:
        raise ExperimentError(f"{path}: not a robustness table (no {(missing or [REFERENCE + '.sign'])[0]} column)")
    labels: dict[str, str] = {}
    try:
        manifest = json.loads((folder / REFERENCE / "manifest.json").read_text(encoding="utf-8"))
        labels = {sc["name"]: sc.get("label") or sc["name"] for sc in manifest["experiment"]["scenarios"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return table, labels


def answers_agreement_lines(
    table: pd.DataFrame, scenario_labels: Mapping[str, str], names: Mapping[str, str]
) -> list[str]:
    """Whether runs of the same calibration give the same policy answers, for a calibration report's agreement
    section: the counts, the largest gap between the runs' medians, and per policy and outcome each run's median
    change (sign, rank) and whether they hold. ``names``: a label for each run (its variant), as fitted first."""
    variants = [c[: -len(".sign")] for c in table.columns if c.endswith(".sign")]
    n, others = len(table), len(variants) - 1
    signs, ranks = int((table["sign_holds"] == others).sum()), int((table["rank_holds"] == others).sum())
    pct = table[[f"{v}.change_pct" for v in variants]]
    gap = float((pct.max(axis=1) - pct.min(axis=1)).max())
    lines = [
        "",
        "### Do the runs give the same policy answers?",
        "",
        f"The policy table over each run's posterior at one budget ({', '.join(names.get(v, v) for v in variants)}; "
        f"`python -m sim.explore.structures experiments/independent_runs.toml`): of the {n} answers (each policy's "
        f"median paired change from the reference scenario), the sign (+, -, or ~0 when the 90% interval holds 0) "
        f"holds in all {len(variants)} runs for {signs} and the rank (within {RANK_TOLERANCE} place) for {ranks}; "
        f"the runs' medians differ by at most {gap:.1f} percentage points.",
        "",
        "| policy | outcome | "
        + " | ".join(f"{names.get(v, v)}: change (sign, rank)" for v in variants)
        + " | holds |",
        "|---|---|" + "---:|" * len(variants) + "---|",
    ]
    for _, r in table.iterrows():
        o = r["outcome"]
        cells = [f"{_change(r, v, o)[0]} ({r[f'{v}.sign']}, {_rank(r[f'{v}.rank'])})" for v in variants]
        flips = _flip_words(r)
        holds = "yes" if not flips else "**no**: " + "; ".join(flips)
        label = OUTCOMES[o].label if o in OUTCOMES else o
        lines.append(
            f"| {scenario_labels.get(r['scenario'], r['scenario'])} | {label} | " + " | ".join(cells) + f" | {holds} |"
        )
    return lines


# ---------------------------------------------------------------------------------------------------- command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.explore.structures",
        description="Re-run a posterior experiment's policy answers under structural variants; print and write "
        "whether each policy's sign and rank hold (robustness.csv).",
    )
    parser.add_argument("file", help="a structures file (experiments/structures.toml, or its shipped name)")
    parser.add_argument("--out", help="results folder (default results/experiments/NAME); a variant in OUT/VARIANT")
    parser.add_argument("--processes", type=int, help="local processes (default: every core; 1: this process)")
    parser.add_argument("--resume", action="store_true", help="finish the variants' runs that are missing")
    parser.add_argument("--force", action="store_true", help="replace earlier results in the variants' folders")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no preamble")
    args = parser.parse_args(argv)
    out = None
    try:
        if args.processes is not None and args.processes < 1:
            raise ExperimentError(f"--processes {args.processes}: must be at least 1")
        if args.resume and args.force:
            raise ExperimentError("--resume and --force: choose one (finish the runs, or replace them)")
        structures = load_structures(shipped.resolve(args.file, "experiments"))
        out = Path(args.out) if args.out else Path("results") / "experiments" / structures.spec.name
        if args.processes != 1:
            from .evaluators import prestart

            prestart(args.processes)
        if not args.quiet:
            b = structures.spec.budget
            print(
                f"structures {structures.spec.name}: {len(structures.plans)} variants (as fitted and "
                f"{len(structures.plans) - 1} more) x {len(structures.plans[REFERENCE].spec.scenarios)} scenarios x "
                f"{b.draws} draws x {b.replicates} replicates at {100 * b.scale:g}% scale = {structures.runs:,} runs; "
                f"results in {out}/",
                file=sys.stderr,
            )
        table = run_structures(
            structures, out, processes=args.processes, resume=args.resume, force=args.force, progress=not args.quiet
        )
    except OlsimError as e:
        for line in e.errors:
            print(f"structures: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"structures: interrupted; the finished runs are kept in {out}/; run again with --resume", file=sys.stderr
        )
        return 130
    print(robustness_report(table, structures.labels, structures.scenario_labels, structures.why))
    print(f"results: {out}/robustness.csv, and each variant's folder {out}/<variant>/")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
