"""Write parameters as TOML, each value with its description and source.

`python -m sim.tomlio > params/baseline.toml` regenerates the baseline file
from the schema's defaults (a test checks the shipped file equals them).
"""

from __future__ import annotations

import sys

import tomli_w
from pydantic import BaseModel

from .params import HOST_SOURCES, Host, Params


def _value(v) -> str:
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


def params_toml(params: Params, with_comments: bool = True, header: str | None = None, notes: dict | None = None) -> str:
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
        lines.append(f"[hosts.{host}]")
        for name, field in Host.model_fields.items():
            value = getattr(h, name)
            note = (notes or {}).get(f"hosts.{host}.{name}")
            if note:
                lines.append(f"# {' '.join(note.split())}")
            lines.append(f"{name} = {_value(value)}")
        lines.append("")
    for name in ("worker", "minder", "work", "remittance", "escape", "deaths", "channels", "state"):
        _section(lines, name, getattr(params, name), with_comments, notes)
    for p in params.policies:
        lines.append("[[policies]]")
        for name, value in p.model_dump(mode="json", exclude_none=True).items():
            if name == "compliance" and isinstance(value, dict):
                continue
            lines.append(f"{name} = {_value(value)}")
        if isinstance(p.compliance, dict):
            lines.append("[policies.compliance]")
            for h, c in p.compliance.items():
                lines.append(f"{h} = {_value(c)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


BASELINE_HEADER = """The baseline: every built-in default, in full. `olsim run` with no file uses these.
A test checks this file equals the defaults in sim/params.py; regenerate it with
    python -m sim.tomlio > params/baseline.toml
Each value's comment gives its meaning and its source (a row of facts.md) or says "assumption".
Money is in US dollars; one month is one tick."""


if __name__ == "__main__":
    sys.stdout.write(params_toml(Params(), header=BASELINE_HEADER))
