"""Review claim C6: what each timestamps variant stores for one instant, written from
connections whose server time zone differs, and what that does to ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from models_variants.timestamps import utc_now_naive
from tests.test_models_source import along, conn, filled, models_source, orm  # noqa: F401 (fixtures)

INSTANT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAIVE = INSTANT.replace(tzinfo=None)  # what datetime.utcnow() returns at that instant
ZONES = ("UTC", "Asia/Tokyo")  # Tokyo is UTC+9, no daylight saving


def stored(connection, models, session_id: int) -> str:
    """The stored value rendered in UTC, whatever the column type."""
    connection.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    return connection.execute(text(
        f"SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI') FROM {models.qualified('sessions')} "
        f"WHERE id = :id"), {"id": session_id}).scalar()


def write(models, connection, zone: str, session_id: int, value: datetime) -> None:
    connection.execute(text(f"SET LOCAL TIME ZONE '{zone}'"))
    with orm(models, connection) as db:
        db.add(models.Session(id=session_id, user_id=1, title=zone, created_at=value,
                              updated_at=value))
        db.commit()


# (column variant, value the application passes) -> stored UTC reading per server zone
STORED = {
    ("naive_utc", "naive"): {"UTC": "2026-03-01 12:00", "Asia/Tokyo": "2026-03-01 12:00"},
    ("naive_utc", "aware"): {"UTC": "2026-03-01 12:00", "Asia/Tokyo": "2026-03-01 21:00"},
    ("aware", "naive"): {"UTC": "2026-03-01 12:00", "Asia/Tokyo": "2026-03-01 03:00"},
    ("aware", "aware"): {"UTC": "2026-03-01 12:00", "Asia/Tokyo": "2026-03-01 12:00"},
}


@pytest.mark.db
@pytest.mark.parametrize("variant", along("timestamps"))
@pytest.mark.parametrize("given", ["naive", "aware"])
def test_what_is_stored_per_server_time_zone(filled, conn, variant, given):
    # naive column: keeps the wall clock it is given; an aware value is first converted to the
    # server zone's wall clock. aware column: keeps the instant; a naive value is read as
    # wall clock of the server zone.
    models = filled(variant)
    value = NAIVE if given == "naive" else INSTANT
    for offset, zone in enumerate(ZONES):
        write(models, conn, zone, 50_000 + offset, value)
    seen = {zone: stored(conn, models, 50_000 + offset) for offset, zone in enumerate(ZONES)}
    assert seen == STORED[(variant.timestamps, given)]


@pytest.mark.db
@pytest.mark.parametrize("variant", along("timestamps"))
def test_ordering_of_two_writers_in_different_zones(filled, conn, variant):
    # A writes at INSTANT from a Tokyo connection, B one hour later from a UTC connection; both
    # pass timezone-aware datetimes, as code moving off utcnow does. ORDER BY created_at must put
    # A first. The naive column stores Tokyo wall clock for A and puts it 8 hours after B.
    models = filled(variant)
    write(models, conn, "Asia/Tokyo", 60_000, INSTANT)
    write(models, conn, "UTC", 60_001, INSTANT + timedelta(hours=1))
    with orm(models, conn) as db:
        order = list(db.scalars(select(models.Session.id).where(models.Session.id >= 60_000)
                                .order_by(models.Session.created_at)))
    assert order == {"naive_utc": [60_001, 60_000], "aware": [60_000, 60_001]}[variant.timestamps]


@pytest.mark.db
@pytest.mark.parametrize("variant", along("timestamps"))
def test_defaults_store_now_in_both_zones(filled, conn, variant):
    # With the column defaults (utcnow in Python / now() on the server) both variants order
    # correctly whatever the server zone: the hazard is only in values passed in.
    models = filled(variant)
    before = utc_now_naive() - timedelta(seconds=5)
    for offset, zone in enumerate(ZONES):
        conn.execute(text(f"SET LOCAL TIME ZONE '{zone}'"))
        with orm(models, conn) as db:
            db.add(models.Session(id=70_000 + offset, user_id=1, title=zone))
            db.commit()
    conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    rows = conn.execute(text(
        f"SELECT created_at FROM {models.qualified('sessions')} WHERE id >= 70000")).scalars().all()
    assert len(rows) == 2
    assert all(abs(r.replace(tzinfo=None) - before) < timedelta(minutes=1) for r in rows)
    assert all((r.tzinfo is None) == (variant.timestamps == "naive_utc") for r in rows)
