"""Parameters: the baseline file equals the defaults; every bad input gets one clear line."""

import re
from pathlib import Path

import pytest

from sim import Params, ParamsError, load_params
from sim.core.params import make_params, parse_value
from sim.core.params_toml import BASELINE_HEADER, params_toml

ROOT = Path(__file__).resolve().parent.parent


def test_baseline_file_states_every_default():
    assert load_params(ROOT / "params" / "baseline.toml") == Params()
    assert load_params() == Params()


def test_baseline_file_is_what_the_generator_writes():
    # so a changed default cannot be forgotten in the file
    assert (ROOT / "params" / "baseline.toml").read_text() == params_toml(Params(), header=BASELINE_HEADER)


def test_every_default_cites_a_source_or_says_assumption():
    for section_name, field in Params.model_fields.items():
        ann = field.annotation
        if not (isinstance(ann, type) and hasattr(ann, "model_fields")):
            continue
        for name, f in ann.model_fields.items():
            source = (f.json_schema_extra or {}).get("source", "")
            assert source, f"{section_name}.{name} has no source"
            assert "assumption" in source or "facts" in source or "brief" in source, f"{section_name}.{name}: {source}"


NOT_PARAMETER_FILES = {
    "targets.toml",
    "targets_sanctions.toml",
    "held_out_sanctions.toml",
}  # calibration targets (tests/test_calibration.py, tests/test_sanctions_targets.py)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (ROOT / "params").rglob("*.toml") if p.name not in NOT_PARAMETER_FILES),
    ids=lambda p: p.name,
)
def test_shipped_parameter_files_load(path):
    p = load_params(path)
    assert sum(h.workers for h in p.hosts.values()) > 0


def test_history_has_2375_and_2397_per_host():
    p = load_params(ROOT / "params" / "history.toml")
    kinds = {x.kind: x for x in p.policies}
    assert (
        len(p.policies) == len(kinds) == 3 and {"permit_ban", "repatriation"} < set(kinds) and "border_closure" in kinds
    )
    assert p.calendar.index(kinds["permit_ban"].start) == 20  # 2017-09
    assert p.calendar.index(kinds["repatriation"].deadline) == 47  # 2019-12
    assert isinstance(kinds["repatriation"].compliance, dict) and set(kinds["repatriation"].compliance) == set(p.hosts)
    # enforcement after the deadline by schedule; the border closed from 2020-02 until 2023-08
    (after,) = kinds["repatriation"].schedule
    assert p.calendar.index(after.start) == 48 and set(after.compliance) == set(p.hosts)
    assert (p.calendar.index(kinds["border_closure"].start), p.calendar.index(kinds["border_closure"].end)) == (49, 91)


def test_a_written_parameter_file_reads_back_the_same_with_schedules_and_notes():
    """params_toml writes policies as tables (compliance per host, schedules as [[policies.schedule]]) with
    notes above the values they describe; reading it back gives the same parameters."""
    import tomllib

    from sim.core.params_toml import params_toml

    p = load_params(ROOT / "params" / "history.toml")
    text = params_toml(
        p,
        notes={
            "policies.1.schedule.0.compliance.russia": "after the deadline",
            "policies.0.evasion": "visa share",
            "policies.1.compliance.gulf": "Gulf note",
        },
    )
    assert make_params(tomllib.loads(text)) == p
    assert '[[policies.schedule]]\nstart = "2020-01"\n[policies.schedule.compliance]' in text
    assert "# after the deadline\nrussia = 0.4" in text and "# visa share\nevasion = 0.5" in text
    assert "# Gulf note\ngulf = 0.6" in text


def test_overrides_by_dotted_key():
    p = load_params(overrides={"hosts.russia.workers": 5000, "calendar.months": 24, "remittance.rule": "share"})
    assert p.hosts["russia"].workers == 5000 and p.calendar.months == 24 and p.remittance.rule == "share"
    assert p.hosts["china"].workers == Params().hosts["china"].workers  # the rest untouched
    q = load_params(ROOT / "params" / "history.toml", {"policies.1.compliance": 0.5})
    assert q.policies[1].compliance == 0.5


def test_plan_defaults_to_share_of_wage():
    p = load_params(overrides={"hosts": {"testland": {"workers": 10, "wage": 1000}}})
    assert p.hosts["testland"].plan == 700.0


def test_parse_value():
    assert parse_value("5") == 5 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("share") == "share" and parse_value('"2017-09"') == "2017-09" and parse_value("[1, 2]") == [1, 2]


def _errors(tmp_path, text=None, overrides=None):
    path = None
    if text is not None:
        path = tmp_path / "p.toml"
        path.write_text(text)
    with pytest.raises(ParamsError) as e:
        load_params(path, overrides)
    return e.value.errors


BAD = [
    # (toml text, overrides, what the error line must contain)
    ("[calendar\nmonths = 3", None, "malformed TOML"),
    ("[calendar]\nmonts = 3", None, "calendar.monts: unknown key (did you mean 'months'?)"),
    (
        "[hosts.russia]\nworkers = 10\nwage = 900\nplam = 3",
        None,
        "hosts.russia.plam: unknown key (did you mean 'plan'?)",
    ),
    ("[calendar]\nmonths = 'ten'", None, "calendar.months"),
    ("[calendar]\nmonths = 0", None, "calendar.months: input should be greater than or equal to 1"),
    ("[escape]\nattempt_rate = 1.5", None, "escape.attempt_rate"),
    ("[escape]\nattempt_rate = nan", None, "escape.attempt_rate: must be a finite number"),
    ("[work]\nhours_max = inf", None, "work.hours_max: must be a finite number"),
    ("[calendar]\nstart = '2016-13'", None, "calendar.start: '2016-13' is not a month"),
    ("[hosts.russia]\nworkers = 10", None, "hosts.russia.wage: required"),
    (
        "[[policies]]\nkind = 'permit_bam'\nstart = '2017-09'",
        None,
        "policies[0].kind: unknown policy kind 'permit_bam' (did you mean 'permit_ban'?)",
    ),
    (
        "[[policies]]\nkind = 'permit_ban'\nstart = '2018-01'\nend = '2017-01'",
        None,
        "policies[0].end: ends (2017-01) before",
    ),
    (
        "[[policies]]\nkind = 'permit_ban'\nstart = '2017-09'\nhosts = ['rusia']",
        None,
        "policies[0].hosts: unknown host 'rusia' (did you mean 'russia'?)",
    ),
    ("[[policies]]\nkind = 'permit_ban'\nstart = '2017-09'\ncompliance = 1.2", None, "policies[0].compliance"),
    ("[[policies]]\nkind = 'permit_ban'\nstart = '2017-99'", None, "policies[0].start"),
    ("[[policies]]\nkind = 'repatriation'\nstart = '2017-12'", None, "policies[0].deadline: required"),
    (
        "[[policies]]\nkind = 'permit_ban'\nstart = '2017-09'\nevasio = 0.2",
        None,
        "policies[0].evasio: unknown key (did you mean 'evasion'?)",
    ),
    ("[worker]\nloyalty_min = 0.9\nloyalty_max = 0.5", None, "worker.loyalty_min: must not exceed worker.loyalty_max"),
    (None, {"remittance.rule": "sharre"}, "remittance.rule"),
    (
        "[[policies]]\nkind = 'permit_ban'\nstart = 99999999",
        None,
        "policies[0].start: month index 99999999 out of range",
    ),
    ("[[policies]]\nkind = 'permit_ban'\nstart = '9999-01'", None, "year out of range"),
    (
        "[calendar]\nstart = '2020-01'\n[[policies]]\nkind = 'repatriation'\nstart = '2017-12'\ndeadline = '2019-12'",
        None,
        "policies[0].deadline: deadline (2019-12) is not after the first month of the run",
    ),
    ("[worker]\nexpected_share = true", None, "worker.expected_share: input should be a valid number"),
    (None, {"calendar.months.x": 3}, "calendar.months is a value"),
    (None, {"policies.3.compliance": 0.5}, "no entry policies.3"),
]


@pytest.mark.parametrize("text,overrides,expected", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_gets_one_clear_line_naming_the_key(tmp_path, text, overrides, expected):
    errors = _errors(tmp_path, text, overrides)
    assert any(expected in line for line in errors), errors
    assert all("\n" not in line and "Traceback" not in line for line in errors)


def test_missing_and_non_text_files(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        load_params(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParamsError, match="not a text file|malformed"):
        load_params(tmp_path / "bin.toml")
    with pytest.raises(ParamsError, match="is a folder"):
        load_params(tmp_path)


def test_every_error_is_reported_not_just_the_first(tmp_path):
    errors = _errors(tmp_path, "[calendar]\nmonts = 3\n[escape]\nattempt_rate = 2")
    assert len(errors) == 2


def test_memory_estimate_rejects_a_population_that_cannot_fit(monkeypatch):
    from sim.engines import check_memory

    monkeypatch.setattr("sim.engines.runner.available_memory", lambda: 16 * 2**30)  # not this machine's reading
    p = load_params(
        overrides={"hosts.china.workers": 10_000_000, "hosts.russia.workers": 10_000_000, "calendar.months": 1200}
    )
    with pytest.raises(ParamsError, match="population too large"):
        check_memory(p, "mesa")
    check_memory(load_params(), "mesa")  # the real population fits


def test_odd_appendix_a1_has_a_row_for_every_parameter_with_its_default():
    """docs/ODD.md's A.1 is written by hand: every parameter outside the hosts has its row there (and nowhere
    else is a parameter row pasted by mistake), with its default."""
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    start, end = text.index("### A.1 Model parameters"), text.index("### A.2 ")
    rows = {}
    for line in text[start:end].splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1].strip("`").replace("_", "")
    defaults = Params()
    # a section of named entries (the sectors) has a row per entry and field: sectors.it.wage
    sections = [
        (f"{section}.{entry}", model)
        for section in Params.model_fields
        if section not in ("hosts", "policies", "description")
        for entry, model in (
            getattr(defaults, section).items()
            if isinstance(getattr(defaults, section), dict)
            else [(None, getattr(defaults, section))]
        )
    ]
    assert any(key.startswith("sectors.it") for key, _ in sections)
    for prefix, model in sections:
        prefix = prefix.removesuffix(".None")
        for name in type(model).model_fields:
            key = f"{prefix}.{name}"
            assert key in rows, f"docs/ODD.md A.1 has no row for {key}"
            value = getattr(model, name)
            shown = rows[key].strip('"')
            if value is None:
                assert shown == "(none)", f"{key}: A.1 says {shown}, the default is none"
            elif isinstance(value, bool):
                assert shown == str(value).lower(), key
            elif isinstance(value, (int, float)):
                assert float(shown) == float(value), f"{key}: A.1 says {shown}, the default is {value}"
            else:
                assert shown == str(value), key
    # a row pasted into another table shows as a row with another number of cells than its table's header
    cells = re.compile(r"(?<!\\)\|")
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            widths = {len(cells.split(row)) for row in table}
            assert len(widths) == 1, f"docs/ODD.md: a table whose rows differ in width, at {table[0][:60]!r}"
        table = []


def test_a_shipped_files_name_loads_from_python_as_on_the_command_line():
    """`load_params("history")` is `olsim run history` (issue 32): the shipped file of that name; a typo is one
    ParamsError line with a suggestion, and a path is still a path."""
    from conftest import ROOT

    from sim.ema import ema_model

    assert load_params("history") == load_params(ROOT / "params" / "history.toml")
    assert load_params("policies/permit_ban").policies[0].kind == "permit_ban"
    with pytest.raises(ParamsError, match=r"^histroy: no such file.*did you mean 'history'"):
        load_params("histroy")
    with pytest.raises(ParamsError, match="no such file"):
        load_params("nowhere/history.toml")
    assert ema_model("history") is not None


def test_an_override_that_misspells_a_host_is_refused_and_a_new_host_is_not():
    """`--set hosts.rusia.workers=5 --set hosts.rusia.wage=600` used to add a seventh host "rusia" and run
    (issue 34: typos that succeed); a host whose name is unlike every other's may still be added."""
    with pytest.raises(ParamsError, match=r"^hosts\.rusia\.workers: no host named rusia \(did you mean 'russia'\?\)"):
        load_params(None, {"hosts.rusia.workers": 5, "hosts.rusia.wage": 600})
    with pytest.raises(ParamsError, match="did you mean 'china'"):
        load_params(None, {"hosts.chinaa.workers": 5, "hosts.chinaa.wage": 600})
    p = load_params(None, {"hosts.atlantis.workers": 5, "hosts.atlantis.wage": 600})
    assert list(p.hosts)[-1] == "atlantis" and p.hosts["atlantis"].workers == 5
    assert load_params(None, {"hosts.russia.workers": 5}).hosts["russia"].workers == 5


def test_a_dump_of_params_loads_back_to_the_same_params():
    """`Params.model_dump()` writes a policy's missing end as None; loading that dict back used to raise a TypeError
    in the month check (a traceback, not a ParamsError)."""
    p = load_params("history")
    dumped = p.model_dump(mode="json")
    assert any(policy["end"] is None for policy in dumped["policies"])
    assert make_params(dumped) == p
    with pytest.raises(ParamsError, match=r"policies\[0\]\.start"):
        make_params({"policies": [{"kind": "permit_ban", "start": None}]})
