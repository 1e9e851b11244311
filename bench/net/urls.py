"""Pointing a connection through a LatencyRelay: the relay's target and the rewritten URL for a
SQLAlchemy URL, and the measured round trip that calibrates the relay's added delay."""

from __future__ import annotations

import statistics
import time

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bench.net.relay import LatencyRelay


def _first(value):
    # A query key given twice parses to a tuple; libpq tries the first host first.
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def socket_target_from_url(url: str | URL) -> tuple[str, int] | str:
    """What :class:`LatencyRelay` should connect to for this SQLAlchemy URL.

    A unix socket URL (``?host=/dir``) maps to the socket file ``/dir/.s.PGSQL.<port>``;
    a TCP URL maps to ``(host, port)``. As in libpq, ``?host=``/``?port=`` win over
    the host and port before the database name.
    """
    parsed = make_url(url)
    host = _first(parsed.query.get("host")) or parsed.host
    port = int(_first(parsed.query.get("port")) or parsed.port or 5432)
    if not host:
        raise ValueError(
            f"{parsed.render_as_string()}: no host and no ?host=/socket/dir; "
            "say where PostgreSQL listens so the relay can reach it"
        )
    if host.startswith("/"):
        return f"{host.rstrip('/')}/.s.PGSQL.{port}"
    return (host, port)


def relay_url(url: str | URL, relay: LatencyRelay) -> str:
    """Rewrite ``url`` so the driver connects through ``relay`` (TCP on 127.0.0.1)."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k not in ("host", "hostaddr", "port")}
    routed = parsed.set(host=relay.host, port=relay.port, query=query)
    return routed.render_as_string(hide_password=False)


# -- calibration ---------------------------------------------------------------------
def measure_rtt(url: str | URL, samples: int = 50) -> float:
    """Median milliseconds of one ``SELECT 1`` round trip over one connection.

    Relay overhead = measure_rtt(through relay) - measure_rtt(direct). Autocommit so
    each statement is exactly one round trip (no BEGIN); the first few executions
    are discarded as warm-up (connection caches, statement preparation).
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            for _ in range(5):
                cursor.execute("SELECT 1")
                cursor.fetchone()
            timings = []
            for _ in range(samples):
                start = time.perf_counter_ns()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                timings.append(time.perf_counter_ns() - start)
            cursor.close()
    finally:
        engine.dispose()
    return statistics.median(timings) / 1e6
