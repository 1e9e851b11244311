"""Claim C5: moving every message's audio to a new storage backend, over audio_storage."""

from __future__ import annotations

from bench.workloads import workload

NEW_ROOT = "s3://hub-audio-eu"


@workload(axis="audio_storage", rollback=True, main_statement="none")
def migrate_audio_storage(db, ctx):
    """Migrate audio storage: point every message's audio at a new backend"""
    return ctx.models.migrate_audio_storage(db, NEW_ROOT)
