"""Integrity checks that hold for every variant: orphaned rows and soft-delete leaks.

`orphans` is plain SQL over whatever tables the schema has, so it also sees rows no ORM path
would load. `leaks` goes through the ORM, the way an application reads, and counts per read path
the soft-deleted sessions (or their messages) that still show up; with `raw_sql` it also runs the
plain SQL a hub might run beside the ORM. `drop_foreign_keys` gives the schema a hand-made or
older migration would have left, to see what the declared foreign keys prevent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, inspect, select, text
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


def references(conn, schema: str) -> dict[str, tuple[str, str, str]]:
    """The references `orphans` checks that this schema's tables have (read from the catalog once)."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names(schema=schema))
    columns = {t: {c["name"] for c in inspector.get_columns(t, schema=schema)} for t in tables}
    return {name: (child, column, parent) for name, (child, column, parent) in _REFERENCES.items()
            if child in tables and parent in tables and column in columns[child]}


def orphans(conn, schema: str, checked: dict[str, tuple[str, str, str]] | None = None) -> dict[str, int]:
    """Rows whose referenced parent row does not exist, per reference (`checked`: from `references`)."""
    counts = {}
    for name, (child, column, parent) in (checked if checked is not None else references(conn, schema)).items():
        counts[name] = conn.execute(text(
            f'SELECT count(*) FROM "{schema}"."{child}" c WHERE c.{column} IS NOT NULL AND '
            f'NOT EXISTS (SELECT 1 FROM "{schema}"."{parent}" p WHERE p.id = c.{column})')).scalar()
    return counts


def drop_foreign_keys(conn, schema: str) -> int:
    """Drop every foreign key of `schema` (inside the caller's transaction, which undoes it): the tables
    as a hand-made schema or an older migration left them. Returns how many were dropped."""
    found = conn.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = :schema"),
        {"schema": schema}).all()
    for table, name in found:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    return len(found)


# Raw SQL the hub might run beside the ORM (reports, admin scripts, exports): no loader criteria
# reaches it, so only a written-out filter hides soft-deleted rows. name -> SELECT of session ids.
RAW_SQL_READS = {
    "raw SQL: SELECT id FROM sessions": "SELECT id FROM {sessions}",
    "raw SQL: sessions JOIN session_skills": "SELECT s.id FROM {sessions} s JOIN {session_skills} l "
                                             "ON l.session_id = s.id",
    "raw SQL: SELECT session_id FROM messages": "SELECT session_id FROM {messages}",
}


def leaks(db, models: ModelSet, *, raw_sql: bool = False) -> dict[str, int]:
    """Soft-deleted sessions (or their messages) visible through each read path (0 = none leak).

    ORM paths: select(Session) and db.get; User.sessions, Skill.sessions and Message.session, by
    default and under every loader option; select(Message). With `raw_sql`, also RAW_SQL_READS:
    plain SQL without a deleted_at filter. Counts distinct deleted sessions seen per path.

    Each read is narrowed to rows that could reveal a deleted session, so the cost follows the
    deleted sessions, not the table (a full select(Message) is millions of objects at 100,000
    sessions): an id filter on the unfiltered selects and raw SQL (the variant's own filter still
    applies, or not, as it would), one message per deleted session for the message paths, and
    Skill.sessions through one skill, the deleted sessions' least linked one (every skill's
    collection goes through the same loader; its count is of the deleted sessions that skill links).
    """
    if not models.parts["deletion"].soft:
        return dict.fromkeys(_leak_paths(raw_sql), 0)
    db.flush()
    Session, Message, User, Skill = models.Session, models.Message, models.User, models.Skill
    deleted = set(db.scalars(select(Session.id).where(Session.deleted_at.is_not(None)),
                             execution_options={"include_deleted": True}))
    fresh = models.sessionmaker(db.connection())  # a new identity map per probe, same transaction

    def probe(read) -> int:
        with fresh() as reader:
            return len(deleted & set(read(reader)))

    links = models.session_skills.c
    skill = db.connection().execute(
        select(links.skill_id).where(links.skill_id.in_(select(links.skill_id).where(links.session_id.in_(deleted))))
        .group_by(links.skill_id).order_by(func.count(), links.skill_id).limit(1)).scalar()
    parents = (
        (select(User).where(User.id.in_(select(Session.user_id).where(Session.id.in_(deleted)))),
         User.sessions),
        (select(Skill).where(Skill.id == skill), Skill.sessions),
    )
    one_message_each = select(func.min(Message.id)).where(Message.session_id.in_(deleted)).group_by(Message.session_id)
    found = {"select(Session)": probe(lambda r: [s.id for s in r.scalars(
                 select(Session).where(Session.id.in_(deleted))).unique()]),
             "db.get(Session, id)": probe(lambda r: [i for i in deleted if r.get(Session, i) is not None])}
    for loader_name, loader in (("default", None), *LOADERS.items()):
        for statement, attribute in parents:
            if loader is not None:
                statement = statement.options(loader(attribute))
            found[f"{attribute} ({loader_name})"] = probe(
                lambda r: [s.id for p in r.scalars(statement).unique() for s in getattr(p, attribute.key)])
        statement = select(Message).where(Message.id.in_(one_message_each))
        if loader is not None:
            statement = statement.options(loader(Message.session))
        found[f"Message.session ({loader_name})"] = probe(
            lambda r: [m.session.id for m in r.scalars(statement).unique() if m.session is not None])
    found["select(Message)"] = probe(lambda r: [m.session_id for m in r.scalars(
        select(Message).where(Message.id.in_(one_message_each))).unique()])
    if raw_sql:
        names = {"sessions": models.qualified("sessions"), "session_skills": models.qualified("session_skills"),
                 "messages": models.qualified("messages")}
        for name, sql in RAW_SQL_READS.items():
            narrowed = text(f"SELECT DISTINCT id FROM ({sql.format(**names)}) AS hub_read (id) WHERE id IN :deleted")
            found[name] = len(deleted & set(db.connection().execute(
                narrowed.bindparams(bindparam("deleted", expanding=True)), {"deleted": sorted(deleted)}).scalars()))
    return found


def _leak_paths(raw_sql: bool) -> list[str]:
    relationships = [f"{a} ({loader})" for loader in ("default", *LOADERS)
                     for a in ("User.sessions", "Skill.sessions", "Message.session")]
    return ["select(Session)", "db.get(Session, id)", *relationships, "select(Message)",
            *(RAW_SQL_READS if raw_sql else ())]
