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
from bench.errors import Fault, UserError


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


# How the server words a refused connection (SQLSTATE 53300), which psycopg raises without its code.
_CONNECTION_LIMIT = ("too many clients already", "too many connections for", "remaining connection slots are reserved")


def known_fault(exc: BaseException, during: str) -> UserError | None:
    """A fault recognisable from the exception alone, as one line and what to try; else None."""
    import psycopg.errors

    for cause in _chain(exc):
        if isinstance(cause, Fault):  # already told (in a load worker, or deeper down)
            return cause
        if isinstance(cause, psycopg.errors.TooManyConnections) or getattr(cause, "sqlstate", None) == "53300" or \
                any(words in str(cause) for words in _CONNECTION_LIMIT):  # a refused connect has no SQLSTATE
            said = first_line(cause).rpartition("FATAL:")[2].strip()  # the server's words, not the socket's path
            return Fault(f"the server refused a connection during {during}: {said}",
                         "lower --clients, --pool-size or --load-workers, stop other clients of the server, "
                         "or raise its max_connections (or the role's CONNECTION LIMIT)")
        if isinstance(cause, (MemoryError, psycopg.errors.OutOfMemory)) or "out of memory" in str(cause).lower():
            who = "the server" if isinstance(cause, psycopg.Error) else "this process"
            return Fault(f"{who} ran out of memory during {during}",
                         "free memory or raise the limit (ulimit -v), or run a smaller --scale or fewer --clients")
        if isinstance(cause, RuntimeError) and "can't start new thread" in str(cause):
            return Fault(f"the operating system refused a new thread during {during} (can't start new thread)",
                         "raise the process and memory limits (ulimit -u, ulimit -v), or run fewer --clients "
                         "or --load-workers")
        if isinstance(cause, psycopg.errors.QueryCanceled) and "statement timeout" in str(cause):
            return Fault(f"a statement ran into the server's statement_timeout during {during}",
                             "lift it for this role or database (ALTER ROLE ... SET statement_timeout = 0), "
                             "or remove statement_timeout from the URL's options")
        if isinstance(cause, psycopg.errors.QueryCanceled) and not interrupts.received():
            # The run cancels nothing itself but on Ctrl-C. A very short statement_timeout that fires
            # as a statement ends is reported on the next one as "due to user request" (seen with 1 ms
            # on a busy machine); else another session ran pg_cancel_backend on it.
            return Fault(f"the server canceled a statement during {during} ({first_line(cause)}): a short "
                             "statement_timeout, or another session canceling the run's queries",
                             "lift statement_timeout for this role or database (ALTER ROLE ... SET "
                             "statement_timeout = 0), or remove it from the URL's options")
        if isinstance(cause, psycopg.errors.DiskFull) or (isinstance(cause, OSError) and cause.errno == errno.ENOSPC):
            return Fault(f"the disk is full during {during}: {first_line(cause)}",
                             "free space where the server keeps its data (for the embedded server: TMPDIR), "
                             "or run a smaller --scale")
        if isinstance(cause, psycopg.errors.ReadOnlySqlTransaction):
            return Fault(f"the database is read-only for this connection during {during}: {first_line(cause)}",
                             "use a primary server and a role or database without default_transaction_read_only")
        if (isinstance(cause, OSError) and cause.errno == errno.EMFILE) or "Too many open files" in str(cause):
            return Fault(f"this process ran out of file descriptors during {during}",
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
            return Fault(f"the PostgreSQL server went away during {during}: {first_line(exc)}",
                         "check that the server runs (`sessionbench doctor` for the embedded one) and run again")
        return _connection_ended(exc, during)  # the server lives: someone, or a timeout, ended this connection
    return None


def _connection_ended(exc: BaseException, during: str) -> Fault | None:
    """A connection the server ended while it still runs: pg_terminate_backend (the same words a
    shutdown uses, hence asked only once the server is known to be up) or an idle timeout."""
    import psycopg.errors

    for cause in _chain(exc):
        if isinstance(cause, (psycopg.errors.AdminShutdown, psycopg.errors.IdleInTransactionSessionTimeout,
                              psycopg.errors.IdleSessionTimeout)):
            why = "an administrator ended it" if isinstance(cause, psycopg.errors.AdminShutdown) else \
                "the server's idle timeout ended it"
            return Fault(f"the server closed the run's connection during {during}: {why} ({first_line(cause)})",
                         "run again when nothing terminates the run's backends (pg_terminate_backend, "
                         "idle_in_transaction_session_timeout or idle_session_timeout set low for this role)")
    return None
