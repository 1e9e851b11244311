"""Exact counts of one round: statements, executions, round trips, and what the server sent.

What each count is, the same on every variant:

- a **statement** (`statements`) is one call the client makes to the driver: one
  `cursor.execute` or `cursor.executemany`, as SQLAlchemy's `before/after_cursor_execute` events
  on the Engine see it (lazy loads included). An ORM executemany `DELETE FROM messages` with 8
  parameter sets is 1 statement;
- an **execution** (`executions`, and `executions` per `trace` entry) is one statement run by the
  server with one parameter set: that DELETE is 8 executions. `server_statements` is the server's
  own count of them (pg_stat_statements, where the backend preloads it and the run started the
  server); the two agree exactly when nothing hides from the client. Transaction control
  (BEGIN/COMMIT/ROLLBACK) and the DEALLOCATE ALL psycopg sends after a rollback are executions of
  neither;
- a **round trip** (`round_trips`) is one request the client sends and then waits for: one per
  ReadyForQuery the server sends (each answers one Sync or simple Query). Every statement is one
  (an executemany in psycopg's pipeline mode sends all its parameter sets and one Sync: 1 round
  trip, N executions), psycopg's separate Parse when it prepares a statement (on its 6th
  execution in a connection) is one more, and so are BEGIN, ROLLBACK/COMMIT and DEALLOCATE ALL.
  This is what an added network round-trip time multiplies;
- **wire rows** and **wire bytes** (`wire_rows`, `wire_bytes`) are the rows (DataRow messages)
  and the bytes of every protocol message the server sent over the whole round, every statement
  and transaction control included (before TLS, where a connection uses it). `rows` is what the
  workload itself used, so a strategy that fetches what the page never shows is visible.

Round trips and wire counts come from libpq's own protocol trace (PQtrace, through psycopg's
`PGconn.trace`) of the workload's connection during the counting round only, so no relay is
needed and timed rounds are never traced.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine


@dataclass
class Statement:
    sql: str
    params: object
    seconds: float = 0.0
    rows: int = -1
    executions: int = 1  # parameter sets the server ran it with (an executemany's count)

    def as_dict(self, number: int) -> dict:
        return {"n": number, "sql": self.sql, "ms": round(self.seconds * 1000, 3), "rows": self.rows,
                "executions": self.executions}


@dataclass
class StatementCounter:
    """Context manager recording every statement an Engine sends while it is open.

    The listeners only append to lists: they run inside the driver call path, and the suite
    measures (bench/benchmarks/test_suite_overhead.py) what they add to a single-row SELECT.
    """

    engine: Engine
    _raw: list = field(default_factory=list)
    _done: list = field(default_factory=list)

    def _before(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ARG002
        self._raw.append((statement, parameters, time.perf_counter(), len(parameters) if executemany else 1))

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ARG002
        self._done.append((time.perf_counter(), cursor.rowcount))

    @property
    def statements(self) -> list[Statement]:
        out = []
        for (sql, params, started, executions), (ended, rows) in zip(self._raw, self._done):
            out.append(Statement(sql, params, ended - started, rows if rows is not None else -1, executions))
        return out

    @property
    def listening(self) -> bool:
        return event.contains(self.engine, "before_cursor_execute", self._before)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    @property
    def count(self) -> int:
        return len(self._raw)

    @property
    def executions(self) -> int:
        return sum(executions for *_, executions in self._raw)

    @property
    def rows(self) -> int:
        return sum(max(s.rows, 0) for s in self.statements)

    def first_select(self) -> Statement | None:
        return next((s for s in self.statements if s.sql.lstrip().upper().startswith("SELECT")), None)


@dataclass(frozen=True)
class Wire:
    """What crossed one connection while it was traced (see the module docstring for each count)."""

    round_trips: int
    wire_rows: int
    wire_bytes: int

    def as_dict(self) -> dict:
        return {"round_trips": self.round_trips, "wire_rows": self.wire_rows, "wire_bytes": self.wire_bytes}


def parse_trace(trace: bytes) -> Wire:
    """Count libpq trace lines (`B\t17\tDataRow\t ...`: direction, length, message type): a
    message's bytes are its length field plus the type byte."""
    round_trips = rows = sent = 0
    for line in trace.splitlines():
        direction, _, rest = line.partition(b"\t")
        if direction != b"B":
            continue
        length, _, rest = rest.partition(b"\t")
        kind = rest.split(b"\t", 1)[0].strip()
        if not length.isdigit():
            continue
        sent += int(length) + 1
        if kind == b"DataRow":
            rows += 1
        elif kind == b"ReadyForQuery":
            round_trips += 1
    return Wire(round_trips, rows, sent)


class WireCounter:
    """libpq's protocol trace of one psycopg connection, written to a temporary file.

    `pause()`/`resume()` leave out the suite's own queries on the same connection (the prepared
    statements a round leaves). libpq never closes the stream it is given, so each `resume` hands it
    a duplicate descriptor that `stop` closes; where libpq cannot trace (psycopg supports it on
    Linux only) `stop` returns None.
    """

    def __init__(self, dbapi_connection) -> None:
        self._pgconn = dbapi_connection.pgconn
        self._file = tempfile.TemporaryFile(prefix="sessionbench-wire-")
        self._fds: list[int] = []
        self._tracing = False
        self.unavailable: str | None = None

    def resume(self) -> None:
        from psycopg import NotSupportedError, pq

        if self.unavailable:
            return
        fd = os.dup(self._file.fileno())
        self._fds.append(fd)
        try:
            self._pgconn.trace(fd)
            self._pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        except NotSupportedError as exc:
            self.unavailable = str(exc)
            return
        self._tracing = True

    start = resume

    def pause(self) -> None:
        if self._tracing:
            self._pgconn.untrace()  # flushes libpq's stream
            self._tracing = False

    def stop(self) -> Wire | None:
        self.pause()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        with self._file:
            self._file.seek(0)
            trace = self._file.read()
        return None if self.unavailable else parse_trace(trace)


# The run's statements on a server the run started itself: the database is the run's alone, so
# every statement in it is the run's, except the suite's own bookkeeping (left out below).
# pg_stat_statements is never reset (on a shared server that wipes every database's statistics);
# a count is the difference of two snapshots. It cannot be narrowed further by schema: since
# PostgreSQL 18 it groups statements by table name, so the same query on two variant schemas
# shares one entry. On a server the run did not start, other clients of the same database would
# be counted too, so no server count is reported there (SERVER_COUNT_UNAVAILABLE says why).
_SERVER_TOTALS = text("""
    select coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0)::float8,
           (select dealloc from pg_stat_statements_info)
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
      and toplevel
      and query !~* '^\\s*(begin|commit|rollback|start transaction|savepoint|release|deallocate|discard|set |show |vacuum|analyze|alter table)'
      and query not ilike '%pg_stat_%'
      and query not ilike '%pg_current_wal_insert_lsn%'
      and query not ilike '%pg_prepared_statements%'
      and query not ilike '%generate_series%'
""")
SERVER_COUNT_UNAVAILABLE = ("not counted on a server the run did not start: other clients of the same database "
                            "cannot be told apart from the run")


@dataclass(frozen=True)
class ServerTotals:
    """Calls and execution time the server has recorded for the database's statements so far."""

    calls: int
    exec_s: float
    evictions: int = 0  # entries pg_stat_statements dropped to make room (pg_stat_statements_info.dealloc)

    def since(self, earlier: ServerTotals) -> ServerTotals | None:
        """The difference, or None when entries were evicted in between: a count would then be wrong."""
        if self.evictions != earlier.evictions:
            return None
        return ServerTotals(self.calls - earlier.calls, self.exec_s - earlier.exec_s, 0)


def server_totals(conn: Connection) -> ServerTotals:
    calls, exec_ms, evictions = conn.execute(_SERVER_TOTALS).one()
    conn.commit()
    return ServerTotals(int(calls), float(exec_ms) / 1000, int(evictions or 0))


def server_counts_usable(server) -> bool:
    """Server-side counts and times are the run's own only on a server it started, with pg_stat_statements."""
    return bool(server.pg_stat_statements) and server.started_here
