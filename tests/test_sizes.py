"""Size sweeps: the data sets a run measures on, their generation, shared copies, the case budget.

Facts only: which data sets, how many syncing sessions and nodes, which variants share tables,
how many rounds a slow case is given, what a sweep's results file holds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pytest
from sqlalchemy import text

from bench.plan import settings
from bench.measure import trials
from bench.measure.context import RunState, layout_signature, new_run_id
from bench.data.spec import DataSpec, data_specs
from bench.data.datagen import session_plan, sessions_table, table_batches
from bench.errors import UserError
from models_variants import Variant
from tests.runs import ROOT


def chosen(**flags) -> settings.RunSettings:
    return settings.resolve(flags)


def test_sizes_and_scales_are_comma_separated_sorted_and_each_taken_once():
    assert chosen(sessions="3000,1000,1000").sessions == [1000, 3000]
    assert chosen(scale="medium,small").scale == ["small", "medium"]
    assert chosen(syncing="100, 1%,100").syncing == ["100", "1%"]
    assert chosen(nodes_per_session="200,2,20").nodes_per_session == [2, 20, 200]


@pytest.mark.parametrize("flag, value, says", [
    ("sessions", "1000,ten", "'ten' is not a whole number"),
    ("sessions", "10", "10 is outside 50"),
    ("scale", "small,huge", "unknown scale 'huge'"),
    ("syncing", "0%", "must be a percentage above 0"),
    ("syncing", "2.5", "must be a whole number of sessions"),
    ("syncing", "many", "neither a count"),
    ("nodes_per_session", "0", "0 is outside 1"),
])
def test_a_bad_size_is_one_line_naming_the_flag(flag, value, says):
    with pytest.raises(UserError) as caught:
        chosen(**{flag: value})
    assert caught.value.message.startswith(f"--{flag.replace('_', '-')}:") and says in caught.value.message


def test_one_size_keeps_a_share_syncing_and_a_sweep_a_fixed_count():
    one = data_specs(chosen())
    assert [(s.sessions, s.syncing, s.nodes_per_session) for s in one] == [(1000, "1%", None)]
    sweep = data_specs(chosen(sessions="3000,1000"))
    assert [(s.sessions, s.syncing) for s in sweep] == [(1000, "100"), (3000, "100")]
    both = data_specs(chosen(sessions="1000,3000", syncing="100,1%", nodes_per_session="2,20"))
    assert len(both) == 8 and [s.sessions for s in both] == [1000] * 4 + [3000] * 4


def test_a_fixed_count_of_syncing_sessions_holds_at_every_size():
    for sessions in (500, 5000):
        plan = session_plan(DataSpec(sessions, syncing="100"))
        assert int(plan.syncing.sum()) == 100
    small, large = (session_plan(DataSpec(n, syncing="100")) for n in (500, 5000))
    assert int(small.syncing.sum()) == int(large.syncing.sum())


def test_a_share_of_syncing_sessions_is_the_data_of_earlier_versions():
    # 1% is what the generator always drew: the same sessions, so results stay comparable
    plan = session_plan(DataSpec(1000))
    assert int(plan.syncing.sum()) == int(session_plan(DataSpec(1000, syncing="1%")).syncing.sum())
    assert 0 < int(plan.syncing.sum()) < 30


def test_nodes_per_session_gives_every_session_that_many_distinct_nodes_in_table_and_blob():
    spec = DataSpec(300, nodes_per_session=200)
    plan = session_plan(spec)
    nodes = pa.concat_tables(table_batches(spec, plan, "session_nodes"))
    assert nodes.num_rows == 300 * 200
    per_session = nodes.group_by("session_id").aggregate([("node_id", "count_distinct")])
    assert set(per_session.column("node_id_count_distinct").to_pylist()) == {200}
    blob = json.loads(sessions_table(spec, plan, 0, 0, 3).column("node_sync")[0].as_py())
    assert len(blob) == 200
    syncing_nodes = nodes.filter(nodes.column("is_syncing")).num_rows
    assert syncing_nodes == int(plan.syncing.sum())  # one syncing node per syncing session


def test_variants_with_identical_tables_share_one_layout_and_others_do_not():
    loading = [layout_signature(v, "src") for v in Variant.along("loading")]
    assert len(set(loading)) == 1
    sync = [layout_signature(v, "src") for v in Variant.along("sync_flag")]
    assert len(set(sync)) == len(sync)


@pytest.mark.parametrize("typical, rounds, wanted, budget, expected", [
    (0.001, 67, 6, 20.0, (67, 6)),    # fits: untouched
    (0.5, 10, 6, 20.0, (6, 6)),       # 40 rounds fit: fewer rounds per trial, every trial kept
    (4.0, 1, 6, 20.0, (1, 5)),        # 5 rounds fit: one per trial, five trials
    (30.0, 1, 6, 20.0, (1, 1)),       # one round is over the budget: it still runs once
    (30.0, 1, 6, None, (1, 6)),       # no budget
])
def test_the_case_budget_cuts_rounds_then_trials_and_never_to_zero(typical, rounds, wanted, budget, expected):
    assert trials.within_budget(typical, rounds, wanted, budget) == expected


@pytest.mark.db
def test_shared_tables_are_filled_once_and_the_data_set_drops_only_its_own_schemas(server):
    run = RunState(server, new_run_id(), DataSpec(sessions=200, seed=5), tag="d1",
                   session_settings={"jit": "off"})
    other = RunState(server, run.run_id, DataSpec(sessions=100, seed=5), tag="d0")
    try:
        run.load_source()
        other.load_source()
        lazy, selectin = Variant.along("loading")[:2]
        first, second = run.models_for(lazy), run.models_for(selectin)
        assert first.metadata.schema == second.metadata.schema
        assert run.shared_with == {selectin.label: lazy.label} and "rows" not in run.loads[selectin.label]
        with run.setup_engine.connect() as conn:
            assert conn.execute(text("show jit")).scalar_one() == "off"  # pinned on the run's connections only
        run.record_data_size()
        assert run.cache["data_bytes"] > 0 and run.cache["fits_in_shared_buffers"] is True
        dropped = run.drop_run_schemas(data_set=True)
        assert dropped and all(name.startswith(f"{run.prefix}_d1_") for name in dropped)
        with other.setup_engine.connect() as conn:
            assert conn.execute(text("select to_regnamespace(:s)"), {"s": other.source_schema}).scalar_one()
    finally:
        other.drop_run_schemas()
        run.close()
        other.close()


@pytest.mark.db
def test_a_sweep_measures_each_case_at_each_size_and_records_each_data_set(tmp_path):
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "bench.cli", "run", "--backend", "embedded", "--sessions", "300,100",
                           "--only", "workload=active_sync", "--max-time", "0.02", "--min-rounds", "2",
                           "--trials", "2", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc = json.loads(next(out.glob("*.json")).read_text())
    rows = [b["extra_info"] for b in doc["benchmarks"]]
    by_size = {size: sorted(r["variant"] for r in rows if r["sessions"] == size) for size in (100, 300)}
    assert by_size[100] == by_size[300] and len(by_size[100]) >= len(Variant.along("sync_flag"))
    assert {r["syncing"] for r in rows} == {"100"}
    assert all(r["jit_used"] is False for r in rows)
    sizes = doc["sessionbench"]["data_sizes"]
    assert [(s["sessions"], s["tag"]) for s in sizes] == [(100, "d0"), (300, "d1")]
    assert all(s["data_bytes"] > 0 and s["fits_in_shared_buffers"] for s in sizes)
    assert doc["sessionbench"]["settings"]["sessions"] == [100, 300]
    header = next(line for line in done.stdout.splitlines() if line.startswith("workload"))
    assert "sessions" in header  # the summary gets a sessions column


def test_the_summary_reads_data_sizes_from_a_file_from_elsewhere_without_trusting_them(capsys):
    from bench.commands.summary import print_summary

    doc = {"benchmarks": [], "sessionbench": {"data_sizes": [
        {"sessions": "1e9; rm -rf", "fits_in_shared_buffers": False, "data_bytes": [1]},
        "not a block", {"sessions": 100000, "fits_in_shared_buffers": False, "data_bytes": 2**31,
                        "shared_buffers_bytes": 2**27}]}}
    print_summary(doc)
    said = capsys.readouterr().out
    assert "at 100,000 sessions the data (2,048 MiB) exceeds shared_buffers (128 MiB)" in said
    assert "rm -rf" not in said
    # a sweep of syncing modes names each data set; a syncing value that is not a count or share is left out
    doc["sessionbench"]["data_sizes"] = [
        {"sessions": 30000, "syncing": "100", "fits_in_shared_buffers": False, "data_bytes": 2**29},
        {"sessions": 30000, "syncing": "1%\x1b[2J", "nodes_per_session": 20, "fits_in_shared_buffers": False,
         "data_bytes": 2**29}]
    print_summary(doc)
    said = capsys.readouterr().out
    assert "at 30,000 sessions (100 syncing) the data (512 MiB)" in said
    assert "at 30,000 sessions (20 nodes each) the data (512 MiB)" in said and "\x1b" not in said
