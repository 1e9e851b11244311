"""What a load case's server backends were doing, sampled from pg_stat_activity, and the pure
arithmetic that turns client records and samples into a results row.

The sampler polls from its own connection (direct to the server, never through a relay) every
SAMPLE_INTERVAL_S during the measuring window, and counts the run's own backends, found by their
application_name, by what they were doing: `CPU` (active, no wait event), or `<wait_event_type>:
<wait_event>` (`Lock:transactionid`, `Client:ClientRead`, `LWLock:WALWrite`, ...). Idle backends
(a connection resting in the pool) are not counted: they wait for nothing the request needs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np

from bench.faults import first_line

SAMPLE_INTERVAL_S = 0.02
_SAMPLE = """select coalesce(wait_event_type || ':' || wait_event, 'CPU')
               from pg_stat_activity where application_name = :name and state <> 'idle'"""


class WaitSampler:
    """Samples the backends named `application_name` between the window's start and end."""

    def __init__(self, engine, application_name: str, interval: float = SAMPLE_INTERVAL_S):
        self.engine, self.name, self.interval = engine, application_name, interval
        self.events: Counter = Counter()
        self.samples = 0
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, times) -> None:
        self._thread = threading.Thread(target=self._sample, args=(times,), name="wait-sampler", daemon=True)
        self._thread.start()

    def _sample(self, times) -> None:
        from sqlalchemy import text

        _, measure_from, measure_until = times
        try:
            with self.engine.connect() as conn:
                query = text(_SAMPLE)
                self._stop.wait(max(0.0, measure_from - time.monotonic()))
                while not self._stop.is_set() and time.monotonic() < measure_until:
                    self.events.update(conn.execute(query, {"name": self.name}).scalars())
                    conn.rollback()  # a fresh snapshot of pg_stat_activity each time
                    self.samples += 1
                    self._stop.wait(self.interval)
        except Exception as exc:  # the load's numbers stand without the samples; the row says why
            self.error = f"{type(exc).__name__}: {first_line(exc)[:200]}"

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def wait_columns(events: Counter | dict, samples: int) -> dict:
    """Sampled backend states as columns: how busy, the share of each kind of wait, lock waits by type."""
    total = sum(events.values())
    locks = {key.split(":", 1)[1]: count for key, count in sorted(events.items()) if key.startswith("Lock:")}

    def share(prefix: str) -> float | None:
        return sum(c for k, c in events.items() if k.startswith(prefix)) / total if total else None
    waits = {key: count for key, count in events.items() if key != "CPU"}
    return {
        "wait_samples": samples,
        "busy_backends": total / samples if samples else None,
        "cpu_share": share("CPU"),
        "lock_wait_share": share("Lock:"),
        "client_wait_share": share("Client:"),
        "lock_waits": ", ".join(f"{kind} {count}" for kind, count in
                                sorted(locks.items(), key=lambda item: -item[1])) or "none",
        "top_wait": max(waits, key=waits.get) if waits else "none",
        "wait_events": dict(events),
    }


def latency_columns(latencies: list[float], pool_waits: list[float], window_s: float) -> dict:
    """Throughput and percentiles from every request of the window (numpy's linear percentiles)."""
    ops = len(latencies)
    if not ops:
        return {"ops": 0, "ops_per_s": 0.0, "p50_s": None, "p95_s": None, "p99_s": None,
                "pool_wait_s": None, "pool_wait_p99_s": None, "pool_wait_share": None}
    p50, p95, p99 = (float(v) for v in np.percentile(latencies, [50, 95, 99]))
    return {
        "ops": ops,
        "ops_per_s": ops / window_s if window_s > 0 else None,
        "p50_s": p50, "p95_s": p95, "p99_s": p99,
        "pool_wait_s": float(np.mean(pool_waits)),
        "pool_wait_p99_s": float(np.percentile(pool_waits, 99)),
        "pool_wait_share": float(np.sum(pool_waits) / np.sum(latencies)) if np.sum(latencies) > 0 else None,
    }


def quantile_sample(values: list[float], points: int = 500) -> list[float]:
    """At most `points` values spread evenly over the sorted list (both ends kept): the raw
    latencies a results file keeps, so its quantiles stay those of every request."""
    ordered = sorted(values)
    if len(ordered) <= points:
        return ordered
    return [ordered[round(i * (len(ordered) - 1) / (points - 1))] for i in range(points)]
