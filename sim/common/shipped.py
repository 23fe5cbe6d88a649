"""The parameter, scenario and experiment files that ship with the package, usable by name from anywhere.

In a checkout they are the repository's ``params/`` and ``experiments/``; in an installed wheel the same
files are inside the package (``sim/_shipped/``, pyproject.toml maps them). ``olsim run history`` is
``olsim run params/history.toml`` wherever it runs; a value that names an existing file, or looks like a
path (it has a suffix or a folder), is taken as a path, as before.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import OlsimError

_PACKAGE = Path(__file__).resolve().parents[1]
KINDS = {"params": "parameter file", "experiments": "experiment file"}


def folder(kind: str) -> Path:
    """Where the shipped files of a kind ("params" or "experiments") are: the checkout's, else the package's."""
    checkout = _PACKAGE.parent / kind
    if checkout.is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return checkout
    return _PACKAGE / "_shipped" / kind


def names(kind: str) -> dict[str, Path]:
    """Every shipped file of a kind by its name (``history``, ``policies/permit_ban``, ``quick``)."""
    root = folder(kind)
    return {str(p.relative_to(root).with_suffix("")).replace(os.sep, "/"): p for p in sorted(root.rglob("*.toml"))}


def resolve(value, kind: str) -> Path:
    """A path as given, or the shipped file of that name; `OlsimError` (one line) naming the shipped ones."""
    path = Path(value)
    if path.exists() or path.suffix:
        return path
    shipped = names(kind)
    if str(value) in shipped:
        return shipped[str(value)]
    if len(path.parts) > 1:
        return path  # a path to a file that is not there: its reader says so
    return _unknown(value, kind, shipped)


def _unknown(value, kind: str, shipped: dict) -> Path:
    from .validation import suggest

    listed = ", ".join(n for n in shipped if "/" not in n)
    raise OlsimError(
        f"{value}: no such file, and no shipped {KINDS[kind]} of that name{suggest(str(value), shipped)} "
        f"(shipped: {listed}; 'olsim scenarios' lists them all)"
    )


def description(path: Path) -> str:
    """A shipped file's description (its ``description`` field), or ''."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ""
    text = data.get("description", "")
    return text if isinstance(text, str) else ""
