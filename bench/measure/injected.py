"""Test-only regressions that prove the gates catch what they should, made of real work.

SESSIONBENCH_TEST_SLOWDOWN="dashboard=0.25" makes every dashboard round 25% slower as timed
(session, statements, rollback and close); "dashboard[loading=selectin]=0.25" only the dashboard
cases whose variant has that axis value (several conditions: "dashboard[loading=selectin,deletion=soft]";
entries are separated by commas outside brackets, and of several entries that match a case the one
with the most conditions wins). Half of the extra time is aimed at the server (a counting query on
the session's own connection, below SQLAlchemy's events, so statement counts do not change), the
rest is CPU work in the client until the round's extra wall time is reached. Real work, not a sleep.
SESSIONBENCH_TEST_EXTRA_STATEMENT="dashboard" adds one statement to each dashboard round.
SESSIONBENCH_TEST_SLOWDOWN_LOG=FILE appends one JSON line per slowed timed round (its own time before
and after the work, what was aimed at and what the work took, server part apart), which
`python -m tools.error_rates --injected-log FILE` summarises per case.

Why each round's extra time is a share of that same round (docs/error-rates.md, "The injected
slowdown"): a share of the previous round missed by -9% to +53% inside a comparison group. One
round per trial at page 100 and 1,000 made "the previous round" a round of another trial, taken
after other cases and at first the cold counting round; the client's work was CPU seconds, which a
busy machine stretches on top of a round time it had already stretched; the server part was sized by
one cold count over a materialised (and spilled) series that included its own round trip.

Why a 5+5 series can still read 1.32 at page 10 and 100 (docs/error-rates.md, "Why the injected
slowdown's measured size missed"): not this work, which stays real work. Its log says each slowed
round is 1.250-1.252 times its own part (the work 1.000-1.001 times its aim); with the work in a
random half of one run's rounds, worked and unworked rounds' own parts, and those of rounds after
either, differ by 2% or less on average, with no common sign. What moves is how fast whole groups
run from one run to the next, CPU seconds per round with wall time (unslowed runs minutes apart:
0.93-1.30), and a ratio of five runs to five keeps that as it keeps any A/A drift. The log is
written through one buffered file per case, of timed rounds only: an open and close per round,
inside the round, weighed on the round the log describes, and warm-up rounds are not timed.
"""

from __future__ import annotations

import atexit
import bisect
import json
import re
import statistics
import time
from dataclasses import dataclass, field

from sqlalchemy import text

from bench.plan import settings
from models_variants import AXES

# counting.py leaves statements over generate_series out of the server's count. The series is in
# the select list (a ProjectSet, one value per call) and not in FROM: a FunctionScan materialises
# every row into a tuplestore that spills to disk past work_mem, which makes the burn I/O, not CPU.
BURN_SQL = "select count(*) from (select generate_series(1, %s)) as burn"
_CALIBRATION_ROWS = 50_000
_CALIBRATION_REPEATS = 3

_ENTRY = re.compile(r"^\s*(?P<workload>[\w.-]+)\s*(?:\[(?P<where>[^\]]*)\])?\s*(?:=\s*(?P<value>[^,\[\]]*))?\s*$")


@dataclass(frozen=True)
class Target:
    """One entry of a test variable: a workload, optionally only where the variant has these axis values."""

    workload: str
    where: tuple[tuple[str, str], ...] = ()
    value: str = ""

    def matches(self, workload: str, variant) -> bool:
        axes = variant.as_dict()
        return workload == self.workload and all(axes[axis] == value for axis, value in self.where)


def _split_top_level(spec: str) -> list[str]:
    """Split at commas that are not inside [...]."""
    items, depth, current = [], 0, []
    for char in spec:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]


def parse_targets(spec: str) -> list[Target]:
    """'dashboard=0.25,list_live[deletion=soft]=0.5' -> Targets. An unknown axis or value is an error:
    a misspelt test variable would otherwise slow nothing and pass for a gate that missed it."""
    targets = []
    for item in _split_top_level(spec):
        match = _ENTRY.match(item)
        if not match:
            raise ValueError(f"cannot read {item!r}: expected WORKLOAD[AXIS=VALUE,...]=FRACTION")
        where = []
        for condition in (match["where"] or "").split(","):
            if not condition.strip():
                continue
            axis, sep, value = (part.strip() for part in condition.partition("="))
            if not sep or axis not in AXES or value not in AXES[axis].values:
                raise ValueError(f"{item!r}: {condition.strip()!r} is not AXIS=VALUE of a known axis "
                                 f"({', '.join(AXES)})")
            where.append((axis, value))
        targets.append(Target(match["workload"], tuple(where), (match["value"] or "").strip()))
    return targets


def _chosen(variable: str, workload: str, variant) -> Target | None:
    """The entry of `variable` for this case: of those that match, the one with the most conditions
    (the last of equals)."""
    matching = [t for t in parse_targets(settings.environment(variable) or "") if t.matches(workload, variant)]
    return max(reversed(matching), key=lambda t: len(t.where)) if matching else None


def spin_until(deadline: float) -> None:
    """Keep this thread's CPU busy until perf_counter() reaches `deadline`: wall time, so that on a
    busy machine the extra time is still the share aimed at (CPU seconds would stretch again)."""
    x = 0
    while time.perf_counter() < deadline:
        for _ in range(50):
            x += 1


@dataclass
class Work:
    fraction: float
    extra_statement: bool
    _rows_per_s: float | None = None
    _latencies: list = field(default_factory=list)  # sorted: what each burn took beyond its rows' time
    _tails: list = field(default_factory=list)  # sorted: what a round takes after the work (rollback, close)
    label: str = ""  # the case, in the log
    calibration_s: float = 0.0  # what `calibrate` took, inside the counting round
    injected_total_s: float = 0.0  # what every `apply` took, summed: the warm-up takes it off its rounds
    _last: dict = field(default_factory=dict)
    timed: bool = False  # set once the warm-up is over (bench.measure.prepare): only timed rounds are logged
    _log: object = None  # the open SESSIONBENCH_TEST_SLOWDOWN_LOG, buffered, closed at exit

    @classmethod
    def for_case(cls, workload: str, variant, label: str = "") -> Work | None:
        slowdown = _chosen("SESSIONBENCH_TEST_SLOWDOWN", workload, variant)
        extra = _chosen("SESSIONBENCH_TEST_EXTRA_STATEMENT", workload, variant)
        fraction = float(slowdown.value) if slowdown and slowdown.value else 0.0
        if fraction < 0:
            raise ValueError(f"SESSIONBENCH_TEST_SLOWDOWN: a negative slowdown ({fraction}) cannot be injected")
        if not fraction and extra is None:
            return None
        return cls(fraction, extra is not None, label=label)

    def calibrate(self, db) -> None:
        """Rows per second of the burn on the session's server process, warm, and the time of an
        empty burn (its round trip and planning), each the fastest of three. One cold count of a
        materialised series had said 4-9 million rows a second where the streamed burn runs 17-48
        million, and its server part then took 0.6 to 3.4 times what was aimed at. Done at the
        first server work if not before."""
        started = time.perf_counter()
        cursor = db.connection().connection.dbapi_connection.cursor()
        try:
            self._calibrate(cursor)
        finally:
            cursor.close()
        self.calibration_s = time.perf_counter() - started

    def _calibrate(self, cursor) -> None:
        timed = self._burn
        timed(cursor, 1)  # the first execution plans and warms the backend
        # The fastest of three: a stall only ever lengthens a count. On a busy machine a stalled
        # empty count once left almost nothing of a full one and the rate 1,500 times too high.
        empty = min(timed(cursor, 1) for _ in range(_CALIBRATION_REPEATS))
        full = min(timed(cursor, _CALIBRATION_ROWS) for _ in range(_CALIBRATION_REPEATS))
        self._rows_per_s = _CALIBRATION_ROWS / max(full - empty, full / 2)
        self._latencies = [empty]

    @staticmethod
    def _burn(cursor, rows: int) -> float:
        started = time.perf_counter()
        cursor.execute(BURN_SQL, (rows,), prepare=False)
        cursor.fetchall()
        return time.perf_counter() - started

    def _server(self, db, seconds: float) -> None:
        # Through the session's own driver connection, below SQLAlchemy's statement events: the work
        # lands on the workload's server process, while the counts stay the workload's own. Never
        # prepared: the driver's prepared statements (and the plan facts read from them) stay the workload's.
        cursor = db.connection().connection.dbapi_connection.cursor()
        try:
            if self._rows_per_s is None:
                self._calibrate(cursor)
            # What a burn takes beyond its rows (round trip, planning, and on a busy machine the
            # wait for a CPU) is learnt from every burn: the median of it comes off the aim. A share
            # shorter than that is left to the client: sent anyway it would take longer than aimed.
            latency = statistics.median(self._latencies)
            rows = int(self._rows_per_s * (seconds - latency))
            took = self._burn(cursor, rows) if rows > 0 else 0.0
            if rows > 0:
                bisect.insort(self._latencies, max(0.0, took - rows / self._rows_per_s))
                if len(self._latencies) > 101:  # dropping the smallest and the largest keeps the median
                    del self._latencies[0], self._latencies[-1]
            self._last.update(server_aimed_s=seconds, server_s=took)
        finally:
            cursor.close()

    def aim(self, elapsed_s: float) -> float:
        """The extra seconds for a round that has taken `elapsed_s` so far: `fraction` of this round's
        own time, the part still to come (rollback, close) estimated by the median of earlier rounds.
        A share of this round itself, not of another: the round's time inside its comparison group,
        its warm-up or a trial of one round after other cases are all different times."""
        tail = statistics.median(self._tails) if self._tails else 0.0
        return self.fraction * (elapsed_s + tail)

    def record_tail(self, seconds: float) -> None:
        """What the round took after the work; with SESSIONBENCH_TEST_SLOWDOWN_LOG, the round's line."""
        if self.timed and self._last:
            out = self._log_file()
            if out is not None:
                line = {"case": self.label, "fraction": self.fraction, **self._last, "tail_s": seconds}
                out.write(json.dumps(line) + "\n")
        self._last = {}
        bisect.insort(self._tails, seconds)
        if len(self._tails) > 101:  # dropping the smallest and the largest keeps the median, and the list short
            del self._tails[0], self._tails[-1]

    def _log_file(self):
        """SESSIONBENCH_TEST_SLOWDOWN_LOG, opened once: a line costs a buffered write in the round."""
        if self._log is None:
            path = settings.environment("SESSIONBENCH_TEST_SLOWDOWN_LOG")
            if not path:
                return None
            self._log = open(path, "a", buffering=1 << 16)  # noqa: SIM115 - closed at exit: one file per case
            atexit.register(self._log.close)
        return self._log

    def close_log(self) -> None:
        """Write out what the log holds (the case is done)."""
        if self._log is not None:
            self._log.close()
            self._log = None

    def apply(self, db, elapsed_s: float) -> float:
        """The extra work for a round that has taken `elapsed_s` so far; the seconds it took."""
        started = time.perf_counter()
        if self.fraction:
            extra = self.aim(elapsed_s)
            self._last = {"elapsed_s": elapsed_s, "aimed_s": extra}
            # Half aimed at the server; whatever that part really took, the client's work makes up
            # the rest of the extra wall time.
            self._server(db, extra / 2)
            spin_until(started + extra)
            self._last["injected_s"] = time.perf_counter() - started
        took = time.perf_counter() - started if self.fraction else 0.0
        self.injected_total_s += took
        return took

    def add_statement(self, db) -> None:
        """SESSIONBENCH_TEST_EXTRA_STATEMENT: one more statement, in every round, the counting round
        included (it is what `check` must see)."""
        if self.extra_statement:
            db.execute(text("select 1"))
