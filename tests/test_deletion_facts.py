"""Claim C4 beyond latency on a real PostgreSQL: unique keys after a delete, leaked rows per read path,
bloat after delete/restore cycles (bench.measure.deletion_facts), per deletion variant."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bench.measure import deletion_facts
from models_variants import Variant
from tests.test_models_source import SOURCE_SCHEMA, along, conn, filled, models_source  # noqa: F401 (fixtures)

SESSION, USER = 3, 4  # session 3: 3 messages, 3 skill links; its user 4: 60 sessions
FULL, PARTIAL = deletion_facts.UNIQUE_KEYS


@pytest.mark.db
@pytest.mark.parametrize("variant", along("deletion"))
def test_a_unique_key_after_a_delete(filled, conn, variant):
    # Soft delete keeps the row and so its key: re-creating the key fails on a plain unique index; a partial
    # one (WHERE deleted_at IS NULL) allows it, and then restoring the deleted session fails instead.
    models = filled(variant)
    found = {(f["case"], f["step"]): (f["error"], f["applies"]) for f in deletion_facts.unique_keys(models, conn, SESSION)}
    if variant.deletion in ("soft", "soft_unindexed"):
        assert found == {(FULL, "re-create after delete"): ("UniqueViolation", True),
                         (PARTIAL, "re-create after delete"): (None, True),
                         (PARTIAL, "restore after re-create"): ("UniqueViolation", True)}
    else:
        assert found == {(FULL, "re-create after delete"): (None, True),
                         (PARTIAL, "re-create after delete"): (None, False)}  # no deleted_at: does not apply
    # undone: no slug column, the session is as loaded
    columns = conn.execute(text(f"SELECT * FROM {models.qualified('sessions')} WHERE id = {SESSION}")).keys()
    assert "slug" not in columns


@pytest.mark.db
@pytest.mark.parametrize("variant", along("deletion"))
def test_leaked_rows_per_read_path(filled, conn, variant):
    models = filled(variant)
    facts = deletion_facts.leaked_rows(models, conn, USER)
    assert {f["deleted"] for f in facts} == {60}
    leaked = {f["case"]: f["rows"] for f in facts if f["rows"]}
    if variant.deletion in ("soft", "soft_unindexed"):
        # No ORM path (queries, get, every relationship under every loader) returns a deleted session;
        # each raw SQL read without the filter returns all 60.
        assert leaked == {"raw SQL: SELECT id FROM sessions": 60, "raw SQL: sessions JOIN session_skills": 60,
                          "raw SQL: SELECT session_id FROM messages": 60}
        assert len(facts) == 21
    else:
        assert leaked == {}
    assert conn.execute(text(f"SELECT count(*) FROM {models.qualified('sessions')} WHERE user_id = {USER}")).scalar() \
        == 60


@pytest.mark.db
@pytest.mark.parametrize("variant", along("deletion"))
def test_bloat_after_delete_restore_cycles(filled, engine, variant):
    models = filled(variant)
    facts = deletion_facts.bloat_after_cycles(models, engine, SOURCE_SCHEMA, cycles=4)
    if not models.parts["deletion"].soft:
        assert facts == []  # a hard delete cannot be restored: no cycle to repeat
        return
    plain, vacuumed = facts
    assert (plain["vacuum"], vacuumed["vacuum"], plain["cycles"]) == (False, True, 4)
    assert plain["table_bytes_before"] == vacuumed["table_bytes_before"]
    # Without VACUUM every cycle adds row versions: the table grows and dead tuples stay; a VACUUM after
    # each cycle leaves no dead tuple and a smaller table, though still larger than before.
    assert plain["table_bytes"] > vacuumed["table_bytes"] > plain["table_bytes_before"]
    assert plain["index_bytes"] >= vacuumed["index_bytes"] >= plain["index_bytes_before"]
    assert plain["dead_tuples"] > 0 and vacuumed["dead_tuples"] == 0
    with engine.connect() as conn:  # the scratch schema is gone
        assert conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"),
                            {"n": f"{models.schema}_bloat"}).scalar() == 0


@pytest.mark.db
def test_bloat_cycles_run_on_a_bounded_sample_and_say_how_many_sessions(filled, engine):
    models = filled(Variant(deletion="soft"))
    with engine.connect() as conn:
        total = conn.execute(text(f"SELECT count(*) FROM {models.qualified('sessions')}")).scalar_one()
    small, whole = (deletion_facts.bloat_after_cycles(models, engine, SOURCE_SCHEMA, cycles=2, sample=sample)[0]
                    for sample in (total // 4, total * 2))
    assert (small["sample_sessions"], whole["sample_sessions"]) == (total // 4, total)
    assert small["table_bytes_before"] < whole["table_bytes_before"]


@pytest.mark.db
def test_the_partial_indexes_are_what_soft_unindexed_leaves_out(filled):
    indexes = {name: {i.name.replace(models.schema, "") for i in models.Session.__table__.indexes}
               for name in ("soft", "soft_unindexed") if (models := filled(Variant(deletion=name)))}
    assert indexes["soft"] - indexes["soft_unindexed"] == {"ix_sessions_live_updated_at", "ix_sessions_live_user_id"}
    assert indexes["soft_unindexed"] <= indexes["soft"]
