"""Faults no later case can survive, recognised from the exception and told in one line.

A lost server, a full disk, a statement timeout, a read-only database or role and a process out
of file descriptors fail every remaining case the same way; the run stops at the first one and says
what happened and what to try, instead of repeating a driver error per case.
"""

from __future__ import annotations

import errno
from typing import Iterator, Sequence

from sqlalchemy.engine import URL

from bench import interrupts
from bench.errors import UserError


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the driver error SQLAlchemy wraps, and their causes."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]


def first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


def known_fault(exc: BaseException, during: str) -> UserError | None:
    """A fault recognisable from the exception alone, as one line and what to try; else None."""
    import psycopg.errors

    for cause in _chain(exc):
        if isinstance(cause, psycopg.errors.QueryCanceled) and "statement timeout" in str(cause):
            return UserError(f"a statement ran into the server's statement_timeout during {during}",
                             "lift it for this role or database (ALTER ROLE ... SET statement_timeout = 0), "
                             "or remove statement_timeout from the URL's options")
        if isinstance(cause, psycopg.errors.QueryCanceled) and not interrupts.received():
            # The run cancels nothing itself but on Ctrl-C. A very short statement_timeout that fires
            # as a statement ends is reported on the next one as "due to user request" (seen with 1 ms
            # on a busy machine); else another session ran pg_cancel_backend on it.
            return UserError(f"the server canceled a statement during {during} ({first_line(cause)}): a short "
                             "statement_timeout, or another session canceling the run's queries",
                             "lift statement_timeout for this role or database (ALTER ROLE ... SET "
                             "statement_timeout = 0), or remove it from the URL's options")
        if isinstance(cause, psycopg.errors.DiskFull) or (isinstance(cause, OSError) and cause.errno == errno.ENOSPC):
            return UserError(f"the disk is full during {during}: {first_line(cause)}",
                             "free space where the server keeps its data (for the embedded server: TMPDIR), "
                             "or run a smaller --scale")
        if isinstance(cause, psycopg.errors.ReadOnlySqlTransaction):
            return UserError(f"the database is read-only for this connection during {during}: {first_line(cause)}",
                             "use a primary server and a role or database without default_transaction_read_only")
        if (isinstance(cause, OSError) and cause.errno == errno.EMFILE) or "Too many open files" in str(cause):
            return UserError(f"this process ran out of file descriptors during {during}",
                             "raise the limit, e.g. `ulimit -n 4096`, and run again")
    return None


def _lost_connection(exc: BaseException) -> bool:
    import psycopg

    return any(getattr(cause, "connection_invalidated", False)
               or (isinstance(cause, psycopg.OperationalError) and not isinstance(cause, psycopg.errors.QueryCanceled))
               for cause in _chain(exc))


def reachable(url: URL) -> bool:
    """Whether a new connection to the server succeeds now."""
    import psycopg

    try:
        psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                        connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


def fatal_fault(exc: BaseException, urls: Sequence[URL], during: str) -> UserError | None:
    """The fault that must stop the run, or None when only this case failed."""
    known = known_fault(exc, during)
    if known is not None:
        return known
    if _lost_connection(exc):
        gone = [url for url in urls if not reachable(url)]
        if gone:
            return UserError(f"the PostgreSQL server went away during {during}: {first_line(exc)}",
                             "check that the server runs (`sessionbench doctor` for the embedded one) and run again")
    return None
