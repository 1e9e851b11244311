"""Claim C6: what naive UTC timestamps mean once a server session's time zone is not UTC."""

from __future__ import annotations

from bench.workloads.registry import workload


def _session_time_zone(params: dict) -> dict:
    return {"options": f"-c timezone={params['timezone']}"}


def _window(ctx, timezone):  # noqa: ARG001 - the time zone is set on the connection
    # An aware instant, as SQL's now() or any timestamptz value gives. The driver sends it cast
    # to the column's type, and PostgreSQL reads it in the connection's time zone: a naive
    # column then compares against a shifted boundary.
    return {"since": ctx.facts["recent_since"]}


@workload(axis="timestamps", params={"timezone": ["UTC", "Asia/Tokyo"]}, setup=_window, writes=False,
          connect_options=_session_time_zone)
def recent_activity(db, ctx, timezone, since):  # noqa: ARG001
    """Recent activity: the 10 most recently updated sessions, found by an aware instant"""
    Session = ctx.models.Session
    return len(db.scalars(ctx.models.live_sessions_statement().where(Session.updated_at >= since)).unique().all())
