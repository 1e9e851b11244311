"""Every way an application deletes a session (or a user with all their sessions).

Review claim C3: session_skills keeps orphaned rows after an application-level purge done
"without proper session flushing". Each path is one small function, registered under its name;
its docstring's first line is its label. `run_path` runs one inside a savepoint, records the
error it raised (if any) and the orphans left, then rolls the savepoint back so every path
starts from the same data. Every path also runs on the same tables without their foreign keys
(SCHEMAS), as a schema made by hand or by an older migration would have them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, text

from models_variants.integrity import drop_foreign_keys, orphans, references

if TYPE_CHECKING:
    from models_variants.factory import ModelSet

PATHS: dict[str, Callable] = {}
# The schemas every path runs on: the foreign keys as the model declares them, and none at all.
SCHEMAS = {"declared": "foreign keys as the model declares them",
           "no_fks": "the same tables without foreign keys (created by hand or by an older migration)"}


@dataclass(frozen=True)
class Target:
    session_id: int
    user_id: int


@dataclass
class PathOutcome:
    path: str
    error: str | None  # exception class name, None when the path completed
    sessions_left: int  # rows of the target (session path) or the user's sessions (user path)
    orphans: dict[str, int]
    warnings: list[str] = field(default_factory=list)

    @property
    def orphan_rows(self) -> int:
        return sum(self.orphans.values())


def delete_path(fn: Callable) -> Callable:
    PATHS[fn.__name__] = fn
    return fn


def label(name: str) -> str:
    return PATHS[name].__doc__.strip().splitlines()[0]


def _target_session(models: ModelSet, db, target: Target):
    return db.get(models.Session, target.session_id)


@delete_path
def orm_delete(models, db, target):
    """ORM session.delete(session), then commit: the flush runs the ORM cascades"""
    db.delete(_target_session(models, db, target))
    db.commit()


@delete_path
def orm_delete_never_flushed(models, db, target):
    """ORM session.delete(session), then the ORM session is closed without flush or commit"""
    db.delete(_target_session(models, db, target))
    db.close()


@delete_path
def orm_delete_then_bulk_unflushed(models, db, target):
    """ORM session.delete(session), a bulk delete() of the same row before any flush, commit"""
    db.delete(_target_session(models, db, target))
    with db.no_autoflush:
        db.execute(delete(models.Session).where(models.Session.id == target.session_id),
                   execution_options={"synchronize_session": False})
    db.commit()


@delete_path
def orm_bulk_delete(models, db, target):
    """ORM-enabled bulk delete(Session) statement: no ORM cascade runs"""
    db.execute(delete(models.Session).where(models.Session.id == target.session_id))
    db.commit()


@delete_path
def core_delete(models, db, target):
    """Core delete() on the sessions Table, on the ORM session's connection"""
    table = models.Session.__table__
    db.connection().execute(table.delete().where(table.c.id == target.session_id))
    db.commit()


@delete_path
def raw_sql_delete(models, db, target):
    """raw SQL DELETE FROM sessions WHERE id = :id"""
    db.execute(text(f"DELETE FROM {models.qualified('sessions')} WHERE id = :id"),
               {"id": target.session_id})
    db.commit()


@delete_path
def raw_sql_delete_fk_triggers_off(models, db, target):
    """raw SQL DELETE with FK triggers off (session_replication_role = replica)"""
    # Bulk loaders and logical-replication appliers run like this: the only way past the FKs.
    db.execute(text("SET LOCAL session_replication_role = replica"))
    raw_sql_delete(models, db, target)


@delete_path
def variant_purge(models, db, target):
    """the variant's purge: soft = delete_session() + purge_session(); hard = delete_session()"""
    models.delete_session(db, _target_session(models, db, target))
    if models.parts["deletion"].soft:
        models.purge_session(db, target.session_id)
    db.commit()


@delete_path
def user_orm_delete(models, db, target):
    """ORM session.delete(user), then commit: User.sessions cascade"""
    db.delete(db.get(models.User, target.user_id))
    db.commit()


@delete_path
def user_orm_delete_then_bulk_unflushed(models, db, target):
    """ORM session.delete(user), bulk delete() of the user's sessions before any flush, commit"""
    db.delete(db.get(models.User, target.user_id))
    with db.no_autoflush:
        db.execute(delete(models.Session).where(models.Session.user_id == target.user_id),
                   execution_options={"synchronize_session": False})
    db.commit()


@delete_path
def user_bulk_delete(models, db, target):
    """bulk delete() of the user's sessions, then of the user: no ORM objects loaded"""
    db.execute(delete(models.Session).where(models.Session.user_id == target.user_id))
    db.execute(delete(models.User).where(models.User.id == target.user_id))
    db.commit()


USER_PATHS = frozenset(name for name in PATHS if name.startswith("user_"))


@contextmanager
def on_schema(conn, models: ModelSet, schema: str):
    """Inside the block, `conn`'s transaction sees one of SCHEMAS; undone after it (DDL is transactional)."""
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}; valid: {', '.join(SCHEMAS)}")
    undo = conn.begin_nested()
    try:
        if schema == "no_fks":
            drop_foreign_keys(conn, models.schema)
        yield
    finally:
        undo.rollback()


def run_paths(models: ModelSet, conn, target: Target, schema: str = "declared") -> list[PathOutcome]:
    """Every path, each from the same data, on one of SCHEMAS; `conn` is left as it was."""
    with on_schema(conn, models, schema):
        checked = references(conn, models.schema)  # the tables and columns stay: read the catalog once
        return [run_path(models, conn, name, target, checked) for name in PATHS]


def run_path(models: ModelSet, conn, name: str, target: Target, checked: dict | None = None) -> PathOutcome:
    """Run one path on `conn` (already in a transaction) and undo it afterwards (`checked`: integrity.references)."""
    path = PATHS[name]
    undo = conn.begin_nested()
    try:
        error = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            db = models.sessionmaker(conn, join_transaction_mode="create_savepoint")()
            try:
                path(models, db, target)
            except Exception as exc:  # the outcome of a path is data here, not a test failure
                error = type(exc).__name__
                db.rollback()
            finally:
                db.close()
        Session = models.Session.__table__
        where = (Session.c.user_id == target.user_id) if name in USER_PATHS else (
            Session.c.id == target.session_id)
        left = conn.execute(select(Session.c.id).where(where)).all()
        return PathOutcome(name, error, len(left), orphans(conn, models.schema, checked),
                           sorted({str(w.message).split(" (")[0] for w in caught}))
    finally:
        undo.rollback()
