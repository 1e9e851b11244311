"""Canonical source data for one run, bulk-loaded with COPY into a reusable schema (the rows come from
bench.data.datagen, the spec from bench.data.spec)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.csv as pcsv
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Engine

from bench.data.datagen import TABLES, SessionPlan, session_plan, table_batches
from bench.data.spec import DataSpec

_DDL = {
    "users": "id int NOT NULL, name text NOT NULL, created_at timestamp NOT NULL",
    "skills": "id int NOT NULL, name text NOT NULL, description text NOT NULL",
    "sessions": "id bigint NOT NULL, user_id int NOT NULL, title text NOT NULL, "
    "created_at timestamp NOT NULL, updated_at timestamp NOT NULL, node_sync jsonb NOT NULL, "
    "any_syncing boolean NOT NULL, deleted_draw double precision NOT NULL",
    "session_nodes": "session_id bigint NOT NULL, node_id text NOT NULL, "
    "is_syncing boolean NOT NULL, last_sync timestamp NOT NULL",
    "session_skills": "session_id bigint NOT NULL, skill_id int NOT NULL",
    "messages": "id bigint NOT NULL, session_id bigint NOT NULL, position int NOT NULL, "
    "sender text NOT NULL, content text NOT NULL, token_count int NOT NULL, "
    "created_at timestamp NOT NULL, audio_path text",
}
CSV_ROWS = 20_000  # rows per CSV piece handed to COPY (a few MB of text)
_BETWEEN_COMMANDS = (TransactionStatus.IDLE, TransactionStatus.INTRANS, TransactionStatus.INERROR)
_CONSTRAINTS = {
    "users": "PRIMARY KEY (id)",
    "skills": "PRIMARY KEY (id), ADD UNIQUE (name)",
    "sessions": "PRIMARY KEY (id)",
    "session_nodes": "PRIMARY KEY (session_id, node_id)",
    "session_skills": "PRIMARY KEY (session_id, skill_id)",
    "messages": "PRIMARY KEY (id)",
}


@dataclass
class LoadReport:
    """What one load_source call did; seconds is 0 when an earlier load was reused."""

    schema: str
    rows: dict[str, int]
    seconds: float
    reused: bool = False
    table_seconds: dict[str, float] = field(default_factory=dict)  # create+COPY+keys+ANALYZE
    long_session_id: int | None = None

    @property
    def rows_per_second(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


class _Stopped(Exception):
    """Ends the messages table's COPY when the load on the first connection has failed."""


class _Progress:
    """Counts rows loaded by both loading threads and forwards them to a bar or a callable."""

    def __init__(self, progress: bool | Callable[[int, int], None], schema: str, total: int):
        self.done, self.total, self._lock, self._bar = 0, total, threading.Lock(), None
        self.stopped = threading.Event()  # the other thread failed or was interrupted: give up too
        self._callback = progress if callable(progress) else None
        if progress is True:
            from tqdm import tqdm  # imported only when a bar is wanted

            self._bar = tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr,
                             desc=f"load {schema}")

    def advance(self, rows: int) -> None:
        with self._lock:
            self.done += rows
            if self._bar is not None:
                self._bar.update(rows)
            if self._callback is not None:
                self._callback(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _copy_table(raw, schema: str, table: str, batches: Iterator[pa.Table], progress) -> None:
    with raw.cursor() as cur:
        # CSV is built by Arrow in C++; FREEZE is allowed because the table was created in this
        # transaction, and spares the first reader from rewriting every page's hint bits
        stmt = sql.SQL("COPY {} FROM STDIN (FORMAT csv, FREEZE)").format(
            sql.Identifier(schema, table))
        # the queued writer sends from its own thread while this one builds the next block
        with cur.copy(stmt, writer=QueuedLibpqWriter(cur)) as copy:
            for batch in batches:
                if progress.stopped.is_set():  # raised inside the COPY: psycopg ends it, failed
                    raise _Stopped
                # CSV a slice at a time: the text of a whole block of messages would be held twice
                # (here and in the writer's queue) beside the block itself
                for part in batch.to_batches(max_chunksize=CSV_ROWS):
                    sink = pa.BufferOutputStream()
                    pcsv.write_csv(part, sink, pcsv.WriteOptions(include_header=False))
                    copy.write(memoryview(sink.getvalue()))
                progress.advance(batch.num_rows)


def _load_tables(conn: Connection, spec: DataSpec, plan: SessionPlan, schema: str,
                 tables: tuple[str, ...], progress: _Progress) -> dict[str, float]:
    """Create, fill, key and analyze `tables` in one transaction on `conn`; seconds per table."""
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    raw, seconds = conn.connection.driver_connection, {}
    for table in tables:
        started, name = time.perf_counter(), sql.Identifier(schema, table)
        raw.execute(sql.SQL("CREATE TABLE {} (" + _DDL[table] + ")").format(name))
        _copy_table(raw, schema, table, table_batches(spec, plan, table), progress)
        # keys after the data: one sorted index build is far cheaper than row-by-row upkeep
        raw.execute(sql.SQL("ALTER TABLE {} ADD " + _CONSTRAINTS[table]).format(name))
        raw.execute(sql.SQL("ANALYZE {}").format(name))
        seconds[table] = round(time.perf_counter() - started, 3)
    conn.commit()
    return seconds


def _load_on_new_connection(engine: Engine, *args) -> dict[str, float]:
    with engine.connect() as conn:
        return _load_tables(conn, *args)


def _saved_report(conn: Connection, spec: DataSpec, schema: str) -> LoadReport | None:
    marker = sql.Identifier(schema, "_load")
    raw = conn.connection.driver_connection
    if raw.execute("SELECT to_regclass(%s)", [marker.as_string(raw)]).fetchone()[0] is None:
        return None
    row = raw.execute(sql.SQL("SELECT spec, report FROM {}").format(marker)).fetchone()
    if row is None:
        return None
    if row[0] != spec.describe():
        raise ValueError(f"schema {schema} holds source data of another spec: {row[0]}")
    return LoadReport(schema, row[1]["rows"], 0.0, reused=True,
                      long_session_id=row[1]["long_session_id"])


def _fresh_load(conn: Connection, spec: DataSpec, schema: str, progress) -> LoadReport:
    started, raw = time.perf_counter(), conn.connection.driver_connection
    raw.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    for table in (*TABLES, "_load"):  # leftovers of a load that failed half way
        raw.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, table)))
    conn.commit()  # the second connection must see the schema
    plan = session_plan(spec)
    rows = plan.row_counts(spec)
    counter = _Progress(progress, schema, sum(rows.values()))
    # messages (about half of all the bytes) load on a second connection, so the two server
    # processes and the generator share both cores instead of taking turns
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            messages = pool.submit(_load_on_new_connection, conn.engine, spec, plan, schema,
                                   ("messages",), counter)
            others = tuple(t for t in TABLES if t != "messages")
            try:
                seconds = _load_tables(conn, spec, plan, schema, others, counter)
                seconds.update(messages.result())
            except BaseException:
                # only this thread sees Ctrl-C: without this the pool would wait for every message row
                counter.stopped.set()
                raise
    finally:
        counter.close()
    report = LoadReport(schema, rows, time.perf_counter() - started, table_seconds=seconds,
                        long_session_id=plan.long_session_id)
    # the marker goes in last: a schema without it is never mistaken for a complete load
    marker = sql.Identifier(schema, "_load")
    raw.execute(sql.SQL("CREATE TABLE {} (spec jsonb NOT NULL, report jsonb NOT NULL)")
                .format(marker))
    raw.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(marker),
                [Jsonb(spec.describe()), Jsonb(report.as_dict())])
    return report


def load_source(bind: Engine | Connection, spec: DataSpec, schema: str, *,
                progress: bool | Callable[[int, int], None] = False) -> LoadReport:
    """Fill the source tables of `schema` (created if missing) and commit; returns the report.

    `bind` is a SQLAlchemy Engine or Connection; COPY runs on its psycopg driver connection,
    and the messages table on a second connection taken from the same engine. A Connection's
    pending work is committed first. A schema whose `_load` marker holds the same spec is
    reused untouched; one holding another spec raises ValueError. `progress=True` draws a tqdm
    bar on stderr; a callable receives (rows_done, rows_total).
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return load_source(conn, spec, schema, progress=progress)
    bind.commit()
    # a session lock, not a transaction one: the load commits several times on the way;
    # a concurrent load of the same schema waits here and then reuses this one's data
    lock_key = (f"sessionbench.source:{schema}",)
    try:
        bind.exec_driver_sql("SELECT pg_advisory_lock(hashtext(%s))", lock_key)
        report = _saved_report(bind, spec, schema) or _fresh_load(bind, spec, schema, progress)
        bind.commit()
    except BaseException:
        # SQLAlchemy itself invalidates (closes) the connection when Ctrl-C lands inside one of its
        # calls, a commit for one; its rollback then only clears the transaction and sends nothing
        if bind.invalidated or _between_commands(bind):
            bind.rollback()
        else:
            _discard(bind)
        raise
    finally:
        if not bind.invalidated:
            bind.exec_driver_sql("SELECT pg_advisory_unlock(hashtext(%s))", lock_key)
            bind.commit()
    return report


def _between_commands(bind: Connection) -> bool:
    """Whether the connection can take a statement: not closed, and not inside one (ACTIVE).

    A Ctrl-C can land anywhere, psycopg's own code included: between sending a COPY or a statement
    and reading its answer, or inside the COPY's end. libpq then still waits for that answer, and
    whatever is sent next (a ROLLBACK, the unlock, the pool's reset) fails with "another command
    is already in progress".
    """
    raw = bind.connection.driver_connection
    return raw is not None and not raw.closed and raw.info.transaction_status in _BETWEEN_COMMANDS


def _discard(bind: Connection) -> None:
    """Close a connection left inside a command without sending it anything more.

    The server is first asked to cancel the command, so it lets go of the tables at once rather
    than when it next writes to the closed socket; the end of the session rolls the load back and
    releases its advisory lock.
    """
    try:
        bind.connection.driver_connection.cancel_safe(timeout=5)
    except Exception:  # noqa: BLE001 - the server may be gone; closing is what matters
        pass
    bind.invalidate()
