"""Test-only regressions that prove the gates catch what they should, made of real work.

SESSIONBENCH_TEST_SLOWDOWN="dashboard=0.25" makes each dashboard round 25% slower, as timed
(session, statements, rollback and close: the previous round's time without the extra work): half
of the extra time is CPU work in the client, half is work in the server (a counting query on a
session's own connection, below SQLAlchemy's events, so statement counts do not change). Real work, not a sleep: a busy machine stretches it the way it stretches the workload.
SESSIONBENCH_TEST_EXTRA_STATEMENT="dashboard" adds one statement to each dashboard round.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sqlalchemy import text

# counting.py leaves statements over generate_series out of the server's count.
BURN_SQL = "select count(*) from generate_series(1, %s)"
_CALIBRATION_ROWS = 200_000


def _named(variable: str) -> dict[str, str]:
    out = {}
    for item in os.environ.get(variable, "").split(","):
        name, _, value = item.partition("=")
        if name.strip():
            out[name.strip()] = value.strip()
    return out


def spin(seconds: float) -> None:
    """Burn this thread's CPU for `seconds` of CPU time."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for _ in range(200):
            x += 1


@dataclass
class Work:
    fraction: float
    extra_statement: bool
    _rows_per_s: float | None = None

    @classmethod
    def for_workload(cls, workload: str) -> Work | None:
        slowdown = _named("SESSIONBENCH_TEST_SLOWDOWN").get(workload)
        extra = workload in _named("SESSIONBENCH_TEST_EXTRA_STATEMENT")
        if not slowdown and not extra:
            return None
        return cls(float(slowdown or 0), extra)

    def _server(self, db, seconds: float) -> None:
        # Through the session's own driver connection, below SQLAlchemy's statement events: the work
        # lands on the workload's server process, while the counts stay the workload's own.
        cursor = db.connection().connection.dbapi_connection.cursor()
        if self._rows_per_s is None:
            started = time.perf_counter()
            cursor.execute(BURN_SQL, (_CALIBRATION_ROWS,))
            self._rows_per_s = _CALIBRATION_ROWS / max(time.perf_counter() - started, 1e-6)
        rows = int(self._rows_per_s * seconds)
        if rows > 0:
            cursor.execute(BURN_SQL, (rows,))
        cursor.close()

    def apply(self, db, round_s: float) -> float:
        """The extra work for a round that takes `round_s` without it; the seconds it took."""
        started = time.perf_counter()
        if self.fraction:
            # Aim half at the server; whatever the server part really took (its own round trip
            # included), the client's CPU work makes up the rest of fraction x the round's time.
            self._server(db, self.fraction * round_s / 2)
            spin(max(0.0, self.fraction * round_s - (time.perf_counter() - started)))
        if self.extra_statement:
            db.execute(text("select 1"))
        return time.perf_counter() - started if self.fraction else 0.0
