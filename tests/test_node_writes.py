"""C2's write side on a real server: which write paths lose node updates or let the flag drift.

The forced interleaving (a barrier) makes every count below the same on every run: facts, not timings.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bench.load import node_write_paths
from bench.load.node_writes import hot_sessions, node_write_facts
from models_variants import Variant

pytestmark = pytest.mark.db

NODES = 4


@pytest.fixture(scope="module")
def state(small_state):
    return small_state


@pytest.fixture(scope="module")
def facts(state, server) -> dict:
    with state.setup_engine.connect() as conn:
        sessions = hot_sessions(conn, state.source_schema)
    table = {}
    for value in ("json", "jsonb_gin", "bool_column", "sync_table"):
        for row in node_write_facts(state, Variant(sync_flag=value), server.url, NODES, sessions):
            table[(value, row["path"])] = row
    return table


def test_two_hot_sessions_none_syncing_are_chosen(state):
    with state.setup_engine.connect() as conn:
        sessions = hot_sessions(conn, state.source_schema)
        assert len(sessions) == 2
        flags = conn.execute(text(f'select any_syncing from "{state.source_schema}".sessions where id = any(:ids)'),
                             {"ids": sessions}).scalars().all()
    assert flags == [False, False]


def test_every_path_applies_where_it_has_something_to_write(facts):
    paths = {path for value, path in facts if value == "sync_table"}
    assert paths == set(node_write_paths.PATHS) - {"in_place"}  # no JSON value to change in place
    assert {path for value, path in facts if value == "json"} == set(node_write_paths.PATHS)


@pytest.mark.parametrize("value", ["json", "jsonb_gin", "bool_column", "sync_table"])
def test_the_locked_path_and_the_atomic_statement_lose_nothing(facts, value):
    for path in ("orm_locked", "atomic_sql", "bulk_update"):
        row = facts[(value, path)]
        assert row["writes"] == NODES * 2
        assert (row["lost_updates"], row["failed_writes"], row["deadlocks"]) == (0, 0, 0), (value, path, row)


@pytest.mark.parametrize("value", ["json", "jsonb_gin", "bool_column"])
def test_an_in_place_change_is_never_sent_so_every_write_is_lost(facts, value):
    row = facts[(value, "in_place")]
    assert row["lost_updates"] == row["writes"] == NODES * 2
    assert row["updates_sent"] == 0  # silently: no error, no UPDATE
    assert row["failed_writes"] == 0


@pytest.mark.parametrize("value", ["json", "jsonb_gin", "bool_column"])
def test_an_unlocked_read_modify_write_keeps_only_the_last_writer(facts, value):
    row = facts[(value, "orm_unlocked")]
    # Every node read before any wrote: each session keeps one node's write of the four.
    assert row["lost_updates"] == (NODES - 1) * 2
    assert row["updates_sent"] == NODES * 2


def test_a_table_row_per_node_loses_nothing_even_unlocked(facts):
    assert facts[("sync_table", "orm_unlocked")]["lost_updates"] == 0


def test_only_the_denormalized_flag_drifts_and_only_past_the_orm(facts):
    for (value, path), row in facts.items():
        assert row["can_drift"] is (value == "bool_column")
        if value != "bool_column":
            assert row["drift"] is None
    drift = {path: facts[("bool_column", path)]["drift"] for path in node_write_paths.PATHS}
    # Raw SQL and a bulk UPDATE skip the attribute event that keeps is_syncing in step: both sessions drift.
    assert drift == {"orm_locked": 0, "orm_unlocked": 0, "in_place": 0, "atomic_sql": 2, "bulk_update": 2}


def test_the_variant_is_left_as_loaded(state, server):
    models = state.models_for(Variant(sync_flag="bool_column"))
    with state.setup_engine.connect() as conn:
        left = conn.execute(text(f"select count(*) from {models.qualified('sessions')} "
                                 "where node_sync_status::text like '%node-writer-%'")).scalar_one()
        drifted = conn.execute(text(f"select count(*) from {models.qualified('sessions')} s where s.is_syncing <> "
                                    "coalesce((select bool_or((v->>'is_syncing')::boolean) from "
                                    "json_each(s.node_sync_status) as e(k, v)), false)")).scalar_one()
    assert (left, drifted) == (0, 0)
