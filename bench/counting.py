"""Exact statement counts: what the client sent (SQLAlchemy cursor events) and what the server ran.

The client count comes from `before/after_cursor_execute` on the Engine, so it sees every
statement SQLAlchemy sends, lazy loads included. The server count comes from
pg_stat_statements where the backend preloads it. Transaction control (BEGIN/COMMIT) and the
DEALLOCATE ALL psycopg sends after a rollback are left out, so the two counts agree exactly
when nothing hides from the client.
"""

from __future__ import annotations

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

    def as_dict(self, number: int) -> dict:
        return {"n": number, "sql": self.sql, "ms": round(self.seconds * 1000, 3), "rows": self.rows}


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
        self._raw.append((statement, parameters, time.perf_counter()))

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ARG002
        self._done.append((time.perf_counter(), cursor.rowcount))

    @property
    def statements(self) -> list[Statement]:
        out = []
        for (sql, params, started), (ended, rows) in zip(self._raw, self._done):
            out.append(Statement(sql, params, ended - started, rows if rows is not None else -1))
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
    def rows(self) -> int:
        return sum(max(s.rows, 0) for s in self.statements)

    def first_select(self) -> Statement | None:
        return next((s for s in self.statements if s.sql.lstrip().upper().startswith("SELECT")), None)


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
    return bool(server.pg_stat_statements) and server.backend in ("embedded", "docker")
