"""Review claim C5: a storage move rewrites every message with a raw path, one row with keys."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.test_models_source import (SOURCE_SCHEMA, along, conn, filled,  # noqa: F401 (fixtures)
                                      models_source, orm)

NEW_ROOT = "s3://hub-audio/v2/"


def source_paths(connection) -> dict[int, str | None]:
    return dict(connection.execute(text(f"SELECT id, audio_path FROM {SOURCE_SCHEMA}.messages")).all())


@pytest.mark.db
@pytest.mark.parametrize("variant", along("audio_storage"))
def test_location_survives_a_storage_move(filled, conn, variant):
    models = filled(variant)
    paths = source_paths(conn)
    with_audio = sum(path is not None for path in paths.values())
    assert 0 < with_audio < len(paths)
    with orm(models, conn) as db:
        messages = db.scalars(select(models.Message)).all()
        assert {m.id: models.audio_location(m) for m in messages} == paths
        rewritten = models.migrate_audio_storage(db, NEW_ROOT)
        db.commit()
        db.expire_all()
        moved = {m.id: models.audio_location(m) for m in db.scalars(select(models.Message))}
    assert rewritten == {"raw_path": with_audio, "storage_key": 1}[variant.audio_storage]
    old, new = "/var/lib/hub/audio/", "s3://hub-audio/v2/"
    expected = {i: p and p.replace(old, new) for i, p in paths.items()}
    assert moved == expected


@pytest.mark.db
def test_storage_key_rows_and_new_messages(filled, conn):
    from models_variants import Variant

    models = filled(Variant(audio_storage="storage_key"))
    backends = conn.execute(text(
        f"SELECT id, name, base_url FROM {models.qualified('storage_backends')}")).all()
    assert [tuple(b) for b in backends] == [(1, "backend-1", "/var/lib/hub/audio")]
    with orm(models, conn) as db:
        backend = db.get(models.StorageBackend, 1)
        message = models.Message(session_id=1, sender="user", content="hi", token_count=1,
                                 storage_backend=backend, audio_key="1/999.wav")
        db.add(message)
        db.flush()
        assert models.audio_location(message) == "/var/lib/hub/audio/1/999.wav"
        keys = db.scalars(select(models.Message.audio_key).where(models.Message.session_id == 3))
        assert sorted(k for k in keys if k) == ["3/33.wav"]


@pytest.mark.db
@pytest.mark.parametrize("variant", along("audio_storage"))
def test_refill_puts_back_only_the_tables_asked_for_with_their_keys(filled, conn, variant):
    """What a committed backfill is undone by: messages (and the backends row) reloaded, nothing else."""
    models = filled(variant)
    tables = tuple(t for t in ("messages", "storage_backends") if t in models.tables())
    keys = f"""SELECT conrelid::regclass::text, conname, contype FROM pg_constraint
               WHERE connamespace = '"{models.schema}"'::regnamespace ORDER BY 1, 3"""

    def key_shapes():
        return sorted((table, kind) for table, _, kind in conn.execute(text(keys)).all())

    before = key_shapes()
    paths = source_paths(conn)
    with orm(models, conn) as db:
        models.migrate_audio_storage(db, NEW_ROOT)
        db.commit()
    conn.execute(text(f"UPDATE {models.qualified('sessions')} SET title = 'kept' WHERE id = 1"))
    models.refill(conn, SOURCE_SCHEMA, tables)
    with orm(models, conn) as db:
        assert {m.id: models.audio_location(m) for m in db.scalars(select(models.Message)).all()} == paths
    assert conn.execute(text(f"SELECT title FROM {models.qualified('sessions')} WHERE id = 1")).scalar() == "kept"
    assert key_shapes() == before  # primary and foreign keys back on the refilled tables
    with pytest.raises(ValueError, match="reference"):
        models.refill(conn, SOURCE_SCHEMA, ("sessions",))
