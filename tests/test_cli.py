"""The command line: runs write a complete folder; bad input exits 2 with one line and writes nothing."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "--set",
    "hosts.china.workers=60",
    "--set",
    "hosts.russia.workers=40",
    "--set",
    "hosts.gulf.workers=10",
    "--set",
    "hosts.africa.workers=5",
    "--set",
    "hosts.asia.workers=5",
    "--set",
    "hosts.europe.workers=5",
]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_writes_the_five_files_and_prints_a_summary(in_tmp, capsys):
    assert main(["run", *SMALL, "--months", "12", "--seed", "3", "--out", "r1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "revenue delivered per year" in out and "escapes per 1,000 worker-years" in out and "results: r1" in out
    # the tenure over the run, per host and over all (sim/results/tenure.py), printed after the summary
    from sim import Result
    from sim.results.tenure import tenure_lines

    assert tenure_lines(Result.load(in_tmp / "r1")) in out and out.index("tenure over the run") < out.index("results:")
    folder = in_tmp / "r1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "hosts.parquet",
        "manifest.json",
        "monthly.parquet",
        "sectors.parquet",
        "workers.parquet",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["engine"] == "array"  # the default engine
    assert manifest["params"]["calendar"]["months"] == 12
    assert manifest["versions"]["mesa"].startswith("3.") and "python" in manifest["versions"]
    assert "olsim" in manifest["command"]
    assert len(pd.read_parquet(folder / "monthly.parquet")) == 12


def test_run_without_out_writes_a_new_folder_under_results(in_tmp, capsys):
    assert main(["run", *SMALL, "--months", "2", "--quiet"]) == 0
    assert main(["run", *SMALL, "--months", "2", "--quiet"]) == 0
    folders = sorted((in_tmp / "results").iterdir())
    assert len(folders) == 2 and all((f / "monthly.parquet").exists() for f in folders)


def test_existing_output_is_kept_unless_force(in_tmp, capsys):
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--quiet"]) == 0
    (in_tmp / "r" / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out r: already exists" in err[0]
    assert (in_tmp / "r" / "notes.txt").exists()
    # --force replaces an earlier run, but not one holding a file the run did not write
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--force", "--quiet"]) == 2
    assert (in_tmp / "r" / "notes.txt").read_text() == "keep me"
    (in_tmp / "r" / "notes.txt").unlink()
    before = (in_tmp / "r" / "manifest.json").read_text()
    assert main(["run", *SMALL, "--months", "2", "--out", "r", "--force", "--quiet"]) == 0
    assert (in_tmp / "r" / "manifest.json").read_text() != before


BAD_ARGS = [
    (["run", "--set", "hosts.russia.workers"], "--set hosts.russia.workers: expected KEY=VALUE"),
    (["run", "--set", "calendar.monts=3"], "calendar.monts: unknown key (did you mean 'months'?)"),
    (["run", "--set", "escape.attempt_rate=nan"], "escape.attempt_rate: must be a finite number"),
    (["run", "--set", "calendar.months=ten"], "calendar.months"),
    (["run", "--months", "0"], "calendar.months"),
    (["run", "--seed", "x"], "--seed"),
    (["run", "--engine", "warp"], "argument --engine: invalid choice: 'warp'"),
    (
        ["run", "--engine", "mesa", "--set", "hosts.china.workers=9000000", "--set", "hosts.russia.workers=3000000"],
        "population too large",
    ),
    (["run", "missing.toml"], "missing.toml: no such file"),
    (["run", "--set", "hosts.china.workers=9000000", "--set", "hosts.russia.workers=9000000"], "population too large"),
    (["run", "--frobnicate"], "unrecognized arguments"),
    (["run", "--seed", "-1"], "--seed -1: must be from 0 to"),
    (["run", "--out", ""], "--out: empty folder name"),
    (["run", "--set", "hosts.china.workers=true"], "hosts.china.workers: input should be a valid integer"),
    (["run", "--set", 'remittance.share="0.5"'], "remittance.share: input should be a valid number"),
    (["validate"], "the following arguments are required"),
    (["fly"], "invalid choice"),
]


@pytest.mark.parametrize("args,expected", BAD_ARGS, ids=[a[1][:30] for a in BAD_ARGS])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(in_tmp, capsys, monkeypatch, args, expected):
    # the memory check reads this machine's free memory: give it a fixed 16 GiB, so that "too large" does not
    # depend on the machine (18M workers need ~40 GiB; the real population ~0.5 GiB)
    monkeypatch.setattr("sim.engines.runner.available_memory", lambda: 16 * 2**30)
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert expected in err[0] and "Traceback" not in captured.err
    assert list(in_tmp.iterdir()) == []  # nothing written


def test_bad_files_are_named_with_their_key(in_tmp, capsys):
    (in_tmp / "bad.toml").write_text("[[policies]]\nkind = 'permit_ban'\nstart = '2018-01'\nend = '2017-01'\n")
    assert main(["run", "bad.toml"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: policies[0].end: ends (2017-01) before" in err
    (in_tmp / "broken.toml").write_text("[calendar\n")
    assert main(["validate", "broken.toml"]) == 2
    assert "malformed TOML" in capsys.readouterr().err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["bad.toml", "broken.toml"]


def test_validate_prints_resolved_parameters_or_every_error(in_tmp, capsys):
    assert main(["validate", str(ROOT / "params" / "history.toml")]) == 0
    out = capsys.readouterr().out
    assert "UNSCR 2397" in out and "[hosts.russia]" in out and "valid" in out
    (in_tmp / "two.toml").write_text("[calendar]\nmonts = 3\n[escape]\nattempt_rate = 2\n")
    assert main(["validate", "two.toml"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_help_has_examples_on_every_command():
    for args in (["--help"], ["run", "--help"], ["validate", "--help"]):
        out = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0
        assert "olsim" in out.stdout
    run_help = subprocess.run([sys.executable, "-m", "sim.cli", "run", "--help"], capture_output=True, text=True).stdout
    assert "examples:" in run_help and "--set" in run_help


def test_console_script_is_installed():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlib.metadata import entry_points; "
            "print([e.value for e in entry_points(group='console_scripts') if e.name == 'olsim'])",
        ],
        capture_output=True,
        text=True,
    )
    assert "sim.cli:main" in out.stdout


def test_force_replaces_only_earlier_runs(in_tmp, capsys):
    precious = in_tmp / "thesis"
    (precious / "chapter1").mkdir(parents=True)
    (precious / "notes.txt").write_text("years of work")
    assert main(["run", *SMALL, "--months", "2", "--out", "thesis", "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not a run folder" in err and len(err.strip().splitlines()) == 1
    assert (precious / "notes.txt").read_text() == "years of work" and (precious / "chapter1").is_dir()


def test_output_under_a_file_is_refused_before_running(in_tmp, capsys):
    (in_tmp / "afile").write_text("x")
    assert main(["run", *SMALL, "--months", "2", "--out", "afile/sub", "--quiet"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["afile"]


@pytest.mark.parametrize("engine", ["array", "mesa"])
def test_profile_reports_every_phase_in_the_order_of_the_month(in_tmp, capsys, engine):
    import re

    from sim.core.phases import PHASES

    assert main(["run", *SMALL, "--months", "3", "--engine", engine, "--profile", "--out", "r", "--quiet"]) == 0
    out = capsys.readouterr().out
    table = out[out.index(f"time per phase of the month ({engine} engine):") :].splitlines()[2:-1]
    spans = [re.match(r"\s+(\d+)(?:-(\d+))? ", line).groups() for line in table]
    covered = [k for a, b in spans for k in range(int(a), int(b or a) + 1)]
    assert covered == sorted(PHASES)  # each of the thirteen phases once, in order
    for line in table:  # the names come from the one declaration
        first, _, rest = line.strip().partition(" ")
        assert rest.split("  ")[0].strip() in {
            ", ".join(PHASES[k] for k in range(int(first.split("-")[0]), int(first.split("-")[-1]) + 1))
        }
    if engine == "mesa":
        assert len(table) == 13  # the reference engine times each phase by itself


def test_summary_shows_the_seed_articles_magnitudes_beside_the_model(baseline_small):
    """The run summary prints the outcomes the seed article reports (not fitted), each with what it reported."""
    from sim.cli import summary_table
    from sim.results import OUTCOMES

    summary = baseline_small.summary
    text = summary_table(summary)
    reported = [o for o in OUTCOMES.values() if o.reported]
    assert len(reported) == 4  # three from the seed article, IT work from the UN Panel
    for o in reported:
        line = next(line for line in text.splitlines() if o.label in line)
        assert f"(reported: {o.reported})" in line and o.format(summary[o.name]) in line


def test_a_missing_extra_is_named_in_one_line(monkeypatch, capsys):
    """Without the classroom extra, `olsim classroom` says which extra to install (no ImportError)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "solara" else real(name, *a))
    assert main(["classroom"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == "olsim: error: olsim classroom needs the 'classroom' extra: pip install 'overseas-labor-sim[classroom]'"
    )


def test_conventions(capsys):
    from sim import __version__

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and __version__ in capsys.readouterr().out
    assert main([]) == 0 and "COMMAND" in capsys.readouterr().out  # bare olsim: help, success
    assert main(["run", "--engine", "numpy"]) == 2
    assert "invalid choice: 'numpy' (choose from 'array', 'mesa')" in capsys.readouterr().err


def test_progress_bars_only_on_a_terminal(capsys):
    """Into a log (stderr not a terminal) no progress bar is written: no carriage-return lines."""
    from conftest import small_params
    from sim import run

    run(small_params(months=6), progress=True)
    assert "\r" not in capsys.readouterr().err
