"""What every calibration writes the same way: its folder (calibration.json marks it, --resume and --force act
on it), the check of a file it may replace, the first line that marks a file as written by ``olsim calibrate``,
and values rounded for that file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..common.errors import ExperimentError
from ..common.files import atomic_write, follow_link

MARKER = "Written by `olsim calibrate`"  # first line of a calibrated parameter file: it may be rewritten


class Folder:
    """A calibration's folder: calibration.json marks it; its stages are experiment folders inside it (search/,
    confirm/, validation/; batches/, predictive/ for the sanctions era). ``targets``: a loaded targets file (its
    ``path`` and ``text``)."""

    def __init__(self, path: str | os.PathLike):
        try:
            self.path = follow_link(path)  # act on what a link points to; the link stays
        except FileNotFoundError as e:
            raise ExperimentError(f"--out {e}") from None
        self.replace = False
        self.replaced: Path | None = (
            None  # an earlier calibration moved aside by --force, removed once this one is done
        )

    def read_mark(self) -> dict:
        mark = self.path / "calibration.json"
        try:
            old = json.loads(mark.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise ExperimentError(f"--out {self.path}: calibration.json is unreadable; nothing was written") from None
        if not isinstance(old, dict) or old.get("kind") != "calibration":
            raise ExperimentError(f"--out {self.path}: calibration.json is not a calibration's; nothing was written")
        return old

    def prepare(self, targets, resume: bool, force: bool, inputs: list[Path | None]) -> dict:
        """Check the folder (refusing what is not a calibration's); return what an earlier session recorded."""
        f, mark = self.path, self.path / "calibration.json"
        if f.exists() and not f.is_dir():
            raise ExperimentError(f"--out {f}: exists and is not a folder; nothing was written")
        for p in inputs:
            if p is not None and p.resolve().is_relative_to(f.resolve()):
                raise ExperimentError(f"--out {f}: holds an input of the calibration ({p}); choose another --out")
        old = {}
        if f.exists() and any(f.iterdir()):
            if not mark.exists():
                raise ExperimentError(
                    f"--out {f}: exists and is not a calibration folder (no calibration.json); nothing was written"
                )
            old = self.read_mark()
            if force:
                self.replace = True  # removed by mark(), once every other check has passed
                old = {}
            elif not resume:
                raise ExperimentError(
                    f"--out {f}: already holds a calibration; add --resume to finish it, --force to "
                    f"replace it, or choose another --out"
                )
            elif old.get("targets_text") != targets.text:
                raise ExperimentError(
                    f"--resume: {f} holds a calibration to another targets file; use another --out, "
                    f"or --force to replace it"
                )
        return old

    def mark(self, targets, info: dict) -> None:
        try:
            if self.replace:  # kept aside until this calibration is complete (done())
                self.replaced = self.path.with_name(f".{self.path.name}.replaced-{os.getpid()}")
                self.path.rename(self.replaced)
                self.replace = False
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ExperimentError(f"--out {self.path}: {e.strerror or e}") from None
        atomic_write(
            self.path / "calibration.json",
            (
                json.dumps(
                    {"kind": "calibration", "targets_file": str(targets.path), "targets_text": targets.text, **info},
                    indent=1,
                )
                + "\n"
            ).encode(),
        )

    def done(self) -> None:
        """The calibration is complete: the ones it replaced (--force) are no longer needed."""
        for aside in self.path.parent.glob(f".{self.path.name}.replaced-*"):
            shutil.rmtree(aside, ignore_errors=True)
        self.replaced = None


def check_calibration_output(out: Path, inputs: Sequence[tuple[str, Path | None]], force: bool, remedy: str) -> Path:
    """A file a calibration may write: not one of its inputs, not a folder, in a folder that exists, and if it
    exists, written by olsim calibrate (its first line says so) unless ``force``."""
    for name, p in inputs:
        if p is not None and out.exists() and p.exists() and out.resolve() == p.resolve():
            raise ExperimentError(f"output: {out} is {name}, an input of the calibration; choose another output")
    if out.exists():
        if out.is_dir():
            raise ExperimentError(f"output: {out} is a folder")
        first = out.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
        if MARKER not in first and not force:
            raise ExperimentError(f"output: {out} exists and was not written by olsim calibrate; {remedy}")
    elif not out.parent.is_dir():
        raise ExperimentError(f"output: folder {out.parent} does not exist")
    return out


def round_value(v):
    """Four significant figures: the file reads plainly, and the check runs the rounded values."""
    return float(f"{v:.4g}") if isinstance(v, float) else v
