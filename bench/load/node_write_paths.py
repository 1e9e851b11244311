"""The ways a hub can write one mesh node's sync flag, each as one small function.

Every path sets node `node_id` of session `session_id` to `flag` and commits. `barrier.wait()`
marks the point where all nodes line up: before anything for a path that locks or writes in one
statement (lining up later would wait for a lock another node holds), between the read and the
write for a path that reads without a lock, which is the interleaving that loses updates.
"""

from __future__ import annotations

import json

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import JSONB

from models_variants.sync_flag import any_syncing
from models_variants.timestamps import utc_now_naive


def entry(flag: bool) -> dict:
    return {"is_syncing": flag, "last_sync": utc_now_naive().isoformat()}


def has_blob(models) -> bool:
    return "node_sync_status" in models.Session.__table__.c


def orm_locked(db, models, session_id, node_id, flag, barrier) -> None:
    """the model's own write: SELECT ... FOR UPDATE, then a new value assigned"""
    barrier.wait()
    models.set_node_sync(db, session_id, node_id, flag)
    db.commit()


def orm_unlocked(db, models, session_id, node_id, flag, barrier) -> None:
    """read without a lock, assign a new value, commit"""
    if not has_blob(models):
        row = db.get(models.SessionNodeSync, (session_id, node_id), populate_existing=True)
        barrier.wait()
        row.is_syncing, row.last_sync = flag, models.parts["timestamps"].now()
        db.commit()
        return
    row = db.get(models.Session, session_id, populate_existing=True)
    state = dict(row.node_sync_status or {})
    barrier.wait()
    state[node_id] = entry(flag)
    row.node_sync_status = state
    db.commit()


def in_place(db, models, session_id, node_id, flag, barrier) -> None:
    """change the loaded JSON value in place, commit (no mutable type tracks it)"""
    row = db.get(models.Session, session_id, populate_existing=True)
    barrier.wait()
    row.node_sync_status[node_id] = entry(flag)
    db.commit()


def atomic_sql(db, models, session_id, node_id, flag, barrier) -> None:
    """one statement: UPDATE ... jsonb_set(...) (sync table: INSERT ... ON CONFLICT DO UPDATE)"""
    barrier.wait()
    if not has_blob(models):
        db.execute(text(f"""insert into {models.qualified('session_node_sync')}
                   (session_id, node_id, is_syncing, last_sync) values (:session_id, :node_id, :flag, now())
            on conflict (session_id, node_id) do update set is_syncing = excluded.is_syncing,
                                                            last_sync = excluded.last_sync"""),
                   {"session_id": session_id, "node_id": node_id, "flag": flag})
    else:
        kind = "jsonb" if isinstance(models.Session.__table__.c.node_sync_status.type, JSONB) else "json"
        db.execute(text(f"""update {models.qualified('sessions')} set node_sync_status =
            jsonb_set(coalesce(node_sync_status::jsonb, '{{}}'), array[cast(:node_id as text)],
                      cast(:entry as jsonb))::{kind} where id = :session_id"""),
                   {"session_id": session_id, "node_id": node_id, "entry": json.dumps(entry(flag))})
    db.commit()


def bulk_update(db, models, session_id, node_id, flag, barrier) -> None:
    """locked read, then an ORM bulk UPDATE of the new value (no attribute events run)"""
    barrier.wait()
    if not has_blob(models):
        nodes = models.SessionNodeSync
        db.execute(update(nodes).where(nodes.session_id == session_id, nodes.node_id == node_id)
                   .values(is_syncing=flag, last_sync=models.parts["timestamps"].now()))
        db.commit()
        return
    Session = models.Session
    row = db.get(Session, session_id, with_for_update=True, populate_existing=True)
    state = {**(row.node_sync_status or {}), node_id: entry(flag)}
    db.execute(update(Session).where(Session.id == session_id).values(node_sync_status=state)
               .execution_options(synchronize_session=False))
    db.commit()


PATHS = {path.__name__: path for path in (orm_locked, orm_unlocked, in_place, atomic_sql, bulk_update)}


def label(name: str) -> str:
    return PATHS[name].__doc__.strip().splitlines()[0]


def applies(name: str, models) -> bool:
    """An in-place change needs a JSON value to change; every other path has a form for every variant."""
    return has_blob(models) or name != "in_place"


def register_nodes(db, models, session_id: int, nodes: list[str]) -> None:
    """The nodes known to the session, none syncing, written through the ORM (so a flag stays in step)."""
    if not has_blob(models):
        for node in nodes:
            db.merge(models.SessionNodeSync(session_id=session_id, node_id=node, is_syncing=False))
        return
    row = db.get(models.Session, session_id, with_for_update=True, populate_existing=True)
    row.node_sync_status = {**(row.node_sync_status or {}), **{node: entry(False) for node in nodes}}


def syncing_nodes(conn, models, session_id: int) -> set[str]:
    """The nodes the database says are syncing, read back with SQL (no ORM state involved)."""
    if not has_blob(models):
        return set(conn.execute(text(f"select node_id from {models.qualified('session_node_sync')} "
                                     "where session_id = :id and is_syncing"), {"id": session_id}).scalars())
    state = conn.execute(text(f"select node_sync_status from {models.qualified('sessions')} where id = :id"),
                         {"id": session_id}).scalar_one()
    return {node for node, value in (state or {}).items() if isinstance(value, dict) and value.get("is_syncing")}


def drifted(conn, models, session_id: int) -> bool | None:
    """Whether the denormalized flag disagrees with the JSON value; None where there is no such flag."""
    if "is_syncing" not in models.Session.__table__.c:
        return None
    flag, state = conn.execute(text(f"select is_syncing, node_sync_status from {models.qualified('sessions')} "
                                    "where id = :id"), {"id": session_id}).one()
    return bool(flag) != any_syncing(state)
