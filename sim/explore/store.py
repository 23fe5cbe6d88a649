"""An experiment's folder: one file per finished run, written atomically, and the manifest."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import ExperimentError
from ..common.files import atomic_write, follow_link, jsonable, write_parquet
from ..common.provenance import git_commit, versions
from .plan import Plan, policy_dates


class _Held:
    """A folder's lock while it is held (`Store._acquire`)."""

    def __init__(self, lock):
        self.lock = lock

    def close(self) -> None:
        self.lock.release(force=True)


class Store:
    """An experiment's folder. Each finished run is three files, written atomically:

    ``monthly/RUN_ID.parquet`` and ``distributions/RUN_ID.parquet`` first, then
    ``rows/RUN_ID.json``, which marks the run done. ``runs.parquet`` is rebuilt
    from the rows (in task order) as runs finish and at the end.
    """

    def __init__(self, folder: str | os.PathLike):
        try:
            self.folder = follow_link(folder)  # act on what a link points to; the link stays
        except FileNotFoundError as e:
            raise ExperimentError(f"--out {e}") from None
        self.replaced: Path | None = (
            None  # an earlier experiment moved aside by --force, removed once this one completes
        )
        self._lock: _Held | None = None
        self._saved = 0  # runs saved by this process

    # one olsim at a time per folder
    def _acquire(self, folder: Path) -> "_Held":
        """Hold an exclusive lock on ``folder``/.lock (filelock: an flock on Unix, a locked file on Windows);
        `ExperimentError` if another process holds it. ``close()`` releases it."""
        from filelock import FileLock, Timeout

        lock = FileLock(folder / ".lock", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise ExperimentError(
                f"--out {folder}: another olsim is writing this experiment now; wait for it to end, "
                f"or choose another --out"
            ) from None
        return _Held(lock)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    # where things go
    def path(self, *parts) -> Path:
        return self.folder.joinpath(*parts)

    def done(self) -> set[str]:
        """The ids of the finished runs, each checked (`verify`): a damaged, partial or missing run is not one."""
        return set(self.verify()[0])

    def outcomes(self) -> list[str] | None:
        """The outcomes every run's row must hold (the manifest's experiment), None if the manifest cannot say."""
        try:
            return list(json.loads(self.path("manifest.json").read_text())["experiment"]["outcomes"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def verify(
        self, outcomes: list[str] | None = None, check_files: bool = True
    ) -> tuple[dict[str, dict], dict[str, str]]:
        """Every run's files checked against what was recorded when they were written: (the finished runs' records
        by id, the damaged runs by id with what is wrong). A run is finished when rows/ID.json reads whole, names
        its own run, holds a number (or null) for every outcome, and each of its tables is the file whose SHA-256
        the row recorded (runs saved before digests were recorded: the table ends as a Parquet file ends).
        ``check_files`` False: the rows only (while this process writes the folder, as it goes)."""
        outcomes = self.outcomes() if outcomes is None else outcomes
        good: dict[str, dict] = {}
        damaged: dict[str, str] = {}
        rows = self.path("rows")
        subs = [d for d in ("monthly", "distributions", "hosts") if self.path(d).is_dir()]
        for p in sorted(rows.glob("*.json")) if rows.exists() else []:
            rid = p.stem
            try:
                r = json.loads(p.read_text(encoding="utf-8"))
                row = r["row"]
                if row["run_id"] != rid:
                    raise ValueError
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
                damaged[rid] = "its row file is unreadable"
                continue
            problem = _row_problem(row, outcomes or [])
            if problem is None and check_files:
                files = r.get("files")
                for d in subs if files is None else list(files):
                    f = self.path(d, f"{rid}.parquet")
                    if not f.exists():
                        problem = f"its {d} file is missing"
                    elif files is None and not _whole_parquet(f):
                        problem = f"its {d} file is cut short"
                    elif files is not None and _sha256(f) != files[d]:
                        problem = f"its {d} file is not the one written (its digest differs)"
                    if problem:
                        break
            if problem:
                damaged[rid] = problem
            else:
                good[rid] = r
        return good, damaged

    def prepare(self, plan: Plan, resume: bool, force: bool, executor: str) -> set[str]:
        """Check the folder and write the manifest; return the run ids already done."""
        f = self.folder
        samples_bytes = io.BytesIO()
        plan.samples.to_parquet(samples_bytes, index=False)  # fails here, before the folder is touched
        try:
            return self._prepare(plan, resume, force, executor, samples_bytes.getvalue())
        except OSError as e:
            raise ExperimentError(f"--out {f}: {e.strerror or e}") from None

    def _prepare(self, plan: Plan, resume: bool, force: bool, executor: str, samples_bytes: bytes) -> set[str]:
        f = self.folder
        manifest = f / "manifest.json"
        if f.exists() and not f.is_dir():
            raise ExperimentError(f"--out {f}: exists and is not a folder; nothing was written")
        existing = f.exists() and any(f.iterdir())
        old = None
        if existing:
            if not manifest.exists():
                raise ExperimentError(
                    f"--out {f}: exists and is not an experiment folder (no manifest.json); nothing was written"
                )
            try:
                old = json.loads(manifest.read_text())
            except (OSError, json.JSONDecodeError):
                raise ExperimentError(f"--out {f}: manifest.json is unreadable; nothing was written") from None
            if old.get("kind") != "experiment":
                raise ExperimentError(f"--out {f}: holds a single run, not an experiment; choose another folder")
            if resume:
                if old.get("fingerprint") != plan.fingerprint:
                    raise ExperimentError(
                        f"--resume: {f} holds results of a different experiment (its runs, seeds, "
                        f"parameters or outcomes differ); use another --out, or --force to replace them"
                    )
            elif force:
                # keep the earlier experiment until this one is complete: moved aside, not deleted
                held = self._acquire(f)
                aside = f.with_name(f".{f.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
                f.rename(aside)
                held.close()
                self.replaced = aside
                old = None
            else:
                n = len(self.done())
                raise ExperimentError(
                    f"--out {f}: already holds {n} runs of an experiment; add --resume to finish it, "
                    f"--force to replace it, or choose another --out"
                )
        f.mkdir(parents=True, exist_ok=True)
        self._lock = self._acquire(f)
        for sub in ("rows", "monthly", "distributions", *(("hosts",) if plan.spec.hosts else ())):
            (f / sub).mkdir(parents=True, exist_ok=True)
        done: set[str] = set()
        if resume:
            good, damaged = self.verify(list(plan.spec.outcomes))
            done = set(good)
            if damaged:  # named, and run again below (never counted as finished)
                print(f"olsim: --resume: {damaged_words(damaged)}; running them again", file=sys.stderr)
        ids = {t["run_id"] for t in plan.tasks}
        stray = done - ids
        if stray:
            raise ExperimentError(
                f"--resume: {len(stray)} runs in {f} are not in this experiment (e.g. {sorted(stray)[0]})"
            )
        commit = git_commit()
        if resume and old and done and old.get("git_commit") and commit and old["git_commit"] != commit:
            # the inputs are the same, but the code that ran the finished runs may not be
            print(
                f"olsim: warning: --resume: the finished runs in {f} were made by commit {old['git_commit'][:10]}, "
                f"this code is {commit[:10]}; if the model changed in between, the runs are not comparable",
                file=sys.stderr,
            )
        info = {
            "kind": "experiment",
            "name": plan.spec.name,
            "fingerprint": plan.fingerprint,
            "experiment_file": str(plan.path) if plan.path else None,
            "experiment": plan.spec.model_dump(mode="json"),
            "experiment_text": plan.text,
            "base_params": plan.base,
            "reference": plan.reference,
            "problem": plan.problem,
            "sampling": plan.spec.sampling.model_dump(mode="json"),
            "scenario_policies": policy_dates(plan),
            "runs_total": len(plan.tasks),
            "versions": versions(),
            "git_commit": commit,
            "sessions": (old or {}).get("sessions", []) if resume else [],
        }
        info["sessions"].append({"started": _now(), "executor": executor, "runs_done_before": len(done)})
        self.write_json("manifest.json", info)
        if plan.text:  # the experiment file as given (olsim compare writes the one it made)
            atomic_write(f / "experiment.toml", plan.text.encode())
        atomic_write(f / "samples.parquet", samples_bytes)
        if plan.raw_samples is not None:
            np.save(f / ".sample_matrix.npy", plan.raw_samples)
            os.replace(f / ".sample_matrix.npy", f / "sample_matrix.npy")
        self.consolidate(plan)  # a runs.parquet from the start: a folder killed early is still an experiment's
        return done

    def save_run(self, payload: dict) -> None:
        """The run's tables, then its row with each table's SHA-256 (`verify` checks them)."""
        rid = payload["row"]["run_id"]
        files = {}
        for sub in ("monthly", "distributions", "hosts"):
            if sub not in payload:
                continue
            tmp = self.path(sub, f".{rid}.parquet.tmp")
            write_parquet(payload[sub], tmp)
            files[sub] = _sha256(tmp)
            os.replace(tmp, self.path(sub, f"{rid}.parquet"))
        self.write_json(
            f"rows/{rid}.json",
            {"row": payload["row"], "seconds": payload["seconds"], "host": payload["host"], "files": files},
        )
        self._saved += 1

    def write_json(self, rel: str, obj) -> None:
        atomic_write(self.path(rel), (json.dumps(jsonable(obj), indent=1) + "\n").encode())

    def consolidate(
        self, plan: Plan | None = None, good: dict[str, dict] | None = None, check_files: bool = True
    ) -> pd.DataFrame:
        """Rebuild runs.parquet (the index) from the finished runs that `verify` passes (or ``good``), in task
        order; return it. Without a plan, the order and columns are the manifest's (scenarios in their order, then
        sample, then replicate), as `plan_experiment` orders the tasks."""
        if plan is not None:
            names = [sc.name for sc in plan.spec.scenarios]
            sample_columns, outcomes = list(plan.samples.columns[1:]), list(plan.spec.outcomes)
        else:
            info = json.loads(self.path("manifest.json").read_text())
            names = [sc["name"] for sc in info["experiment"]["scenarios"]]
            sample_columns = list(pd.read_parquet(self.path("samples.parquet")).columns[1:])
            outcomes = list(info["experiment"]["outcomes"])
        order = {n: i for i, n in enumerate(names)}
        if good is None:
            good = self.verify(outcomes, check_files)[0]
        rows = [r["row"] for r in good.values() if r["row"].get("scenario") in order]
        rows.sort(key=lambda r: (order[r["scenario"]], r["sample"], r["replicate"]))
        columns = ["run_id", "scenario", "sample", "replicate", "seed", *sample_columns, *outcomes]
        df = pd.DataFrame(rows, columns=columns)
        for c in ("sample", "replicate", "seed"):
            df[c] = df[c].astype("int64")
        for c in outcomes:
            df[c] = df[c].astype(float)
        tmp = self.path(".runs.parquet.tmp")
        write_parquet(df, tmp)
        os.replace(tmp, self.path("runs.parquet"))
        return df

    def reindex(self) -> dict[str, str]:
        """For `olsim report` and `plot` (holding the folder's lock): the index rebuilt from the runs that check out,
        whenever it is stale or holds a run that does not; returns the damaged runs (id: what is wrong)."""
        good, damaged = self.verify()
        try:
            indexed = set(pd.read_parquet(self.path("runs.parquet"), columns=["run_id"])["run_id"])
        except Exception:  # missing or unreadable: rebuilt
            indexed = None
        if indexed != set(good):
            self.consolidate(good=good)
        return damaged

    def finish(self, plan: Plan, wall: float, ran: int, complete: bool, good: dict[str, dict] | None = None) -> None:
        """The session's record in the manifest (``good``: the finished runs, as `verify` found them)."""
        info = json.loads(self.path("manifest.json").read_text())
        rows = list((self.verify(list(plan.spec.outcomes))[0] if good is None else good).values())
        seconds = [r["seconds"] for r in rows]
        info["sessions"][-1].update({"finished": _now(), "wall_seconds": wall, "runs_run": ran, "complete": complete})
        info["runs_done"] = len(rows)
        info["complete"] = complete
        info["timings"] = {
            "run_seconds_total": float(np.sum(seconds)) if seconds else 0.0,
            "run_seconds_median": float(np.median(seconds)) if seconds else None,
            "run_seconds_max": float(np.max(seconds)) if seconds else None,
            "wall_seconds_total": float(sum(s.get("wall_seconds", 0.0) for s in info["sessions"])),
            "hosts": sorted({r.get("host") for r in rows if r.get("host")}),  # type: ignore[type-var]  # no None: left out
        }
        self.write_json("manifest.json", info)
        if complete:  # the experiments this one replaced (--force) are no longer needed
            for aside in self.folder.parent.glob(f".{self.folder.name}.replaced-*"):
                shutil.rmtree(aside, ignore_errors=True)
            self.replaced = None

    def record_seconds(self, seconds: dict) -> None:
        """Where the last session's time went (start-up, runs, analysis, figures, ...), into its manifest entry; for
        `benchmarks/parallel.py`. Best effort: a manifest that cannot be read or written is left as it is."""
        try:
            info = json.loads(self.path("manifest.json").read_text())
            info["sessions"][-1]["seconds"] = {k: round(float(v), 4) for k, v in seconds.items()}
            self.write_json("manifest.json", info)
        except (OSError, ValueError, KeyError, IndexError):
            pass


def _row_problem(row: dict, outcomes: list[str]) -> str | None:
    """What is wrong with a run's row: an outcome missing or not a number (None: nothing)."""
    for o in outcomes:
        if o not in row:
            return f"its row has no {o}"
        v = row[o]
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return f"its row's {o} is not a number ({str(v)[:20]!r})"
    return None


def damaged_words(damaged: dict[str, str], most: int = 3) -> str:
    """'2 runs are damaged: base.s00000.r0001 (its monthly file is missing); ...' for one line of a message."""
    shown = "; ".join(f"{rid} ({why})" for rid, why in sorted(damaged.items())[:most])
    more = f"; and {len(damaged) - most} more" if len(damaged) > most else ""
    return f"{len(damaged)} run{'s are' if len(damaged) != 1 else ' is'} damaged: {shown}{more}"


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _whole_parquet(path: Path) -> bool:
    """The file ends with Parquet's footer magic (a file cut short or overwritten does not)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
