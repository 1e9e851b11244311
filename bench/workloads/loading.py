"""Claim C1: the dashboard's N+1 and a session's detail page, over the loading axis."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bench.workloads.registry import workload


def explicit_loads(ctx, *relationships) -> list:
    """A relationship set to `raise` loads nothing by itself, so the query says what it needs
    (selectinload); elsewhere the relationship's own strategy is what is being measured, so no
    option is added."""
    explicit = ctx.models.parts["loading"].explicit()
    return [selectinload(relationship) for relationship in relationships if relationship.key in explicit]


@workload(axis="loading", params={"page_size": [10, 100, 1000]}, writes=False)
def dashboard(db, ctx, page_size):
    """Dashboard: newest sessions with their skill names"""
    Session = ctx.models.Session
    query = (ctx.models.live_sessions_statement().order_by(Session.updated_at.desc()).limit(page_size)
             .options(*explicit_loads(ctx, Session.skills)))
    sessions = db.scalars(query).unique().all()
    names = [skill.name for session in sessions for skill in session.skills]
    return len(sessions) + len(names)


def _pick_session(ctx, messages):
    return {"session_id": ctx.facts["long_session" if messages == "long" else "short_session"]}


@workload(axis="loading", params={"messages": ["short", "long"]}, setup=_pick_session, writes=False)
def session_detail(db, ctx, messages, session_id):  # noqa: ARG001 - `messages` names the case
    """Session detail: one session with its messages and skills"""
    Session = ctx.models.Session
    query = select(Session).where(Session.id == session_id).options(
        *explicit_loads(ctx, Session.messages, Session.skills))
    session = db.scalars(query).unique().one()
    ordered = sorted(session.messages, key=lambda message: (message.created_at, message.id))
    return 1 + len(ordered) + len(session.skills)
