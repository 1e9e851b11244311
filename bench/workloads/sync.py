"""Claim C2: finding sessions with a node syncing, and the write that flips a node, over sync_flag."""

from __future__ import annotations

from bench.workloads.registry import workload


@workload(axis="sync_flag", writes=False)
def active_sync(db, ctx):
    """Active sync: every session with any node syncing"""
    return len(db.execute(ctx.models.active_sync_statement()).all())


def _pick_node(ctx):
    return {"session_id": ctx.facts["sync_session"], "node_id": ctx.facts["sync_node"]}


def _commit_without_flush_wait(params):  # noqa: ARG001 - every mark_sync case alike
    # The two commits would otherwise also time the disk's flush (fsync), the same for every variant
    # and the noisiest part of a shared machine; WAL is still written, and its bytes are counted.
    return {"options": "-c synchronous_commit=off"}


@workload(axis="sync_flag", setup=_pick_node, main_statement="none", connect_options=_commit_without_flush_wait)
def mark_sync(db, ctx, session_id, node_id):
    """Mark sync: one node starts syncing and stops again (two commits)"""
    ctx.models.set_node_sync(db, session_id, node_id, True)
    db.commit()
    ctx.models.set_node_sync(db, session_id, node_id, False)
    db.commit()
    return 2
