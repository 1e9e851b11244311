"""What every axis value is: a name, a one-line description, and hooks the factory calls.

An axis module subclasses `AxisValue`, overrides only the hooks its values contribute to, and
lists its values in `VALUES` (the first one is the baseline, as reviewed). Hooks receive the
`ModelSet` under construction, so a value can read the classes other axes already defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models_variants.factory import ModelSet
    from models_variants.filling import TableFill


class UnsupportedByVariant(NotImplementedError):
    """The operation has no meaning for this variant (e.g. restoring a hard-deleted session)."""


class AxisValue:
    """One value of one axis. Subclasses set `name` and `description` (one line)."""

    name: str = ""
    description: str = ""
    session_mixin: type | None = None  # columns added to Session (typed mapped_column)
    message_mixin: type | None = None  # columns added to Message

    def add_tables(self, models: ModelSet) -> None:
        """Define extra mapped classes / relationships after the core classes exist."""

    def install(self, models: ModelSet) -> None:
        """Attach events once mapping is complete (write-path bookkeeping, query criteria)."""

    def fill(self, models: ModelSet, fills: dict[str, TableFill]) -> None:
        """Add this value's SELECT expressions (or whole tables) to the fill plan."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


@dataclass(frozen=True)
class Axis:
    name: str
    values: dict[str, Any]

    @classmethod
    def of(cls, name: str, values: tuple[AxisValue, ...]) -> Axis:
        names = [value.name for value in values]
        if len(set(names)) != len(names):
            raise ValueError(f"axis {name}: duplicate value names {names}")
        return cls(name, {value.name: value for value in values})

    @property
    def baseline(self) -> str:
        return next(iter(self.values))
