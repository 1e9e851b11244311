"""Axis `timestamps`: how created_at / updated_at (and every other timestamp) are stored.

Review claim C6 says datetime.utcnow keeps ordering consistent across zones; the two values let
the suite show what is actually stored for the same instant under different server time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import MappedColumn, mapped_column

from models_variants.axis import AxisValue


def utc_now_naive() -> datetime:
    # The reviewed model uses datetime.utcnow, deprecated since Python 3.12. This returns the
    # identical naive UTC wall clock, without the DeprecationWarning.
    return datetime.now(UTC).replace(tzinfo=None)


class Timestamps(AxisValue):
    def column(self, *, now_default: bool = True, nullable: bool = False) -> MappedColumn:
        raise NotImplementedError

    def now(self) -> datetime:
        """The value the application writes for "now" into this variant's columns."""
        raise NotImplementedError

    def fill_expr(self, source_column: str) -> str:
        """SQL turning a canonical (naive UTC) source column into this variant's column."""
        raise NotImplementedError


class NaiveUtc(Timestamps):
    name = "naive_utc"
    description = "timestamp without time zone, Python default datetime.utcnow (as reviewed)"

    def column(self, *, now_default: bool = True, nullable: bool = False) -> MappedColumn:
        default = utc_now_naive if now_default else None
        return mapped_column(DateTime(timezone=False), default=default, nullable=nullable)

    def now(self) -> datetime:
        return utc_now_naive()

    def fill_expr(self, source_column: str) -> str:
        return source_column


class Aware(Timestamps):
    name = "aware"
    description = "timestamptz with server_default now(): every row stores an instant"

    def column(self, *, now_default: bool = True, nullable: bool = False) -> MappedColumn:
        default = func.now() if now_default else None
        return mapped_column(DateTime(timezone=True), server_default=default, nullable=nullable)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def fill_expr(self, source_column: str) -> str:
        # The canonical source is naive UTC: read it as UTC to get the instant it means.
        return f"({source_column} AT TIME ZONE 'UTC')"


VALUES = (NaiveUtc(), Aware())
