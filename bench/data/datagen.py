"""Canonical source data, generated: the rows of every source table as Arrow tables, no database.

Every random draw comes from a generator seeded by (seed, stream, block), where a block is a
fixed range of BLOCK_SESSIONS session ids.  A block's rows therefore depend only on the spec
and the block number, never on how the load is batched or on when it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.data.spec import (
    MAX_SKILLS, REFERENCE_INSTANT, SKILL_NAMES, DataSpec, syncing_share,
)

BLOCK_SESSIONS = 10_000
LONG_SESSION_MESSAGES = 200
MAX_MESSAGES, MAX_NODES, MESH_NODES = 2_000, 16, 64
AUDIO_FRACTION = 0.2
AUDIO_ROOT = "/var/lib/hub/audio/"
TABLES = ("users", "skills", "sessions", "session_nodes", "session_skills", "messages")
_STREAMS = {"users": 1, "sessions": 2, "session_nodes": 3, "session_skills": 4, "messages": 5,
            "titles": 6}
_WORDS = (
    "the a node session model query index table data sync mesh agent task user hub result "
    "error retry plan step token audio file path cache worker queue run build test deploy "
    "check update delete restore list fetch load store send read write scan join sort page "
    "fast slow new old next last first each every some all this that with from into over "
    "after before when while because so and but or not can will should must may please "
    "thanks sure here is are was were it we you they see try use make find show give keep"
).split()


@dataclass(frozen=True)
class SessionPlan:
    """Per-session draws that the rows of every table are derived from (one entry per session)."""

    ids: np.ndarray
    user_ids: np.ndarray
    created_us: np.ndarray  # microseconds since the epoch, naive UTC
    duration_us: np.ndarray  # updated_at - created_at; the last message lands on updated_at
    message_counts: np.ndarray
    node_counts: np.ndarray
    skill_counts: np.ndarray
    syncing: np.ndarray
    deleted_draw: np.ndarray
    mesh_nodes: int = MESH_NODES  # node ids are drawn from node-1 .. node-<mesh_nodes>

    @property
    def message_starts(self) -> np.ndarray:
        """Index of each session's first message in id order (message id = index + 1)."""
        return np.concatenate(([0], np.cumsum(self.message_counts)[:-1]))

    @property
    def long_session_id(self) -> int:
        """The longest session with deleted_draw >= 0.5 (lowest id on ties): >= 200 messages.

        Such a session stays live at every soft-deleted fraction up to one half."""
        return int(self.ids[_longest_kept(self.message_counts, self.deleted_draw)])

    def row_counts(self, spec: DataSpec) -> dict[str, int]:
        return {"users": spec.users, "skills": spec.skills, "sessions": len(self.ids),
                "session_nodes": int(self.node_counts.sum()),
                "session_skills": int(self.skill_counts.sum()),
                "messages": int(self.message_counts.sum())}


def _rng(spec: DataSpec, stream: str, block: int) -> np.random.Generator:
    seq = np.random.SeedSequence(spec.seed, spawn_key=(_STREAMS[stream], block))
    return np.random.Generator(np.random.PCG64(seq))


def _blocks(count: int) -> Iterator[tuple[int, int, int]]:
    for block, lo in enumerate(range(0, count, BLOCK_SESSIONS)):
        yield block, lo, min(lo + BLOCK_SESSIONS, count)


_DAY_US = 86_400 * 1_000_000
_REF_US = int((REFERENCE_INSTANT - datetime(1970, 1, 1)).total_seconds()) * 1_000_000


def _longest_kept(counts: np.ndarray, deleted_draw: np.ndarray) -> int:
    kept = deleted_draw >= 0.5
    return int(np.argmax(np.where(kept, counts, -1) if kept.any() else counts))


def _syncing(draws: np.ndarray, syncing: str) -> np.ndarray:
    """Which sessions are syncing: draws below the share, or the `count` lowest draws (ties by id)."""
    wanted = syncing_share(syncing, len(draws))
    if isinstance(wanted, float):
        return draws < wanted
    chosen = np.zeros(len(draws), dtype=bool)
    chosen[np.argsort(draws, kind="stable")[:wanted]] = True
    return chosen


def session_plan(spec: DataSpec) -> SessionPlan:
    parts = []
    fixed_nodes = spec.nodes_per_session
    for block, lo, hi in _blocks(spec.sessions):
        rng, n = _rng(spec, "sessions", block), hi - lo
        parts.append(dict(
            ids=np.arange(lo + 1, hi + 1, dtype=np.int64),
            # squaring a uniform draw favours low user ids: a few users own many sessions
            user_ids=(1 + spec.users * rng.random(n) ** 2).astype(np.int64).clip(1, spec.users),
            # sessions start 365..7 days before the reference, so every later timestamp
            # (at most 6 days of conversation) still lies before it
            created_us=_REF_US - 365 * _DAY_US + (rng.random(n) * 358 * _DAY_US).astype(np.int64),
            pace_us=((5 + rng.exponential(35.0, n)) * 1e6).astype(np.int64),
            # lognormal: mean about 8, most sessions a handful of messages, a few hundreds
            message_counts=np.rint(rng.lognormal(1.5, 1.1, n)).astype(np.int64).clip(
                1, MAX_MESSAGES),
            node_counts=(1 + rng.binomial(MAX_NODES - 1, 0.25, n)) if fixed_nodes is None
            else np.full(n, fixed_nodes, dtype=np.int64),
            skill_counts=rng.binomial(MAX_SKILLS, 0.35, n),
            syncing_draw=rng.random(n),
            deleted_draw=rng.random(n),
        ))
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    counts = cols["message_counts"]
    longest = _longest_kept(counts, cols["deleted_draw"])  # session_detail needs a long one
    counts[longest] = max(counts[longest], LONG_SESSION_MESSAGES)
    pace = cols.pop("pace_us")
    cols["duration_us"] = np.minimum(counts * pace, 6 * _DAY_US)
    cols["syncing"] = _syncing(cols.pop("syncing_draw"), spec.syncing)
    return SessionPlan(**cols, mesh_nodes=max(MESH_NODES, fixed_nodes or 0))


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


def _timestamps(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"))


def _phrases() -> pa.Array:
    """Fixed catalogue of short phrases in four forms: plain, sentence start, end, both.

    Joining whole phrases keeps content generation vectorised and ~4x cheaper than words."""
    rng = np.random.Generator(np.random.PCG64(0))
    plain = [" ".join(rng.choice(_WORDS, rng.integers(2, 6))) for _ in range(512)]
    start = [p[0].upper() + p[1:] for p in plain]
    return pa.array(plain + start + [p + "." for p in plain] + [p + "." for p in start])


_PHRASES = _phrases()
_PHRASE_FORMS = len(_PHRASES) // 4


def _text(rng: np.random.Generator, phrase_counts: np.ndarray) -> pa.Array:
    """One string per entry: phrase_counts[i] phrases forming sentences of a few phrases."""
    total = int(phrase_counts.sum())
    offsets = np.zeros(len(phrase_counts) + 1, dtype=np.int32)
    np.cumsum(phrase_counts, out=offsets[1:])
    ends = rng.random(total) < 0.35
    ends[offsets[1:] - 1] = True  # every text ends a sentence
    starts = np.empty(total, dtype=bool)
    starts[0], starts[1:] = True, ends[:-1]
    starts[offsets[:-1]] = True
    pick = rng.integers(0, _PHRASE_FORMS, total) + _PHRASE_FORMS * (starts + 2 * ends)
    phrases = pa.ListArray.from_arrays(pa.array(offsets), _PHRASES.take(pa.array(pick)))
    return pc.binary_join(phrases, " ")


def users_table(spec: DataSpec, block: int) -> pa.Table:
    lo, hi = block * BLOCK_SESSIONS, min((block + 1) * BLOCK_SESSIONS, spec.users)
    rng = _rng(spec, "users", block)
    ids = np.arange(lo + 1, hi + 1, dtype=np.int32)
    created = _REF_US - 365 * _DAY_US - (rng.random(hi - lo) * 30 * _DAY_US).astype(np.int64)
    return pa.table({"id": ids, "name": pc.binary_join_element_wise("user-", _strings(ids), ""),
                     "created_at": _timestamps(created)})


def skills_table(spec: DataSpec) -> pa.Table:
    names = SKILL_NAMES[: spec.skills]
    return pa.table({"id": np.arange(1, spec.skills + 1, dtype=np.int32), "name": names,
                     "description": [f"Lets a session call the {n} tool." for n in names]})


def _pick_distinct(rng: np.random.Generator, counts: np.ndarray, choices: int) -> tuple:
    """Per row, counts[i] distinct values from 1..choices, ascending; returns (values, row mask)."""
    width = int(counts.max(initial=0))
    order = np.argsort(rng.random((len(counts), choices)), axis=1)[:, :width]
    mask = np.arange(width) < counts[:, None]
    order = np.where(mask, order, choices)
    order.sort(axis=1)  # unused slots sort last, so the mask still selects them
    return order + 1, mask


def _nodes(spec: DataSpec, plan: SessionPlan, block: int, lo: int, hi: int) -> dict:
    rng, counts = _rng(spec, "session_nodes", block), plan.node_counts[lo:hi]
    nodes, mask = _pick_distinct(rng, counts, plan.mesh_nodes)
    sync_slot = (rng.random(hi - lo) * counts).astype(np.int64)
    syncing = (np.arange(nodes.shape[1]) == sync_slot[:, None]) & plan.syncing[lo:hi, None]
    last_sync = plan.created_us[lo:hi, None] + (
        rng.random(nodes.shape) * plan.duration_us[lo:hi, None]).astype(np.int64)
    return {"session_id": np.repeat(plan.ids[lo:hi], counts),
            "node_id": pc.binary_join_element_wise("node-", _strings(nodes[mask]), ""),
            "is_syncing": syncing[mask], "last_sync": _timestamps(last_sync[mask])}


def session_nodes_table(spec: DataSpec, plan: SessionPlan, block: int, lo: int,
                        hi: int) -> pa.Table:
    return pa.table(_nodes(spec, plan, block, lo, hi))


def sessions_table(spec: DataSpec, plan: SessionPlan, block: int, lo: int, hi: int) -> pa.Table:
    rng, nodes = _rng(spec, "titles", block), _nodes(spec, plan, block, lo, hi)
    flag = pc.if_else(pa.array(nodes["is_syncing"]), "true", "false")
    # ISO 8601 with a "T", as datetime.isoformat() writes it (strftime is 10x slower)
    stamp = pc.replace_substring(nodes["last_sync"].cast(pa.string()), " ", "T", max_replacements=1)
    entries = pc.binary_join_element_wise('"', nodes["node_id"], '": {"is_syncing": ', flag,
                                          ', "last_sync": "', stamp, '"}', "")
    offsets = np.concatenate(([0], np.cumsum(plan.node_counts[lo:hi]))).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), entries), ", ")
    return pa.table({
        "id": plan.ids[lo:hi], "user_id": plan.user_ids[lo:hi].astype(np.int32),
        "title": _text(rng, np.ones(hi - lo, dtype=np.int64)),
        "created_at": _timestamps(plan.created_us[lo:hi]),
        "updated_at": _timestamps(plan.created_us[lo:hi] + plan.duration_us[lo:hi]),
        "node_sync": pc.binary_join_element_wise("{", joined, "}", ""),
        "any_syncing": plan.syncing[lo:hi], "deleted_draw": plan.deleted_draw[lo:hi]})


def session_skills_table(spec: DataSpec, plan: SessionPlan, block: int, lo: int,
                         hi: int) -> pa.Table:
    counts = plan.skill_counts[lo:hi]
    skills, mask = _pick_distinct(_rng(spec, "session_skills", block), counts, spec.skills)
    return pa.table({"session_id": np.repeat(plan.ids[lo:hi], counts),
                     "skill_id": skills[mask].astype(np.int32)})


def messages_table(spec: DataSpec, plan: SessionPlan, block: int, lo: int, hi: int) -> pa.Table:
    rng, counts = _rng(spec, "messages", block), plan.message_counts[lo:hi]
    total = int(counts.sum())
    position = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    ids = plan.message_starts[lo] + 1 + np.arange(total, dtype=np.int64)
    session_ids = np.repeat(plan.ids[lo:hi], counts)
    # random gaps scaled per session: the first message follows created_at and the last one
    # lands exactly on updated_at; every gap is at least a third of a second
    ends = np.cumsum(counts) - 1
    elapsed = np.cumsum(1.0 + rng.exponential(1.0, total))
    before = np.repeat(np.concatenate(([0.0], elapsed[ends[:-1]])), counts)
    span = np.repeat(elapsed[ends], counts) - before
    created = np.repeat(plan.created_us[lo:hi], counts) + np.rint(
        (elapsed - before) / span * np.repeat(plan.duration_us[lo:hi], counts)).astype(np.int64)
    assistant = position % 2 == 1  # the user speaks first, then the assistant answers
    phrases = np.where(assistant, 1 + rng.geometric(0.2, total), rng.integers(1, 4, total))
    content = _text(rng, phrases.clip(1, 40))
    audio = rng.random(total) < AUDIO_FRACTION
    paths = pc.binary_join_element_wise(AUDIO_ROOT, _strings(session_ids[audio]), "/",
                                        _strings(ids[audio]), ".wav", "")
    slot = pa.array(np.cumsum(audio) - 1, mask=~audio)  # null slot -> NULL audio_path
    return pa.table({
        "id": ids, "session_id": session_ids, "position": position.astype(np.int32),
        "sender": pa.array(np.where(assistant, "assistant", "user")),
        "content": content,
        # about four characters per token, the usual rule of thumb for English text
        "token_count": ((pc.binary_length(content).to_numpy() + 3) // 4).astype(np.int32),
        "created_at": _timestamps(created), "audio_path": paths.take(slot)})


def table_batches(spec: DataSpec, plan: SessionPlan, table: str) -> Iterator[pa.Table]:
    """The rows of one source table, one Arrow table per block, in primary-key order."""
    if table == "skills":
        yield skills_table(spec)
    elif table == "users":
        for block, _, _ in _blocks(spec.users):
            yield users_table(spec, block)
    else:
        make = {"sessions": sessions_table, "session_nodes": session_nodes_table,
                "session_skills": session_skills_table, "messages": messages_table}[table]
        for block, lo, hi in _blocks(spec.sessions):
            yield make(spec, plan, block, lo, hi)
