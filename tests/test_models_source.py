"""A tiny canonical source schema for the models_variants tests, built in SQL.

The other test_models_* modules import `models_source` (a session-scoped fixture) from here, so
they do not depend on bench.data. Every value is a pure function of the row id: deterministic.
The layout follows the contract's canonical tables.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from models_variants import AXES, Variant, build_models

SESSIONS = 1200  # above one selectin batch of 500, twice over
USERS, SKILLS, MESSAGES_PER_SESSION = 20, 50, 3
SOURCE_SCHEMA = "sbt_models_source"

_SQL = """
CREATE TABLE {s}.users (id int PRIMARY KEY, name text NOT NULL, created_at timestamp NOT NULL);
INSERT INTO {s}.users SELECT i, 'user-' || i, timestamp '2025-06-01' + i * interval '1 day'
  FROM generate_series(1, {users}) i;
CREATE TABLE {s}.skills (id int PRIMARY KEY, name text UNIQUE NOT NULL, description text NOT NULL);
INSERT INTO {s}.skills SELECT i, 'skill-' || i, 'does ' || i FROM generate_series(1, {skills}) i;
CREATE TABLE {s}.session_nodes (session_id bigint, node_id text, is_syncing bool NOT NULL,
  last_sync timestamp NOT NULL, PRIMARY KEY (session_id, node_id));
-- 1..4 nodes per session; about one node in 53 is syncing
INSERT INTO {s}.session_nodes
  SELECT i, 'node-' || k, (i * 31 + k * 17) % 53 = 0,
         timestamp '2026-01-01' + (i * 7 + k) * interval '1 minute'
  FROM generate_series(1, {sessions}) i, generate_series(1, 4) k WHERE k <= 1 + i % 4;
CREATE TABLE {s}.sessions (id bigint PRIMARY KEY, user_id int NOT NULL, title text NOT NULL,
  created_at timestamp NOT NULL, updated_at timestamp NOT NULL, node_sync jsonb NOT NULL,
  any_syncing bool NOT NULL, deleted_draw double precision NOT NULL);
INSERT INTO {s}.sessions
  SELECT i, 1 + i % {users}, 'session ' || i,
         timestamp '2026-01-01' + i * interval '1 minute',
         timestamp '2026-01-01' + i * interval '1 minute' + (i % 97) * interval '1 hour',
         (SELECT jsonb_object_agg(n.node_id, jsonb_build_object('is_syncing', n.is_syncing,
                                  'last_sync', to_char(n.last_sync, 'YYYY-MM-DD"T"HH24:MI:SS')))
            FROM {s}.session_nodes n WHERE n.session_id = i),
         EXISTS (SELECT 1 FROM {s}.session_nodes n WHERE n.session_id = i AND n.is_syncing),
         ((i * 7919) % 1000) / 1000.0
  FROM generate_series(1, {sessions}) i;
CREATE TABLE {s}.session_skills (session_id bigint, skill_id int, PRIMARY KEY (session_id, skill_id));
-- 0..3 skills per session (session 4, 8, ... have none)
INSERT INTO {s}.session_skills
  SELECT DISTINCT i, 1 + (i * k * 13) % {skills}
  FROM generate_series(1, {sessions}) i, generate_series(1, 3) k WHERE k <= i % 4;
CREATE TABLE {s}.messages (id bigint PRIMARY KEY, session_id bigint NOT NULL, position int NOT NULL,
  sender text NOT NULL, content text NOT NULL, token_count int NOT NULL,
  created_at timestamp NOT NULL, audio_path text);
INSERT INTO {s}.messages
  SELECT i * 10 + p, i, p, CASE WHEN p % 2 = 0 THEN 'user' ELSE 'assistant' END,
         'message ' || p || ' of session ' || i, 5 + (i + p) % 40,
         timestamp '2026-01-01' + i * interval '1 minute' + p * interval '1 second',
         CASE WHEN (i + p) % 3 = 0 THEN '/var/lib/hub/audio/' || i || '/' || (i * 10 + p) || '.wav' END
  FROM generate_series(1, {sessions}) i, generate_series(1, {messages}) p;
"""


def create_source(conn, schema: str, sessions: int = SESSIONS) -> None:
    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    conn.execute(text(f"CREATE SCHEMA {schema}"))
    conn.execute(text(_SQL.format(s=schema, users=USERS, skills=SKILLS, sessions=sessions,
                                  messages=MESSAGES_PER_SESSION)))


@pytest.fixture(scope="session")
def models_source(engine) -> str:
    """Name of a filled canonical source schema (read-only for the tests)."""
    with engine.begin() as conn:
        create_source(conn, SOURCE_SCHEMA)
    yield SOURCE_SCHEMA
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SOURCE_SCHEMA} CASCADE"))


def along(axis: str, **others: str) -> list:
    """pytest params for every value of `axis`, with ids "axis=value" (the coverage test reads
    these ids to prove every declared value is exercised)."""
    return [pytest.param(Variant(**{**others, axis: value}), id=f"{axis}={value}")
            for value in AXES[axis].values]


@pytest.fixture(scope="session")
def filled(engine, models_source):
    """build(variant) -> models in a new schema filled from the source, cached per variant.

    Shared across tests: a test that writes does so in a transaction it rolls back.
    """
    built = {}

    def build(variant: Variant):
        if variant not in built:
            schema = f"t_{secrets.token_hex(3)}_{variant.slug}"[:63]
            models = build_models(variant, schema)
            with engine.begin() as conn:
                models.create_schema(conn)
                models.fill_from_source(conn, models_source)
            built[variant] = models
        return built[variant]

    yield build
    with engine.begin() as conn:
        for models in built.values():
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{models.schema}" CASCADE'))


@pytest.fixture
def conn(engine):
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def orm(models, connection):
    """An ORM session of `models` on `connection`; its commits only release a savepoint."""
    return models.sessionmaker(connection, join_transaction_mode="create_savepoint")()


@pytest.mark.db
def test_source_is_self_consistent(engine, models_source):
    s = models_source
    with engine.connect() as conn:
        counts = conn.execute(text(
            f"SELECT (SELECT count(*) FROM {s}.sessions), (SELECT count(*) FROM {s}.messages), "
            f"(SELECT count(*) FROM {s}.sessions WHERE any_syncing), "
            f"(SELECT count(*) FROM {s}.sessions WHERE jsonb_path_exists(node_sync, "
            f"'$.* ? (@.is_syncing == true)')), "
            f"(SELECT count(DISTINCT session_id) FROM {s}.session_nodes WHERE is_syncing)")).one()
    sessions, messages, flagged, by_json, by_nodes = counts
    assert (sessions, messages) == (SESSIONS, SESSIONS * MESSAGES_PER_SESSION)
    assert 0 < flagged < sessions
    assert flagged == by_json == by_nodes
