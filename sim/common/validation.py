"""Strict schemas, and their errors as one line per problem naming the key.

Every file the user writes (parameters, experiments, calibration targets) is
read by `read_toml` and validated by a `Strict` pydantic model;
`format_validation_error` turns pydantic's errors into lines such as
``policies[0].evasio: unknown key (did you mean 'evasion'?)``, walking the
model's own fields to suggest the close name, so one formatter serves every
schema.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import OlsimError


class Strict(BaseModel):
    """The base of every schema: unknown keys, NaN and infinity are errors, and nothing is coerced
    (no true -> 1 or "0.5" -> 0.5; ints still fill float fields)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True, strict=True)


def suggest(word: object, options, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` (difflib's ratio at least ``cutoff``), or nothing."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


MAX_FILE_BYTES = 8 * 2**20  # far above any parameter, experiment or targets file (the largest shipped is ~20 kB)


def read_toml(path: str | os.PathLike, kind: str, error: type[OlsimError] = OlsimError) -> tuple[str, dict]:
    """A TOML file's text and contents; ``error`` (one line) if it is missing, a folder, not text or malformed.

    ``kind`` names what the file should be, for the message: "a parameter file".
    """
    p = Path(path)
    if not p.exists():
        raise error(f"{p}: no such file")
    if p.is_dir():
        raise error(f"{p}: is a folder, not {kind}")
    if not p.is_file():
        raise error(f"{p}: not a regular file (a device, a pipe or a socket), not {kind}")
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise error(f"{p}: cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_FILE_BYTES:
        raise error(f"{p}: larger than {MAX_FILE_BYTES // 2**20} MiB, too large for {kind}")
    try:
        text = data.decode("utf-8")
        return text, tomllib.loads(text)
    except UnicodeDecodeError:
        raise error(f"{p}: not a text file") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{p}: malformed TOML: {e}") from None
    except RecursionError:
        raise error(f"{p}: nested too deeply to be {kind}") from None


def first_per_key(lines: list[str], keep_all: tuple[str, ...] = ()) -> list[str]:
    """The first line for each key (the text before ':'), except lines starting with ``keep_all``."""
    seen, out = set(), []
    for line in lines:
        k = line.split(":", 1)[0]
        if k in seen and not line.startswith(keep_all):
            continue
        seen.add(k)
        out.append(line)
    return out


def plain_error_line(key: str, e: Mapping[str, Any]) -> str:
    """A pydantic error as one line naming the key and the value it got."""
    got = e.get("input")
    got_s = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    return f"{key}: {e['msg'][0].lower() + e['msg'][1:]}{got_s}"


# ---------------------------------------------------------------- walking a schema along an error's location

_TAG = re.compile(r"^(function-|literal\[|json-or-python|lax-or-strict|tagged-union|nullable|chain\[|model\[)|\[")
_TYPE_TAGS = {"int", "str", "float", "bool", "none", "list", "dict", "union"}


def is_tag(part) -> bool:
    """A part of a pydantic error location that is not in the data: a union branch (int, dict[str,float]),
    a literal, a validator's wrapper."""
    return isinstance(part, str) and (bool(_TAG.search(part)) or part in _TYPE_TAGS)


def _unwrap(t):
    """Strip Annotated[...] (keeping a discriminated union's discriminator)."""
    while typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    return t


def _is_model(t) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _union_args(t) -> tuple:
    return typing.get_args(t) if typing.get_origin(t) in (typing.Union, types.UnionType) else ()


def _discriminated(t) -> list[type]:
    """The model classes of a union of models (a tagged union), else []."""
    args = _union_args(t)
    return [a for a in args if _is_model(a)] if args and all(_is_model(a) for a in args) else []


def _tag_of(model: type[BaseModel], field: str = "kind"):
    f = model.model_fields.get(field)
    args = typing.get_args(f.annotation) if f is not None else ()
    return args[0] if args else None


def _walk(root: type, loc: tuple) -> tuple[str, list[str], list[type]]:
    """The dotted key of an error location, the field names allowed where its last part sits,
    and the classes of the tagged union the location ends in (for unknown-tag messages)."""
    key, fields, union = "", [], []
    t: Any = root
    for part in loc:
        t = _unwrap(t)
        if t is not None and _union_args(t) and not isinstance(part, int):
            members = _discriminated(t)
            if members:  # a tagged union: the tag picks the class
                union = members
                t = next((m for m in members if _tag_of(m) == part), None)
                continue
            if is_tag(part):  # a branch of int | str, dict | float ...
                branch = next(
                    (
                        a
                        for a in _union_args(t)
                        if str(part).startswith(getattr(typing.get_origin(a) or a, "__name__", "?"))
                    ),
                    None,
                )
                t = branch
                continue
        if isinstance(part, int):
            key += f"[{part}]"
            args = typing.get_args(t) if t is not None else ()
            t = args[0] if typing.get_origin(t) is list and args else None
            union = _discriminated(_unwrap(t)) if t is not None else []
            continue
        if _is_model(t):
            if part in t.model_fields:
                fields = list(t.model_fields)
                key += ("." if key else "") + part
                t = t.model_fields[part].annotation
                continue
            if is_tag(part):  # a model validator's wrapper
                continue
            fields = list(t.model_fields)
            key += ("." if key else "") + str(part)
            t = None
            continue
        if t is not None and typing.get_origin(t) is dict:
            key += ("." if key else "") + str(part)
            t = typing.get_args(t)[1]
            continue
        if is_tag(part):
            continue
        key += ("." if key else "") + str(part)
        t = None
    return key, fields, union


def format_validation_error(err: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem of a `Strict` model's validation, each naming its dotted key."""
    lines = []
    for e in err.errors():
        loc = e["loc"]
        key, fields, union = _walk(root, loc)
        key = key or "(top level)"
        typ, msg = e["type"], e["msg"]
        if typ == "extra_forbidden":
            lines.append(f"{key}: unknown key{suggest(loc[-1], fields)}")
        elif typ in ("union_tag_invalid", "union_tag_not_found"):
            disc = e.get("ctx", {}).get("discriminator", "'kind'").strip("'")
            noun = getattr(union[0].__mro__[1], "noun", "") if union else ""
            kinds = [str(_tag_of(m, disc)) for m in union]
            if typ == "union_tag_not_found":
                lines.append(f"{key}.{disc}: missing ({disc}s: {', '.join(kinds)})")
            else:
                got = e.get("ctx", {}).get("tag")
                lines.append(
                    f"{key}.{disc}: unknown {noun + ' ' if noun else ''}{disc} '{got}'{suggest(got, kinds)} "
                    f"({disc}s: {', '.join(kinds)})"
                )
        elif typ == "value_error":
            text = str(e.get("ctx", {}).get("error", msg))
            for line in text.splitlines():
                # a model's own check at the top level writes whole lines, keys included
                lines.append(line if key == "(top level)" else f"{key}: {line}")
        elif typ == "finite_number":
            lines.append(f"{key}: must be a finite number (got {e.get('input')!r})")
        elif typ == "missing":
            lines.append(f"{key}: required")
        else:
            lines.append(plain_error_line(key, e))
    # the same key can fail several union branches (int | str); keep the first
    return first_per_key(lines, keep_all=("policies[",))
