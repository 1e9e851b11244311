"""Server-side facts about a workload's main statement: plan shape, buffers, WAL, plan cache.

Plans are read the way the driver really gets them. psycopg 3 server-prepares a statement
after 5 executions; PostgreSQL then plans the first 5 executions of a prepared statement with
the actual parameters (custom plans) and may switch to one generic plan, which can lose a
partial index such as `WHERE is_syncing`. So both plans are read, and pg_prepared_statements
says which one the steady state used.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

_NAMED = re.compile(r"%\((\w+)\)s")


def numbered(sql: str, params) -> tuple[str, list]:
    """Turn the driver's pyformat SQL into PostgreSQL's $n form, with the values in order."""
    if isinstance(params, dict):
        order: list[str] = []

        def replace(match: re.Match) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        return _NAMED.sub(replace, sql).replace("%%", "%"), [params[name] for name in order]
    values = list(params or [])
    counter = iter(range(1, len(values) + 1))
    return re.sub(r"%s", lambda _m: f"${next(counter)}", sql).replace("%%", "%"), values


def walk(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


def summarize_plan(plan: dict) -> dict:
    """Top node, Seq Scan anywhere, indexes used, buffers and times from EXPLAIN JSON."""
    root = plan["Plan"]
    nodes = list(walk(root))
    return {
        "plan_top": root["Node Type"],
        "seq_scan": any(node["Node Type"] == "Seq Scan" for node in nodes),
        "indexes_used": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        "shared_hit": root.get("Shared Hit Blocks"),
        "shared_read": root.get("Shared Read Blocks"),
        "planning_ms": plan.get("Planning Time"),
        "execution_ms": plan.get("Execution Time"),
        "plan_rows": root.get("Actual Rows", root.get("Plan Rows")),
        # EXPLAIN adds a "JIT" section only when the statement was compiled: builds without LLVM never do
        "jit_used": "JIT" in plan,
    }


def explain_custom(conn: Connection, sql: str, params) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) with the actual parameter values, inside a rolled-back transaction."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params or None)
        plan = cursor.fetchone()[0][0]
    finally:
        cursor.close()
        conn.connection.driver_connection.rollback()
    return summarize_plan(plan)


def explain_generic(conn: Connection, sql: str, params, version_num: int) -> dict | None:
    """The generic plan PostgreSQL would cache for this statement (EXPLAIN (GENERIC_PLAN), PG 16+)."""
    if version_num < 160000:
        return None
    numbered_sql, values = numbered(sql, params)
    if not values:
        return None
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {numbered_sql}".replace("%", "%%"))
            plan = cursor.fetchone()[0][0]
    finally:
        raw.rollback()
    summary = summarize_plan(plan)
    return {"plan_top": summary["plan_top"], "seq_scan": summary["seq_scan"], "indexes_used": summary["indexes_used"]}


def prepared_statements(conn: Connection) -> list[tuple[str, int, int]]:
    """(statement, generic plans, custom plans) the driver has prepared on this connection."""
    rows = conn.exec_driver_sql(
        "select statement, generic_plans, custom_plans from pg_prepared_statements").all()
    return [(statement, int(generic), int(custom)) for statement, generic, custom in rows]


def prepared_summary(prepared: list[tuple[str, int, int]], main_sql: str | None, main_params) -> dict:
    """Which plan the main statement ran with, and how many executions used a generic plan."""
    main = numbered(main_sql, main_params)[0] if main_sql else None
    in_use = "custom"
    for statement, generic, custom in prepared:
        if statement == main and generic > custom:
            in_use = "generic"
    return {"prepared_statements": len(prepared), "plan_in_use": in_use,
            "generic_executions": sum(generic for _, generic, _ in prepared),
            "custom_executions": sum(custom for _, _, custom in prepared)}


def wal_position(conn: Connection) -> str:
    return conn.execute(text("select pg_current_wal_insert_lsn()::text")).scalar_one()


def wal_since(conn: Connection, start: str) -> int:
    return int(conn.execute(text("select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), cast(:lsn as pg_lsn))"),
                            {"lsn": start}).scalar_one())


def relation_sizes(conn: Connection, schema: str) -> dict:
    """Heap (with TOAST) and index bytes of every table in a variant's schema."""
    rows = conn.execute(text("""
        select c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = :schema and c.relkind = 'r' order by c.relname"""), {"schema": schema}).all()
    tables = {name: {"table_bytes": int(t), "index_bytes": int(i)} for name, t, i in rows}
    return {"table_bytes": sum(t["table_bytes"] for t in tables.values()),
            "index_bytes": sum(t["index_bytes"] for t in tables.values()), "tables": tables}
