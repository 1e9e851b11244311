"""The `sessionbench` command as a user meets it: real runs, clear refusals, clean interrupts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.results import FORMAT_VERSION, load

pytestmark = pytest.mark.quick  # `python -m pytest -m "quick and not slow"`: the README's first-hour check
SMALL = ["--backend", "embedded", "--sessions", "200", "--max-time", "0.05", "--min-rounds", "3"]


def sessionbench(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def dashboard_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    done = sessionbench("run", *SMALL, "--only", "workload=dashboard", "--only", "param=page_size=10,page_size=1000",
                        "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.mark.db
def test_run_writes_a_results_file_with_exact_statement_counts(dashboard_run):
    out, done = dashboard_run
    [path] = list(out.glob("*.json"))
    assert str(path) in done.stdout
    table = load(path).set_index(["param", "variant"])
    # The review's N+1: 1 + page_size with lazy loading; a constant with eager strategies.
    assert table.loc[("page_size=10", "baseline"), "statements"] == 11
    assert table.loc[("page_size=1000", "baseline"), "statements"] == 201  # 200 sessions exist
    assert table.loc[("page_size=10", "loading=joined"), "statements"] == 1
    assert table.loc[("page_size=10", "loading=raise"), "statements"] == 2
    # selectin on both collections: one query per collection (chunks of 500 ids).
    assert table.loc[("page_size=10", "loading=selectin"), "statements"] == 3
    # The server's own count agrees exactly with what the client sent.
    assert (table["server_statements"] == table["statements"]).all()
    assert set(table["backend"]) == {"embedded"}
    assert (table["rounds"] >= 3).all() and (table["median_s"] > 0).all()


@pytest.mark.db
def test_results_file_is_pytest_benchmark_json_with_raw_rounds(dashboard_run):
    out, _ = dashboard_run
    doc = json.loads(next(out.glob("*.json")).read_text())
    assert doc["sessionbench"]["format_version"] == FORMAT_VERSION
    assert doc["sessionbench"]["sessions"] == 200
    assert "machine_info" in doc and "commit_info" in doc
    for bench in doc["benchmarks"]:
        assert len(bench["stats"]["data"]) == bench["stats"]["rounds"]
        assert bench["extra_info"]["workload"] == "dashboard"
    assert not any(out.glob(".*"))  # no partial files left


@pytest.mark.db
def test_summary_table_shows_ratio_to_baseline(dashboard_run):
    _, done = dashboard_run
    header = next(line for line in done.stdout.splitlines() if line.startswith("workload"))
    assert "statements" in header and "x baseline" in header


@pytest.mark.parametrize("args, message", [
    (["run", "--backend", "nosuch"], "--backend: 'nosuch' is not one of auto, embedded, docker, url"),
    (["run", "--only", "colour=red"], "unknown column 'colour'"),
    (["run", "--only", "workload=nosuch"], "no case has nosuch"),
    (["run", "--scale", "huge"], "unknown scale 'huge'"),
    (["run", "--rtt-ms", "fast"], "--rtt-ms: 'fast' is not a number of milliseconds"),
    (["run", "--rtt-ms", "nan"], "--rtt-ms: 'nan' must be between 0 and 1000 ms"),
    (["run", "--rtt-ms", "inf"], "--rtt-ms: 'inf' must be between 0 and 1000 ms"),
    (["run", "--sessions", "0"], "--sessions: 0 is outside 50..100,000,000"),
    (["run", "--sessions", "10000000000"], "--sessions: 10000000000 is outside 50..100,000,000"),
    (["run", "--sessions", "90000000"], "more than the"),
    (["run", "--trials", "1"], "--trials: 1 is outside 2..1,000"),
    (["run", "--max-time", "-1"], "--max-time: '-1' must be more than 0"),
    (["trace", "dashboard", "--param", "page_size=-1"], "--param page_size=-1: not a valid page_size"),
    (["trace", "dashboard", "--param", "page_size=abc"], "--param page_size=abc: not a valid page_size"),
    (["run", "--backend", "url"], "needs a database URL"),
    (["run", "--backend", "url", "--database-url", "postgresql://u:secretpw@127.0.0.1:1/db"], "cannot connect"),
    (["trace", "nosuch"], "unknown workload 'nosuch'"),
    (["trace", "dashboard", "--variant", "loading=eager"], "--variant"),
    (["export", "/nonexistent/run.json"], "no such results file"),
])
def test_bad_input_gets_one_or_two_lines_and_exit_2(args, message):
    done = sessionbench(*args, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2
    assert "secretpw" not in done.stderr + done.stdout


def test_list_shows_every_axis_and_workload():
    done = sessionbench("list")
    assert done.returncode == 0
    for name in ("loading", "sync_flag", "deletion", "audio_storage", "timestamps", "bool_column", "storage_key",
                 "dashboard", "migrate_audio_storage", "recent_activity"):
        assert name in done.stdout


@pytest.mark.db
def test_trace_numbers_every_statement_of_the_n_plus_1():
    lazy = sessionbench("trace", "dashboard", "--param", "page_size=10", "--backend", "embedded",
                        "--sessions", "200", "--json")
    assert lazy.returncode == 0, lazy.stderr
    statements = json.loads(lazy.stdout)
    assert [s["n"] for s in statements] == list(range(1, 12))
    assert all(s["sql"].lstrip().upper().startswith("SELECT") for s in statements)
    selectin = sessionbench("trace", "dashboard", "--variant", "loading=selectin", "--param", "page_size=10",
                            "--backend", "embedded", "--sessions", "200")
    assert selectin.returncode == 0, selectin.stderr
    assert "3 statements sent" in selectin.stdout
    # the footer names each count: round trips (BEGIN + 3 + ROLLBACK), rows sent beside rows used
    assert "5 round trips" in selectin.stdout
    assert "rows sent by the server over all statements" in selectin.stdout
    assert "rows used by the workload" in selectin.stdout
    assert " sb_" not in selectin.stdout and "FROM sessions" in selectin.stdout  # whole, without schema names
    assert all(s["executions"] == 1 for s in statements)


def _postgres_under(prefix: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and any(prefix in a for a in p.info["cmdline"] or [])]


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_no_postgres_behind(open_tmp_path, sig):
    env = {**os.environ, "TMPDIR": str(open_tmp_path)}  # the run's server lives under open_tmp_path
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "run", *SMALL, "--out", str(open_tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not _postgres_under(str(open_tmp_path)) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    assert _postgres_under(str(open_tmp_path)), "the run never started its server"
    time.sleep(3)  # let it get into the benchmarks
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err  # 130 for SIGINT, 143 for SIGTERM
    assert "interrupted" in err and "Traceback" not in err
    assert _postgres_under(str(open_tmp_path)) == []
    assert not [p for p in Path(open_tmp_path).glob("sessionbench-pg-*")]
    assert not list((open_tmp_path / "out").glob("*.json"))  # no half-written results


def test_every_run_setting_is_a_flag_of_sessionbench_run():
    from bench.cli import build_parser
    from bench.plan.settings import SETTINGS

    run = next(action for action in build_parser()._subparsers._group_actions[0].choices.items() if action[0] == "run")[1]
    flags = {option for action in run._actions for option in action.option_strings}
    missing = [s.name for s in SETTINGS if "--" + s.name.replace("_", "-") not in flags]
    assert not missing  # a setting README and `--help` promise that the command line would refuse


@pytest.mark.parametrize("args", [["list"], ["--help"], ["run", "--help"]])
def test_a_reader_that_stops_early_gets_exit_0_and_no_traceback(args):
    # A real pipe whose reader is gone before the first line is written: every write meets EPIPE.
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == ""


def test_sessionbench_list_piped_to_head_exits_0():
    done = subprocess.run(["bash", "-o", "pipefail", "-c", f"'{sys.executable}' -m bench.cli list | head -1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("axes") and len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def _subcommands():
    from bench.cli import build_parser

    parser = build_parser()
    return parser, parser._subparsers._group_actions[0].choices


def test_every_argument_of_every_subcommand_has_help_and_lists_its_choices():
    from bench.backends import names

    parser, commands = _subcommands()
    for name, sub in [("sessionbench", parser), *commands.items()]:
        text = sub.format_help()
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}: no help text"
            for choice in action.choices or ():
                if name != "sessionbench":  # the top level's choices are the subcommands, listed by name
                    assert str(choice) in text, f"{name} {action.option_strings}: {choice} not shown"
    with_backend = [name for name, sub in commands.items() if any(a.dest == "backend" for a in sub._actions)]
    assert {"run", "trace"} <= set(with_backend)
    for name in with_backend:
        assert "{" + ",".join(names()) + "}" in commands[name].format_usage(), name
    assert "pooled" in commands["report"].format_help()


def test_trace_shows_statements_whole_without_the_runs_schema_names():
    from bench.commands.trace import readable

    run_id = "20261207T043000-a1b2c3"
    sql = ("SELECT sb_a1b2c3_d1_baseline.sessions.id FROM sb_a1b2c3_d1_baseline.sessions\n   JOIN "
           '"sb_a1b2c3_d1_loading_selectin".messages ON true WHERE sb_a1b2c3x.t = 1 ' + "AND x = 1 " * 40)
    shown = readable(sql, run_id)
    assert shown.startswith("SELECT sessions.id FROM sessions JOIN messages ON true WHERE sb_a1b2c3x.t = 1 AND")
    assert shown.endswith("AND x = 1") and len(shown) > 400  # whole, another run's schema left as it is


@pytest.fixture(scope="module")
def counted_run(tmp_path_factory):
    """A tiny real run with benchmarks and fact tables (C3's delete paths, C4's deletion facts), 80 columns wide."""
    out = tmp_path_factory.mktemp("counted")
    done = sessionbench("run", *SMALL, "--only", "workload=delete_session", "--out", str(out), env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    [path] = list(out.glob("*.json"))
    return done, json.loads(path.read_text()), path


@pytest.mark.db
def test_the_first_line_the_counter_and_the_last_line_give_one_count_in_one_unit(counted_run):
    import re

    done, doc, _ = counted_run
    first = re.search(r"; (\d+) steps: (\d+) benchmarks and (\d+) fact tables$", done.stdout.splitlines()[0])
    assert first, done.stdout.splitlines()[0]
    total, benchmarks, facts = map(int, first.groups())
    counter = [line for line in done.stderr.splitlines() if line.lstrip().startswith("[")]
    assert [re.match(r"\s*\[\s*(\d+)/(\d+)\]", line).groups() for line in counter] == [
        (str(k), str(total)) for k in range(1, total + 1)]
    last = re.search(r"(\d+) of (\d+) steps run: (\d+) benchmarks and (\d+) fact tables", done.stdout)
    assert last and tuple(map(int, last.groups())) == (total, total, benchmarks, facts)
    assert benchmarks == len(doc["benchmarks"]) and facts > 0 and benchmarks + facts == total
    # every step is named by its workload or its fact table; a skip would say why
    assert all("delete_session" in line or "delete_paths" in line or "deletion_facts" in line for line in counter)
    assert all("(" in line.split("skipped", 1)[1] for line in counter if " skipped " in line)
    assert all("left)" in line for line in counter[:-1])  # an estimate of the time remaining, but on the last
    assert "loading data: 100% of " in done.stderr  # the source load, past pytest's capture


@pytest.mark.db
def test_the_summary_fits_the_terminal_leads_with_the_headline_and_ends_with_the_next_step(counted_run, capsys):
    from bench.plan.recommended import RECOMMENDED
    from bench.commands.summary import print_summary

    done, doc, path = counted_run
    lines = done.stdout.splitlines()
    assert lines[1].startswith("summary: 5 benchmarks in 1 comparison (")
    assert lines[-1].startswith(f"next: sessionbench report {path}")
    table = lines[1:lines.index(next(line for line in lines if line.startswith("~ :")))]
    assert table and all(len(line) <= 80 for line in table), max(table, key=len)
    assert "recommended" in done.stdout and RECOMMENDED.label not in done.stdout
    print_summary(doc, quiet=True, width=60)
    quiet = capsys.readouterr().out.splitlines()
    # notes come and go with the machine (a busy one, a user who may not raise priority): not counted
    assert quiet[0].startswith("summary: ") and len([line for line in quiet if not line.startswith("note:")]) <= 10
    assert not any(line.startswith("workload") for line in quiet)


def test_the_data_load_reports_its_share_and_the_time_left_past_any_capture(capfd):
    from bench.commands.progress import Progress

    progress = Progress(quiet=False, header="sessionbench: test")
    progress.LOAD_EVERY_S = 0  # every call prints here; a run prints at most one line every 2 s
    try:
        for done in (0, 250_000, 500_000, 1_000_000):
            progress.data_loading(done, 1_000_000)
        progress.data_loading(10, 20)  # a new data set starts over
    finally:
        progress.close()
    lines = [line.strip() for line in capfd.readouterr().err.splitlines()]
    assert [line.split(":", 1)[1].split(",", 1)[0].strip() for line in lines] == [
        "0% of 1", "25% of 1", "50% of 1", "100% of 1", "50% of 20 rows"]
    assert all("left" in line for line in lines[1:3]) and "left" not in lines[3]


def test_a_long_step_says_it_is_still_running_without_looking_like_a_finished_one(capfd):
    from bench.commands.progress import Progress

    progress = Progress(quiet=False, header="sessionbench: test")
    progress.STILL_EVERY_S, progress.total = 0.05, 3  # a run says so every 15 s
    progress.pytest_runtest_logstart("test_workloads.py::test_workload[active_sync]", None)
    seen, deadline = "", time.monotonic() + 30
    try:
        while "step 1 of 3" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
            seen += capfd.readouterr().err
    finally:
        progress.close()
    assert "step 1 of 3, test_workloads.py::test_workload[active_sync]: " in seen
    assert not any(line.lstrip().startswith("[") for line in seen.splitlines())  # not counted as a step
