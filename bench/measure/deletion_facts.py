"""Claim C4 beyond latency, as exact facts per deletion variant: what soft delete does to unique keys,
which read paths still see deleted rows, and the bloat many delete/restore cycles leave.

Each function runs on a variant's filled schema and leaves it as it found it: `unique_keys` and
`leaked_rows` work inside the caller's transaction (rolled back), `bloat_after_cycles` on a copy of
the sessions table in a scratch schema it drops. Every function returns fact rows,
{"check", "case", ...}, that `sessionbench run` stores as the results' `deletion_facts`.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models_variants.integrity import leaks

# A session key the hub could require to be unique per user (a share link's slug, say): declared on a
# new column, so the generated titles' repeats do not matter. The partial form is the soft-delete fix.
UNIQUE_KEYS = {
    "unique (user_id, slug)": "",
    "unique (user_id, slug) WHERE deleted_at IS NULL": " WHERE deleted_at IS NULL",
}
# Bloat: CYCLES times, soft-delete CYCLE_FRACTION of the sessions, then restore them all; once with no
# VACUUM (autovacuum off or behind) and once with a plain VACUUM after every cycle (autovacuum keeping up).
# The cycles run on the first BLOAT_SAMPLE sessions (by id), whatever the data size: bloat is a ratio of
# the table to itself, and ten full-table rewrites of 1,000,000 sessions would take minutes. The rows
# say how many sessions the copy held.
CYCLES = 10
CYCLE_FRACTION = 0.5
BLOAT_SAMPLE = 10_000
VACUUM_MODES = ("no VACUUM", "VACUUM after each cycle")


def _outcome(conn, statement: str, params: dict) -> str | None:
    """Run one statement in a savepoint: None when it succeeded, else the driver's error class
    (UniqueViolation, NotNullViolation, ...: SQLAlchemy raises all of them as IntegrityError)."""
    attempt = conn.begin_nested()
    try:
        conn.execute(text(statement), params)
    except DBAPIError as exc:
        attempt.rollback()
        return type(exc.orig).__name__
    attempt.commit()
    return None


def unique_keys(models, conn, session_id: int) -> list[dict]:
    """Delete a session through the variant, then create a new one with the same unique key, then (soft
    variants) restore the deleted one: per form of the unique index, the error each step raised (None:
    it succeeded). Inside `conn`'s transaction; undone before returning."""
    soft = models.parts["deletion"].soft
    sessions = models.qualified("sessions")
    rows = []
    for case, where in UNIQUE_KEYS.items():
        if where and not soft:
            rows.append({"check": "unique", "case": case, "step": "re-create after delete", "error": None,
                         "applies": False})
            continue
        undo = conn.begin_nested()
        try:
            conn.execute(text(f"ALTER TABLE {sessions} ADD COLUMN slug text"))
            conn.execute(text(f"CREATE UNIQUE INDEX ON {sessions} (user_id, slug){where}"))
            user_id = conn.execute(text(f"UPDATE {sessions} SET slug = 'weekly-report' WHERE id = :id "
                                        f"RETURNING user_id"), {"id": session_id}).scalar_one()
            db = models.sessionmaker(conn, join_transaction_mode="create_savepoint")()
            models.delete_session(db, db.get(models.Session, session_id))
            db.commit()
            db.close()
            recreate = _outcome(conn, f"INSERT INTO {sessions} (id, user_id, title, slug, created_at, updated_at) "
                                      f"SELECT max(id) + 1, :user_id, 'weekly report', 'weekly-report', now(), now() "
                                      f"FROM {sessions}", {"user_id": user_id})
            rows.append({"check": "unique", "case": case, "step": "re-create after delete", "error": recreate,
                         "applies": True})
            if soft and recreate is None:
                restored = _outcome(conn, f"UPDATE {sessions} SET deleted_at = NULL WHERE id = :id", {"id": session_id})
                rows.append({"check": "unique", "case": case, "step": "restore after re-create", "error": restored,
                             "applies": True})
        finally:
            undo.rollback()
    return rows


def leaked_rows(models, conn, user_id: int) -> list[dict]:
    """Delete every session of one user through the variant, then count, per read path (the ORM's and
    raw SQL's, integrity.leaks), the deleted sessions it still returns. Undone before returning."""
    undo = conn.begin_nested()
    try:
        db = models.sessionmaker(conn, join_transaction_mode="create_savepoint")()
        doomed = db.scalars(select(models.Session).where(models.Session.user_id == user_id)).unique().all()
        for session in doomed:
            models.delete_session(db, session)
        db.flush()
        found = leaks(db, models, raw_sql=True)
        db.close()
        return [{"check": "leak", "case": path, "deleted": len(doomed), "rows": rows} for path, rows in found.items()]
    finally:
        undo.rollback()


def _flush_stats(conn) -> None:
    """This backend's pending table statistics written out now (they wait up to a second otherwise), so a
    VACUUM's own count is not overwritten by earlier updates' counts, and a read sees every update."""
    conn.execute(text("SELECT pg_stat_force_next_flush()"))
    conn.execute(text("SELECT 1"))  # the flush happens at the end of a transaction: this one
    conn.execute(text("SELECT pg_stat_clear_snapshot()"))


def _sizes(conn, table: str) -> dict:
    _flush_stats(conn)
    return conn.execute(text(
        "SELECT pg_table_size(CAST(:t AS regclass)) AS table_bytes, "
        "pg_indexes_size(CAST(:t AS regclass)) AS index_bytes, "
        "pg_stat_get_dead_tuples(CAST(:t AS regclass)) AS dead_tuples"), {"t": table}).mappings().one()


def bloat_after_cycles(models, engine, source_schema: str, cycles: int = CYCLES,
                       fraction: float = CYCLE_FRACTION, sample: int = BLOAT_SAMPLE) -> list[dict]:
    """Table and index bytes and dead tuples of the sessions table after `cycles` soft delete/restore
    cycles, per VACUUM_MODES, on a vacuumed copy of the variant's first `sample` sessions (its indexes
    included) in a scratch schema; [] for a variant that cannot restore."""
    if not models.parts["deletion"].soft:
        return []
    scratch = f"{models.schema}_bloat"[:63]
    rows = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        try:
            for mode in VACUUM_MODES:
                table = f'"{scratch}".sessions'
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{scratch}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{scratch}"'))
                conn.execute(text(f"CREATE TABLE {table} (LIKE {models.qualified('sessions')} INCLUDING DEFAULTS "
                                  f"INCLUDING INDEXES) WITH (autovacuum_enabled = false)"))
                copied = conn.execute(text(f"INSERT INTO {table} SELECT * FROM {models.qualified('sessions')} "
                                           f"ORDER BY id LIMIT :sample"), {"sample": sample}).rowcount
                conn.execute(text(f"VACUUM (FREEZE, ANALYZE) {table}"))
                before = _sizes(conn, table)
                doomed = (f"SELECT s.id FROM {models.q(source_schema)}.sessions s "
                          f"WHERE s.deleted_draw < :fraction")
                for _ in range(cycles):
                    conn.execute(text(f"UPDATE {table} SET deleted_at = now() WHERE deleted_at IS NULL "
                                      f"AND id IN ({doomed})"), {"fraction": fraction})
                    conn.execute(text(f"UPDATE {table} SET deleted_at = NULL WHERE deleted_at IS NOT NULL"))
                    if mode != "no VACUUM":
                        _flush_stats(conn)
                        conn.execute(text(f"VACUUM {table}"))
                after = _sizes(conn, table)
                rows.append({"check": "bloat", "case": f"{cycles} cycles of {fraction:.0%} deleted and restored, "
                                                       f"{mode}", "cycles": cycles, "vacuum": mode != "no VACUUM",
                             "sample_sessions": copied,
                             "table_bytes_before": before["table_bytes"], "index_bytes_before": before["index_bytes"],
                             "table_bytes": after["table_bytes"], "index_bytes": after["index_bytes"],
                             "dead_tuples": after["dead_tuples"]})
        finally:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{scratch}" CASCADE'))
    return rows


def deletion_facts(models, engine, source_schema: str, session_id: int, user_id: int) -> list[dict]:
    """Every C4 fact of one deletion variant: unique keys, leaks per read path, bloat."""
    with engine.connect() as conn:
        found = unique_keys(models, conn, session_id) + leaked_rows(models, conn, user_id)
        conn.rollback()
    return found + bloat_after_cycles(models, engine, source_schema)
