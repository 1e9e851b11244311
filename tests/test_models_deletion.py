"""Review claims C3 (orphans after an application-level purge) and C4 (soft delete hides,
restores and purges), measured per delete path and per deletion variant."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from models_variants import UnsupportedByVariant, Variant
from models_variants.delete_paths import PATHS, Target, label, run_path, run_paths
from models_variants.integrity import leaks, orphans
from tests.test_models_source import (SESSIONS, SOURCE_SCHEMA, along, conn,  # noqa: F401 (fixtures)
                                      filled, models_source, orm)

TARGET = Target(session_id=3, user_id=4)  # session 3: 3 messages, 3 skill links; its user 4: 60 sessions
OK, FK = None, "IntegrityError"
# path -> (hard_orm, hard_db, soft): the error raised (None = completed) and the target rows left.
# What it means for C3: no path leaves an orphaned session_skills row while the FKs exist. Paths
# that bypass the ORM cascade fail on messages.session_id (no ON DELETE CASCADE) under hard_orm
# and soft, and roll back whole; under hard_db the database cascade makes every path clean.
# Only switching FK triggers off (session_replication_role = replica) leaves orphans, in every
# variant alike, messages as well as links: the link table is no weaker than the rest.
OUTCOMES = {
    "orm_delete":                          ((OK, 0), (OK, 0), (OK, 0)),
    "orm_delete_never_flushed":            ((OK, 1), (OK, 1), (OK, 1)),
    "orm_delete_then_bulk_unflushed":      ((FK, 1), (OK, 0), (FK, 1)),
    "orm_bulk_delete":                     ((FK, 1), (OK, 0), (FK, 1)),
    "core_delete":                         ((FK, 1), (OK, 0), (FK, 1)),
    "raw_sql_delete":                      ((FK, 1), (OK, 0), (FK, 1)),
    "raw_sql_delete_fk_triggers_off":      ((OK, 0), (OK, 0), (OK, 0)),
    "variant_purge":                       ((OK, 0), (OK, 0), (OK, 0)),
    "user_orm_delete":                     ((OK, 0), (OK, 0), (OK, 0)),
    "user_orm_delete_then_bulk_unflushed": ((FK, 60), (OK, 0), (FK, 60)),
    "user_bulk_delete":                    ((FK, 60), (OK, 0), (FK, 60)),
}
ORPHANS_WITH_FK_TRIGGERS_OFF = {"messages": 3, "session_skills_session": 3}
DELETIONS = ("hard_orm", "hard_db", "soft")  # soft_unindexed deletes as soft does: only its indexes differ
# The same paths on the tables without their foreign keys (made by hand, or by an older migration):
# every path completes, and whatever bypasses the ORM cascade leaves orphans, link rows and messages
# alike. hard_db (passive_deletes) leaves deleting children to the database, so without the FKs even
# its ORM delete orphans them, and its user delete orphans the user's 60 sessions.
SESSION = {"messages": 3, "session_skills_session": 3}
USER = {"messages": 180, "session_skills_session": 180}  # user 4's 60 sessions: 3 messages and 3 links each
NO_FK_ORPHANS = {  # path -> (hard_orm and soft, hard_db); sessions left as in OUTCOMES without errors
    "orm_delete":                          ({}, SESSION),
    "orm_delete_never_flushed":            ({}, {}),
    "orm_delete_then_bulk_unflushed":      ({}, SESSION),
    "orm_bulk_delete":                     (SESSION, SESSION),
    "core_delete":                         (SESSION, SESSION),
    "raw_sql_delete":                      (SESSION, SESSION),
    "raw_sql_delete_fk_triggers_off":      (SESSION, SESSION),
    "variant_purge":                       ({}, SESSION),
    "user_orm_delete":                     ({}, {"sessions_user": 60}),
    "user_orm_delete_then_bulk_unflushed": ({}, USER),
    "user_bulk_delete":                    (USER, USER),
}


def _deletes_as(variant) -> str:
    return variant.values()["deletion"].paths_as or variant.deletion


def test_every_delete_path_has_a_label_and_an_expected_outcome():
    assert set(OUTCOMES) == set(PATHS)
    labels = [label(name) for name in PATHS]
    assert all(labels) and len(set(labels)) == len(labels)


@pytest.mark.db
@pytest.mark.parametrize("variant", along("deletion"))
@pytest.mark.parametrize("path", list(PATHS))
def test_delete_path_outcome(filled, conn, variant, path):
    models = filled(variant)
    error, left = OUTCOMES[path][DELETIONS.index(_deletes_as(variant))]
    outcome = run_path(models, conn, path, TARGET)
    assert (outcome.error, outcome.sessions_left) == (error, left)
    expected = ORPHANS_WITH_FK_TRIGGERS_OFF if path == "raw_sql_delete_fk_triggers_off" else {}
    assert {name: n for name, n in outcome.orphans.items() if n} == expected
    # the ORM deletes the row bulk delete already removed: SQLAlchemy only warns about it
    stale = path == "orm_delete_then_bulk_unflushed" and variant.deletion == "hard_db"
    assert bool(outcome.warnings) == stale
    assert orphans(conn, models.schema) == dict.fromkeys(outcome.orphans, 0)  # undone after


@pytest.mark.db
@pytest.mark.parametrize("variant", along("deletion"))
def test_delete_paths_without_foreign_keys_complete_and_leave_orphans(filled, conn, variant):
    models = filled(variant)
    outcomes = run_paths(models, conn, TARGET, "no_fks")
    assert [o.path for o in outcomes] == list(PATHS)
    assert {o.path: o.error for o in outcomes} == dict.fromkeys(PATHS)  # no foreign key, nothing refuses
    column = 1 if variant.deletion == "hard_db" else 0
    assert {o.path: {k: n for k, n in o.orphans.items() if n} for o in outcomes} == \
        {path: expected[column] for path, expected in NO_FK_ORPHANS.items()}
    left = {o.path: o.sessions_left for o in outcomes}
    assert left["orm_delete_never_flushed"] == 1 and left["user_orm_delete"] == (60 if column else 0)
    # undone afterwards: the foreign keys are back and nothing is orphaned
    assert orphans(conn, models.schema) == dict.fromkeys(orphans(conn, models.schema), 0)
    assert [o.error for o in run_paths(models, conn, TARGET)] == \
        [OUTCOMES[path][DELETIONS.index(_deletes_as(variant))][0] for path in PATHS]


def test_an_unknown_schema_is_refused():
    with pytest.raises(ValueError, match="unknown schema 'none'; valid: declared, no_fks"):
        run_paths(None, None, TARGET, "none")


@pytest.mark.db
@pytest.mark.parametrize("loading", ["raise", "joined"])
def test_orm_cascade_still_loads_under_eager_or_raise_loading(filled, conn, loading):
    # lazy="raise" guards attribute access only; the flush still loads what it must delete.
    models = filled(Variant(loading=loading))
    outcome = run_path(models, conn, "orm_delete", TARGET)
    assert (outcome.error, outcome.sessions_left, outcome.orphan_rows) == (None, 0, 0)


NO_LEAKS = {"select(Session)": 0, "db.get(Session, id)": 0, "select(Message)": 0,
            **{f"{a} ({loader})": 0 for loader in ("default", "lazyload", "selectinload", "joinedload", "subqueryload")
               for a in ("User.sessions", "Skill.sessions", "Message.session")}}
RAW_SQL = ("raw SQL: SELECT id FROM sessions", "raw SQL: sessions JOIN session_skills",
           "raw SQL: SELECT session_id FROM messages")


@pytest.mark.db
@pytest.mark.parametrize("variant", [*along("loading", deletion="soft"), *along("deletion")[1:]])
def test_soft_delete_hides_everywhere_restores_and_purges(filled, conn, variant):
    models = filled(variant)
    if not models.parts["deletion"].soft:
        with orm(models, conn) as db:  # a hard delete leaves nothing to leak, through any path
            models.delete_session(db, db.get(models.Session, 3))
            assert leaks(db, models, raw_sql=True) == {**NO_LEAKS, **dict.fromkeys(RAW_SQL, 0)}
            db.rollback()
        return
    Session, Message = models.Session, models.Message
    with orm(models, conn) as db:
        assert leaks(db, models) == NO_LEAKS
        models.delete_session(db, db.get(Session, 3))
        db.commit()
        assert leaks(db, models) == NO_LEAKS
        # raw SQL has no loader criteria: only a written-out deleted_at filter would hide the session
        assert leaks(db, models, raw_sql=True) == {**NO_LEAKS, **dict.fromkeys(RAW_SQL, 1)}
        # commit expired the object held in the identity map, so get() reloads, with criteria
        assert db.get(Session, 3) is None
        assert db.scalar(select(func.count()).select_from(Session)) == SESSIONS - 1
        assert db.scalar(select(func.count(Message.id)).where(Message.session_id == 3)) == 0
        admin_read = select(Session).where(Session.id == 3).options(selectinload(Session.messages))
        admin = db.scalars(admin_read, execution_options={"include_deleted": True}).unique().one()
        assert admin.deleted_at is not None and len(admin.messages) == 3
        assert orphans(conn, models.schema) == dict.fromkeys(orphans(conn, models.schema), 0)

        assert models.restore_session(db, 3) == 1
        assert models.restore_session(db, 3) == 0
        db.expunge_all()
        assert db.get(Session, 3).deleted_at is None

        assert models.purge_session(db, 3) == 0  # live sessions are not purged
        models.delete_session(db, db.get(Session, 3))
        assert models.purge_session(db, 3) == 1
        db.commit()
    rows = conn.execute(text(
        f"SELECT (SELECT count(*) FROM {models.qualified('sessions')} WHERE id = 3), "
        f"(SELECT count(*) FROM {models.qualified('messages')} WHERE session_id = 3), "
        f"(SELECT count(*) FROM {models.qualified('session_skills')} WHERE session_id = 3)")).one()
    assert tuple(rows) == (0, 0, 0)


@pytest.mark.db
def test_soft_deleted_sessions_block_the_orm_user_cascade(filled, conn):
    # The global criteria also hides soft-deleted sessions from User.sessions while the flush
    # cascades a user delete, so those rows stay and the user's FK stops the delete.
    models = filled(Variant(deletion="soft"))
    with orm(models, conn) as db:
        models.delete_session(db, db.get(models.Session, TARGET.session_id))
        db.commit()
    outcome = run_path(models, conn, "user_orm_delete", TARGET)
    assert (outcome.error, outcome.sessions_left) == ("IntegrityError", 60)


@pytest.mark.db
@pytest.mark.parametrize("variant", along("deletion"))
def test_soft_delete_fraction_and_live_sessions(filled, conn, variant):
    models = filled(variant)
    doomed = conn.execute(text(
        f"SELECT count(*) FROM {SOURCE_SCHEMA}.sessions WHERE deleted_draw < 0.25")).scalar()
    assert 250 < doomed < 350
    assert models.soft_delete_fraction(conn, SOURCE_SCHEMA, 0.25) == doomed
    with orm(models, conn) as db:
        live = db.scalars(models.live_sessions_statement()).all()
    assert len(live) == SESSIONS - doomed
    assert orphans(conn, models.schema) == dict.fromkeys(orphans(conn, models.schema), 0)
    if models.parts["deletion"].soft:
        assert models.restore_all_sessions(conn) == doomed
    else:
        with pytest.raises(UnsupportedByVariant):
            models.restore_all_sessions(conn)
        with orm(models, conn) as db, pytest.raises(UnsupportedByVariant):
            models.restore_session(db, 5)
