"""The results file: atomic, never overwritten, read back into one tidy table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bench import results
from bench.errors import UserError
from bench.results import FORMAT_VERSION
from bench.commands.summary import ratio_cell, summary_rows


def doc(run_id="r1", medians=(0.010, 0.002)):
    benchmarks = []
    for variant, median in zip(("baseline", "loading=selectin"), medians):
        loading = "lazy" if variant == "baseline" else "selectin"
        benchmarks.append({
            "name": f"test_workload[{variant}]", "stats": {"median": median, "min": median, "rounds": 3,
                                                          "data": [median] * 3},
            "extra_info": {"workload": "dashboard", "param": "page_size=10", "variant": variant,
                           "loading": loading, "sync_flag": "json", "deletion": "hard_orm",
                           "audio_storage": "raw_path", "timestamps": "naive_utc", "image": None,
                           "rtt_ms": 0.0, "statements": 11 if variant == "baseline" else 3,
                           "p95_s": median, "p99_s": median, "trial_medians_s": [median] * 3,
                           # measured side by side: the run records the ratio and its interval
                           **({"ratio": 1.0, "ratio_low": 1.0, "ratio_high": 1.0} if variant == "baseline" else
                              {"ratio": 0.21, "ratio_low": 0.19, "ratio_high": 0.23}),
                           "generic_executions": 4}})
    return {"machine_info": {}, "commit_info": {"id": "abc"}, "datetime": "2026-11-26T00:00:00",
            "benchmarks": benchmarks, "sessionbench": {"format_version": FORMAT_VERSION, "run_id": run_id,
                                                        "backend": "embedded", "server_version": "18.6"}}


def test_write_new_is_atomic_and_never_overwrites(tmp_path):
    path = results.write_new(doc(), tmp_path, "r1")
    assert path.name == "r1.json" and json.loads(path.read_text())["sessionbench"]["run_id"] == "r1"
    with pytest.raises(UserError, match="never overwritten"):
        results.write_new(doc(medians=(1, 1)), tmp_path, "r1")
    assert json.loads(path.read_text())["benchmarks"][0]["stats"]["median"] == 0.010
    assert [p.name for p in tmp_path.iterdir()] == ["r1.json"]  # no temporary file left


@pytest.mark.parametrize("content, message", [
    (None, "no such results file"),
    ("{not json", "not JSON"),
    ('{"benchmarks": []}', "not a sessionbench results file"),
    ('{"benchmarks": [], "sessionbench": {"format_version": 99}}', "results format 99"),
])
def test_read_refuses_unusable_files_in_one_line(tmp_path, content, message):
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message) as refused:
        results.read(path)
    assert "\n" not in refused.value.message


def test_load_gives_one_tidy_row_per_benchmark_over_several_files(tmp_path):
    a = results.write_new(doc("r1"), tmp_path, "r1")
    b = results.write_new(doc("r2"), tmp_path, "r2")
    table = results.load([a, b])
    assert list(table.columns)[:len(results.COLUMNS)] == results.COLUMNS
    assert len(table) == 4 and set(table["run_id"]) == {"r1", "r2"}
    row = table[(table.run_id == "r1") & (table.variant == "baseline")].iloc[0]
    assert (row.statements, row.median_s, row.backend, row.commit) == (11, 0.010, "embedded", "abc")


def test_summary_ratio_is_the_one_measured_side_by_side_with_its_interval():
    rows = {r["variant"]: r for r in summary_rows(doc(medians=(0.010, 0.002)))}
    # not median / median (0.2): the ratio of the trials, measured side by side, with its interval
    assert ratio_cell(rows["loading=selectin"]) == "0.21 [0.19-0.23] "
    assert ratio_cell(rows["baseline"]) == "1"
    unclear = {**rows["loading=selectin"], "ratio": 0.98, "ratio_low": 0.9, "ratio_high": 1.05}
    assert ratio_cell(unclear) == "0.98 [0.90-1.05]~"
    # a group cut to one trial by --case-budget (a 1,000,000-session purge) has a ratio and no interval
    one_trial = {**rows["loading=selectin"], "ratio": 1.4, "ratio_low": None, "ratio_high": None}
    assert ratio_cell(one_trial) == "1.40 [no interval: 1 trial]"


def test_every_metric_reaches_the_table_and_the_per_trial_values_are_read():
    table = results.rows(doc())
    assert table[0]["generic_executions"] == 4  # beyond COLUMNS, kept
    assert "trial_medians_s" not in table[0]  # per-trial lists stay in the file
    bench = doc()["benchmarks"][1]
    assert results.trial_values(bench, "wall") == [0.002] * 3
    assert results.trial_values(bench, "cpu") == []
    assert results.key_of(bench) == ("dashboard", "page_size=10", "loading=selectin", None, 0.0, None, None, None)
    assert results.label_of(results.key_of(bench)) == "dashboard page_size=10 [loading=selectin]"


def test_a_key_names_its_data_set_and_labels_name_it_when_a_list_spans_several():
    small = ("active_sync", "", "baseline", None, 0.0, 1000, None, "100")
    large = ("active_sync", "", "baseline", None, 0.0, 10000, 20, "100")
    assert results.label_of(large) == "active_sync [baseline]"
    assert results.label_of(large, with_data=True) == \
        "active_sync [baseline] sessions=10000 nodes_per_session=20 syncing=100"
    assert results.data_varies([small, large]) and not results.data_varies([small, small])
