"""Axis `sync_flag`: how per-node sync state is stored and how "any node syncing" is found.

Review claim C2: scanning the node_sync_status JSON blob for active sync sessions is an O(N)
table scan; a first-class boolean fixes it. The values range from the reviewed JSON column to a
normalized table, each with the index (if any) its "active sync" query can use.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (JSON, BigInteger, Boolean, ForeignKey, Index, Select, Text, event, exists,
                        false, func, literal_column, select)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models_variants.axis import AxisValue
from models_variants.filling import TableFill
from models_variants.timestamps import utc_now_naive

if TYPE_CHECKING:
    from models_variants.factory import ModelSet

# "Some node of this session is syncing", as SQL/JSON path. jsonb_path_exists with this
# constant is IMMUTABLE, so it may appear in an index expression or predicate.
ANY_NODE_SYNCING = "$.* ? (@.is_syncing == true)"
_PATH = literal_column(f"'{ANY_NODE_SYNCING}'")  # a literal (not a bind) so partial indexes match


def any_syncing(state: dict | None) -> bool:
    return any(bool(node.get("is_syncing")) for node in (state or {}).values())


class SyncFlag(AxisValue):
    def active_sync_statement(self, models: ModelSet) -> Select:
        raise NotImplementedError

    def set_node_sync(self, db, models: ModelSet, session_id: int, node_id: str, flag: bool) -> None:
        """Read-modify-write through the ORM: the write path an application would use."""
        # OF sessions: a joined eager load must not lock (or outer-join-lock) the children
        row = db.get(models.Session, session_id, with_for_update={"of": models.Session}, populate_existing=True)
        if row is None:
            raise LookupError(f"session {session_id} not found")
        state = dict(row.node_sync_status or {})
        state[node_id] = {"is_syncing": flag, "last_sync": utc_now_naive().isoformat()}
        row.node_sync_status = state  # JSON values are not mutation-tracked: assign a new dict
        db.flush()

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        fills["sessions"].columns["node_sync_status"] = "src.node_sync::json"


class _JsonColumn:
    # Faithful to the review (Column(JSON, default={}, nullable=True)); default=dict writes the
    # same {} without sharing one mutable dict between rows.
    node_sync_status: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict, nullable=True)


class _JsonbColumn:
    node_sync_status: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=dict, nullable=True)


class Json(SyncFlag):
    name = "json"
    description = "JSON blob, no index; active sync = EXISTS over json_each (as reviewed)"
    session_mixin = _JsonColumn

    def active_sync_statement(self, models: ModelSet) -> Select:
        Session = models.Session
        nodes = func.json_each(Session.node_sync_status).table_valued("key", "value").alias("node")
        syncing = exists().select_from(nodes).where(nodes.c.value.op("->>")("is_syncing") == "true")
        return select(Session.id).where(syncing)


class JsonbGin(SyncFlag):
    name = "jsonb_gin"
    description = "JSONB + GIN (default jsonb_ops); active sync = node_sync_status @? jsonpath"
    session_mixin = _JsonbColumn

    def add_tables(self, models: ModelSet) -> None:
        # Default jsonb_ops, not jsonb_path_ops: jsonb_path_ops hashes whole paths, so a "$.*"
        # wildcard extracts no key and the index scan returns every row (see the tests);
        # jsonb_ops indexes the key "is_syncing" and the value true separately and narrows it.
        table = models.Session.__table__
        Index("ix_sessions_node_sync_gin", table.c.node_sync_status, postgresql_using="gin")

    def active_sync_statement(self, models: ModelSet) -> Select:
        return select(models.Session.id).where(models.Session.node_sync_status.op("@?")(_PATH))

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        fills["sessions"].columns["node_sync_status"] = "src.node_sync"


class JsonbExpr(SyncFlag):
    name = "jsonb_expr"
    description = "JSONB + partial index WHERE jsonb_path_exists(any node syncing)"
    session_mixin = _JsonbColumn

    @staticmethod
    def _predicate(column):
        return func.jsonb_path_exists(column, _PATH)

    def add_tables(self, models: ModelSet) -> None:
        table = models.Session.__table__
        Index("ix_sessions_any_syncing", table.c.id,
              postgresql_where=self._predicate(table.c.node_sync_status))

    def active_sync_statement(self, models: ModelSet) -> Select:
        # Same expression as the index predicate, so the planner can prove the index applies.
        return select(models.Session.id).where(self._predicate(models.Session.node_sync_status))

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        fills["sessions"].columns["node_sync_status"] = "src.node_sync"


class _BoolColumn(_JsonColumn):
    is_syncing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class BoolColumn(SyncFlag):
    name = "bool_column"
    description = "JSON blob kept + is_syncing boolean updated on every ORM write, partial index"
    session_mixin = _BoolColumn

    def add_tables(self, models: ModelSet) -> None:
        table = models.Session.__table__
        Index("ix_sessions_is_syncing", table.c.id, postgresql_where=table.c.is_syncing)

    def install(self, models: ModelSet) -> None:
        # Any assignment of node_sync_status (constructor included) recomputes the flag, so the
        # two representations cannot drift apart through the ORM write path.
        @event.listens_for(models.Session.node_sync_status, "set")
        def keep_flag_in_step(target, value, oldvalue, initiator):
            target.is_syncing = any_syncing(value)

    def active_sync_statement(self, models: ModelSet) -> Select:
        return select(models.Session.id).where(models.Session.is_syncing)

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        super().fill(models, fills)
        fills["sessions"].columns["is_syncing"] = "src.any_syncing"


class SyncTable(SyncFlag):
    name = "sync_table"
    description = "normalized session_node_sync(session_id, node_id, is_syncing, last_sync) table"
    # node_sync_status is dropped: one representation, nothing to keep in step.

    def add_tables(self, models: ModelSet) -> None:
        Base, deletion = models.Base, models.parts["deletion"]
        timestamps = models.parts["timestamps"]

        class SessionNodeSync(Base):
            __tablename__ = "session_node_sync"
            session_id: Mapped[int] = mapped_column(
                BigInteger, ForeignKey("sessions.id", ondelete=deletion.child_fk_ondelete),
                primary_key=True)
            node_id: Mapped[str] = mapped_column(Text, primary_key=True)
            is_syncing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
            last_sync: Mapped[datetime | None] = timestamps.column(now_default=False, nullable=True)

        table = SessionNodeSync.__table__
        Index("ix_session_node_sync_syncing", table.c.session_id, postgresql_where=table.c.is_syncing)
        models.SessionNodeSync = SessionNodeSync
        models.Session.node_syncs = relationship(
            SessionNodeSync, **deletion.relationship_kwargs("node_syncs"))

    def active_sync_statement(self, models: ModelSet) -> Select:
        nodes = models.SessionNodeSync
        syncing = select(nodes.session_id).where(nodes.is_syncing)
        return select(models.Session.id).where(models.Session.id.in_(syncing))

    def set_node_sync(self, db, models: ModelSet, session_id: int, node_id: str, flag: bool) -> None:
        if db.get(models.Session, session_id) is None:
            raise LookupError(f"session {session_id} not found")
        row = db.get(models.SessionNodeSync, (session_id, node_id), with_for_update=True)
        if row is None:
            row = models.SessionNodeSync(session_id=session_id, node_id=node_id)
            db.add(row)
        row.is_syncing, row.last_sync = flag, models.parts["timestamps"].now()
        db.flush()

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        fills["session_node_sync"] = TableFill("{src}.session_nodes src", {
            "session_id": "src.session_id", "node_id": "src.node_id",
            "is_syncing": "src.is_syncing",
            "last_sync": models.parts["timestamps"].fill_expr("src.last_sync")})


VALUES = (Json(), JsonbGin(), JsonbExpr(), BoolColumn(), SyncTable())
