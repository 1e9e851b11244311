"""C2's write side as a fact table: N mesh nodes flip their own flag in the same sessions at once.

For each sync_flag variant and write path (bench/load/node_write_paths.py), N threads, each a node
with its own connection, write their node's flag to true in each hot session. First with the
interleaving forced by a barrier (every node lines up at the same point of its write, so the
counts are the same on every run): a node's write missing afterwards is a **lost update**, and on
`bool_column` a flag that disagrees with the JSON value afterwards is **drift**. Then free-running
(no barrier, a few flips per node, the last one true) for throughput and the losses a real
interleaving happens to produce. Lock waits are sampled from pg_stat_activity (distinct node
backends seen waiting on a lock); deadlocks are the writes that failed with SQLSTATE 40P01.
Every case starts from the same state (the nodes registered, none syncing) and the variant's data
is loaded again at the end.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, event, text

from bench.load import node_write_paths as paths
from bench.faults import first_line

LOCK_SAMPLE_S = 0.002
FREE_FLIPS = 5  # flips per node and session when free-running: true, false, ..., true
BARRIER_TIMEOUT_S = 30.0


class _NoBarrier:
    def wait(self) -> None:
        return None


@dataclass
class Phase:
    writes: int = 0
    failed: int = 0
    deadlocks: int = 0
    statements: int = 0
    seconds: float = 0.0
    first_error: str | None = None


def hot_sessions(conn, source_schema: str, count: int = 2) -> list[int]:
    """Live sessions no node is syncing in (the same for every variant)."""
    return list(conn.execute(text(f'select id from "{source_schema}".sessions where deleted_draw >= 0.5 '
                                  "and not any_syncing order by id limit :n"), {"n": count}).scalars())


class _LockWatch:
    """Distinct node backends seen waiting on a heavyweight lock, and the most seen at once."""

    def __init__(self, engine, name: str):
        self.engine, self.name = engine, name
        self.waiters: set[int] = set()
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lock-watch", daemon=True)

    def _watch(self) -> None:
        query = text("select pid from pg_stat_activity where application_name = :name and wait_event_type = 'Lock'")
        with self.engine.connect() as conn:
            while not self._stop.is_set():
                pids = set(conn.execute(query, {"name": self.name}).scalars())
                conn.rollback()
                self.waiters |= pids
                self.most = max(self.most, len(pids))
                self._stop.wait(LOCK_SAMPLE_S)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _phase(engine, models, sessions: list[int], nodes: list[str], write, flags: list[bool], barrier) -> Phase:
    """Every node in its own thread and connection: for each session, each flag, one write."""
    phase, lock = Phase(), threading.Lock()

    def count(conn, cursor, statement, *args) -> None:  # noqa: ARG001 - event signature
        if statement.lstrip()[:6].lower() in ("update", "insert"):
            with lock:
                phase.statements += 1

    def node(node_id: str) -> None:
        for session_id in sessions:
            for flag in flags:
                with models.sessionmaker(engine)() as db:
                    try:
                        write(db, models, session_id, node_id, flag, barrier)
                        outcome = "writes"
                    except threading.BrokenBarrierError:
                        outcome = "failed"
                    except Exception as exc:
                        outcome = "deadlocks" if getattr(getattr(exc, "orig", None), "sqlstate", "") == "40P01" \
                            else "failed"
                        if isinstance(barrier, threading.Barrier) and outcome == "failed":
                            barrier.abort()  # the others would wait for this node for ever
                        phase.first_error = phase.first_error or f"{type(exc).__name__}: {first_line(exc)[:200]}"
                    with lock:
                        setattr(phase, outcome, getattr(phase, outcome) + 1)
                        if outcome == "deadlocks":
                            phase.failed += 1

    event.listen(engine, "before_cursor_execute", count)
    threads = [threading.Thread(target=node, args=(node_id,), name=node_id) for node_id in nodes]
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    phase.seconds = time.perf_counter() - started
    return phase


def _reset(setup_engine, models, sessions: list[int], nodes: list[str]) -> None:
    with models.sessionmaker(setup_engine)() as db:
        for session_id in sessions:
            paths.register_nodes(db, models, session_id, nodes)
        db.commit()


def _outcome(setup_engine, models, sessions: list[int], nodes: list[str]) -> tuple[int, int | None]:
    """(node writes missing, sessions whose flag disagrees with their JSON value or None if none can)."""
    with setup_engine.connect() as conn:
        lost = sum(len(set(nodes) - paths.syncing_nodes(conn, models, s)) for s in sessions)
        drift = [paths.drifted(conn, models, s) for s in sessions]
    return lost, None if drift[0] is None else sum(drift)


def node_write_facts(state, variant, server_url, nodes: int, sessions: list[int]) -> list[dict]:
    """One row per write path that applies to `variant`: lost updates, drift, lock waits, deadlocks, writes/s."""
    models = state.models_for(variant)
    name = f"sessionbench/node_writes/{variant.label}"[:63]
    # The writers line up at the barrier: a lock wait of one must not fail the write.
    engine = create_engine(server_url, pool_size=nodes, max_overflow=0,
                           connect_args={"application_name": name, "options": "-c lock_timeout=30s"})
    node_ids = [f"node-writer-{n}" for n in range(nodes)]
    rows = []
    try:
        for path, write in paths.PATHS.items():
            if not paths.applies(path, models):
                continue
            _reset(state.setup_engine, models, sessions, node_ids)
            with _LockWatch(state.setup_engine, name) as watch:
                forced = _phase(engine, models, sessions, node_ids, write, [True],
                                threading.Barrier(nodes, timeout=BARRIER_TIMEOUT_S))
            lost, drift = _outcome(state.setup_engine, models, sessions, node_ids)
            _reset(state.setup_engine, models, sessions, node_ids)
            flips = [flip % 2 == 0 for flip in range(FREE_FLIPS)]
            free = _phase(engine, models, sessions, node_ids, write, flips, _NoBarrier())
            lost_free, _ = _outcome(state.setup_engine, models, sessions, node_ids)
            rows.append({
                "variant": variant.label, "sync_flag": variant.sync_flag, "path": path, "label": paths.label(path),
                "nodes": nodes, "sessions": len(sessions), "writes": nodes * len(sessions),
                "lost_updates": lost, "updates_sent": forced.statements, "failed_writes": forced.failed,
                "deadlocks": forced.deadlocks + free.deadlocks, "lock_waiters": len(watch.waiters),
                "most_waiting": watch.most, "drift": drift, "can_drift": drift is not None,
                "writes_per_s": (free.writes / free.seconds) if free.seconds else None,
                "lost_free": lost_free, "first_error": forced.first_error or free.first_error,
            })
    finally:
        engine.dispose()
        state.restore_variant(variant)
    return rows
