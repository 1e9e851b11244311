import json
import threading
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import text

from bench.data.datagen import BLOCK_SESSIONS, TABLES, messages_table, session_nodes_table, session_plan, sessions_table, skills_table, table_batches
from bench.data.load import LoadReport, load_source
from bench.data.spec import DataSpec, REFERENCE_INSTANT, SKILL_NAMES

SMALL = DataSpec.from_scale("small")
SMALL_ROWS = {"users": 50, "skills": 50, "sessions": 1000, "session_nodes": 4754,
              "session_skills": 2761, "messages": 7987}
PRIMARY_KEYS = {"users": "id", "skills": "id", "sessions": "id", "messages": "id",
                "session_nodes": "session_id, node_id", "session_skills": "session_id, skill_id"}


def rows(spec: DataSpec, table: str) -> list[dict]:
    plan = session_plan(spec)
    return [row for batch in table_batches(spec, plan, table) for row in batch.to_pylist()]


# --- pure generation ---------------------------------------------------------------------

def test_spec_defaults_and_scales():
    assert DataSpec(1000).users == 50
    assert DataSpec(100).users == 10
    assert DataSpec(100, users=7).users == 7
    assert DataSpec.from_scale("medium", seed=7) == DataSpec(100_000, seed=7)
    with pytest.raises(ValueError, match="small, medium, large"):
        DataSpec.from_scale("huge")
    with pytest.raises(ValueError):
        DataSpec(10, skills=51)


def test_describe_names_everything_the_data_depends_on():
    assert SMALL.describe() == {"sessions": 1000, "users": 50, "skills": 50, "seed": 42,
                                "syncing": "1%", "nodes_per_session": None, "generator_version": 1,
                                "reference_instant": "2026-01-01T00:00:00"}


def test_small_plan_has_pinned_row_counts_and_long_session():
    plan = session_plan(SMALL)
    assert plan.row_counts(SMALL) == SMALL_ROWS
    assert plan.long_session_id == 54
    assert plan.message_counts[53] == 200
    assert plan.deleted_draw[53] >= 0.5  # live at every soft-deleted fraction up to one half
    assert int(plan.syncing.sum()) == 7


def test_same_seed_same_data_other_seed_other_data():
    for table in ("sessions", "messages"):
        assert rows(SMALL, table) == rows(DataSpec(1000), table)
        assert rows(SMALL, table) != rows(DataSpec(1000, seed=43), table)


def test_blocks_are_fixed_ranges_so_more_sessions_keep_the_first_rows():
    # both sizes already hold a long kept session, so neither plan bumps a message count
    shorter = DataSpec(2 * BLOCK_SESSIONS + 5, users=100)
    longer = DataSpec(3 * BLOCK_SESSIONS, users=100)
    for make in (sessions_table, session_nodes_table, messages_table):
        for block in (0, 1):
            lo, hi = block * BLOCK_SESSIONS, (block + 1) * BLOCK_SESSIONS
            first = make(shorter, session_plan(shorter), block, lo, hi)
            assert first.equals(make(longer, session_plan(longer), block, lo, hi))


def test_long_session_is_guaranteed_even_for_tiny_data():
    plan = session_plan(DataSpec(3))
    assert plan.message_counts.max() == 200
    assert len(rows(DataSpec(3), "messages")) == int(plan.message_counts.sum())


def test_messages_shape():
    messages = rows(SMALL, "messages")
    sessions = {s["id"]: s for s in rows(SMALL, "sessions")}
    assert [m["id"] for m in messages] == list(range(1, 7988))
    by_session: dict[int, list[dict]] = {}
    for m in messages:
        by_session.setdefault(m["session_id"], []).append(m)
    assert sorted(by_session) == list(range(1, 1001))
    for session_id, thread in by_session.items():
        assert [m["position"] for m in thread] == list(range(len(thread)))
        assert [m["sender"] for m in thread[:3]] == ["user", "assistant", "user"][: len(thread)]
        stamps = [m["created_at"] for m in thread]
        assert stamps == sorted(set(stamps))  # strictly increasing
        assert sessions[session_id]["created_at"] < stamps[0]
        assert stamps[-1] == sessions[session_id]["updated_at"] < REFERENCE_INSTANT
    for m in messages:
        assert m["token_count"] == (len(m["content"]) + 3) // 4
        assert m["content"][0].isupper() and m["content"].endswith(".")
    audio = [m for m in messages if m["audio_path"] is not None]
    assert len(audio) == 1664  # about 20 %
    first = audio[0]
    assert first["audio_path"] == f"/var/lib/hub/audio/{first['session_id']}/{first['id']}.wav"


def test_sessions_nodes_and_skills_shape():
    sessions = rows(SMALL, "sessions")
    nodes = rows(SMALL, "session_nodes")
    skills = rows(SMALL, "session_skills")
    oldest = REFERENCE_INSTANT - timedelta(days=366)
    assert all(oldest < s["created_at"] <= s["updated_at"] < REFERENCE_INSTANT for s in sessions)
    assert all(0 <= s["deleted_draw"] < 1 for s in sessions)
    by_session: dict[int, dict] = {}
    for n in nodes:
        by_session.setdefault(n["session_id"], {})[n["node_id"]] = {
            "is_syncing": n["is_syncing"],
            "last_sync": n["last_sync"].isoformat("T", "microseconds")}
    for s in sessions:
        node_sync = json.loads(s["node_sync"])
        assert node_sync == by_session[s["id"]]  # the JSON mirrors the session_nodes rows
        assert 1 <= len(node_sync) <= 16
        assert s["any_syncing"] == any(v["is_syncing"] for v in node_sync.values())
    assert sum(s["any_syncing"] for s in sessions) == 7
    assert {n["node_id"] for n in nodes} <= {f"node-{i}" for i in range(1, 65)}
    assert len({(n["session_id"], n["node_id"]) for n in nodes}) == len(nodes) == 4754
    per_session = np.bincount([k["session_id"] for k in skills], minlength=1001)[1:]
    assert per_session.min() == 0 and per_session.max() == 8
    assert len({(k["session_id"], k["skill_id"]) for k in skills}) == len(skills)


def test_skill_catalogue():
    catalogue = skills_table(SMALL).to_pylist()
    assert len(SKILL_NAMES) == len(set(SKILL_NAMES)) == 50
    assert catalogue[0] == {"id": 1, "name": "web-search",
                            "description": "Lets a session call the web-search tool."}


def test_report_rate_and_dict():
    report = LoadReport("s", {"users": 10, "messages": 290}, 2.0)
    assert report.rows_per_second == 150.0
    assert report.as_dict()["rows_per_second"] == 150.0
    assert LoadReport("s", {"users": 10}, 0.0, reused=True).rows_per_second == 0.0


# --- loading into PostgreSQL ------------------------------------------------------------

def table_digests(conn, schema: str) -> dict[str, str]:
    return {table: conn.execute(text(
        f"SELECT md5(string_agg(t::text, '|' ORDER BY {PRIMARY_KEYS[table]})) "
        f'FROM "{schema}".{table} t')).scalar_one() for table in TABLES}


def scalar(conn, query: str, schema: str):
    query = query.replace("S.", f'"{schema}".').replace("'S'", f"""'"{schema}"'""")
    return conn.execute(text(query)).scalar_one()


@pytest.fixture
def second_schema(engine, fresh_schema):
    name = f"{fresh_schema}_b"
    yield name
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.db
def test_load_is_deterministic_per_seed(engine, fresh_schema, second_schema):
    load_source(engine, SMALL, fresh_schema)
    load_source(engine, SMALL, second_schema)
    with engine.connect() as conn:
        first = table_digests(conn, fresh_schema)
        assert table_digests(conn, second_schema) == first
        conn.exec_driver_sql(f'DROP SCHEMA "{second_schema}" CASCADE')
        conn.commit()
    load_source(engine, DataSpec(1000, seed=43), second_schema)
    with engine.connect() as conn:
        other = table_digests(conn, second_schema)
    assert other["skills"] == first["skills"]
    assert all(other[t] != first[t] for t in TABLES if t != "skills")


SHAPE_FACTS = {  # S. stands for the loaded schema
    "SELECT count(*) FROM pg_constraint WHERE contype = 'p' "
    "AND connamespace = 'S'::regnamespace": 6,
    "SELECT max(c) FROM (SELECT count(*) c FROM S.session_skills GROUP BY session_id) x": 8,
    "SELECT count(*) FROM S.sessions s WHERE (SELECT count(*) FROM S.session_nodes n "
    "WHERE n.session_id = s.id) NOT BETWEEN 1 AND 16": 0,
    "SELECT count(*) FROM S.sessions s WHERE any_syncing IS DISTINCT FROM EXISTS ("
    "SELECT FROM S.session_nodes n WHERE n.session_id = s.id AND n.is_syncing)": 0,
    # every node row is in the JSON with the same values, and the JSON holds no other node
    "SELECT count(*) FROM S.session_nodes n JOIN S.sessions s ON s.id = n.session_id "
    "WHERE (s.node_sync -> n.node_id ->> 'is_syncing')::boolean IS DISTINCT FROM n.is_syncing "
    "OR (s.node_sync -> n.node_id ->> 'last_sync')::timestamp IS DISTINCT FROM n.last_sync": 0,
    "SELECT sum((SELECT count(*) FROM jsonb_object_keys(node_sync))) FROM S.sessions": 4754,
    "SELECT count(*) FROM S.sessions WHERE any_syncing": 7,  # 0.7 %
    "SELECT max(c) FROM (SELECT count(*) c FROM S.messages GROUP BY session_id) x": 200,
    "SELECT count(*) FROM (SELECT session_id FROM S.messages GROUP BY session_id HAVING "
    "min(position) <> 0 OR max(position) <> count(*) - 1 "
    "OR count(DISTINCT position) <> count(*)) x": 0,
    "SELECT count(*) FROM S.sessions WHERE deleted_draw < 0 OR deleted_draw >= 1": 0,
    "SELECT count(*) FROM S.messages WHERE audio_path IS NOT NULL": 1664,
    "SELECT count(*) FROM S.messages "
    "WHERE audio_path <> '/var/lib/hub/audio/' || session_id || '/' || id || '.wav'": 0,
    "SELECT count(*) FROM S.sessions s JOIN S.users u ON u.id = s.user_id": 1000,
}


@pytest.mark.db
def test_loaded_shape(engine, fresh_schema):
    calls = []
    report = load_source(engine, SMALL, fresh_schema,
                         progress=lambda done, total: calls.append((done, total)))
    assert report.rows == SMALL_ROWS and not report.reused and report.long_session_id == 54
    assert calls[-1] == (16602, 16602) and calls == sorted(calls)
    with engine.connect() as conn:
        for table, count in SMALL_ROWS.items():
            assert scalar(conn, f"SELECT count(*) FROM S.{table}", fresh_schema) == count
        for query, expected in SHAPE_FACTS.items():
            assert scalar(conn, query, fresh_schema) == expected, query
        # the run picks its long session among those live at every deleted fraction
        assert scalar(conn, "SELECT m.session_id FROM S.messages m JOIN S.sessions s "
                      "ON s.id = m.session_id WHERE s.deleted_draw >= 0.5 GROUP BY m.session_id "
                      "ORDER BY count(*) DESC, m.session_id LIMIT 1", fresh_schema) == 54


@pytest.mark.db
def test_second_load_reuses_and_changes_nothing(engine, fresh_schema):
    first = load_source(engine, SMALL, fresh_schema)
    with engine.connect() as conn:
        before = table_digests(conn, fresh_schema)
        # a Connection works as well as an Engine, and the load is committed for others to see
        again = load_source(conn, SMALL, fresh_schema)
    assert again.reused and again.seconds == 0.0 and again.rows == first.rows
    assert again.long_session_id == first.long_session_id
    with engine.connect() as conn:
        assert table_digests(conn, fresh_schema) == before
        assert scalar(conn, "SELECT count(*) FROM S._load", fresh_schema) == 1
    with pytest.raises(ValueError, match="another spec"):
        load_source(engine, DataSpec(1000, seed=43), fresh_schema)


@pytest.mark.db
def test_leftovers_of_a_failed_load_are_replaced(engine, fresh_schema):
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE TABLE "{fresh_schema}".messages (junk int)')
    report = load_source(engine, DataSpec(30), fresh_schema)
    assert not report.reused
    with engine.connect() as conn:
        loaded = scalar(conn, "SELECT count(*) FROM S.messages", fresh_schema)
    assert loaded == report.rows["messages"]


class _InterruptedCommit:
    """The dialect's commit, raising KeyboardInterrupt (as a Ctrl-C inside psycopg does) on call `at`."""

    def __init__(self, dialect, at: int | None):
        self.real, self.at, self.calls, self.lock = dialect.do_commit, at, 0, threading.Lock()

    def __call__(self, dbapi_connection):
        with self.lock:
            self.calls += 1
            hit = self.calls == self.at
        if hit:
            raise KeyboardInterrupt
        return self.real(dbapi_connection)


@pytest.mark.db
def test_ctrl_c_inside_any_commit_of_the_load_raises_it_and_frees_the_schema(engine, fresh_schema, monkeypatch):
    # SQLAlchemy invalidates a connection when Ctrl-C lands inside its commit; the load's cleanup
    # must then neither touch that connection (PendingRollbackError) nor leave the lock taken
    spec = DataSpec(30)
    counting = _InterruptedCommit(engine.dialect, None)
    monkeypatch.setattr(engine.dialect, "do_commit", counting)
    load_source(engine, spec, fresh_schema)
    commits = counting.calls
    assert commits >= 4
    for at in range(1, commits + 1):
        with engine.begin() as conn:  # each try starts from no load at all
            conn.exec_driver_sql(f'DROP SCHEMA "{fresh_schema}" CASCADE; CREATE SCHEMA "{fresh_schema}"')
        monkeypatch.setattr(engine.dialect, "do_commit", _InterruptedCommit(engine.dialect, at))
        with pytest.raises(KeyboardInterrupt):
            load_source(engine, spec, fresh_schema)
        monkeypatch.setattr(engine.dialect, "do_commit", counting.real)
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))",
                                 (f"sessionbench.source:{fresh_schema}",))
        report = load_source(engine, spec, fresh_schema)
        with engine.connect() as conn:
            assert scalar(conn, "SELECT count(*) FROM S.messages", fresh_schema) == report.rows["messages"], at
