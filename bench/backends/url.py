"""The url backend: a server someone else runs, touched only through the run's own schemas."""

from __future__ import annotations

import contextlib
import secrets
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from bench import redact
from bench.backends.faults import first_line, known_fault
from bench.backends.server import Server, probe
from bench.errors import UserError


@contextlib.contextmanager
def url_server(database_url: str) -> Iterator[Server]:
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
    server = probe(Server("url", url, where=url.host or "unix socket"), enable_statements=False)
    check_can_create_schema(url)
    yield server


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
