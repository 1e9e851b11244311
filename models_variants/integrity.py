"""Integrity checks that hold for every variant: orphaned rows and soft-delete leaks.

`orphans` is plain SQL over whatever tables the schema has, so it also sees rows no ORM path
would load. `leaks` goes through the ORM, the way an application reads, and counts
soft-deleted sessions (or their messages) that still show up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import joinedload, lazyload, selectinload, subqueryload

if TYPE_CHECKING:
    from models_variants.factory import ModelSet

# name -> (child table, child column, parent table); checked when both tables exist.
_REFERENCES = {
    "messages": ("messages", "session_id", "sessions"),
    "session_skills_session": ("session_skills", "session_id", "sessions"),
    "session_skills_skill": ("session_skills", "skill_id", "skills"),
    "sessions_user": ("sessions", "user_id", "users"),
    "session_node_sync": ("session_node_sync", "session_id", "sessions"),
    "messages_storage_backend": ("messages", "storage_backend_id", "storage_backends"),
}
LOADERS = {"lazyload": lazyload, "selectinload": selectinload, "joinedload": joinedload,
           "subqueryload": subqueryload}


def orphans(conn, schema: str) -> dict[str, int]:
    """Rows whose referenced parent row does not exist, per reference."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names(schema=schema))
    columns = {t: {c["name"] for c in inspector.get_columns(t, schema=schema)} for t in tables}
    counts = {}
    for name, (child, column, parent) in _REFERENCES.items():
        if child in tables and parent in tables and column in columns[child]:
            counts[name] = conn.execute(text(
                f'SELECT count(*) FROM "{schema}"."{child}" c WHERE c.{column} IS NOT NULL AND '
                f'NOT EXISTS (SELECT 1 FROM "{schema}"."{parent}" p WHERE p.id = c.{column})')).scalar()
    return counts


def leaks(db, models: ModelSet) -> dict[str, int]:
    """Soft-deleted sessions / their messages visible through normal reads (0 = none leak).

    query: select(Session) and db.get; relationship: User.sessions, Skill.sessions and
    Message.session, by default and under every loader option; messages: select(Message).
    """
    if not models.parts["deletion"].soft:
        return {"query": 0, "relationship": 0, "messages": 0}
    db.flush()
    Session, Message, User, Skill = models.Session, models.Message, models.User, models.Skill
    deleted = set(db.scalars(select(Session.id).where(Session.deleted_at.is_not(None)),
                             execution_options={"include_deleted": True}))
    fresh = models.sessionmaker(db.connection())  # a new identity map per probe, same transaction

    def probe(read) -> int:
        with fresh() as reader:
            return len(deleted & set(read(reader)))

    # Only rows that could reveal a deleted session are read: its owner, skills and messages.
    links = models.session_skills.c
    parents = (
        (select(User).where(User.id.in_(select(Session.user_id).where(Session.id.in_(deleted)))),
         User.sessions),
        (select(Skill).where(Skill.id.in_(select(links.skill_id).where(links.session_id.in_(deleted)))),
         Skill.sessions),
    )
    query = probe(lambda r: [s.id for s in r.scalars(select(Session)).unique()])
    query += probe(lambda r: [i for i in deleted if r.get(Session, i) is not None])
    relationship = 0
    for loader in (None, *LOADERS.values()):
        for statement, attribute in parents:
            if loader is not None:
                statement = statement.options(loader(attribute))
            relationship += probe(lambda r: [s.id for p in r.scalars(statement).unique()
                                             for s in getattr(p, attribute.key)])
        statement = select(Message).where(Message.session_id.in_(deleted))
        if loader is not None:
            statement = statement.options(loader(Message.session))
        relationship += probe(lambda r: [m.session.id for m in r.scalars(statement).unique()
                                         if m.session is not None])
    messages = probe(lambda r: [m.session_id for m in r.scalars(select(Message)).unique()])
    return {"query": query, "relationship": relationship, "messages": messages}
