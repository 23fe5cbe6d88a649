"""The command line: ``olsim run``, ``validate``, ``experiment``, ``calibrate``, ``plot`` and ``classroom``.

Every user error (bad file, bad key, bad value, bad flag, an output folder
that exists) ends with exit status 2 and one line per problem naming the key
or flag, never a traceback, and nothing is written.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .common.errors import OlsimError, ResultsError
from .common import shipped

if TYPE_CHECKING:  # imported when a command needs them (olsim starts fast)
    from .core.params import Params

# Everything else is imported by the command that needs it: `olsim --help`, `olsim scenarios` and a run's own
# start-up do not pay for pandas, scipy, matplotlib, mesa or the exploration code they do not use.

EXAMPLES_RUN = """examples:
  olsim run                                  the baseline (no sanctions), full scale
  olsim run params/history.toml --seed 3     the history of UNSCR 2375 and 2397
  olsim run --set hosts.russia.workers=5000 --set calendar.months=24
  olsim run params/classroom.toml --out results/class --force
  olsim run --engine mesa params/classroom.toml   the reference engine (slower)
  olsim run --profile                        time per phase of the month
"""
EXAMPLES_VALIDATE = """examples:
  olsim validate params/history.toml
  olsim validate params/baseline.toml --set remittance.rule=share
"""
EXAMPLES_EXPERIMENT = """examples:
  olsim experiment experiments/quick.toml                 three scenarios, small population (< 1 minute)
  olsim experiment experiments/sanctions.toml             every sanction over 40 posterior draws, full scale
  olsim experiment experiments/sanctions.toml --resume    finish an interrupted experiment
  olsim experiment experiments/sensitivity.toml --processes 2
  olsim experiment experiments/sensitivity.toml --scheduler tcp://10.0.0.5:8786   on a Dask cluster
"""
EXAMPLES_CALIBRATE = """examples:
  olsim calibrate                              params/targets.toml: search, check, validate (~4 minutes on 2 cores)
  olsim calibrate --resume                     finish an interrupted calibration
  olsim calibrate --budget 64 --out /tmp/cal   a quick, rough trial (checked at the search's scale; report folder only)
  olsim calibrate --scheduler tcp://10.0.0.5:8786   the runs on a Dask cluster
  olsim calibrate params/targets_sanctions.toml   the sanctions era by ABC-SMC, with its predictive check
"""
EXAMPLES_PLOT = """examples:
  olsim plot results/experiments/quick              redraw an experiment's figures (into its plots/)
  olsim plot results/run-a results/run-b -o ab.png  runs side by side
"""
EXAMPLES_COMPARE = """examples:
  olsim compare params/no_sanctions.toml params/history.toml --replicates 3 --scale 0.02
  olsim compare no_sanctions history full_compliance                 shipped files by name; the first is the reference
  olsim compare a.toml b.toml --reference b --replicates 10 --out results/compare/ab
  olsim compare a.toml b.toml --out results/compare/ab --resume      finish an interrupted comparison
"""
EXAMPLES_REPORT = """examples:
  olsim report results/experiments/sanctions       the report of an experiment folder (report.html, .md, .xlsx, .docx)
"""
EXAMPLES_STORIES = """examples:
  olsim stories                                both of the article's stories: the comparison table
  olsim stories kuwait_1996                    one story
  olsim stories --out results/stories          also write stories.csv and stories.md into a new folder
  olsim run kuwait_1996                        the story's scenario as an ordinary run
"""
EXAMPLES_CLASSROOM = """examples:
  olsim classroom                              params/classroom.toml on http://127.0.0.1:8765
  olsim classroom --port 8800                  another port
  olsim classroom --class                      a class on its own devices: join address, QR code, /board
  olsim classroom params/my_camp.toml          your own camp (keep it small: the page runs the mesa engine)
"""


class UsageError(OlsimError):
    """A bad flag or flag value."""


class Parser(argparse.ArgumentParser):
    argv: list[str] = []  # the command line being parsed (main sets it), for a typo's suggestion

    def error(self, message):  # one line, not a usage block, with the nearest command or option for a typo
        raise UsageError(f"{self.prog}: {message}{self._suggestion(message)} (see {self.prog} --help)")

    def _suggestion(self, message: str) -> str:
        import re

        from .common.validation import suggest

        m = re.search(r"invalid choice: '([^']*)'", message)
        if m:
            choices = [c for a in self._actions if a.choices for c in a.choices]
            return suggest(m[1], choices)
        m = re.match(r"unrecognized arguments: (\S+)", message)
        if m and m[1].startswith("-"):
            parsers = [self] + [
                p for a in self._actions if isinstance(a, argparse._SubParsersAction) for p in a.choices.values()
            ]
            word = m[1].split("=")[0]
            command = next((w for w in self.argv[:1] if not w.startswith("-")), None)
            mine = [p for p in parsers if p.prog.split()[-1] == command] or parsers  # the command's own first
            options = sorted({o for p in mine for a in p._actions for o in a.option_strings if o.startswith("--")})
            return suggest(word, options)
        return ""


def _overrides(pairs: list[str] | None) -> dict:
    from .core.params import parse_value

    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--set {pair}: expected KEY=VALUE, e.g. --set hosts.russia.workers=5000")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise UsageError(f"--set {pair}: the key before '=' is empty")
        out[key] = parse_value(value.strip())
    return out


def _load(args) -> Params:
    from .core.params import load_params

    overrides = _overrides(args.set)
    if getattr(args, "months", None) is not None:
        overrides["calendar.months"] = args.months
    if args.params is not None:  # a path, or a shipped file's name (olsim scenarios)
        args.params = str(shipped.resolve(args.params, "params"))
    named = {k.split(".")[1] for k in overrides if k.startswith("hosts.") and len(k.split(".")) > 1}
    if named:  # a new host needs an explicit word: a typo must not run as a host of its own (issue 34)
        known = list(load_params(args.params).hosts)
        added = set(getattr(args, "add_host", None) or [])
        for host in sorted(named - set(known) - added):
            from .common.validation import suggest

            key = next(k for k in overrides if k.startswith(f"hosts.{host}."))
            raise UsageError(
                f"--set {key}: no host named {host}{suggest(host, known)} in "
                f"{args.params or 'the baseline'} ({', '.join(known)}); to add one, give --add-host {host} "
                f"and every field it needs"
            )
    return load_params(args.params, overrides)


def _default_out(params_path: str | None, seed: int) -> Path:
    stem = Path(params_path).stem if params_path else "baseline"
    base = Path("results") / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-seed{seed}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def _reason(error: OSError, out: Path) -> str:
    """The message of an output-folder error, without repeating the folder's path."""
    text = str(error)
    prefix = f"{out.absolute()}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def summary_table(summary: dict) -> str:
    """The run's headline outcomes (labels and formats from the outcome registry), with the brief's targets."""
    from .common.formatting import format_money
    from .results.outcomes import NET_GAIN_QUANTILES, OUTCOMES, RUN_SUMMARY, WORKERS_AT_END

    cal = summary["calibration"]

    def check(key):
        c = cal.get(key)
        if not c or c["value"] != c["value"]:
            return ""
        mark = "in" if c["inside"] else "OUT of"
        fmt = OUTCOMES[key].format
        return f"  ({mark} target {fmt(c['low'])} to {fmt(c['high'])})"

    rows = [(OUTCOMES[k].label, OUTCOMES[k].format(summary[k]), check(k)) for k in RUN_SUMMARY]
    # magnitudes the seed article and other sources report, beside the model's (not fitted)
    rows += [(o.label, o.format(summary[k]), f"  (reported: {o.reported})") for k, o in OUTCOMES.items() if o.reported]
    rows += [
        (
            "net gain per worker p10 / median / p90",
            " / ".join(format_money(summary[k]) for k in NET_GAIN_QUANTILES),
            "",
        ),
        ("workers at start / end", f"{summary['workers_initial']:,} / {summary[WORKERS_AT_END]:,}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {name:<{width}}  {value}{note}" for name, value, note in rows)


def cmd_run(args) -> int:
    from .core.draws import MAX_SEED
    from .engines import ENGINES, check_memory, run
    from .results.result import check_output_folder

    params = _load(args)
    if args.engine not in ENGINES:
        raise UsageError(f"--engine {args.engine}: unknown engine (engines: {', '.join(ENGINES)})")
    check_memory(params, args.engine)
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: must be from 0 to {MAX_SEED}")
    if args.out is not None and not args.out.strip():
        raise UsageError("--out: empty folder name")
    out = Path(args.out) if args.out else _default_out(args.params, args.seed)
    try:
        check_output_folder(out, args.force)
    except OSError as e:
        raise UsageError(f"--out {args.out or out}: {_reason(e, out)}") from None
    workers = sum(h.workers for h in params.hosts.values())
    show = not args.quiet and workers * params.calendar.months >= 200_000
    command = " ".join(shlex.quote(a) for a in ["olsim", *sys.argv[1:]]) if sys.argv else None
    if not args.quiet:
        print(
            f"running {workers:,} workers for {params.calendar.months} months, {args.engine} engine, seed {args.seed}",
            file=sys.stderr,
        )
        _say_if_compiling(args.engine)
    from .common.provenance import process_seconds

    startup = process_seconds()
    result = run(params, engine=args.engine, seed=args.seed, progress=show, command=command)
    result.manifest["params_file"] = args.params
    failed = None
    try:
        folder = result.save(out, force=args.force)
    except OSError as e:
        # keep the finished run: write it under results/ instead, then fail (a script must not think it succeeded)
        fallback = _default_out(args.params, args.seed)
        try:
            folder = result.save(fallback)
        except OSError as e2:
            raise ResultsError(
                f"--out {out}: {_reason(e, out)}; and {fallback}: {_reason(e2, fallback)}; "
                f"the results could not be saved"
            ) from None
        failed = ResultsError(f"--out {out}: {_reason(e, out)}; the results were saved to {folder} instead")
    folder = out if folder == out.absolute() else folder
    s = getattr(result, "saved_summary", None) or result.summary  # the summary just saved: computed once
    warm = f" after a {params.calendar.warmup}-month warm-up" if params.calendar.warmup else ""
    print(
        f"overseas-labor-sim: {s['months']} months from {params.calendar.start}{warm}, {args.engine} engine, "
        f"seed {args.seed}, {result.manifest['wall_seconds']:.1f} s"
    )
    print(summary_table(s))
    from .results.sectors import sector_lines
    from .results.tenure import tenure_lines

    print(tenure_lines(result))
    sectors = sector_lines(result)  # revenue and workers by sector (none for a run without sectors)
    if sectors:
        print(sectors)
    print(f"results: {folder}/ (monthly.parquet, hosts.parquet, sectors.parquet, workers.parquet, manifest.json)")
    if args.profile:
        print(first_month_table(result, startup))
        print(profile_table(result))
    if failed is not None:
        raise failed
    return 0


def _say_if_compiling(engine: str) -> None:
    """The first run after an install compiles the rulebook and the array engine's loops (numba, cached on disk)."""
    from .core.compiled import cached
    from .engines.array import kernels

    if engine == "array" and not cached(kernels.work_and_pay):
        print("olsim: compiling the array engine's loops, once (about 15 s; cached for later runs)", file=sys.stderr)


def first_month_table(result, startup: float) -> str:
    """The time to the first month: this process's start-up to the run, building the model, the first month, and
    how much of the last two was loading the compiled code from numba's cache (compiling it, the first time)."""
    t = getattr(result, "timings", None)
    if not t:
        return "time to the first month: not recorded"
    build, first, loaded = t["build_seconds"], t["first_month_seconds"], t["loading_compiled_seconds"]
    rows = [
        ("start-up: Python, imports, parameters", startup),
        ("building the model", build),
        ("the first month", first),
        ("time to the first month", startup + build + first),
        ("  of which loading compiled code", loaded),
    ]
    width = max(len(name) for name, _ in rows)
    return "time to the first month:\n" + "\n".join(f"  {name:<{width}} {sec:8.3f}" for name, sec in rows)


def profile_table(result) -> str:
    """Seconds per phase of the month, summed over the run."""
    phases = getattr(getattr(result, "model", None), "phase_seconds", None)
    if not phases:
        return "profile: no per-phase times were recorded"
    total = sum(phases.values())
    months = len(result.monthly)
    width = max(len(name) for name in [*phases, "total"])
    lines = [f"  {'phase':<{width}} {'seconds':>8} {'share':>7} {'ms/month':>9}"]
    for name in phases:  # in the order of the month
        sec = phases[name]
        lines.append(f"  {name:<{width}} {sec:8.3f} {100 * sec / total:6.1f}% {1000 * sec / months:9.2f}")
    lines.append(f"  {'total':<{width}} {total:8.3f} {100.0:6.1f}% {1000 * total / months:9.2f}")
    return f"time per phase of the month ({result.manifest.get('engine', '')} engine):\n" + "\n".join(lines)


def cmd_validate(args) -> int:
    from .core.params_toml import params_toml

    from .core.policies import describe

    params = _load(args)
    header = f"resolved parameters of {args.params}: valid"
    if params.policies:  # each policy in words, every field with its unit, as its kind declares them
        header += "\n\npolicies, in words:\n" + "\n".join(
            f"{i}. {describe(p, calendar=params.calendar)}" for i, p in enumerate(params.policies, 1)
        )
    sys.stdout.write(params_toml(params, with_comments=False, header=header))
    return 0


def _check_executor_flags(args) -> None:
    """The flags `experiment` and `calibrate` share."""
    if args.processes is not None and args.processes < 1:
        raise UsageError(f"--processes {args.processes}: must be 1 or more")
    if args.scheduler is not None and args.processes is not None:
        raise UsageError("--processes and --scheduler: choose one (the cluster decides how many processes)")
    if args.resume and args.force:
        raise UsageError("--resume and --force: choose one (--resume keeps the finished runs, --force replaces them)")
    if args.out is not None and not args.out.strip():
        raise UsageError("--out: empty folder name")


def _quiet_dask_client(args) -> None:
    """A lost scheduler or worker is reported once, in one line, by olsim; not as the Dask client's tracebacks."""
    if args.scheduler is not None:
        import logging

        logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _where(args) -> str:
    from .explore.evaluators import cores

    return (
        f"Dask cluster {args.scheduler}"
        if args.scheduler
        else f"{args.processes or cores()} local processes"
        if (args.processes or cores()) > 1
        else "this process"
    )


def _calibration_setup(args, targets_path: Path, budget_min: int, unit: str):
    """What both calibrations check first: the executor flags, --budget; the output folder and the log."""
    _check_executor_flags(args)
    _quiet_dask_client(args)
    if args.budget is not None and not budget_min <= args.budget <= 100_000:
        raise UsageError(f"--budget {args.budget}: must be {budget_min} to 100,000 {unit}")
    out = Path(args.out) if args.out else Path("results") / "calibration" / targets_path.stem
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"calibrate {msg}", file=sys.stderr))
    return out, log


def cmd_calibrate(args) -> int:
    from .calibration import load_targets, run_calibration, summary_lines
    from .calibration.sanctions.targets import is_sanctions_targets

    path = None if args.targets is None else shipped.resolve(args.targets, "params")
    if path is not None and is_sanctions_targets(path):
        return _calibrate_sanctions(args, path)
    if any(
        getattr(args, k) is not None
        for k in ("seed", "compare", "answers", "recovery", "report", "scale", "replicates")
    ):
        raise UsageError(
            "--seed, --compare, --answers, --recovery, --report, --scale and --replicates: only for the sanctions era's "
            "calibration (a targets file with [fit])"
        )
    targets = load_targets(path)
    assert targets.path is not None  # load_targets names the file it read
    out, log = _calibration_setup(args, targets.path, 4, "parameter sets")
    log(
        f"{targets.path}: {len(targets.spec.targets)} targets, {len(targets.spec.parameters)} parameters, "
        f"{len(targets.spec.validation)} validation facts; on {_where(args)}; report in {out}/"
    )
    try:
        cal = run_calibration(
            targets,
            out,
            budget=args.budget,
            processes=args.processes,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            progress=not args.quiet,
            log=log,
        )
    except KeyboardInterrupt:
        print(
            f"olsim: interrupted; the finished runs are saved in {out}/; run the same command with --resume to finish",
            file=sys.stderr,
        )
        return 130
    print("\n".join(summary_lines(cal)))
    if cal.params_file is not None:
        print(f"calibrated parameters: {cal.params_file}")
    else:
        print(
            f"calibrated parameters: {cal.folder}/calibrated.toml only ({targets.output_path} is replaced only by a "
            f"calibration with the file's own budget that reaches every range)"
        )
    print(f"report: {cal.folder}/report.md (targets.csv, parameters.csv, validation.csv, sets.csv, plots/)")
    return 0


def _compare_calibrations(args, targets) -> int:
    """--compare: independent calibrations' posteriors side by side (`sim.calibration.sanctions.agreement`)."""
    from .calibration.sanctions.agreement import agreement_lines, agreement_table, read_runs, run_label, run_summary
    from .calibration.sanctions.fit import priors
    from .common.files import atomic_write

    answers = None
    if args.answers is not None:
        from .explore.structures import read_answers

        answers = read_answers(args.answers)  # before any work: a wrong folder is one line
    runs = read_runs([Path(d) for d in args.compare])
    table = agreement_table(runs, priors(targets))
    folders = {run_label(Path(d)): Path(d) for d in args.compare}
    lines = agreement_lines(table, list(runs), {k: run_summary(p, folders.get(k)) for k, p in runs.items()})
    if answers is not None:
        from .explore.structures import REFERENCE, answers_agreement_lines

        names = {REFERENCE: next(iter(runs))}  # the structures' as-fitted run: the first compared
        lines += answers_agreement_lines(answers[0], answers[1], names)
    print("\n".join(lines))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "agreement.csv", table.to_csv(index=False, float_format="%.6g").encode())
        atomic_write(out / "agreement.md", ("\n".join(lines) + "\n").encode())
        print(f"written: {out}/agreement.md, agreement.csv")
    _set_report_section(args, lines, ())
    return 0


def _report_path(args) -> Path | None:
    """--report: a calibration's report.md (or the folder that holds it), checked before any work is done."""
    if args.report is None:
        return None
    path = Path(args.report)
    path = path / "report.md" if path.is_dir() else path
    if not path.is_file():
        raise UsageError(f"--report {args.report}: no calibration report there (give a report.md or its folder)")
    return path


def _set_report_section(args, lines: list[str], after: tuple[str, ...]) -> None:
    from .calibration.sanctions.report import CONVERGENCE, set_section

    path = _report_path(args)
    if path is not None:
        set_section(path, lines, (CONVERGENCE, *after))
        print(f"written: the section '{lines[0][3:]}' of {path}")


def _recover_truths(args, targets) -> int:
    """--recovery N: simulation-based calibration (`sim.calibration.sanctions.recovery`), resumable in --out."""
    import json

    from .calibration.sanctions.recovery import recovery_summary, recovery_text, run_recovery
    from .calibration.sanctions.report import AGREEMENT
    from .common.files import atomic_write

    if not 1 <= args.recovery <= 1000:
        raise UsageError(f"--recovery {args.recovery}: must be 1 to 1,000 truths")
    _check_executor_flags(args)
    if args.budget is not None and not 10 <= args.budget <= 100_000:
        raise UsageError(f"--budget {args.budget}: must be 10 to 100,000 particles")
    if args.scale is not None and not 0 < args.scale <= 1:
        raise UsageError(
            f"--scale {args.scale:g}: must be more than 0 and at most 1 (the share of every host's workers)"
        )
    if args.replicates is not None and not 1 <= args.replicates <= 100:
        raise UsageError(f"--replicates {args.replicates}: must be 1 to 100")
    out = Path(args.out) if args.out else Path("results") / "calibration" / "recovery"
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"recovery {msg}", file=sys.stderr))
    try:
        frame = run_recovery(
            targets,
            out,
            truths=args.recovery,
            particles=args.budget or 100,
            scale=args.scale,
            replicates=args.replicates,
            processes=args.processes,
            scheduler=args.scheduler,
            log=log,
        )
    except KeyboardInterrupt:
        print(
            f"olsim: interrupted; the finished truths and their fits' finished batches are saved in {out}/; run the "
            "same command to go on from them",
            file=sys.stderr,
        )
        return 130
    budget = json.loads((out / "recovery.json").read_text())  # the settings run_recovery ran with and recorded
    if (out / "screened.csv").exists() and budget.get("constrain_mechanisms"):  # truths of the restricted prior
        import pandas as pd

        budget["screened"] = len(pd.read_csv(out / "screened.csv"))
    text = recovery_text(recovery_summary(frame), budget)
    atomic_write(out / "recovery.md", text.encode())
    print(text)
    print(f"written: {out}/recovery.md, recovery.csv, truths.csv")
    _set_report_section(args, text.rstrip("\n").split("\n"), (AGREEMENT,))
    return 0


def _calibrate_sanctions(args, path) -> int:
    """The sanctions era by ABC-SMC (docs/ODD.md 8.7): generations saved in --out; --resume continues them."""
    from .calibration.folder import Folder
    from .calibration.sanctions.targets import load_sanctions_targets
    from .calibration.sanctions.fit import priors
    from .calibration.sanctions.pipeline import calibrate_sanctions

    targets = load_sanctions_targets(path)
    if (args.scale is not None or args.replicates is not None) and args.recovery is None:
        raise UsageError("--scale and --replicates: only with --recovery (the fit's own are the targets file's [smc])")
    if args.answers is not None and args.compare is None:
        raise UsageError("--answers: only with --compare (it adds the runs' policy answers to their comparison)")
    if args.report is not None and args.compare is None and args.recovery is None:
        raise UsageError(
            "--report: only with --compare or --recovery (the section they write in a calibration's report)"
        )
    _report_path(args)  # a missing report is named before any run
    if args.compare is not None:
        return _compare_calibrations(args, targets)
    if args.recovery is not None:
        return _recover_truths(args, targets)
    if args.seed is not None:
        if not 0 <= args.seed <= 2**40:
            raise UsageError(f"--seed {args.seed}: must be 0 to {2**40:,}")
        if args.out is None:
            raise UsageError("--seed: give --out (an independent run goes in its own folder)")
        targets.spec = targets.spec.model_copy(update={"smc": targets.spec.smc.model_copy(update={"seed": args.seed})})
    out, log = _calibration_setup(args, targets.path, 10, "particles")
    folder = Folder(out)
    old = folder.prepare(targets, args.resume, args.force, [targets.path, targets.scenario_path])
    s = targets.spec.smc
    if old.get("seed", s.seed) != s.seed:
        raise UsageError(
            f"--resume: {folder.path} holds a calibration from seed {old['seed']}; resume it with --seed {old['seed']}"
        )
    folder.mark(targets, {"method": "abc-smc", "seed": s.seed})
    log(
        f"{targets.path}: {len(targets.spec.fit)} fit facts ({len(targets.spec.held_out)} held out, not read), "
        f"{len(priors(targets))} parameters; ABC-SMC, {args.budget or s.particles} particles x {s.generations} "
        f"generations at {s.scale:g} scale; on {_where(args)}; in {folder.path}/"
    )
    try:
        cal = calibrate_sanctions(
            targets,
            folder.path,
            processes=args.processes,
            scheduler=args.scheduler,
            particles=args.budget,
            resume=args.resume,
            log=log,
            ship=args.seed is None,
        )
    except KeyboardInterrupt:
        print(
            f"olsim: interrupted; the finished generations and runs are saved in {folder.path}/; run the same "
            f"command with --resume to finish",
            file=sys.stderr,
        )
        return 130
    folder.done()
    pops = cal.pops
    print("generation  particles  tolerance  simulated  acceptance  ESS")
    for t, p in enumerate(pops):
        eps = "-" if p.epsilon == float("inf") else f"{p.epsilon:.3g}"
        print(f"{t:>10}  {len(p.theta):>9}  {eps:>9}  {p.simulated:>9}  {p.acceptance:>10.0%}  {p.ess():>4.0f}")
    last = pops[-1]
    print(
        f"posterior: {len(last.theta)} particles, distance {last.distances.min():.3g}-{last.distances.max():.3g} "
        f"tolerance units"
    )
    pred = cal.checks["predictive"]
    for which in ("fit", "held out"):
        g = pred[pred["set"] == which]
        missed = ", ".join(g.loc[~g["inside"], "fact"]) or "none"
        print(f"{which} facts inside the 90% band: {int(g['inside'].sum())} of {len(g)} (outside: {missed})")
    for verdict in ("pinned", "narrowed", "loose"):
        names = cal.parameters.loc[cal.parameters["verdict"] == verdict, "parameter"]
        print(
            f"{verdict}: {len(names)} of {len(cal.parameters)} parameters"
            + (f" ({', '.join(names)})" if len(names) else "")
        )
    if cal.shipped:
        print("calibrated scenario and posterior: " + ", ".join(str(p) for p in cal.shipped))
    else:
        print(
            f"calibrated scenario and posterior: {folder.path}/history_calibrated.toml, {folder.path}/posterior.csv "
            f"only (the shipped files are replaced only by a calibration with the targets file's own settings)"
        )
    print(
        f"report: {folder.path}/report.md (predictive.csv, adequacy.csv, mechanisms.csv, scores.csv, "
        "parameters.csv, welfare.csv, scale.csv, plots/)"
    )
    return 0


def _run_plan(args, plan, out: Path, preamble: str):
    """What `experiment` and `compare` share: the memory check, the preamble, the run; None if interrupted (the
    finished runs are kept and the message says how to resume)."""
    from .explore import run_experiment

    if plan.spec.engine == "mesa" or args.scheduler is None:
        from .core.params import make_params
        from .engines import check_memory

        for params in plan.scenario_params.values():
            check_memory(make_params(params), plan.spec.engine)
    if not args.quiet:
        print(preamble, file=sys.stderr)
    try:
        return run_experiment(
            plan,
            out,
            processes=args.processes,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        from .explore.store import Store

        done = len(Store(out).done())
        print(
            f"olsim: interrupted; {done} of {len(plan.tasks)} runs are saved in {out}/; "
            f"run the same command with --resume to finish",
            file=sys.stderr,
        )
        return None


def _prestart_pool(args) -> None:
    """Start the local pool's fork server first, so it loads the model while this process reads the files."""
    if args.scheduler is None:
        from .explore.evaluators import prestart

        prestart(args.processes)


def cmd_experiment(args) -> int:
    path = shipped.resolve(args.file, "experiments")
    if args.processes is None or args.processes > 1:
        _prestart_pool(args)
    from .explore import load_experiment

    plan = load_experiment(path)
    _check_executor_flags(args)
    _quiet_dask_client(args)
    out = Path(args.out) if args.out else Path("results") / "experiments" / plan.spec.name
    result = _run_plan(
        args,
        plan,
        out,
        f"experiment {plan.spec.name}: {len(plan.spec.scenarios)} scenarios x "
        f"{len(plan.samples)} samples x {plan.spec.replicates} replicates = {len(plan.tasks)} runs, "
        f"{plan.spec.engine} engine, on {_where(args)}; results in {out}/",
    )
    if result is None:
        return 130
    print(result.report())
    print(
        f"results: {out}/ (runs.parquet, monthly/, distributions/, summary.csv"
        f"{', sensitivity.csv' if (out / 'sensitivity.csv').exists() else ''}, plots/, manifest.json)"
    )
    return 0


def _check_compare_numbers(args) -> None:
    problems = []
    if not 1 <= args.replicates <= 10_000:
        problems.append(f"--replicates {args.replicates}: must be 1 to 10,000")
    if not 0 < args.scale <= 1:
        problems.append(
            f"--scale {args.scale:g}: must be more than 0 and at most 1 (the share of every host's workers)"
        )
    if args.months is not None and not 1 <= args.months <= 1200:
        problems.append(f"--months {args.months}: must be 1 to 1,200")
    if not 0 <= args.seed <= 2**62:
        problems.append(f"--seed {args.seed}: must be from 0 to 2^62")
    if not 0 <= args.warmup <= 600:
        problems.append(f"--warmup {args.warmup}: must be 0 to 600 months")
    if problems:
        raise UsageError(problems)


def cmd_compare(args) -> int:
    _check_executor_flags(args)
    _check_compare_numbers(args)
    _prestart_pool(args)
    _quiet_dask_client(args)
    from .explore.compare import compare_experiment, default_out
    from .explore.report import write_report

    _, plan = compare_experiment(
        args.files, args.reference, args.replicates, args.scale, args.months, args.seed, args.warmup
    )
    out = Path(args.out) if args.out else default_out(plan)
    result = _run_plan(
        args,
        plan,
        out,
        f"compare: {len(plan.spec.scenarios)} scenarios x {plan.spec.replicates} "
        f"replicates = {len(plan.tasks)} runs at {100 * plan.spec.scale:.3g}% scale, reference "
        f"{plan.reference}, on {_where(args)}; report in {out}/",
    )
    if result is None:
        return 130
    write_report(result, draw=False)
    print(result.report())
    print(f"report: {out}/report.html (also report.md, report.xlsx, report.docx, summary.csv, plots/)")
    return 0


def cmd_report(args) -> int:
    from .common.errors import ExperimentError
    from .explore.analysis import ExperimentResult
    from .explore.report import analyse, write_report

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    if _manifest_kind(folder) != "experiment":
        raise UsageError(
            f"{folder}: not an experiment folder (olsim report reads what olsim experiment or olsim compare wrote)"
        )
    store, lock = _lock_experiment(folder, "report", "write the report")
    try:
        _reindex(store, folder)
        result = ExperimentResult.load(folder)
        if not len(result.runs):
            raise UsageError(f"{folder}: no finished runs yet; finish the experiment with --resume")
        analyse(result)
        files = write_report(result, draw=False)
    except (ExperimentError, UsageError):
        raise
    except (OSError, ValueError, KeyError) as e:  # a damaged folder
        first = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(f"{folder}: cannot write the report ({type(e).__name__}: {first})") from None
    finally:
        lock.close()
    if not result.complete:
        print(
            f"olsim: warning: {folder}: {len(result.runs)} of {result.manifest['runs_total']} runs are finished; "
            f"the report covers those (finish with --resume)",
            file=sys.stderr,
        )
    for f in files:
        print(f)
    return 0


def _lock_experiment(folder: Path, command: str, doing: str):
    """The experiment folder's store and its lock, held (not while an olsim experiment or compare writes it);
    `UsageError` (one line) if another olsim holds it or the folder cannot be locked."""
    from .common.errors import ExperimentError
    from .explore.store import Store

    store = Store(folder)
    try:
        return store, store._acquire(store.folder)
    except ExperimentError:
        raise UsageError(
            f"{folder}: another olsim is writing this experiment now; run olsim {command} once it has finished"
        ) from None
    except OSError as e:
        raise UsageError(f"{folder}: cannot {doing} here ({e.strerror or type(e).__name__})") from None


def _reindex(store, folder: Path) -> None:
    """The experiment's index rebuilt from the runs whose files check out (under the folder's lock); a damaged run
    is named and left out, never counted as finished."""
    from .explore.store import damaged_words

    try:
        damaged = store.reindex()
    except (OSError, ValueError, KeyError, TypeError):
        return  # a folder too damaged to index: ExperimentResult.load says what is wrong in one line
    if damaged:
        print(
            f"olsim: warning: {folder}: {damaged_words(damaged)}; they are left out (run the experiment again with "
            f"--resume to re-run them)",
            file=sys.stderr,
        )


def cmd_plot(args) -> int:
    from .common.errors import ExperimentError
    from .explore.analysis import ExperimentResult
    from .results.result import Result

    folders = [Path(f) for f in args.folders]
    for f in folders:
        if not f.is_dir():
            raise UsageError(f"{f}: no such folder")
    if any(_manifest_kind(f) == "experiment" for f in folders):
        if len(folders) > 1 or args.output:
            raise UsageError("olsim plot: give one experiment folder (its figures go into its plots/ folder)")
        store, lock = _lock_experiment(folders[0], "plot", "draw")
        try:
            _reindex(store, folders[0])
            result = ExperimentResult.load(folders[0])
            if not len(result.runs):  # nothing to draw: say so, not exit 0 with nothing written (issue 34)
                raise UsageError(
                    f"{folders[0]}: no finished runs to draw yet (olsim experiment FILE --out {folders[0]} --resume)"
                )
            from .explore.report import analyse

            files = analyse(result)
        except ExperimentError:
            raise
        except (OSError, ValueError, KeyError) as e:  # a damaged folder (e.g. monthly/ emptied)
            first = str(e).splitlines()[0] if str(e) else ""
            raise UsageError(f"{folders[0]}: cannot draw the experiment ({type(e).__name__}: {first})") from None
        finally:
            lock.close()
        for f in files:
            print(f)
        return 0
    from .plots.runs import overview

    output = _figure_path(args.output or "overview.png", args.force)
    runs = {}
    for f in folders:
        try:
            r = Result.load(f)
        except ResultsError as e:
            raise ResultsError(
                [f"{line} (olsim plot takes run folders or one experiment folder)" for line in e.errors]
            ) from None
        runs[Path(r.manifest.get("params_file") or f).stem if len(folders) == 1 else f.name] = r
    print(overview(runs, output))
    return 0


def _manifest_kind(folder: Path) -> str | None:
    """What wrote a results folder, as its manifest says ("run", "experiment"), if it can be read."""
    import json

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return manifest.get("kind", "run" if "engine" in manifest else None) if isinstance(manifest, dict) else None


FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _figure_path(text: str, force: bool) -> Path:
    """Where `olsim plot` may write a figure: an image file name, in a folder that exists, not replacing
    a file unless --force."""
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"-o {text}: is a folder; give a file name such as {path / 'overview.png'}")
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(f"-o {text}: the figure's file must end in {', '.join(FIGURE_SUFFIXES)}")
    if not path.absolute().parent.is_dir():
        raise UsageError(f"-o {text}: folder {path.absolute().parent} does not exist")
    if path.exists() and not force:
        raise UsageError(f"-o {text}: already exists; add --force to replace it, or choose another name")
    return path


def require(module: str, extra: str, what: str) -> None:
    """One line, not an ImportError, when an optional extra is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UsageError(f"{what} needs the '{extra}' extra: pip install 'overseas-labor-sim[{extra}]'")


def cmd_scenarios(args) -> int:
    """The shipped parameter, scenario and experiment files, by the names the other commands take."""
    for kind, title in (
        ("params", "parameter and scenario files (olsim run NAME, olsim validate NAME)"),
        ("experiments", "experiment files (olsim experiment NAME)"),
    ):
        files = shipped.names(kind)
        print(f"{title}, in {shipped.folder(kind)}:")
        width = max((len(n) for n in files), default=0)
        for name, path in files.items():
            print(f"  {name:<{width}}  {shipped.description(path)}")
    return 0


def cmd_stories(args) -> int:
    """Run the article's stories (shipped scenarios) and print every figure the article gives beside the model's."""
    from .core.draws import MAX_SEED
    from .results import stories

    names = args.names or list(stories.STORIES)
    for name in names:
        stories.story(name)  # an unknown name: one line, before anything runs
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: must be from 0 to {MAX_SEED}")
    if args.out is not None:
        if not args.out.strip():
            raise UsageError("--out: empty folder name")
        try:
            stories.check_new_folder(args.out)
        except stories.StoryError as e:
            raise UsageError(f"--out {e.errors[0]}") from None
    from .engines import run

    if not args.quiet:
        _say_if_compiling("array")
    rows, parts = [], []
    for name in dict.fromkeys(names):  # each story once, in the order given
        if not args.quiet:
            print(f"running {name} ...", file=sys.stderr)
        story_rows, result = stories.run_story(name, run, seed=args.seed)
        rows += story_rows
        parts.append(f"{stories.heading(stories.STORIES[name], result)}\n\n{stories.markdown(story_rows)}")
    text = "\n\n".join(parts)
    print(text)
    if args.out is not None:
        try:
            folder = stories.save(rows, text, args.out)
        except stories.StoryError as e:
            raise UsageError(f"--out {e.errors[0]}") from None
        print(f"written: {folder}/ ({', '.join(stories.FILES)})")
    return 0


def _reachable_address(host: str) -> str:
    """The address students type: ``host`` itself, or for 0.0.0.0 (every address) the one this machine reaches its
    network from (no packet is sent), else its name."""
    import socket

    if host not in ("0.0.0.0", ""):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return socket.gethostname()


def _qr_text(url: str) -> str | None:
    """The join address as a QR code drawn in text for the terminal (segno, the classroom extra), or None."""
    try:
        import io

        import segno
    except ImportError:
        return None
    out = io.StringIO()
    segno.make(url, error="l").terminal(out=out, compact=True)
    return out.getvalue().rstrip()


CULL_AFTER = "60s"  # a closed tab's session (its model) is freed this long after its page disconnects


def classroom_env(path: Path) -> dict:
    """The page server's environment: the parameter file, where the widgets are (`_jupyter_env`), and a closed
    tab's session freed after CULL_AFTER (Solara keeps it 24 hours by default, in case the tab comes back: a
    class of thirty reloading would pile up models); a SOLARA_KERNEL_CULL_TIMEOUT already set is kept."""
    env = {**os.environ, **_jupyter_env(), "OLSIM_CLASSROOM_PARAMS": str(Path(path).absolute())}
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", CULL_AFTER)
    # Solara's usage statistics: sent nowhere from a classroom, and counting every message cost the server about a
    # tenth of its time with ten students (py-spy, issue 33)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    return env


def _jupyter_env() -> dict:
    """Where the page's widgets are installed, for Solara: in a virtual environment made with system site packages
    the widgets' front-end files and their notebook config are in the base Python's share/ and etc/, which
    Jupyter's paths (and so Solara, which then fails every page with a 500) do not search. Those folders added
    to JUPYTER_PATH and JUPYTER_CONFIG_PATH when the environment has none of its own."""
    base, here = Path(sys.base_prefix), Path(sys.prefix)
    env: dict[str, str] = {}
    if base == here or (here / "etc" / "jupyter" / "nbconfig").is_dir():
        return env
    for var, folder in (
        ("JUPYTER_PATH", base / "share" / "jupyter"),
        ("JUPYTER_CONFIG_PATH", base / "etc" / "jupyter"),
    ):
        if folder.is_dir():
            env[var] = os.pathsep.join(p for p in (os.environ.get(var), str(folder)) if p)
    return env


def cmd_classroom(args) -> int:
    import socket

    from .engines import check_memory

    require("solara", "classroom", "olsim classroom")
    require("markdown", "classroom", "olsim classroom")
    from .core.params import load_params

    path = shipped.resolve(args.params or "classroom", "params")
    params = load_params(path)
    check_memory(params, "mesa")
    workers = sum(h.workers for h in params.hosts.values())
    if workers > 20_000:
        raise UsageError(
            f"{path}: {workers:,} workers is too many for the page (it runs the mesa engine, about "
            f"{workers * 25e-6:.1f} s a month); use at most 20,000"
        )
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: must be between 1 and 65535")
    host = args.host or ("0.0.0.0" if args.class_mode else "127.0.0.1")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as the server will: a closed socket's wait is no conflict
        try:
            probe.bind((host, args.port))
        except socket.gaierror:
            raise UsageError(f"--host {host}: not an address of this machine") from None
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"--host {host}: not an address of this machine") from None
            raise UsageError(f"--port {args.port}: already in use on {host}; choose another with --port") from None
    env = classroom_env(path)
    print(f"olsim classroom: {path} ({workers:,} workers, {params.calendar.months} months, mesa engine)")
    if args.class_mode:
        env["OLSIM_CLASS"] = "1"
        join = f"http://{_reachable_address(host)}:{args.port}/"
        print(f"students join at {join} (each gets a model of their own; or scan the code below)")
        print(f"your board, every student's run side by side: {join}board")
        qr = _qr_text(join)
        if qr:
            print(qr)
        print("Ctrl-C stops the class", flush=True)
    else:
        print(f"open http://{host}:{args.port} in a browser; Ctrl-C stops the page", flush=True)
    command = [
        sys.executable,
        # Solara warns on every page load served over http to an address other than "localhost" (13 lines each)
        "-W",
        "ignore:Cookies with samesite=none require https:UserWarning",
        "-m",
        "sim.classroom.serve",  # `solara run` with the websocket's compression off (sim/classroom/serve.py)
        "run",
        "sim.classroom.app",
        "--host",
        host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]
    if hasattr(os, "execve"):
        # become the server: a SIGTERM or SIGKILL sent to olsim then stops the page, nothing is left serving the port
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, command, env)
    import subprocess  # pragma: no cover - systems without exec

    try:  # pragma: no cover
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:  # pragma: no cover
        return 0


def _add_host_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--add-host",
        action="append",
        metavar="NAME",
        help="allow --set to create a host the file does not have (every field it needs set with --set); repeatable",
    )


def build_parser() -> Parser:
    parser = Parser(
        prog="olsim",
        description="overseas-labor-sim: an agent-based model of a state-run overseas labour system under sanctions.",
        epilog="Run 'olsim COMMAND --help' for a command's options and examples.",
    )
    from .common.provenance import __version__

    parser.add_argument("--version", action="version", version=f"olsim (overseas-labor-sim) {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show Python's traceback of a fault (a full disk, memory) as well"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = sub.add_parser(
        "run",
        help="run the model and write a results folder",
        description="Run the model once and write monthly.parquet, hosts.parquet, sectors.parquet, workers.parquet "
        "and manifest.json to a new folder (under results/ unless --out). Prints a summary table.",
        epilog=EXAMPLES_RUN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("params", nargs="?", default=None, help="parameter file (TOML); default: the built-in baseline")
    run.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    run.add_argument("--months", type=int, default=None, help="months to simulate (overrides calendar.months)")
    run.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override one parameter by its dotted key; repeatable"
    )
    _add_host_option(run)
    run.add_argument("--out", default=None, help="output folder (default: a new folder under results/)")
    run.add_argument(
        "--engine",
        default="array",
        choices=("array", "mesa"),
        help="engine: array (default; compiled, fast) or mesa (the reference, one object per agent)",
    )
    run.add_argument(
        "--profile", action="store_true", help="print the time spent in each phase of the month (array engine)"
    )
    run.add_argument("--force", action="store_true", help="replace the output folder if it exists")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or preamble")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate",
        help="check a parameter file and print the resolved parameters",
        description="Validate a parameter file (and any --set overrides); print every resolved value, or every error.",
        epilog=EXAMPLES_VALIDATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    val.add_argument("params", help="parameter file (TOML)")
    val.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override one parameter by its dotted key; repeatable"
    )
    _add_host_option(val)
    val.set_defaults(func=cmd_validate)

    exp = sub.add_parser(
        "experiment",
        help="run an experiment: scenarios x samples x replicates, with intervals and sensitivity",
        description="Run every (scenario, sample, replicate) of an experiment file, in parallel, streaming each finished run "
        "to the output folder; then write summary.csv (means, 95%% intervals, paired differences from the "
        "reference scenario), sensitivity.csv (Sobol or Morris) and plots/. An interrupted experiment keeps "
        "every finished run: run it again with --resume.",
        epilog=EXAMPLES_EXPERIMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    exp.add_argument("file", help="experiment file (TOML), e.g. experiments/quick.toml")
    exp.add_argument("--out", default=None, help="results folder (default: results/experiments/NAME)")
    exp.add_argument(
        "--processes", type=int, default=None, help="local worker processes (default: all cores; 1 = this process)"
    )
    exp.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask distributed cluster, e.g. tcp://HOST:8786 (start one with 'dask scheduler' and 'dask worker')",
    )
    exp.add_argument(
        "--resume", action="store_true", help="keep the runs already in --out and run only the missing ones"
    )
    exp.add_argument("--force", action="store_true", help="replace an earlier experiment in --out")
    exp.add_argument("-q", "--quiet", action="store_true", help="no progress bar or preamble")
    exp.set_defaults(func=cmd_experiment)

    cal = sub.add_parser(
        "calibrate",
        help="fit the uncertain parameters to the documented patterns; write params/calibrated.toml and a report",
        description="Calibrate by rejection ABC: run parameter sets drawn from the priors in the targets file (Latin "
        "hypercube, replicates with common random numbers, array engine), accept those whose mean lands in "
        "every target range, write the accepted set nearest the ranges' centres as a complete parameter file "
        "(the targets file's 'output', params/calibrated.toml), check it at full scale with fresh seeds, "
        "validate it out of sample on the history scenario, and write a report (report.md, CSV tables, "
        "plots/). Every stage streams its runs to disk: an interrupted calibration resumes with --resume.",
        epilog=EXAMPLES_CALIBRATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cal.add_argument("targets", nargs="?", default=None, help="targets file (TOML); default params/targets.toml")
    cal.add_argument(
        "--budget", type=int, default=None, help="parameter sets to search (default: the file's search.budget)"
    )
    cal.add_argument("--out", default=None, help="report folder (default: results/calibration/TARGETS-NAME)")
    cal.add_argument(
        "--processes", type=int, default=None, help="local worker processes (default: all cores; 1 = this process)"
    )
    cal.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run on a Dask distributed cluster, e.g. tcp://HOST:8786"
    )
    cal.add_argument(
        "--resume", action="store_true", help="keep the finished runs in --out and run only the missing ones"
    )
    cal.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier calibration in --out (and an output file olsim did not write)",
    )
    cal.add_argument(
        "--seed",
        type=int,
        default=None,
        help="sanctions era: an independent run of the ABC-SMC from this seed instead of the file's smc.seed "
        "(its own --out; the shipped files stay as they are)",
    )
    cal.add_argument(
        "--compare",
        nargs="+",
        default=None,
        metavar="DIR",
        help="sanctions era: compare finished calibrations' posteriors (e.g. runs from different --seed), run nothing",
    )
    cal.add_argument(
        "--answers",
        default=None,
        metavar="DIR",
        help="with --compare: the results folder of python -m sim.explore.structures experiments/independent_runs.toml "
        "(the policy table over each run's posterior), or its robustness.csv: also say whether the runs give the same "
        "policy answers",
    )
    cal.add_argument(
        "--recovery",
        type=int,
        default=None,
        metavar="N",
        help="sanctions era: recover N known truths drawn from the prior (simulation-based calibration), each fitted "
        "at --budget particles (default 100) x 4 generations; writes recovery.md in --out",
    )
    cal.add_argument(
        "--report",
        default=None,
        metavar="FILE",
        help="with --compare or --recovery: also set their section in this calibration report (a report.md or its "
        "folder, e.g. docs/calibration/sanctions), after its convergence",
    )
    cal.add_argument(
        "--scale",
        type=float,
        default=None,
        help="with --recovery: the share of the workers each fit simulates (default: the targets file's smc.scale)",
    )
    cal.add_argument(
        "--replicates", type=int, default=None, help="with --recovery: seeds per candidate (default: smc.replicates)"
    )
    cal.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    cal.set_defaults(func=cmd_calibrate)

    cmp = sub.add_parser(
        "compare",
        help="compare parameter files (one scenario each) and write a report for a brief",
        description="Run each parameter file as a scenario, with the same seeds in each (common random numbers), on the "
        "local pool or a Dask cluster, streaming every finished run to --out; then write report.html (one "
        "self-contained file: what was compared, the headline table with intervals and paired changes from "
        "the reference, figures), report.md, report.xlsx, report.docx, summary.csv and plots/. Interrupted, it keeps every "
        "finished run: run it again with --resume.",
        epilog=EXAMPLES_COMPARE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmp.add_argument("files", nargs="+", help="parameter files (or shipped names); the first is the reference")
    cmp.add_argument(
        "--reference", default=None, help="the file (or its name) the others are compared with (default: the first)"
    )
    cmp.add_argument("--replicates", type=int, default=5, help="runs of each file, seeds SEED to SEED+N-1 (default 5)")
    cmp.add_argument(
        "--scale",
        type=float,
        default=0.1,
        help="share of every host's workers to simulate (default 0.1; "
        "rates are per worker, totals are reported at full scale)",
    )
    cmp.add_argument(
        "--months", type=int, default=None, help="months to simulate (default: each file's calendar.months)"
    )
    cmp.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    cmp.add_argument(
        "--warmup",
        type=int,
        default=36,
        help="months run before each file's start and left out of the "
        "tables, so the first years do not drift (default 36: one contract; 0 runs the files as they are)",
    )
    cmp.add_argument("--out", default=None, help="results folder (default: results/compare/A-vs-B)")
    cmp.add_argument(
        "--processes", type=int, default=None, help="local worker processes (default: all cores; 1 = this process)"
    )
    cmp.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run on a Dask distributed cluster, e.g. tcp://HOST:8786"
    )
    cmp.add_argument(
        "--resume", action="store_true", help="keep the runs already in --out and run only the missing ones"
    )
    cmp.add_argument("--force", action="store_true", help="replace an earlier comparison in --out")
    cmp.add_argument("-q", "--quiet", action="store_true", help="no progress bar or preamble")
    cmp.set_defaults(func=cmd_compare)

    rep = sub.add_parser(
        "report",
        help="write the report of an experiment folder (report.html, report.md, report.xlsx, report.docx)",
        description="Turn an experiment folder (olsim experiment, olsim compare) into its report: report.html (one "
        "self-contained file), report.md, report.xlsx, report.docx, with summary.csv and plots/ redrawn.",
        epilog=EXAMPLES_REPORT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument("folder", help="an experiment folder")
    rep.set_defaults(func=cmd_report)

    plot = sub.add_parser(
        "plot",
        help="draw the figures of an experiment folder, or of run folders side by side",
        description="With one experiment folder: (re)write its summary.csv, sensitivity.csv and plots/ (paired changes, "
        "revenue against what workers keep, monthly series with bands, welfare as differences from the "
        "reference, sensitivity bars). With run folders: one overview figure.",
        epilog=EXAMPLES_PLOT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plot.add_argument("folders", nargs="+", help="an experiment folder, or run folders")
    plot.add_argument(
        "-o", "--output", default=None, help="image file for run folders: .png, .pdf or .svg (default overview.png)"
    )
    plot.add_argument("--force", action="store_true", help="replace the -o file if it exists")
    plot.set_defaults(func=cmd_plot)

    scn = sub.add_parser(
        "scenarios",
        help="list the shipped parameter, scenario and experiment files, by name",
        description="List the parameter, scenario and experiment files that ship with olsim; every command takes "
        "their names in place of a path (olsim run history, olsim experiment quick, olsim classroom).",
    )
    scn.set_defaults(func=cmd_scenarios)

    sto = sub.add_parser(
        "stories",
        help="run the seed article's stories (Kuwait 1996, a Siberian logging camp) against its figures",
        description="Run the shipped scenarios of the seed article's two stories (NYT 2015): kuwait_1996 (one desert "
        "camp of 1,800 workers) and siberia_logging (a logging camp in the Russian Far East); print, for every "
        "figure the article gives, the model's figure, their ratio and whether the model is inside a factor of "
        "1.5 of it, or why not.",
        epilog=EXAMPLES_STORIES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sto.add_argument("names", nargs="*", metavar="STORY", help="kuwait_1996 and/or siberia_logging (default: both)")
    sto.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    sto.add_argument(
        "--out", default=None, help="also write stories.csv and stories.md into this folder (a new one: never replaced)"
    )
    sto.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sto.set_defaults(func=cmd_stories)

    cls = sub.add_parser(
        "classroom",
        help="serve the classroom page (step the model, pull the levers, read a worker's story)",
        description="Serve an interactive page (Solara) on 127.0.0.1 running the mesa engine: step the model "
        "month by month, switch sanctions on and off, move the levers, read one worker's story. "
        "The lesson is docs/classroom.md.",
        epilog=EXAMPLES_CLASSROOM,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cls.add_argument("params", nargs="?", default=None, help="parameter file (default: params/classroom.toml)")
    cls.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    cls.add_argument(
        "--class",
        dest="class_mode",
        action="store_true",
        help="a class on its own devices: listen on the network (--host, default every address), print the join "
        "address and a QR code, and serve the teacher's board at /board",
    )
    cls.add_argument(
        "--host", default=None, help="address to listen on (default 127.0.0.1; with --class 0.0.0.0, every address)"
    )
    cls.set_defaults(func=cmd_classroom)
    return parser


def _terminate(signum, frame):
    """SIGTERM (a batch system's time limit, `kill`) ends olsim as Ctrl-C does: finished work is kept, helpers stopped.
    The request is noted too (`request_stop`), so that an interrupt C code swallowed is raised again by the loop that
    runs the tasks."""
    from .common.errors import request_stop

    request_stop()
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    from .common.errors import clear_stop

    parser = build_parser()
    previous = None
    clear_stop()  # a stop asked of an earlier call from Python is not this one's
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        parser.argv = list(sys.argv[1:] if argv is None else argv)  # for a typo's suggestion (`Parser.error`)
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):  # bare `olsim`: what it can do
            parser.print_help()
            return 0
        return args.func(args)
    except OlsimError as e:  # every user-facing error: one line per problem, exit status 2
        for line in e.errors:
            print(f"olsim: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("olsim: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OSError, MemoryError) as e:  # the machine's faults, not the model's: one line (--debug: the traceback)
        if "--debug" in parser.argv:
            raise
        print(f"olsim: error: {_fault_words(e)}", file=sys.stderr)
        return 2
    finally:
        clear_stop()  # a stop this command answered is not left for the caller's next call (olsim from Python)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if argv is None:  # the olsim command itself, about to exit (not a call from Python, which passes argv)
            _quick_exit()


def _fault_words(e: OSError | MemoryError) -> str:
    """A fault of the machine in one line: what happened, to which file, what to do."""
    import errno

    if isinstance(e, MemoryError):
        return "out of memory; run fewer workers (--scale, a smaller file) or fewer --processes (--debug: traceback)"
    where = f"{e.filename}: " if getattr(e, "filename", None) else ""
    what = e.strerror or type(e).__name__
    advice = {
        errno.ENOSPC: "free some space, or write elsewhere (--out, -o), and run the command again",
        errno.EDQUOT: "free some space, or write elsewhere (--out, -o), and run the command again",
        errno.EACCES: "write where you may (--out, -o), or change the folder's permissions",
        errno.EPERM: "write where you may (--out, -o), or change the folder's permissions",
        errno.EROFS: "write to a writable disk (--out, -o)",
    }.get(e.errno or 0, "see --debug for the traceback")
    return f"{where}{what}: {advice}"


def _quick_exit() -> None:
    """Let the process end without its garbage collector walking every object (pandas, numba, matplotlib and the
    model's leave some 200,000): frozen, they are freed with the process. About 0.2-0.5 s off every command."""
    import gc

    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
