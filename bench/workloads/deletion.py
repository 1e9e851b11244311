"""Claims C3 and C4: deleting, purging, restoring and listing sessions, over the deletion axis."""

from __future__ import annotations

from sqlalchemy import select

from bench.workloads.registry import workload


def _only_soft(variant) -> str | None:
    return None if variant.values()["deletion"].soft else "only soft delete keeps a session to restore"


def _one_hard_delete(variant) -> str | None:
    # hard_db lists the same table as hard_orm: both remove the rows, only who deletes children differs.
    return "hard_db lists the same rows as hard_orm" if variant.deletion == "hard_db" else None


def _delete_target(ctx):
    return {"session_id": ctx.facts["delete_session"]}


@workload(axis="deletion", setup=_delete_target, rollback=True, main_statement="none")
def delete_session(db, ctx, session_id):
    """Delete session: one session with its messages and skill links"""
    session = db.get(ctx.models.Session, session_id)
    ctx.models.delete_session(db, session)
    db.flush()
    return 1


def _purge_target(ctx, user):
    # a typical account (the median number of sessions: bounded at any size) and the largest one
    return {"user_id": ctx.facts["purge_user_median" if user == "median" else "purge_user"]}


@workload(axis="deletion", params={"user": ["median", "largest"]}, setup=_purge_target, rollback=True,
          main_statement="none")
def purge_user(db, ctx, user, user_id):  # noqa: ARG001 - `user` names the case
    """Purge user: delete all sessions of one user, as an account deletion does"""
    Session = ctx.models.Session
    # unique(): a joined eager load of a collection repeats each parent once per child row
    sessions = db.scalars(select(Session).where(Session.user_id == user_id)).unique().all()
    for session in sessions:
        ctx.models.delete_session(db, session)
    db.flush()
    return len(sessions)


def _soft_deleted_target(ctx):
    session_id = ctx.facts["delete_session"]
    with ctx.models.sessionmaker(ctx.setup_engine)() as db:
        ctx.models.delete_session(db, db.get(ctx.models.Session, session_id))
        db.commit()
    return {"session_id": session_id}


def _undo_soft_delete(ctx, session_id):
    with ctx.models.sessionmaker(ctx.setup_engine)() as db:
        ctx.models.restore_session(db, session_id)
        db.commit()


@workload(axis="deletion", setup=_soft_deleted_target, teardown=_undo_soft_delete, rollback=True,
          skip_reason=_only_soft, main_statement="none")
def restore_session(db, ctx, session_id):
    """Restore session: bring one soft-deleted session back"""
    ctx.models.restore_session(db, session_id)
    db.flush()
    return 1


def _delete_fraction(ctx, deleted_fraction):
    with ctx.setup_engine.begin() as conn:
        ctx.models.soft_delete_fraction(conn, ctx.source_schema, deleted_fraction)
    return {}


def _undo_fraction(ctx, deleted_fraction):
    if not deleted_fraction:
        return
    if ctx.models.parts["deletion"].soft:
        # Soft-deleted rows are still there: bring them back (the next set-up vacuums and freezes the
        # table again) instead of refilling every table, which costs minutes at 100,000 sessions.
        with ctx.setup_engine.begin() as conn:
            ctx.models.restore_all_sessions(conn)
    else:
        ctx.restore_variant()


@workload(axis="deletion", params={"deleted_fraction": [0, 0.1, 0.5, 0.9]}, setup=_delete_fraction,
          teardown=_undo_fraction, skip_reason=_one_hard_delete)
def list_live(db, ctx, deleted_fraction):  # noqa: ARG001 - `deleted_fraction` names the case
    """List live: newest 100 live sessions when a fraction was deleted"""
    Session = ctx.models.Session
    query = ctx.models.live_sessions_statement().order_by(Session.updated_at.desc()).limit(100)
    return len(db.scalars(query).unique().all())
