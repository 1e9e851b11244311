"""Create a variant's tables and fill them from the canonical source schema in SQL.

Every table is one INSERT .. SELECT; the factory supplies the plain columns and each axis value
adds the SELECT expressions for its own columns (or whole tables). Secondary indexes and foreign
keys come after the data is in, as a bulk load does: one sorted build per index and one validating
query per key, instead of an index insertion and a trigger's lookup for every row; then the tables
are analyzed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateSchema, CreateTable

if TYPE_CHECKING:
    from models_variants.factory import ModelSet


@dataclass
class TableFill:
    """FROM clause (placeholders {src}, {tgt} = quoted schemas) and target column -> expression."""

    source: str
    columns: dict[str, str] = field(default_factory=dict)


def base_fills(models: ModelSet) -> dict[str, TableFill]:
    when = models.parts["timestamps"].fill_expr
    return {
        "users": TableFill("{src}.users src", {
            "id": "src.id", "name": "src.name", "created_at": when("src.created_at")}),
        "skills": TableFill("{src}.skills src", {
            "id": "src.id", "name": "src.name", "description": "src.description"}),
        "sessions": TableFill("{src}.sessions src", {
            "id": "src.id", "user_id": "src.user_id", "title": "src.title",
            "created_at": when("src.created_at"), "updated_at": when("src.updated_at")}),
        "session_skills": TableFill("{src}.session_skills src", {
            "session_id": "src.session_id", "skill_id": "src.skill_id"}),
        "messages": TableFill("{src}.messages src", {
            "id": "src.id", "session_id": "src.session_id", "sender": "src.sender",
            "content": "src.content", "token_count": "src.token_count",
            "created_at": when("src.created_at")}),
    }


def create_schema(conn, models: ModelSet) -> None:
    """The variant's schema and tables, without their foreign keys: `fill_from_source` adds those."""
    conn.execute(CreateSchema(models.schema, if_not_exists=True))
    for table in models.metadata.sorted_tables:
        conn.execute(CreateTable(table, include_foreign_key_constraints=[]))


def _fill_plan(models: ModelSet, source_schema: str) -> list[tuple[str, str]]:
    """(table, INSERT .. SELECT) per table, parents before children so FKs hold row by row."""
    fills = base_fills(models)
    for value in models.parts.values():
        value.fill(models, fills)
    tables = models.metadata.sorted_tables
    missing = {t.name for t in tables} - fills.keys()
    if missing:
        raise ValueError(f"no fill for tables {sorted(missing)}")
    names = {"src": models.q(source_schema), "tgt": models.q(models.schema)}
    plan = []
    for table in tables:
        fill = fills[table.name]
        columns = ", ".join(models.q(name) for name in fill.columns)
        select = ", ".join(fill.columns.values())
        plan.append((table.name, f"INSERT INTO {models.qualified(table.name)} ({columns}) "
                                 f"SELECT {select} FROM {fill.source.format(**names)}"))
    return plan


def fill_statements(models: ModelSet, source_schema: str) -> list[str]:
    """The statements `fill_from_source` runs to fill the tables (index builds aside)."""
    return [statement for _, statement in _fill_plan(models, source_schema)]


def fill_from_source(conn, models: ModelSet, source_schema: str, only: tuple[str, ...] | None = None) -> dict[str, int]:
    """Fill the (empty) tables from the source, then their indexes and foreign keys; `only` some of them."""
    plan = [(table, statement) for table, statement in _fill_plan(models, source_schema) if not only or table in only]
    rows = {table: conn.execute(text(statement)).rowcount for table, statement in plan}
    for table in models.metadata.sorted_tables:
        if only and table.name not in only:
            continue
        for index in sorted(table.indexes, key=lambda index: index.name):
            conn.execute(CreateIndex(index))
        for key in sorted(table.foreign_key_constraints, key=lambda key: key.name or ""):
            conn.execute(AddConstraint(key))
        _advance_id_sequence(conn, models, table)
        conn.execute(text(f"ANALYZE {models.qualified(table.name)}"))
    return rows


def refill(conn, models: ModelSet, source_schema: str, tables: tuple[str, ...]) -> dict[str, int]:
    """Put `tables` back as loaded (dropped, created, filled) while the others stay: only for tables
    no other table references, so a backfill that rewrote every message does not reload the sessions."""
    referenced = {key.referred_table.name for table in models.metadata.sorted_tables
                  if table.name not in tables for key in table.foreign_key_constraints}
    if referenced & set(tables):
        raise ValueError(f"other tables reference {sorted(referenced & set(tables))}: refill them all")
    chosen = [table for table in models.metadata.sorted_tables if table.name in tables]
    for table in reversed(chosen):  # referencing tables first
        conn.execute(text(f"DROP TABLE {models.qualified(table.name)}"))
    for table in chosen:
        conn.execute(CreateTable(table, include_foreign_key_constraints=[]))
    return fill_from_source(conn, models, source_schema, only=tables)


def _advance_id_sequence(conn, models: ModelSet, table) -> None:
    # Rows came with explicit ids; later ORM inserts must not collide with them.
    column = table.autoincrement_column
    if column is None:
        return
    name = models.qualified(table.name)
    conn.execute(text(
        f"SELECT setval(pg_get_serial_sequence(:table, :column), coalesce(max({column.name}), 1), "
        f"max({column.name}) IS NOT NULL) FROM {name}"), {"table": name, "column": column.name})
