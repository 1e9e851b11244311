"""Compose one model set from one value per axis: the only place the core models are written.

`build_models(variant, schema)` creates a new DeclarativeBase (own registry, own
MetaData(schema=schema)) on every call, so any number of variants can be mapped side by side
in one process and live in one database, each in its own schema.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Column, ForeignKey, Index, Integer, MetaData, Select, Table,
                        Text)
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from models_variants import filling
from models_variants.variant import Variant

# Tables whose rows belong to one session and must go when it goes (besides session_skills).
_CHILD_TABLES = ("messages", "session_node_sync")
_PREPARER = postgresql.dialect().identifier_preparer


def build_models(variant: Variant, schema: str) -> ModelSet:
    return ModelSet(variant, schema)


class ModelSet:
    """The mapped classes of one variant plus the behaviour each axis contributes."""

    def __init__(self, variant: Variant, schema: str) -> None:
        self.variant, self.schema = variant, schema
        self.parts = variant.values()
        self.OrmSession = type(f"OrmSession_{variant.slug}", (orm.Session,), {})
        self._define()
        for value in self.parts.values():
            value.add_tables(self)
        self.Base.registry.configure()  # this registry only: other variants stay untouched
        for value in self.parts.values():
            value.install(self)

    def _define(self) -> None:
        loading, deletion, timestamps = (self.parts[a] for a in ("loading", "deletion", "timestamps"))

        def mixins(attribute: str) -> tuple[type, ...]:
            return tuple(m for m in (getattr(v, attribute) for v in self.parts.values()) if m)

        class Base(DeclarativeBase):
            metadata = MetaData(schema=self.schema)

        # The link table is ON DELETE CASCADE at the database level only, as reviewed.
        session_skills = Table(
            "session_skills", Base.metadata,
            Column("session_id", BigInteger, ForeignKey("sessions.id", ondelete="CASCADE"),
                   primary_key=True),
            Column("skill_id", Integer, ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
        )

        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            name: Mapped[str] = mapped_column(Text)
            created_at: Mapped[datetime] = timestamps.column()
            sessions: Mapped[list[Session]] = relationship(
                back_populates="user", **deletion.relationship_kwargs("user_sessions"))

        class Skill(Base):
            __tablename__ = "skills"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            name: Mapped[str] = mapped_column(Text, unique=True)
            description: Mapped[str | None] = mapped_column(Text)
            # Read side only: Session.skills stays the one writer of the link table.
            sessions: Mapped[list[Session]] = relationship(
                secondary=session_skills, back_populates="skills", viewonly=True)

        class Session(*mixins("session_mixin"), Base):
            __tablename__ = "sessions"
            id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
            user_id: Mapped[int] = mapped_column(
                ForeignKey("users.id", ondelete=deletion.child_fk_ondelete), index=True)
            title: Mapped[str | None] = mapped_column(Text)
            created_at: Mapped[datetime] = timestamps.column()
            updated_at: Mapped[datetime] = timestamps.column()
            user: Mapped[User] = relationship(back_populates="sessions")
            messages: Mapped[list[Message]] = relationship(
                back_populates="session", order_by=lambda: Message.id,
                **loading.relationship_kwargs("messages"), **deletion.relationship_kwargs("messages"))
            skills: Mapped[list[Skill]] = relationship(
                secondary=session_skills, back_populates="sessions",
                **loading.relationship_kwargs("skills"), **deletion.relationship_kwargs("skills"))

        class Message(*mixins("message_mixin"), Base):
            __tablename__ = "messages"
            id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
            session_id: Mapped[int] = mapped_column(
                BigInteger, ForeignKey("sessions.id", ondelete=deletion.child_fk_ondelete), index=True)
            sender: Mapped[str] = mapped_column(Text)
            content: Mapped[str] = mapped_column(Text)
            token_count: Mapped[int] = mapped_column(Integer, default=0)
            created_at: Mapped[datetime] = timestamps.column()
            session: Mapped[Session] = relationship(back_populates="messages")

        # Indexes any deployment of the dashboard needs whatever the variant (the review does
        # not discuss them): sessions by recency, the skill side of the link table.
        Index("ix_sessions_updated_at", Session.__table__.c.updated_at)
        Index("ix_session_skills_skill_id", session_skills.c.skill_id)

        self.Base, self.metadata, self.session_skills = Base, Base.metadata, session_skills
        self.User, self.Skill, self.Session, self.Message = User, Skill, Session, Message

    # --- names -------------------------------------------------------------------------
    def q(self, name: str) -> str:
        """An identifier quoted for SQL text when PostgreSQL needs it."""
        return _PREPARER.quote(name)

    def qualified(self, table: str) -> str:
        return f"{self.q(self.schema)}.{self.q(table)}"

    def child_tables(self) -> list[str]:
        return [name for name in _CHILD_TABLES if name in self.tables()]

    def tables(self) -> dict[str, Table]:
        return {table.name: table for table in self.metadata.sorted_tables}

    # --- schema and data ---------------------------------------------------------------
    def create_schema(self, conn) -> None:
        filling.create_schema(conn, self)

    def fill_from_source(self, conn, source_schema: str) -> dict[str, int]:
        return filling.fill_from_source(conn, self, source_schema)

    def refill(self, conn, source_schema: str, tables: tuple[str, ...]) -> dict[str, int]:
        return filling.refill(conn, self, source_schema, tables)

    def sessionmaker(self, bind, **kwargs) -> orm.sessionmaker:
        """ORM sessions of this variant's own Session class (soft delete hooks live there)."""
        return orm.sessionmaker(bind=bind, class_=self.OrmSession, **kwargs)

    # --- behaviour, each from its axis ---------------------------------------------------
    def active_sync_statement(self) -> Select:
        return self.parts["sync_flag"].active_sync_statement(self)

    def set_node_sync(self, db, session_id: int, node_id: str, flag: bool) -> None:
        self.parts["sync_flag"].set_node_sync(db, self, session_id, node_id, flag)

    def delete_session(self, db, session_obj) -> None:
        self.parts["deletion"].delete_session(db, self, session_obj)

    def restore_session(self, db, session_id: int) -> int:
        return self.parts["deletion"].restore_session(db, self, session_id)

    def purge_session(self, db, session_id: int) -> int:
        return self.parts["deletion"].purge_session(db, self, session_id)

    def live_sessions_statement(self) -> Select:
        return self.parts["deletion"].live_sessions_statement(self)

    def soft_delete_fraction(self, conn, source_schema: str, fraction: float) -> int:
        return self.parts["deletion"].soft_delete_fraction(conn, self, source_schema, fraction)

    def restore_all_sessions(self, conn) -> int:
        return self.parts["deletion"].restore_all(conn, self)

    def migrate_audio_storage(self, db, new_root: str) -> int:
        return self.parts["audio_storage"].migrate(db, self, new_root)

    def audio_location(self, message) -> str | None:
        return self.parts["audio_storage"].audio_location(message)

    def __repr__(self) -> str:
        return f"<ModelSet {self.variant.label} in {self.schema}>"
