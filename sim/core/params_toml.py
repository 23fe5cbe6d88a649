"""Write parameters as TOML, each value with its description and source.

    python -m sim.core.params_toml > params/baseline.toml     # the baseline, from the schema's defaults
    python -m sim.core.params_toml --policies params/policies # a single-policy file for every kind that has none
    python -m sim.core.params_toml --odd-policy-fields        # docs/ODD.md's table A.3, from the policy classes

A test checks the shipped baseline equals the defaults, and that every policy
kind has its single-policy file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import tomli_w
from pydantic import BaseModel

from .params import HOST_SOURCES, Host, Params
from .sectors import MIX_SOURCES, SECTOR_SOURCES
from .fields import source_of, unit_of
from .policies import POLICY_CLASSES, PolicyBase


def _value(v) -> str:
    if isinstance(v, dict):  # an inline table (a host's sector mix)
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    return tomli_w.dumps({"v": v}).split("=", 1)[1].strip()


def _section(lines: list[str], title: str, model: BaseModel, with_comments: bool, notes: dict | None = None):
    lines.append(f"[{title}]")
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        note = (notes or {}).get(f"{title}.{name}")
        if note:
            lines.append(f"# {' '.join(note.split())}")
        if with_comments:
            extra = field.json_schema_extra or {}
            source = extra.get("source") if isinstance(extra, dict) else None
            text = (field.description or "").strip()
            comment = f"{text}. Source: {source}" if source else text
            lines.append(f"# {comment}")
        lines.append(f"{name} = {_value(value)}")
    lines.append("")


def params_toml(
    params: Params, with_comments: bool = True, header: str | None = None, notes: dict | None = None
) -> str:
    """The parameters as TOML; ``notes`` maps dotted keys to an extra comment line (e.g. how a value was calibrated)."""
    lines: list[str] = []
    if header:
        lines += [f"# {h}" if h else "#" for h in header.splitlines()] + [""]
    if params.description:
        lines += [f"description = {_value(params.description)}"]
    if not params.policies:
        # a top-level key must come before the first table
        if with_comments:
            lines.append("# sanction policies: none (the no-sanctions baseline); see params/history.toml")
        lines += ["policies = []", ""]
    for name in ("calendar", "population"):
        _section(lines, name, getattr(params, name), with_comments, notes)
    for host, h in params.hosts.items():
        if with_comments and host in HOST_SOURCES:
            lines.append(f"# {host}: {HOST_SOURCES[host]}")
        if with_comments and host in MIX_SOURCES:
            lines.append(f"# {host}'s sectors: {MIX_SOURCES[host]}")
        lines.append(f"[hosts.{host}]")
        for name, field in Host.model_fields.items():
            value = getattr(h, name)
            if value is None:
                continue
            note = (notes or {}).get(f"hosts.{host}.{name}")
            if note:
                lines.append(f"# {' '.join(note.split())}")
            lines.append(f"{name} = {_value(value)}")
        lines.append("")
    for name in ("worker", "minder", "work", "remittance", "escape", "deaths", "channels", "state", "recruitment"):
        _section(lines, name, getattr(params, name), with_comments, notes)
    for name, sector in params.sectors.items():
        if with_comments and name in SECTOR_SOURCES:
            lines.append(f"# {name}: {SECTOR_SOURCES[name]}")
        _section(lines, f"sectors.{name}", sector, False, notes)
    notes = notes or {}

    def note_lines(key: str) -> list[str]:
        return [f"# {' '.join(notes[key].split())}"] if key in notes else []

    def table(prefix: str, header: str, d: dict) -> None:
        """One policy (or schedule entry): its scalar fields, its compliance table, then its schedule's tables."""
        lines.append(header)
        order = ["kind", "label", *[k for k in d if k not in ("kind", "label")]]
        for name in [k for k in order if k in d]:
            value = d[name]
            if (name == "compliance" and isinstance(value, dict)) or name == "schedule":
                continue
            lines.extend(note_lines(f"{prefix}.{name}"))
            lines.append(f"{name} = {_value(value)}")
        if isinstance(d.get("compliance"), dict):
            lines.append(f"[{header.strip('[]')}.compliance]".replace("[[", "[").replace("]]", "]"))
            for h, c in d["compliance"].items():
                lines.extend(note_lines(f"{prefix}.compliance.{h}"))
                lines.append(f"{h} = {_value(c)}")
        for j, entry in enumerate(d.get("schedule") or []):
            table(f"{prefix}.schedule.{j}", "[[policies.schedule]]", entry)

    for i, p in enumerate(params.policies):
        table(f"policies.{i}", "[[policies]]", p.model_dump(mode="json", exclude_none=True))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


BASELINE_HEADER = """The baseline: every built-in default, in full. `olsim run` with no file uses these.
A test checks this file equals the defaults in sim/core/params.py; regenerate it with
    python -m sim.core.params_toml > params/baseline.toml
Each value's comment gives its meaning and its source (a row of facts.md) or says "assumption".
Money is in US dollars; one month is one tick."""


SINGLE_POLICY_START = "2018-01"


def single_policy_toml(kind: str) -> str:
    """A parameter file with one policy alone: from 2018-01 at every host, full compliance, its own
    fields at their defaults (the kind's `example`); everything else the baseline."""
    calendar = Params().calendar
    start = calendar.index(SINGLE_POLICY_START)
    example = POLICY_CLASSES[kind].example(start)
    # months as dates, so the file reads plainly
    for key in ("start", "end", "deadline"):
        if isinstance(example.get(key), int):
            example[key] = calendar.date(example[key])
    lines = [
        f"# One policy alone: {kind} from {SINGLE_POLICY_START} at every host, full compliance, its",
        "# own fields at their defaults (see docs/ODD.md). Everything else is the baseline.",
        f"description = {_value(f'{kind} alone, from {SINGLE_POLICY_START}, full compliance')}",
        "",
        "[[policies]]",
    ]
    lines += [f"{k} = {_value(v)}" for k, v in example.items()]
    return "\n".join(lines) + "\n"


def write_policy_files(folder: str | Path) -> list[Path]:
    """Write the single-policy file of every kind that has none in ``folder``; existing files are left alone."""
    folder = Path(folder)
    written = []
    for kind in POLICY_CLASSES:
        path = folder / f"{kind}.toml"
        if not path.exists():
            path.write_text(single_policy_toml(kind), encoding="utf-8")
            written.append(path)
    return written


def _default_cell(field) -> str:
    if field.is_required():
        return "(required)"
    default = field.get_default(call_default_factory=True)
    return "(none)" if default is None else f"`{_value(default)}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or "—"


def policy_fields_markdown() -> str:
    """docs/ODD.md's table A.3: every field of a ``[[policies]]`` entry (the ones all kinds have, then each kind's
    own), with its default, unit, meaning and source, read from the policy classes' declarations (a test keeps
    the ODD's copy equal to this)."""
    rows = ["| key | default | unit | meaning | source |", "|---|---|---|---|---|"]
    for k, f in PolicyBase.model_fields.items():
        rows.append(
            f"| `policies[i].{k}` (every kind) | {_default_cell(f)} | {_cell(unit_of(f) or '')} | "
            f"{_cell(f.description or '')} | {_cell(source_of(f))} |"
        )
    for kind, cls in POLICY_CLASSES.items():
        fields = cls.own_fields()
        for k, f in fields.items():
            rows.append(
                f"| `policies[i].{k}` ({kind}) | {_default_cell(f)} | {_cell(unit_of(f) or '')} | "
                f"{_cell(f.description or '')} | {_cell(source_of(f))} |"
            )
        if not fields:
            what = "no own fields" + ("" if cls.is_sanction else "; a fact of the world, not a sanction")
            rows.append(f'| `policies[i].kind = "{kind}"` | — | — | {what} | {_cell(cls.source)} |')
    return "\n".join(rows) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sim.core.params_toml",
        description="Print the baseline parameters as commented TOML, or write missing single-policy files.",
    )
    ap.add_argument(
        "--policies", metavar="FOLDER", help="write FOLDER/<kind>.toml for every policy kind that has no file yet"
    )
    ap.add_argument(
        "--odd-policy-fields", action="store_true", help="print docs/ODD.md's table A.3 (the policy fields)"
    )
    args = ap.parse_args(argv)
    if args.odd_policy_fields:
        sys.stdout.write(policy_fields_markdown())
        return 0
    if args.policies:
        for path in write_policy_files(args.policies):
            print(path)
        return 0
    sys.stdout.write(params_toml(Params(), header=BASELINE_HEADER))
    return 0


if __name__ == "__main__":
    sys.exit(main())
