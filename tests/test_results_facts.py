"""The run's fact tables (C3 delete paths, C4 deletion facts, C6 ordering facts) in a results file: checked
on read, and reachable from the DataFrame `load` returns, also after pandas operations and across runs."""

from __future__ import annotations

import copy

import pytest

from bench import results
from bench.errors import UserError
from tests.test_results import doc

ORDERING = {"variant": "baseline", "timestamps": "naive_utc", "check": "clock skew", "source": "sequence",
            "skew_ms": None, "events": 40, "pairs": 780, "misordered_pairs": 1, "late_events": 1}
DELETION = {"variant": "deletion=soft", "check": "bloat", "case": "10 cycles", "vacuum": True, "table_bytes": 10,
            "dead_tuples": 0}


def with_facts(run_id: str) -> dict:
    found = doc(run_id)
    found["sessionbench"].update(ordering_facts=[ORDERING], deletion_facts=[DELETION], delete_paths=[
        {"variant": "baseline", "schema": "no_fks", "path": "core_delete", "error": None, "orphans": 6,
         "orphans_detail": {"messages": 3, "session_skills_session": 3}, "warnings": []}])
    return found


def test_load_keeps_every_runs_fact_tables_beside_the_benchmarks(tmp_path):
    paths = [results.write_new(with_facts(run), tmp_path, run) for run in ("r1", "r2")]
    df = results.load(paths)
    filtered = df[df["variant"] == "baseline"].groupby("workload").first()  # pandas keeps attrs: shared, not copied
    ordering = results.fact_table(filtered, "ordering_facts")
    assert list(ordering["run_id"]) == ["r1", "r2"] and list(ordering["misordered_pairs"]) == [1, 1]
    assert results.fact_table(df, "deletion_facts").loc[0, "table_bytes"] == 10
    paths_table = results.fact_table(df, "delete_paths")
    assert "orphans_detail" not in paths_table and list(paths_table["schema"]) == ["no_fks", "no_fks"]
    assert df.attrs["facts"] is copy.deepcopy(df).attrs["facts"]


def test_a_frame_without_facts_gives_empty_tables():
    import pandas as pd

    assert results.fact_table(pd.DataFrame(), "ordering_facts").empty


@pytest.mark.parametrize(("table", "entry", "said"), [
    ("ordering_facts", "not an object", "sessionbench.ordering_facts[0] is str, not an object"),
    ("ordering_facts", {"misordered_pairs": [1]}, "sessionbench.ordering_facts[0].misordered_pairs is list"),
    ("deletion_facts", {"table_bytes": "big"}, "sessionbench.deletion_facts[0].table_bytes is 'big', not a number"),
])
def test_a_damaged_fact_table_is_refused_in_one_line(tmp_path, table, entry, said):
    found = with_facts("r1")
    found["sessionbench"][table] = [entry]
    path = results.write_new(found, tmp_path, "r1")
    with pytest.raises(UserError, match=said.replace("[", r"\[").replace("]", r"\]")):
        results.read(path)
