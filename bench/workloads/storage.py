"""Claim C5: moving every message's audio to a new storage backend, over audio_storage.

Two ways to run the move: one UPDATE (`migrate_audio_storage`), and the way teams run such a change
on a live table, a backfill in batches of message ids (`backfill_audio_storage`). The timed rounds
run inside a transaction that is rolled back, so every round rewrites the same table. Once per case,
untimed, the move runs again beside a writer updating the very messages being moved
(bench.workloads.lock_wait): the writer's longest wait, and whether the server saw it wait for the move's
locks. There the backfill commits every batch, as it would in production, and the variant's data
is loaded afresh afterwards.
"""

from __future__ import annotations

from sqlalchemy import text

from bench.workloads import lock_wait
from bench.workloads.registry import workload

NEW_ROOT = "s3://hub-audio-eu"
# Ids per backfill batch: each batch is one id range (of which only the messages with audio change).
BATCH_IDS = 10_000
# Messages the concurrent writer updates in turn, spread over the id range.
WRITER_TARGETS = 64


def _writer_pass(ctx, batch_ids: int | None = None) -> dict:
    """The move once more, beside a writer; a backfill's committed batches are undone by a reload."""
    models = ctx.models
    storage = models.parts["audio_storage"]
    with ctx.setup_engine.connect() as conn:
        targets = storage.writer_targets(conn, models, WRITER_TARGETS)
    if batch_ids is None:
        def steps(conn):
            return [storage.move(models, NEW_ROOT)]
    else:
        def steps(conn):
            return storage.backfill(conn, models, NEW_ROOT, batch_ids)
    writer = text(f"UPDATE {models.qualified('messages')} SET token_count = token_count + 1 WHERE id = :id")
    try:
        passed = lock_wait.migrate_beside_writer(ctx.setup_engine.url, steps, writer, targets,
                                                 commit_each=batch_ids is not None)
    finally:
        if batch_ids is not None:
            # the batches and the writer change messages (and storage_key's one backend row) only
            ctx.restore_variant(tables=tuple(t for t in ("messages", "storage_backends") if t in models.tables()))
    return passed.columns()


@workload(axis="audio_storage", rollback=True, main_statement="none", facts=_writer_pass)
def migrate_audio_storage(db, ctx):
    """Migrate audio storage: point every message's audio at a new backend"""
    return ctx.models.migrate_audio_storage(db, NEW_ROOT)


@workload(axis="audio_storage", params={"batch_ids": [BATCH_IDS]}, rollback=True, main_statement="none",
          facts=_writer_pass)
def backfill_audio_storage(db, ctx, batch_ids):
    """Backfill audio storage: the same move in batches of message ids"""
    conn = db.connection()
    storage = ctx.models.parts["audio_storage"]
    return sum(conn.execute(statement, params).rowcount
               for statement, params in storage.backfill(conn, ctx.models, NEW_ROOT, batch_ids))
