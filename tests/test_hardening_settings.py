"""Settings that cannot mean anything are refused before anything starts, in one line: a load window
too short to measure, more sessions syncing than there are sessions, and more connections than the
server takes (checked against the server itself, as soon as it is up, before any case runs)."""

from __future__ import annotations

import pytest

from bench.load import cases as concurrency_cases
from bench.plan import settings
from bench.errors import UserError
from tests.test_hardening_support import FAST, WatchedRun, postgres_under


@pytest.mark.parametrize(("flags", "words"), [
    ({"load_seconds": "0.0001"}, "--load-seconds: '0.0001' is too short to measure: at least 0.5 s"),
    ({"sessions": "50", "syncing": "1000"}, "--syncing 1,000 is more than the 50 sessions of the data set"),
    ({"sessions": "50,1000", "syncing": "100,1%"}, "--syncing 100 is more than the 50 sessions of the smallest"),
    ({"scale": "small", "syncing": "5000"}, "--syncing 5,000 is more than the 1,000 sessions"),
])
def test_settings_that_cannot_mean_anything_are_refused(flags, words):
    with pytest.raises(UserError) as raised:
        settings.resolve(flags)
    assert words in raised.value.message and "\n" not in raised.value.message


@pytest.mark.parametrize("flags", [{"load_seconds": "0.5"}, {"sessions": "50", "syncing": "50"},
                                   {"sessions": "50", "syncing": "100%"}, {"sessions": "50,1000"}])
def test_settings_that_mean_something_still_pass(flags):
    settings.resolve(flags)


def test_connections_a_load_case_holds():
    assert concurrency_cases.connections_needed(256, 100, 2) == 200 + concurrency_cases.RUN_OWN_CONNECTIONS
    # 3 clients on 2 workers: 2 clients (so 2 connections) in each worker's pool
    assert concurrency_cases.connections_needed(3, 100, 2) == 2 * 2 + concurrency_cases.RUN_OWN_CONNECTIONS
    assert concurrency_cases.connections_needed(1, 2, 8) == 1 + concurrency_cases.RUN_OWN_CONNECTIONS


@pytest.mark.db
def test_the_connection_limit_is_read_from_the_server(database_url):
    concurrency_cases.check_connection_limit(database_url, [1, 4], 2, 2)  # well within any server's limit
    with pytest.raises(UserError) as raised:
        concurrency_cases.check_connection_limit(database_url, [1, 256], 100, 8)
    assert "--clients 256 with --pool-size 100 and --load-workers 8 needs 261 connections, but the server takes" \
        in raised.value.message
    assert "max_connections" in raised.value.message


@pytest.mark.db
def test_a_run_with_more_clients_than_the_server_takes_stops_before_any_case(open_tmp_path):
    run = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, "--only", "workload=dashboard",
                     "--clients", "256", "--pool-size", "100", "--out", str(open_tmp_path / "out"),
                     env={"TMPDIR": str(open_tmp_path)})
    assert run.finish(300) == 2
    lines = run.stderr.splitlines()
    assert lines[-2].startswith("sessionbench: error: --clients 256 with --pool-size 100 and --load-workers 2 "
                                "needs 205 connections, but the server takes ")
    assert lines[-1].startswith("  try: lower --pool-size")
    assert not any(line.lstrip().startswith("[") for line in lines)  # no case ran
    assert "Traceback" not in run.stderr
    assert postgres_under(str(open_tmp_path)) == [] and list(open_tmp_path.glob("sessionbench-pg-*")) == []
