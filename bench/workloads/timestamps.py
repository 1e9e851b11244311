"""Claim C6: what naive UTC timestamps mean once a server session's time zone is not UTC."""

from __future__ import annotations

from datetime import timedelta

from bench.workloads import workload


def _session_time_zone(params: dict) -> dict:
    return {"options": f"-c timezone={params['timezone']}"}


def _window(ctx, timezone):  # noqa: ARG001 - the time zone is set on the connection
    # An aware instant, as SQL's now() or any timestamptz column gives: PostgreSQL compares a
    # naive column with it by reading the naive value in the connection's time zone.
    return {"since": ctx.facts["reference_instant"] - timedelta(days=30)}


@workload(axis="timestamps", params={"timezone": ["UTC", "Asia/Tokyo"]}, setup=_window,
          connect_options=_session_time_zone)
def recent_activity(db, ctx, timezone, since):  # noqa: ARG001
    """Recent activity: sessions updated in the last 30 days, compared with an aware instant"""
    Session = ctx.models.Session
    return len(db.scalars(ctx.models.live_sessions_statement().where(Session.updated_at >= since)).all())
