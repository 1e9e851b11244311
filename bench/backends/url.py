"""The url backend: a server someone else runs, touched only through the run's own schemas."""

from __future__ import annotations

import contextlib
import secrets
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from bench.backends.server import Server, _first_line, probe
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
    except (ProgrammingError, OperationalError) as exc:
        raise UserError(f"the database user cannot create a schema here: {_first_line(exc)}",
                        "grant CREATE on the database (GRANT CREATE ON DATABASE ... TO ...) or use another database")\
            from None
    finally:
        engine.dispose()
