"""What an experiment found: per-scenario intervals, paired differences, sensitivity indices.

- Per scenario and outcome: the mean over runs and its 95% interval (Student t
  over replicates, which are independent seeds), and the 2.5-97.5 percentile
  spread of the runs.
- Paired difference from the reference scenario: replicate k of every scenario
  uses the same seed (common random numbers), so the difference is taken run
  by run, matched on (sample, replicate), and its interval is the t interval
  of the paired differences: far narrower than the difference of two
  independent intervals.
- Sensitivity (sobol, morris sampling): SALib's Sobol first-order and total
  indices with bootstrap confidence intervals, and Morris mu* (with its
  interval) and sigma, per scenario and outcome, on the outcome averaged over
  replicates at each sample point.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import (
    stdtrit,
)  # the Student-t quantile scipy.stats.t.ppf computes (bit for bit), without scipy.stats' 1 s import

from ..common.errors import ExperimentError
from ..common.formatting import number
from ..results.outcomes import CHANGES, HEADLINE, OUTCOMES


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of the mean; NaN bounds with fewer than 2 values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stdtrit(n - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


PERCENT_LIMIT = 1000.0  # a change this many percent of its reference is said as a multiple (x152, not +15130%)


def percent_words(pct: float) -> str:
    """A paired change as a share of its reference, for the terminal: " (-35%)"; a change of 1,000% or more as a
    multiple of the reference (" (x152)"); nothing when undefined."""
    if pct != pct:
        return ""
    if abs(pct) >= PERCENT_LIMIT:
        return f" (x{1 + pct / 100:,.0f})"
    return f" ({pct:+.0f}%)"


def level_interval(values: np.ndarray, scale: str = "linear", level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the mean of ``values``: the Student-t interval on the outcome's scale (`Outcome.
    interval_scale`), by the delta method. "log": mean x exp(-+ t se / mean), never below 0 (all zero: [0, 0]);
    "logit": the interval of logit(mean) with se / (mean (1 - mean)), back in (0, 1) (a mean at 0 or 1: that
    bound); "linear", or a mean outside the scale's range: `t_interval`."""
    mean, lo, hi = t_interval(values, level)
    if scale == "linear" or not (lo == lo) or mean != mean:
        return mean, lo, hi
    half = hi - mean  # t x se
    if scale == "log" and mean >= 0:
        if mean == 0:
            return mean, 0.0, 0.0
        k = math.exp(min(half / mean, 700.0))
        return mean, mean / k, mean * k
    if scale == "logit" and 0 <= mean <= 1:
        if mean in (0.0, 1.0):
            return mean, mean, mean
        centre, width = math.log(mean / (1 - mean)), min(half / (mean * (1 - mean)), 700.0)
        return mean, 1 / (1 + math.exp(-(centre - width))), 1 / (1 + math.exp(-(centre + width)))
    return mean, lo, hi


def scenario_summary(runs: pd.DataFrame, outcomes: list[str], reference: str) -> pd.DataFrame:
    """One row per (scenario, outcome): n, mean, 95% interval, spread, and the paired difference from the reference.

    Replicates are the independent units: replicate k of every sample shares
    seed + k, so runs of one replicate are not independent of each other. The
    intervals are t intervals over the replicates' means (averaged over the
    samples, if any): the model's noise, given the samples; a level's is on the outcome's scale (`level_interval`:
    log for what cannot be negative, logit for a share), a paired difference's on its own. The spread
    (p2_5, p97_5) is over all runs, and so also shows the parameters'
    uncertainty in a sampled experiment.
    """
    rows = []
    ref = runs[runs["scenario"] == reference].set_index(["sample", "replicate"])
    for scenario, g in runs.groupby("scenario", sort=False):
        keyed = g.set_index(["sample", "replicate"])
        common = keyed.index.intersection(ref.index)
        for o in outcomes:
            v = g[o].to_numpy(float)
            finite = v[np.isfinite(v)]
            scale = OUTCOMES[o].interval_scale if o in OUTCOMES else "linear"
            _, lo, hi = level_interval(g.groupby("replicate")[o].mean().to_numpy(float), scale)
            d = pd.Series(
                keyed.loc[common, o].to_numpy(float) - ref.loc[common, o].to_numpy(float),
                index=common.get_level_values("replicate"),
            )
            base = float(np.nanmean(ref.loc[common, o].to_numpy(float))) if len(common) else math.nan
            if scenario == reference:
                dm, dlo, dhi = 0.0, 0.0, 0.0
            else:
                _, dlo, dhi = t_interval(d.groupby(level=0).mean().to_numpy(float))
                dm = float(np.nanmean(d.to_numpy())) if np.isfinite(d.to_numpy()).any() else math.nan
            rows.append(
                {
                    "scenario": scenario,
                    "outcome": o,
                    "runs": int(len(finite)),
                    "mean": float(finite.mean()) if len(finite) else math.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "sd": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
                    "p2_5": float(np.percentile(finite, 2.5)) if len(finite) else math.nan,
                    "p97_5": float(np.percentile(finite, 97.5)) if len(finite) else math.nan,
                    "pairs": int(np.isfinite(d.to_numpy()).sum()),
                    "diff_mean": dm,
                    "diff_ci_low": dlo,
                    "diff_ci_high": dhi,
                    # relative to the size of the reference's (paired) mean, so the sign is the change's
                    "diff_pct": 100 * dm / abs(base) if base == base and base != 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)


# the columns of the summary and of Morris' indices that are in the outcome's unit (divided by the scale for a
# total at full scale); counts of runs and changes in percent are not
SUMMARY_IN_UNIT = ("mean", "ci_low", "ci_high", "sd", "p2_5", "p97_5", "diff_mean", "diff_ci_low", "diff_ci_high")
MORRIS_IN_UNIT = ("mu_star", "mu_star_conf", "mu", "sigma")
POLICY_IN_UNIT = ("median", "low", "high", "change_median", "change_low", "change_high")

CREDIBLE = 0.9  # the posterior experiments' credible level: the 5th to 95th percentile over the draws


def draw_means(runs: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Each (scenario, sample) outcome averaged over its replicates: one row per scenario and posterior draw."""
    return runs.groupby(["scenario", "sample"], sort=False)[outcomes].mean().reset_index()


def posterior_summary(runs: pd.DataFrame, outcomes: list[str], reference: str, level: float = CREDIBLE) -> pd.DataFrame:
    """Policy answers over posterior draws: per (scenario, outcome) the median and the central ``level`` credible
    interval over the draws of the outcome, of its change from the reference (same draw, same seeds: common
    random numbers) and of that change in percent of the reference; and the probability the change is below 0.

    The unit is the draw: its outcome is the mean over its replicates, so the interval holds the parameters'
    uncertainty (the posterior) and what is left of the model's noise after averaging the replicates.
    """
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
    means = draw_means(runs, outcomes)
    ref = means[means["scenario"] == reference].set_index("sample")
    rows = []
    for scenario, g in means.groupby("scenario", sort=False):
        g = g.set_index("sample")
        common = g.index.intersection(ref.index)
        for o in outcomes:
            v = g[o].to_numpy(float)
            d = (g.loc[common, o] - ref.loc[common, o]).to_numpy(float)
            base = ref.loc[common, o].to_numpy(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(base != 0, 100 * d / np.abs(base), np.nan)
            row = {"scenario": scenario, "outcome": o, "draws": int(np.isfinite(v).sum())}
            for name, x in (("", v), ("change_", d), ("change_pct_", pct)):
                x = x[np.isfinite(x)]
                row.update(
                    {
                        f"{name}median": float(np.median(x)) if len(x) else math.nan,
                        f"{name}low": float(np.quantile(x, lo_q)) if len(x) else math.nan,
                        f"{name}high": float(np.quantile(x, hi_q)) if len(x) else math.nan,
                    }
                )
            fd = d[np.isfinite(d)]
            row["p_below_reference"] = float((fd < 0).mean()) if len(fd) and scenario != reference else math.nan
            rows.append(row)
    return pd.DataFrame(rows)


# the headline outcomes, each ranked the way its declaration says is better: True if more is better (first =
# the largest cut in the state's revenue; first = the workers keep the most per month worked)
RANKED = {o: OUTCOMES[o].better == "up" for o in HEADLINE}


def rank_probabilities(runs: pd.DataFrame, reference: str, ranked: dict[str, bool] | None = None) -> pd.DataFrame:
    """Per scenario (the reference excluded) and ranked outcome: the probability over posterior draws that it
    ranks first (ties share the draw), and its mean rank (1 = best)."""
    ranked = RANKED if ranked is None else ranked
    ranked = {o: up for o, up in ranked.items() if o in runs.columns}
    means = draw_means(runs, list(ranked))
    means = means[means["scenario"] != reference]
    scenarios = list(dict.fromkeys(means["scenario"]))
    rows = []
    if not scenarios:  # nothing to rank but the reference
        return pd.DataFrame(columns=["scenario", "outcome", "better", "draws", "p_first", "mean_rank"])
    for o, up in ranked.items():
        table = means.pivot(index="sample", columns="scenario", values=o)[scenarios].dropna()
        x = table.to_numpy(float) * (1 if up else -1)  # larger is better
        if len(x):
            from scipy import stats  # posterior experiments only

            best = x == x.max(axis=1, keepdims=True)
            first = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
            rank = stats.rankdata(-x, axis=1, method="average").mean(axis=0)
        else:  # no draw with every scenario finished
            first = rank = np.full(len(scenarios), math.nan)
        for k, sc in enumerate(scenarios):
            rows.append(
                {
                    "scenario": sc,
                    "outcome": o,
                    "better": "more" if up else "less",
                    "draws": len(x),
                    "p_first": float(first[k]),
                    "mean_rank": float(rank[k]),
                }
            )
    return pd.DataFrame(rows)


def sobol_indices(problem: dict, y: np.ndarray, second_order: bool = False, seed: int = 0) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices with 95% bootstrap intervals (SALib)."""
    from SALib.analyze import sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = sobol.analyze(problem, np.asarray(y, dtype=float), calc_second_order=second_order, seed=seed)
    return pd.DataFrame(
        {
            "parameter": problem["names"],
            "S1": si["S1"],
            "S1_conf": si["S1_conf"],
            "ST": si["ST"],
            "ST_conf": si["ST_conf"],
        }
    )


def morris_indices(problem: dict, x: np.ndarray, y: np.ndarray, levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects: mu* (with its 95% bootstrap interval), mu and sigma (SALib)."""
    from SALib.analyze import morris

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = morris.analyze(
            problem, np.asarray(x, dtype=float), np.asarray(y, dtype=float), num_levels=levels, seed=seed
        )
    return pd.DataFrame(
        {
            "parameter": problem["names"],
            "mu_star": si["mu_star"],
            "mu_star_conf": si["mu_star_conf"],
            "mu": si["mu"],
            "sigma": si["sigma"],
        }
    )


def _answer_formats(o) -> tuple:
    """How the policy answers' table shows an outcome's level and its change (the format, the change's column
    prefix, the change's format), from its unit, its command-line format and whether its change is in percent."""
    if o.unit == "USD a year":
        level = lambda v: f"{v / 1e6:,.0f}"  # noqa: E731 (in $M)
    elif o.money:
        level = lambda v: f"{v:,.0f}"  # noqa: E731
    else:
        level = (o.spec or "{:.2f}").format
    if o.change_in_percent:
        return level, "change_pct_", lambda v: f"{v:+.0f}%"
    if o.money:
        return level, "change_", lambda v: f"{v:+,.0f}"
    return level, "change_", (o.spec or "{:.2f}").replace("{:", "{:+").format


def answers_table(
    answers: pd.DataFrame,
    ranks: pd.DataFrame,
    labels: dict[str, str],
    reference: str,
    scale: float = 1.0,
    robustness: pd.DataFrame | None = None,
) -> str:
    """The policy answers (``policy_answers.csv``, ``ranks.csv``) as a Markdown table: per scenario, revenue and
    what workers keep with their changes in percent, the median net gain, deaths and escapes with their changes,
    each a median [90% credible interval] over the draws (totals at full scale); and the probabilities of
    ranking first. With ``robustness`` (``robustness.csv`` of ``python -m sim.explore.structures``), a column per
    headline outcome: in how many of the structural variants the change's sign and rank hold (`holds_counts`).
    The README's table is this, from the shipped CSVs (a test keeps them equal). ``answers`` as policy_answers.csv
    gives them (totals at full scale); ``scale``: that of answers at the simulated scale, to divide their totals by."""
    a = answers.set_index(["scenario", "outcome"])
    r = ranks.set_index(["scenario", "outcome"]) if len(ranks) else None
    outcomes = list(dict.fromkeys(answers["outcome"]))

    def cell(sc, o, what, fmt):
        x = a.loc[(sc, o)]
        div = scale if what == "" and OUTCOMES[o].total else 1.0
        return f"{fmt(x[f'{what}median'] / div)} [{fmt(x[f'{what}low'] / div)}, {fmt(x[f'{what}high'] / div)}]"

    cols = [
        (o, OUTCOMES[o].heading or OUTCOMES[o].label, *_answer_formats(OUTCOMES[o])) for o in CHANGES if o in outcomes
    ]
    head = ["scenario"]
    for _, title, _, _, _ in cols:
        head += [title, "change"]
    ranked = r is not None and (HEADLINE[0] in outcomes)
    if ranked:
        head += [f"P({OUTCOMES[o].first or OUTCOMES[o].label})" for o in HEADLINE]
    held = None
    if robustness is not None and len(robustness):
        held = robustness.set_index(["scenario", "outcome"])
        n = int(held["variants"].iloc[0])
        head += [f"{OUTCOMES[o].label}: sign, rank hold in k of {n} structures" for o in HEADLINE]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for sc in dict.fromkeys(answers["scenario"]):
        row = [labels.get(sc, sc)]
        for o, _, fmt, what, cfmt in cols:
            row.append(cell(sc, o, "", fmt))
            row.append("" if sc == reference else cell(sc, o, what, cfmt))
        if ranked:
            assert r is not None  # ranked: there are ranks
            for o in HEADLINE:
                row.append("" if sc == reference or (sc, o) not in r.index else f"{r.loc[(sc, o), 'p_first']:.0%}")
        if held is not None:
            for o in HEADLINE:
                holds = holds_counts(held.loc[(sc, o)]) if (sc, o) in held.index else "not run"
                row.append("" if sc == reference else holds)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def holds_counts(row) -> str:
    """A robustness row's cell in the policy table: "8, 7" (of the variants, the sign holds in 8, the rank in 7)."""
    return f"{int(row['sign_holds'])}, {int(row['rank_holds'])}"


@dataclass
class ExperimentResult:
    """An experiment's folder, read back: runs, samples, manifest, and the analyses."""

    folder: Path
    manifest: dict
    runs: pd.DataFrame
    samples: pd.DataFrame
    sample_matrix: np.ndarray | None

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "ExperimentResult":
        folder = Path(folder)
        if not (folder / "manifest.json").exists():
            raise ExperimentError(f"{folder}: not an experiment folder (no manifest.json)")
        if not (folder / "runs.parquet").exists():
            raise ExperimentError(
                f"{folder}: an experiment stopped before its first summary (no runs.parquet); "
                f"run it again with --resume"
            )
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("kind") != "experiment":
                raise ExperimentError(f"{folder}: not an experiment folder")
            matrix = np.load(folder / "sample_matrix.npy") if (folder / "sample_matrix.npy").exists() else None
            return cls(
                folder=folder,
                manifest=manifest,
                runs=pd.read_parquet(folder / "runs.parquet"),
                samples=pd.read_parquet(folder / "samples.parquet"),
                sample_matrix=matrix,
            )
        except ExperimentError:
            raise
        except Exception as e:  # a damaged folder: a file missing, unreadable or truncated
            raise ExperimentError(
                f"{folder}: cannot read the experiment ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            ) from None

    @property
    def outcomes(self) -> list[str]:
        return list(self.manifest["experiment"]["outcomes"])

    @property
    def reference(self) -> str:
        return self.manifest["reference"]

    @property
    def complete(self) -> bool:
        return len(self.runs) == self.manifest["runs_total"]

    def monthly(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The monthly series of every run (the Parquet dataset monthly/)."""
        cols = None if columns is None else ["run_id", "scenario", "sample", "replicate", "month", "date", *columns]
        return self._read(self.folder / "monthly", cols)

    def monthly_xarray(self, columns: list[str] | None = None):
        """The monthly series of every run as an `xarray.Dataset` with dimensions scenario, sample, replicate and
        month (a ``date`` coordinate beside the month), one variable per column with its unit and meaning as
        attributes; sums over the hosts (revenue, workers, ...) at full scale, means per worker as they are."""
        try:
            import xarray  # noqa: F401  (to_xarray below needs it)
        except ImportError:
            raise ExperimentError("monthly_xarray needs xarray: pip install xarray") from None
        from ..results.columns import COLUMN, MONTHLY_COLUMNS

        keys = ["scenario", "sample", "replicate", "month"]
        names = columns or [c for c in MONTHLY_COLUMNS if COLUMN[c].kind != "key"]
        unknown = [c for c in names if c not in COLUMN or COLUMN[c].kind == "key" or c not in MONTHLY_COLUMNS]
        if unknown:
            raise ExperimentError(f"monthly_xarray: {', '.join(unknown)} not a monthly column (MONTHLY_COLUMNS)")
        m = self.monthly(names)
        order = list(dict.fromkeys(self.runs["scenario"])) if len(self.runs) else []
        m["scenario"] = pd.Categorical(m["scenario"], categories=order or sorted(set(m["scenario"])))
        ds = m.set_index(keys)[names].to_xarray()
        ds = ds.assign_coords(scenario=[str(s) for s in ds["scenario"].values])
        dates = m.drop_duplicates("month").set_index("month")["date"]
        ds = ds.assign_coords(date=("month", [str(dates[k]) for k in ds["month"].values]))
        for c in names:
            ds[c] = COLUMN[c].at_full_scale(ds[c], self.scale)
            ds[c].attrs = {"units": COLUMN[c].unit, "long_name": COLUMN[c].what}
        ds.attrs = {
            "experiment": self.manifest["name"],
            "scale": self.scale,
            "note": "sums over hosts at full scale (divided by the scale); means per worker as simulated",
        }
        return ds

    def hosts(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The monthly series per host of every run (hosts/; only when the experiment set hosts = true)."""
        if not (self.folder / "hosts").is_dir():
            raise ExperimentError(f"{self.folder}: no per-host tables (set hosts = true in the experiment)")
        cols = (
            None
            if columns is None
            else ["run_id", "scenario", "sample", "replicate", "month", "date", "host", *columns]
        )
        return self._read(self.folder / "hosts", cols)

    def distributions(self) -> pd.DataFrame:
        """Percentiles 0-100 of net gain and of monthly retained income, per run."""
        return self._read(self.folder / "distributions")

    def _read(self, dataset: Path, columns: list[str] | None = None) -> pd.DataFrame:
        """A Parquet dataset of the folder, the files of the indexed runs only (runs.parquet: `olsim report` and
        `plot` rebuild it from the runs that check out, `Store.reindex`); `ExperimentError` (one line) if one is
        damaged."""
        try:
            ids = set(self.runs["run_id"])
            files = sorted(str(f) for f in dataset.glob("*.parquet") if f.stem in ids)
            if not files:
                return pd.read_parquet(dataset, columns=columns)  # no run indexed: the dataset's empty frame
            import pyarrow.parquet as pq

            return pq.read_table(files, columns=columns).to_pandas()
        except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
            first = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            raise ExperimentError(
                f"{self.folder}: a file in {dataset.name}/ is damaged ({first}); run the experiment "
                f"again with --resume to re-run the runs whose files are damaged"
            ) from None

    def summary(self, full_scale: bool = False) -> pd.DataFrame:
        """`scenario_summary` of the runs (at the simulated scale), or with ``full_scale`` the totals (revenue a
        year, workers) divided by the experiment's scale, as summary.csv and the workbook give them."""
        s = scenario_summary(self.runs, self.outcomes, self.reference)
        return self.full_scale(s, SUMMARY_IN_UNIT) if full_scale else s

    @property
    def scale(self) -> float:
        """The share of every host's workers simulated (1: full scale)."""
        return float(self.manifest["experiment"].get("scale", 1.0))

    def full_scale(self, table: pd.DataFrame, columns) -> pd.DataFrame:
        """``table`` (an ``outcome`` column, one row per outcome's value) with its ``columns`` (those in the
        outcome's unit) divided by the scale in the rows of totals (`Outcome.total`): one scale everywhere a total
        leaves the program (issue 32)."""
        table = table.copy()
        if self.scale == 1 or not len(table):
            return table
        totals = table["outcome"].map(lambda o: o in OUTCOMES and OUTCOMES[o].total).to_numpy(bool)
        for c in [c for c in columns if c in table.columns]:
            table[c] = table[c].astype(float)
            table.loc[totals, c] = table.loc[totals, c] / self.scale
        return table

    @property
    def is_posterior(self) -> bool:
        return self.manifest["sampling"]["method"] == "posterior"

    def policy_answers(self, full_scale: bool = False) -> pd.DataFrame:
        """Credible intervals over the posterior's draws (posterior experiments; empty otherwise), at the
        simulated scale, or with ``full_scale`` the totals divided by the scale, as policy_answers.csv gives them."""
        if not (self.is_posterior and len(self.runs)):
            return pd.DataFrame()
        answers = posterior_summary(self.runs, self.outcomes, self.reference)
        return self.full_scale(answers, POLICY_IN_UNIT) if full_scale else answers

    def ranks(self) -> pd.DataFrame:
        """The probability each scenario ranks first (posterior experiments; empty otherwise)."""
        return rank_probabilities(self.runs, self.reference) if self.is_posterior and len(self.runs) else pd.DataFrame()

    def sensitivity(self) -> pd.DataFrame:
        """Sobol or Morris indices per scenario and outcome (empty unless sampled so, and complete)."""
        method = self.manifest["sampling"]["method"]
        problem = self.manifest.get("problem")
        if method not in ("sobol", "morris") or problem is None or not self.complete:
            return pd.DataFrame()
        n_samples = len(self.samples)
        frames = []
        per_scenario = {
            sc: g.groupby("sample")[self.outcomes].mean().reindex(range(n_samples))
            for sc, g in self.runs.groupby("scenario", sort=False)
        }
        ref = per_scenario.get(self.reference)
        for scenario, means in per_scenario.items():
            # the indices of each outcome's level, and (but for the reference) of its paired change from the
            # reference at the same sample and seeds: what a policy answer's size hinges on
            ys = [("level", means)] + (
                [("change", means - ref)] if scenario != self.reference and ref is not None else []
            )
            for of, table in ys:
                for o in self.outcomes:
                    y = table[o].to_numpy(float)
                    if not np.all(np.isfinite(y)) or np.std(y) == 0:
                        continue  # undefined somewhere, or constant: no indices
                    seed = self.manifest["sampling"]["seed"]
                    if method == "sobol":
                        df = sobol_indices(problem, y, self.manifest["sampling"]["second_order"], seed=seed)
                    else:
                        if self.sample_matrix is None:
                            raise ExperimentError(
                                f"{self.folder}: a Morris experiment without its sample_matrix.npy (an incomplete "
                                "folder): run the experiment again to compute its sensitivity"
                            )
                        df = morris_indices(
                            problem, self.sample_matrix, y, self.manifest["sampling"]["levels"], seed=seed
                        )
                    df.insert(0, "of", of)
                    df.insert(0, "outcome", o)
                    df.insert(0, "scenario", scenario)
                    frames.append(df)
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(out):
            out.insert(3, "method", method)
        # Morris' effects are in the outcome's unit: a total's at full scale, as its level is shown (Sobol's
        # indices are shares of a variance, the same at any scale)
        return self.full_scale(out, MORRIS_IN_UNIT)

    def write_analysis(self, plots: bool = True) -> list[Path]:
        """summary.csv, sensitivity.csv, policy_answers.csv and ranks.csv (posterior experiments), and the
        sensitivity figure; returns the files written. `sim.explore.report.analyse` adds the comparison figures."""
        written = []
        if len(self.runs):
            self.summary(full_scale=True).to_csv(self.folder / "summary.csv", index=False, float_format="%.6g")
            written.append(self.folder / "summary.csv")
        sens = self.sensitivity()
        if len(sens):
            sens.to_csv(self.folder / "sensitivity.csv", index=False, float_format="%.6g")
            written.append(self.folder / "sensitivity.csv")
        for name, table in (("policy_answers", self.policy_answers(full_scale=True)), ("ranks", self.ranks())):
            if len(table):
                table.to_csv(self.folder / f"{name}.csv", index=False, float_format="%.6g")
                written.append(self.folder / f"{name}.csv")
        if plots:
            written += self.write_analysis_figures()
        return written

    def write_analysis_figures(self) -> list[Path]:
        """The figure `write_analysis` draws: the sensitivity indices, if there are any (matplotlib is imported
        only then); returns the files written."""
        sampled = (
            self.manifest["sampling"]["method"] in ("sobol", "morris") and self.manifest.get("problem") is not None
        )
        if not len(self.runs) or not sampled or not self.complete:  # no indices (`sensitivity`): no figure
            return []
        from ..plots.experiments import sensitivity_figure

        path = sensitivity_figure(self, self.folder / "plots" / "sensitivity.png")
        return [] if path is None else [path]

    def answers_markdown(self) -> str:
        """The policy answers as a Markdown table (posterior experiments): see `answers_table`."""
        labels = {s["name"]: s.get("label") or s["name"] for s in self.manifest["experiment"]["scenarios"]}
        return answers_table(self.policy_answers(full_scale=True), self.ranks(), labels, self.reference)

    @property
    def labels(self) -> dict[str, str]:
        """Each scenario's label for people (reports, figures): its ``label``, else its name with spaces."""
        return {
            sc["name"]: sc.get("label") or sc["name"].replace("_", " ")
            for sc in self.manifest["experiment"]["scenarios"]
        }

    def _names(self) -> tuple[dict[str, str], int]:
        """The scenarios' labels for the printed report, and the column width they need."""
        names = self.labels
        return names, max([22, *(len(v) for v in names.values())])

    def _posterior_report(self, outcomes: list[str] | None = None) -> str:
        names, width = self._names()
        a = self.policy_answers(full_scale=True)
        outcomes = outcomes or self.outcomes
        m = self.manifest["experiment"]
        scale = float(m.get("scale", 1.0))
        lines = [
            f"{self.manifest['name']}: {len(self.runs)} of {self.manifest['runs_total']} runs over "
            f"{m['sampling']['n']} posterior draws x {m['replicates']} replicates; median [90% credible interval] "
            f"over the draws; change vs {names.get(self.reference, self.reference)} (paired within a draw, same seeds)"
            + (f"; simulated at {100 * scale:.3g}% scale, totals shown at full scale" if scale < 1 else "")
        ]
        for o in outcomes:
            lines.append(f"  {OUTCOMES[o].what}")
            rows = a[a["outcome"] == o]
            base = rows[rows["scenario"] == self.reference]
            # a percentage of a reference whose interval reaches zero says nothing: left out
            near_zero = bool(len(base)) and bool((base["low"] <= 0).iloc[0] and (base["high"] >= 0).iloc[0])
            for _, r in rows.iterrows():
                ref = (
                    ""
                    if r["scenario"] == self.reference
                    else f"   {number(r['change_median'], sign=True)} [{number(r['change_low'], sign=True)}, "
                    f"{number(r['change_high'], sign=True)}]"
                    + (
                        f" ({r['change_pct_median']:+.0f}% [{r['change_pct_low']:+.0f}, {r['change_pct_high']:+.0f}])"
                        if r["change_pct_median"] == r["change_pct_median"]
                        and not near_zero
                        and max(abs(r["change_pct_low"]), abs(r["change_pct_high"])) < PERCENT_LIMIT
                        else ""
                    )
                )
                lines.append(
                    f"    {names.get(r['scenario'], r['scenario']):<{width}} {number(r['median']):>10} [{number(r['low'])}, {number(r['high'])}]{ref}"
                )
        ranks = self.ranks()
        for o, g in ranks.groupby("outcome", sort=False):
            top = g.sort_values("p_first", ascending=False).head(4)
            what = "the largest cut in " if g["better"].iloc[0] == "less" else "the most "
            lines.append(
                f"  ranks first on {what}{OUTCOMES[o].label}: "
                + ", ".join(f"{names.get(sc, sc)} {p:.0%}" for sc, p in zip(top["scenario"], top["p_first"]))
            )
        return "\n".join(lines)

    def report(self, outcomes: list[str] | None = None) -> str:
        """A plain-text table: per scenario, each outcome's mean [95% interval] and paired difference from the
        reference; over a posterior's draws, medians and 90% credible intervals, and the rank probabilities."""
        if self.is_posterior:
            return self._posterior_report(outcomes)
        names, width = self._names()
        s = self.summary(full_scale=True)
        outcomes = outcomes or self.outcomes
        scale = float(self.manifest["experiment"].get("scale", 1.0))
        lines = [
            f"{self.manifest['name']}: {len(self.runs)} of {self.manifest['runs_total']} runs; "
            f"mean [95% interval]; change vs {names.get(self.reference, self.reference)} (paired, same seeds) [95% interval]"
            + (f"; simulated at {100 * scale:.3g}% scale, totals shown at full scale" if scale < 1 else "")
        ]
        for o in outcomes:
            lines.append(f"  {OUTCOMES[o].what}")
            rows = s[s["outcome"] == o]
            for _, r in rows.iterrows():
                ref = (
                    ""
                    if r["scenario"] == self.reference
                    else f"   {number(r['diff_mean'], sign=True)} [{number(r['diff_ci_low'])}, {number(r['diff_ci_high'])}]"
                    + percent_words(r["diff_pct"])
                )
                lines.append(
                    f"    {names.get(r['scenario'], r['scenario']):<{width}} {number(r['mean']):>10} [{number(r['ci_low'])}, {number(r['ci_high'])}]{ref}"
                )
        sens = self.sensitivity()
        if len(sens):
            from ..plots.sanctions import parameter_label  # the figures' names of the parameters (drawn anyway)

            key = "ST" if "ST" in sens else "mu_star"
            lines.append(
                f"  sensitivity ({sens['method'].iloc[0]}; ranked by "
                + (
                    "the total Sobol index ST, a share of the variance"
                    if key == "ST"
                    else "Morris' mu*, in the outcome's unit"
                )
                + (", totals at full scale" if scale < 1 and key != "ST" else "")
                + "):"
            )
            for (scenario, o, of), g in sens.groupby(["scenario", "outcome", "of"], sort=False):
                top = g.sort_values(key, ascending=False).head(3)
                label = OUTCOMES[o].label if o in OUTCOMES else o
                what = label if of == "level" else f"change in {label} from {names.get(self.reference, self.reference)}"
                money = o in OUTCOMES and OUTCOMES[o].money
                value = (lambda v: f"{v:.2f}") if key == "ST" else (lambda v: number(v, money=money))  # noqa: E731
                lines.append(
                    f"    {names.get(scenario, scenario)} / {what}: "
                    + "; ".join(f"{parameter_label(p)} {value(v)}" for p, v in zip(top["parameter"], top[key]))
                )
        return "\n".join(lines)
