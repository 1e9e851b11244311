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


_SERVER_COUNT = text("""
    select coalesce(sum(calls), 0)::bigint from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
      and toplevel
      and query !~* '^\\s*(begin|commit|rollback|start transaction|savepoint|release|deallocate|discard|set |show )'
      and query not ilike '%pg_stat_statements%'
      and query not ilike '%pg_current_wal_insert_lsn%'
      and query not ilike '%pg_prepared_statements%'
""")


def reset_server_count(conn: Connection) -> None:
    conn.execute(text("select pg_stat_statements_reset()"))
    conn.commit()


def server_count(conn: Connection) -> int:
    return int(conn.execute(_SERVER_COUNT).scalar_one())
