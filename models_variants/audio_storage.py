"""Axis `audio_storage`: how a message's audio file location is stored.

Review claim C5: a raw path string makes a storage move a massive migration. `storage_key`
stores a key relative to a storage_backends row, so moving storage rewrites that one row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models_variants.axis import AxisValue
from models_variants.filling import TableFill

if TYPE_CHECKING:
    from models_variants.factory import ModelSet

# Canonical paths look like '<root>/<session>/<id>.wav'; the root is everything before the
# last two components.
_ROOT_OF = r"regexp_replace({path}, '/[^/]+/[^/]+$', '')"


class AudioStorage(AxisValue):
    def audio_location(self, message) -> str | None:
        raise NotImplementedError

    def migrate(self, db, models: ModelSet, new_root: str) -> int:
        raise NotImplementedError


class _RawPath:
    audio_path: Mapped[str | None] = mapped_column(Text, nullable=True)


class RawPath(AudioStorage):
    name = "raw_path"
    description = "audio_path holds the full file path as a string (as reviewed)"
    message_mixin = _RawPath

    def audio_location(self, message) -> str | None:
        return message.audio_path

    def migrate(self, db, models: ModelSet, new_root: str) -> int:
        # Every message with audio is rewritten. The old root is not recorded anywhere, so the
        # migration has to assume the path layout: keep the last two components.
        statement = text(
            f"UPDATE {models.qualified('messages')} SET audio_path = :root || '/' || "
            r"regexp_replace(audio_path, '^.*/([^/]+/[^/]+)$', '\1') WHERE audio_path IS NOT NULL")
        return db.execute(statement, {"root": new_root.rstrip("/")}).rowcount

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        fills["messages"].columns["audio_path"] = "src.audio_path"


class _StorageKey:
    storage_backend_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("storage_backends.id"), nullable=True)
    audio_key: Mapped[str | None] = mapped_column(Text, nullable=True)


class StorageKey(AudioStorage):
    name = "storage_key"
    description = "storage_backends(id, name, base_url) row + relative audio_key per message"
    message_mixin = _StorageKey

    def add_tables(self, models: ModelSet) -> None:
        class StorageBackend(models.Base):
            __tablename__ = "storage_backends"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            name: Mapped[str] = mapped_column(Text, unique=True)
            base_url: Mapped[str] = mapped_column(Text)

        models.StorageBackend = StorageBackend
        # Many-to-one: after the first message, the backend comes from the identity map.
        models.Message.storage_backend = relationship(StorageBackend)

    def audio_location(self, message) -> str | None:
        if message.audio_key is None:
            return None
        return f"{message.storage_backend.base_url.rstrip('/')}/{message.audio_key}"

    def migrate(self, db, models: ModelSet, new_root: str) -> int:
        statement = text(f"UPDATE {models.qualified('storage_backends')} SET base_url = :root")
        return db.execute(statement, {"root": new_root.rstrip("/")}).rowcount

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        root = _ROOT_OF.format(path="audio_path")
        fills["storage_backends"] = TableFill(
            f"(SELECT DISTINCT {root} AS base_url FROM {{src}}.messages "
            f"WHERE audio_path IS NOT NULL) src",
            {"id": "row_number() OVER (ORDER BY src.base_url)",
             "name": "'backend-' || row_number() OVER (ORDER BY src.base_url)",
             "base_url": "src.base_url"})
        messages = fills["messages"]
        messages.source += (f" LEFT JOIN {{tgt}}.storage_backends b "
                            f"ON b.base_url = {_ROOT_OF.format(path='src.audio_path')}")
        messages.columns["storage_backend_id"] = "b.id"
        messages.columns["audio_key"] = "substr(src.audio_path, length(b.base_url) + 2)"


VALUES = (RawPath(), StorageKey())
