"""A data migration run beside a concurrent writer: how long the migration keeps the writer waiting.

The writer is a hub request on another connection updating the very rows being migrated, one
message per short transaction (rolled back, so it changes nothing), round and round over messages
spread across the id range, from before the migration starts until it ends. Each of its updates is
timed; the longest one that overlapped the migration is the longest wait a request saw. A single
UPDATE keeps every row it rewrote locked until its transaction ends, so the writer's longest wait
is close to the whole migration; a backfill in batches, each its own transaction, releases its rows
at every commit, so the longest wait is about one batch. At the end of each step, still inside the
step's transaction, the migration asks the server whether the writer is waiting for it
(`pg_blocking_pids`): a lock wait seen, not inferred from timings.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

# Writer updates before the migration starts: its connection is up and its loop is running.
WRITER_WARMUP = 10
# A writer blocked this long fails instead of hanging the run (far above any migration measured).
WRITER_LOCK_TIMEOUT = "30min"
_BLOCKED = text("SELECT :migration = ANY(pg_blocking_pids(:writer))")


@dataclass(frozen=True)
class WriterPass:
    """One migration beside one writer."""

    rows_rewritten: int
    batches: int
    migration_wall_s: float
    writer_wait_max_s: float
    writer_updates: int     # writer updates that overlapped the migration
    writer_lock_waits: int  # steps at whose end the writer was waiting for the migration's lock

    def columns(self) -> dict:
        """The results columns (bench.results names them)."""
        return {"rows_rewritten": self.rows_rewritten, "batches": self.batches,
                "migration_wall_s": self.migration_wall_s, "writer_wait_max_s": self.writer_wait_max_s,
                "writer_updates": self.writer_updates, "writer_lock_waits": self.writer_lock_waits}


class _Writer(threading.Thread):
    """Updates one target row per transaction, in turn, until told to stop; times every update."""

    def __init__(self, engine, statement, targets: list[int]) -> None:
        super().__init__(name="sessionbench-writer", daemon=True)
        self.engine, self.statement, self.targets = engine, statement, targets
        self.ready, self.stop = threading.Event(), threading.Event()
        self.pid: int | None = None
        self.timings: list[tuple[float, float]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.engine.connect() as conn:
                self.pid = conn.exec_driver_sql("select pg_backend_pid()").scalar_one()
                conn.exec_driver_sql(f"set lock_timeout = '{WRITER_LOCK_TIMEOUT}'")
                conn.commit()
                for target in itertools.cycle(self.targets):
                    if self.stop.is_set():
                        break
                    started = time.perf_counter()
                    conn.execute(self.statement, {"id": target})
                    self.timings.append((started, time.perf_counter()))
                    conn.rollback()
                    if len(self.timings) >= WRITER_WARMUP:
                        self.ready.set()
        except BaseException as exc:  # noqa: BLE001 - handed to the migration's thread
            self.error = exc
        finally:
            self.ready.set()


def migrate_beside_writer(url, steps: Callable, writer_statement, targets: list[int], *,
                          commit_each: bool) -> WriterPass:
    """Run the migration `steps(conn)` returns ([(statement, params)], read on the migration's
    connection) while a writer runs `writer_statement` with :id over `targets`.

    `commit_each`: every step commits (a batched backfill; the data stays migrated); else all steps
    run in one transaction that is rolled back at the end (the data is left as it was; its row locks
    are held exactly as long as a commit would hold them)."""
    if not targets:
        raise ValueError("the writer needs at least one row to update")
    engine = create_engine(url, poolclass=NullPool,
                           connect_args={"application_name": "sessionbench/migration-beside-writer"})
    writer = _Writer(engine, writer_statement, targets)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("select pg_backend_pid()").scalar_one()
            planned = steps(conn)
            conn.commit()
            writer.start()
            writer.ready.wait()
            if writer.error is not None:
                raise writer.error
            rows = seen = 0
            started = time.perf_counter()
            try:
                for statement, params in planned:
                    rows += conn.execute(statement, params).rowcount
                    seen += bool(conn.execute(_BLOCKED, {"migration": pid, "writer": writer.pid}).scalar_one())
                    if commit_each:
                        conn.commit()
            finally:
                conn.rollback()  # a no-op after a committed step
                ended = time.perf_counter()
                writer.stop.set()
                writer.join()
        if writer.error is not None:
            raise writer.error
    finally:
        engine.dispose()
    overlapping = [end - start for start, end in writer.timings if start < ended and end > started]
    return WriterPass(rows, len(planned), ended - started, max(overlapping, default=0.0), len(overlapping), seen)
