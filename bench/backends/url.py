"""The url backend: a server someone else runs, touched only through the run's own schemas."""

from __future__ import annotations

import contextlib
import secrets
import sys
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from bench import redact
from bench.backends import leftovers
from bench.faults import first_line, known_fault
from bench.backends.registry import Backend, Opening
from bench.backends.server import Server, probe
from bench.errors import UserError


@contextlib.contextmanager
def url_server(database_url: str, backend: str = "url") -> Iterator[Server]:
    """A server someone else runs: the suite touches only schemas it creates itself."""
    try:
        url = make_url(database_url)
    except Exception:
        raise UserError("--database-url is not a database URL",
                        "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME") from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise UserError(f"--database-url names a {url.get_backend_name()} database; sessionbench needs PostgreSQL",
                        "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    redact.register(url.password)
    url = url.set(drivername="postgresql+psycopg")
    server = probe(Server(backend, url, where=url.host or "unix socket"), enable_statements=False)
    check_can_create_schema(url)
    drop_schemas_left_earlier(server)
    yield server


def drop_schemas_left_earlier(server: Server) -> None:
    """Drop the schemas an earlier run could not drop on this server (it went away), saying so."""
    names = leftovers.remembered_schemas(server.safe_url)
    if not names:
        return
    engine = create_engine(server.url, connect_args={"application_name": "sessionbench/setup"})
    try:
        with engine.begin() as conn:
            conn.execute(text("set local lock_timeout = '10s'"))
            for name in names:
                conn.execute(text(f'drop schema if exists "{name}" cascade'))
    except DBAPIError as exc:
        print(f"sessionbench: could not drop {len(names)} schemas an earlier run left on this server "
              f"({first_line(exc)}); they stay listed for the next run", file=sys.stderr, flush=True)
        return
    finally:
        engine.dispose()
    leftovers.forget_schemas(server.safe_url, names)
    print(f"sessionbench: dropped {len(names)} schemas an earlier run could not drop on this server: "
          f"{', '.join(names)}", file=sys.stderr, flush=True)


def check_can_create_schema(url: URL) -> None:
    engine = create_engine(url, connect_args={"application_name": "sessionbench/setup"})
    name = f"sb_probe_{secrets.token_hex(4)}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f'create schema "{name}"'))
            conn.execute(text(f'drop schema "{name}"'))
    except DBAPIError as exc:
        known = known_fault(exc, "the check that a schema can be created")
        if known is not None:
            raise known from None
        if not isinstance(exc, (ProgrammingError, OperationalError)):
            raise
        raise UserError(f"the database user cannot create a schema here: {first_line(exc)}",
                        "grant CREATE on the database (GRANT CREATE ON DATABASE ... TO ...) or use another database")\
            from None
    finally:
        engine.dispose()


def _needs_url(opening: Opening) -> str:
    if not opening.database_url:
        raise UserError(f"--backend {opening.name} needs a database URL",
                        "pass --database-url or set SESSIONBENCH_DATABASE_URL")
    return opening.database_url


def _check(opening: Opening) -> None:
    with url_server(_needs_url(opening), opening.name):
        pass  # an unreachable or read-only server is refused before anything starts


BACKEND = Backend("url", lambda opening: url_server(_needs_url(opening), opening.name),
                  "a server someone else runs, given by --database-url", needs_url=True, check=_check)
