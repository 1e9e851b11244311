"""Axis `audio_storage`: how a message's audio file location is stored.

Review claim C5: a raw path string makes a storage move a massive migration. `storage_key`
stores a key relative to a storage_backends row, so moving storage rewrites that one row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, Text, TextClause, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models_variants.axis import AxisValue
from models_variants.filling import TableFill

if TYPE_CHECKING:
    from models_variants.factory import ModelSet

# Canonical paths look like '<root>/<session>/<id>.wav'; the root is everything before the
# last two components.
_ROOT_OF = r"regexp_replace({path}, '/[^/]+/[^/]+$', '')"
# One step of a storage move: a statement and its parameters.
Step = tuple[TextClause, dict]


class AudioStorage(AxisValue):
    audio_column = ""  # the messages column that is set when a message has audio

    def audio_location(self, message) -> str | None:
        raise NotImplementedError

    def migrate(self, db, models: ModelSet, new_root: str) -> int:
        """The storage move as one statement (one transaction); the rows it rewrote."""
        statement, params = self.move(models, new_root)
        return db.execute(statement, params).rowcount

    def move(self, models: ModelSet, new_root: str) -> Step:
        raise NotImplementedError

    def backfill(self, conn, models: ModelSet, new_root: str, batch_ids: int) -> list[Step]:
        """The same move as a backfill: one step per range of `batch_ids` message ids, each meant to run
        in its own transaction so that no row stays locked for longer than one batch."""
        return [self.move(models, new_root)]

    def writer_targets(self, conn, models: ModelSet, count: int) -> list[int]:
        """Up to `count` ids of messages with audio, spread evenly over the id range: the rows a concurrent
        writer updates while the move runs."""
        return list(conn.execute(text(
            f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i, count(*) OVER () AS n "
            f"FROM {models.qualified('messages')} WHERE {self.audio_column} IS NOT NULL) t "
            f"WHERE i % greatest(n / :count, 1) = 0 ORDER BY id LIMIT :count"), {"count": count}).scalars())


class _RawPath:
    audio_path: Mapped[str | None] = mapped_column(Text, nullable=True)


class RawPath(AudioStorage):
    name = "raw_path"
    description = "audio_path holds the full file path as a string (as reviewed)"
    message_mixin = _RawPath
    audio_column = "audio_path"

    def audio_location(self, message) -> str | None:
        return message.audio_path

    def _rewrite(self, models: ModelSet, where: str = "") -> TextClause:
        # Every message with audio is rewritten. The old root is not recorded anywhere, so the
        # migration has to assume the path layout: keep the last two components.
        return text(
            f"UPDATE {models.qualified('messages')} SET audio_path = :root || '/' || "
            r"regexp_replace(audio_path, '^.*/([^/]+/[^/]+)$', '\1') WHERE audio_path IS NOT NULL" + where)

    def move(self, models: ModelSet, new_root: str) -> Step:
        return self._rewrite(models), {"root": new_root.rstrip("/")}

    def backfill(self, conn, models: ModelSet, new_root: str, batch_ids: int) -> list[Step]:
        low, high = conn.execute(text(
            f"SELECT min(id), max(id) FROM {models.qualified('messages')} WHERE audio_path IS NOT NULL")).one()
        if low is None:
            return []
        statement = self._rewrite(models, " AND id >= :low AND id < :high")
        root = new_root.rstrip("/")
        return [(statement, {"root": root, "low": start, "high": start + batch_ids})
                for start in range(low, high + 1, batch_ids)]

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
    audio_column = "audio_key"

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

    def move(self, models: ModelSet, new_root: str) -> Step:
        # One row, whatever the number of messages: a backfill has nothing to split.
        return text(f"UPDATE {models.qualified('storage_backends')} SET base_url = :root"), \
            {"root": new_root.rstrip("/")}

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
