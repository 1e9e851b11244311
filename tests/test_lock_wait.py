"""C5 at size: a storage move beside a concurrent writer, on real PostgreSQL. Facts, not timings: the
rows rewritten, the batches run, that the server saw the writer wait for a single UPDATE's locks, and
that a storage key's one-row move never makes a message writer wait."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from bench.workloads import lock_wait
from bench.workloads.storage import BATCH_IDS, NEW_ROOT
from models_variants import Variant, build_models
from tests.test_models_source import create_source

SESSIONS = 30_000  # 3 messages each, a third with audio: 30,000 rows to move, ids 11..300,003


@pytest.fixture(scope="module")
def source(engine):
    schema = f"t_{secrets.token_hex(4)}_moves"
    with engine.begin() as conn:
        create_source(conn, schema, sessions=SESSIONS)
    yield schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def variant_models(engine, source):
    built = []

    def build(audio_storage: str):
        variant = Variant(audio_storage=audio_storage)
        models = build_models(variant, f"t_{secrets.token_hex(3)}_{variant.slug}"[:63])
        with engine.begin() as conn:
            models.create_schema(conn)
            models.fill_from_source(conn, source)
        built.append(models)
        return models

    yield build
    with engine.begin() as conn:
        for models in built:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{models.schema}" CASCADE'))


def run(engine, models, batch_ids: int | None):
    storage = models.parts["audio_storage"]
    with engine.connect() as conn:
        targets = storage.writer_targets(conn, models, 64)
    writer = text(f"UPDATE {models.qualified('messages')} SET token_count = token_count + 1 WHERE id = :id")
    steps = (lambda conn: [storage.move(models, NEW_ROOT)]) if batch_ids is None \
        else (lambda conn: storage.backfill(conn, models, NEW_ROOT, batch_ids))
    return targets, lock_wait.migrate_beside_writer(engine.url, steps, writer, targets,
                                                    commit_each=batch_ids is not None)


def paths(engine, models) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            f"SELECT left(audio_path, 17), count(*) FROM {models.qualified('messages')} "
            f"WHERE audio_path IS NOT NULL GROUP BY 1")).all())


@pytest.mark.db
@pytest.mark.slow
def test_one_update_keeps_the_writer_waiting_for_its_locks_and_changes_nothing_when_rolled_back(
        engine, variant_models):
    models = variant_models("raw_path")
    targets, passed = run(engine, models, None)
    assert len(targets) == 64 and targets == sorted(targets)
    assert (passed.rows_rewritten, passed.batches) == (SESSIONS, 1)
    assert passed.writer_lock_waits == 1  # pg_blocking_pids: the writer was waiting for the UPDATE
    assert passed.writer_updates >= 1 and passed.writer_wait_max_s > 0
    assert passed.migration_wall_s > 0
    assert paths(engine, models) == {"/var/lib/hub/audi": SESSIONS}  # rolled back: nothing moved
    with engine.connect() as conn:  # nor did the writer's rolled-back updates change a count
        assert conn.execute(text(f"SELECT sum(token_count) FROM {models.qualified('messages')}")).scalar_one() \
            == conn.execute(text("SELECT sum(5 + (i + p) % 40) FROM generate_series(1, :n) i, "
                                 "generate_series(1, 3) p"), {"n": SESSIONS}).scalar_one()


@pytest.mark.db
@pytest.mark.slow
def test_a_backfill_commits_one_batch_per_id_range_and_moves_every_row(engine, variant_models):
    models = variant_models("raw_path")
    with engine.connect() as conn:
        low, high = conn.execute(text(f"SELECT min(id), max(id) FROM {models.qualified('messages')} "
                                      "WHERE audio_path IS NOT NULL")).one()
    _, passed = run(engine, models, BATCH_IDS)
    assert (low, high, BATCH_IDS) == (12, 300_003, 10_000)
    assert passed.batches == 30  # ranges starting at 12, 10,012, ..., 290,012
    assert passed.rows_rewritten == SESSIONS
    assert 0 <= passed.writer_lock_waits <= passed.batches
    assert passed.writer_updates >= 1 and passed.writer_wait_max_s > 0
    assert paths(engine, models) == {"s3://hub-audio-eu": SESSIONS}  # every batch committed


@pytest.mark.db
@pytest.mark.slow
def test_a_storage_key_move_rewrites_one_row_and_never_blocks_a_message_writer(engine, variant_models):
    models = variant_models("storage_key")
    for batch_ids in (None, BATCH_IDS):
        _, passed = run(engine, models, batch_ids)
        assert (passed.rows_rewritten, passed.batches, passed.writer_lock_waits) == (1, 1, 0)


def test_the_writer_needs_a_row():
    with pytest.raises(ValueError, match="at least one row"):
        lock_wait.migrate_beside_writer("postgresql://unused", lambda conn: [], text("select 1"), [],
                                        commit_each=False)


@pytest.mark.db
@pytest.mark.slow
def test_the_workloads_writer_pass_gives_the_result_columns_and_reloads_after_a_committed_backfill(
        engine, variant_models, source):
    from types import SimpleNamespace

    from bench.workloads.storage import _writer_pass

    models = variant_models("raw_path")
    reloaded = []

    def restore(tables=()):  # what RunState.restore_variant does: the tables asked for filled again
        with engine.begin() as conn:
            models.refill(conn, source, tables)
        reloaded.append(tables)

    ctx = SimpleNamespace(models=models, setup_engine=engine, restore_variant=restore)
    one = _writer_pass(ctx)
    assert (one["rows_rewritten"], one["batches"], one["writer_lock_waits"]) == (SESSIONS, 1, 1)
    assert reloaded == [] and paths(engine, models) == {"/var/lib/hub/audi": SESSIONS}
    batched = _writer_pass(ctx, BATCH_IDS)
    assert set(batched) == {"rows_rewritten", "batches", "migration_wall_s", "writer_wait_max_s", "writer_updates",
                            "writer_lock_waits"}
    assert (batched["rows_rewritten"], batched["batches"]) == (SESSIONS, 30)
    assert reloaded == [("messages",)] and paths(engine, models) == {"/var/lib/hub/audi": SESSIONS}
