"""Axis `deletion`: who removes a session's messages and skill links, or whether rows stay.

Review claim C3 (orphaned session_skills rows after an application-level purge) and C4 (soft
delete is affordable and allows recovery). `child_fk_ondelete` applies to every FK that points
at sessions from a child table (messages, session_node_sync) and to sessions.user_id; the
session_skills FKs are ON DELETE CASCADE in every variant, as reviewed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Index, Select, event, func, select, text, update
from sqlalchemy.orm import Mapped, mapped_column, with_loader_criteria

from models_variants.axis import AxisValue, UnsupportedByVariant

if TYPE_CHECKING:
    from models_variants.factory import ModelSet

# Relationship kinds the factory asks about: Session.messages, Session.skills (secondary),
# User.sessions and (sync_table only) Session.node_syncs.
_ORM_CASCADE = "all, delete-orphan"


def _doomed(models: ModelSet, source_schema: str) -> str:
    return (f"SELECT s.id FROM {models.q(source_schema)}.sessions s "
            f"WHERE s.deleted_draw < :fraction")


class Deletion(AxisValue):
    child_fk_ondelete: str | None = None
    soft = False
    # Another value whose delete paths this one takes alike (the same foreign keys, relationships and
    # deletes; tests/test_models_deletion.py holds both to the same outcomes): a run records them once.
    paths_as: str | None = None

    def relationship_kwargs(self, kind: str) -> dict:
        return {} if kind == "skills" else {"cascade": _ORM_CASCADE}

    def delete_session(self, db, models: ModelSet, session_obj) -> None:
        db.delete(session_obj)
        db.flush()

    def restore_session(self, db, models: ModelSet, session_id: int) -> int:
        raise UnsupportedByVariant(f"{self.name}: a hard-deleted session cannot be restored")

    def purge_session(self, db, models: ModelSet, session_id: int) -> int:
        raise UnsupportedByVariant(f"{self.name}: sessions are deleted for real, nothing to purge")

    def restore_all(self, conn, models: ModelSet) -> int:
        raise UnsupportedByVariant(f"{self.name}: hard-deleted sessions cannot be restored")

    def live_sessions_statement(self, models: ModelSet) -> Select:
        return select(models.Session)

    def soft_delete_fraction(self, conn, models: ModelSet, source_schema: str, fraction: float) -> int:
        # Hard variants delete for real, the way their ORM cascade would: children first.
        doomed = _doomed(models, source_schema)
        for child in models.child_tables():
            conn.execute(text(f"DELETE FROM {models.qualified(child)} WHERE session_id IN ({doomed})"),
                         {"fraction": fraction})
        result = conn.execute(text(f"DELETE FROM {models.qualified('sessions')} "
                                   f"WHERE id IN ({doomed})"), {"fraction": fraction})
        return result.rowcount


class HardOrm(Deletion):
    name = "hard_orm"
    description = "ORM cascade: delete-orphan removes messages, the ORM deletes link rows (as reviewed)"


class HardDb(Deletion):
    name = "hard_db"
    description = "passive_deletes=True everywhere; ON DELETE CASCADE in the database does the work"
    child_fk_ondelete = "CASCADE"

    def relationship_kwargs(self, kind: str) -> dict:
        return {**super().relationship_kwargs(kind), "passive_deletes": True}

    def soft_delete_fraction(self, conn, models: ModelSet, source_schema: str, fraction: float) -> int:
        result = conn.execute(text(f"DELETE FROM {models.qualified('sessions')} WHERE id IN "
                                   f"({_doomed(models, source_schema)})"), {"fraction": fraction})
        return result.rowcount


class _DeletedAt:
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Soft(HardOrm):
    name = "soft"
    description = "deleted_at timestamptz + partial indexes; hidden from every ORM read; restore/purge"
    session_mixin = _DeletedAt
    soft = True

    def add_tables(self, models: ModelSet) -> None:
        table = models.Session.__table__
        live = table.c.deleted_at.is_(None)
        Index("ix_sessions_live_updated_at", table.c.updated_at, postgresql_where=live)
        Index("ix_sessions_live_user_id", table.c.user_id, postgresql_where=live)

    def install(self, models: ModelSet) -> None:
        Session, Message = models.Session, models.Message
        sessions = Session.__table__
        live_ids = select(sessions.c.id).where(sessions.c.deleted_at.is_(None))
        criteria = (
            with_loader_criteria(Session, Session.deleted_at.is_(None), include_aliases=True),
            # Messages of a soft-deleted session are reachable by querying Message directly.
            with_loader_criteria(Message, Message.session_id.in_(live_ids), include_aliases=True),
        )

        @event.listens_for(models.OrmSession, "do_orm_execute")
        def hide_soft_deleted(state):
            # Relationship loads inherit the criteria from the statement that loaded their parent
            # (propagate_to_loaders); column refreshes of an object already held must still work.
            if (state.is_select and not state.is_column_load and not state.is_relationship_load
                    and not state.execution_options.get("include_deleted", False)):
                state.statement = state.statement.options(*criteria)

    def delete_session(self, db, models: ModelSet, session_obj) -> None:
        session_obj.deleted_at = func.now()
        db.flush()

    def restore_session(self, db, models: ModelSet, session_id: int) -> int:
        Session = models.Session
        statement = (update(Session).where(Session.id == session_id, Session.deleted_at.is_not(None))
                     .values(deleted_at=None).execution_options(synchronize_session=False))
        return db.execute(statement).rowcount

    def purge_session(self, db, models: ModelSet, session_id: int) -> int:
        Session = models.Session
        statement = select(Session).where(Session.id == session_id, Session.deleted_at.is_not(None))
        row = db.scalars(statement, execution_options={"include_deleted": True}).unique().one_or_none()
        if row is None:
            return 0
        db.delete(row)  # the ORM cascade of hard_orm removes messages and link rows
        db.flush()
        return 1

    def restore_all(self, conn, models: ModelSet) -> int:
        result = conn.execute(text(f"UPDATE {models.qualified('sessions')} SET deleted_at = NULL "
                                   f"WHERE deleted_at IS NOT NULL"))
        return result.rowcount

    def live_sessions_statement(self, models: ModelSet) -> Select:
        # Explicit as well as implied by the criteria, so the statement is also right on Core.
        return select(models.Session).where(models.Session.deleted_at.is_(None))

    def soft_delete_fraction(self, conn, models: ModelSet, source_schema: str, fraction: float) -> int:
        result = conn.execute(text(
            f"UPDATE {models.qualified('sessions')} SET deleted_at = now() "
            f"WHERE deleted_at IS NULL AND id IN ({_doomed(models, source_schema)})"),
            {"fraction": fraction})
        return result.rowcount


class SoftUnindexed(Soft):
    name = "soft_unindexed"
    description = "deleted_at timestamptz without partial indexes: live reads filter the plain indexes"
    paths_as = "soft"

    def add_tables(self, models: ModelSet) -> None:
        """No index knows which rows are live: the review's deleted_at column, as a first migration adds it."""


VALUES = (HardOrm(), HardDb(), Soft(), SoftUnindexed())
