"""Review claim C2: every sync_flag representation answers "active sync sessions" identically,
also after writes, and which index each query can actually use."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models_variants import Variant, build_models
from models_variants.sync_flag import ANY_NODE_SYNCING
from tests.test_models_source import (SOURCE_SCHEMA, along, conn, filled,  # noqa: F401 (fixtures)
                                      models_source, orm)

# (session, node, flag): switch on a new and an existing node, switch off session 8's only syncing
# node, move session 130's syncing node, switch a node on and off again.
WRITES = [(2, "node-9", True), (5, "node-1", True), (8, "node-1", False), (130, "node-3", False),
          (130, "node-2", True), (11, "node-1", True), (11, "node-1", False), (13, "node-2", True)]


def source_active(connection) -> set[int]:
    query = f"SELECT id FROM {SOURCE_SCHEMA}.sessions WHERE any_syncing"
    return set(connection.execute(text(query)).scalars())


def expected_after(connection, writes) -> set[int]:
    rows = connection.execute(text(
        f"SELECT session_id, node_id, is_syncing FROM {SOURCE_SCHEMA}.session_nodes")).all()
    nodes = {(session, node): flag for session, node, flag in rows}
    nodes.update({(session, node): flag for session, node, flag in writes})
    return {session for (session, _), flag in nodes.items() if flag}


@pytest.mark.db
@pytest.mark.parametrize("variant", along("sync_flag"))
def test_active_sync_sessions_agree_before_and_after_writes(filled, conn, variant):
    models = filled(variant)
    before = source_active(conn)
    assert 20 < len(before) < 200  # a real minority, not an empty or full answer
    with orm(models, conn) as db:
        assert set(db.scalars(models.active_sync_statement())) == before
        for session_id, node_id, flag in WRITES:
            models.set_node_sync(db, session_id, node_id, flag)
        db.commit()
        assert set(db.scalars(models.active_sync_statement())) == expected_after(conn, WRITES)
        assert expected_after(conn, WRITES) ^ before == {2, 5, 8, 13}  # the writes did change things
        with pytest.raises(LookupError):
            models.set_node_sync(db, 99_999, "node-1", True)


@pytest.mark.db
def test_bool_column_follows_every_orm_write(filled, conn):
    models = filled(Variant(sync_flag="bool_column"))
    with orm(models, conn) as db:
        created = models.Session(user_id=1, title="new", node_sync_status={"n": {"is_syncing": True}})
        db.add(created)
        db.flush()
        row = db.get(models.Session, 8)  # its only syncing node goes
        row.node_sync_status = {}
        db.flush()
        flags = dict(db.execute(text(
            f"SELECT id, is_syncing FROM {models.qualified('sessions')} WHERE id IN (8, :new)"),
            {"new": created.id}).all())
    assert flags == {8: False, created.id: True}


def index_scan_rows(connection, models, where: str, index: str) -> int:
    """Rows the named index returns for `where`, with seq scans off so the index is tried."""
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    plan = connection.execute(text(
        f"EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, COSTS OFF) "
        f"SELECT id FROM {models.qualified('sessions')} WHERE {where}")).scalar()
    found = [node for node in _walk(plan[0]["Plan"]) if node.get("Index Name") == index]
    assert found, f"{index} not used: {plan}"
    return int(found[0]["Actual Rows"])


def _walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


@pytest.mark.db
def test_gin_default_ops_narrows_any_node_but_jsonb_path_ops_cannot(models_source, fresh_schema, conn):
    # (fresh_schema before conn: its DROP must run after conn has rolled back)
    # The finding behind jsonb_gin's choice of operator class: jsonb_path_ops hashes whole paths,
    # and "$.*" names no key, so its index scan returns every row for the recheck to filter.
    # A schema of its own: entries of rolled-back rows would stay in a shared index.
    models = build_models(Variant(sync_flag="jsonb_gin"), fresh_schema)
    models.create_schema(conn)
    models.fill_from_source(conn, models_source)
    where = f"node_sync_status @? '{ANY_NODE_SYNCING}'"
    active = len(source_active(conn))
    sessions = models.qualified("sessions")
    assert index_scan_rows(conn, models, where, "ix_sessions_node_sync_gin") == active
    conn.execute(text(
        f"CREATE INDEX path_ops ON {sessions} USING gin (node_sync_status jsonb_path_ops)"))
    conn.execute(text(f"DROP INDEX {models.qualified('ix_sessions_node_sync_gin')}"))
    assert index_scan_rows(conn, models, where, "path_ops") == 1200


@pytest.mark.db
@pytest.mark.parametrize("variant, index", [
    (Variant(sync_flag="jsonb_expr"), "ix_sessions_any_syncing"),
    (Variant(sync_flag="bool_column"), "ix_sessions_is_syncing"),
    (Variant(sync_flag="sync_table"), "ix_session_node_sync_syncing"),
])
def test_partial_indexes_serve_the_active_sync_statement(filled, conn, variant, index):
    models = filled(variant)
    statement = models.active_sync_statement().compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = conn.execute(text(f"EXPLAIN (FORMAT JSON, COSTS OFF) {statement}")).scalar()
    assert index in {node.get("Index Name") for node in _walk(plan[0]["Plan"])}
