"""One run's state on one server: its schemas, its data, and each variant's models.

Everything a run creates lives in schemas named `sb_<run>_...`; `drop_run_schemas` removes
those and nothing else, which is what makes the `url` backend safe on a shared server.
The canonical data is generated once per run; each variant schema is filled from it once and
reused by every workload (write workloads undo their changes).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import timezone

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench import plans
from bench.backends import Server
from bench.data import DataSpec, load_source
from models_variants import Variant, build_models


def new_run_id() -> str:
    """A run's id: its UTC start time and a random suffix (which also names its schemas)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def schema_prefix(run_id: str) -> str:
    return "sb_" + run_id.rsplit("-", 1)[-1].lower()


@dataclass
class RunState:
    server: Server
    run_id: str
    spec: DataSpec
    progress: bool = False
    trial_log: dict = field(default_factory=lambda: {"disturbed": 0, "kept": 0, "max_dead_tuples": 0})
    loads: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    _models: dict = field(default_factory=dict)
    _engine: Engine | None = None

    @property
    def prefix(self) -> str:
        return schema_prefix(self.run_id)

    @property
    def source_schema(self) -> str:
        return f"{self.prefix}_source"

    @property
    def setup_engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.server.url, pool_size=2,
                                         connect_args={"application_name": "sessionbench/setup"})
        return self._engine

    def load_source(self) -> None:
        report = load_source(self.setup_engine, self.spec, self.source_schema, progress=self.progress)
        self.loads["source"] = report.as_dict()
        self.facts = read_facts(self.setup_engine, self.source_schema)

    def models_for(self, variant: Variant):
        """The variant's models, its schema filled from the source on first use."""
        if variant not in self._models:
            schema = f"{self.prefix}_{variant.slug}"[:63]
            models = build_models(variant, schema=schema)
            started = time.perf_counter()
            with self.setup_engine.begin() as conn:
                models.create_schema(conn)
                rows = models.fill_from_source(conn, self.source_schema)
            seconds = time.perf_counter() - started
            total = sum(rows.values())
            self.loads[variant.label] = {"schema": schema, "rows": rows, "seconds": round(seconds, 3),
                                         "rows_per_second": round(total / seconds) if seconds else None}
            self.settle(models)
            with self.setup_engine.connect() as conn:
                self.sizes[variant.label] = plans.relation_sizes(conn, schema)
            self._models[variant] = models
        return self._models[variant]

    def restore_variant(self, variant: Variant) -> None:
        """Put the variant's data back as loaded: empty its tables and fill them again."""
        models = self._models[variant]
        with self.setup_engine.begin() as conn:
            conn.execute(text(f'drop schema "{models.metadata.schema}" cascade'))
            models.create_schema(conn)
            models.fill_from_source(conn, self.source_schema)
        self.settle(models)

    def note_trial(self, *, dead_tuples: int, disturbed: bool) -> None:
        """Count a trial, and the dead tuples the run's tables held at its end, for the run's metadata."""
        self.trial_log["disturbed" if disturbed else "kept"] += 1
        self.trial_log["max_dead_tuples"] = max(self.trial_log["max_dead_tuples"], dead_tuples)

    def settle(self, models) -> None:
        """Every table of the variant vacuumed, frozen and analyzed, with autovacuum off.

        Freshly filled or changed tables otherwise differ from run to run: the first readers set
        hint bits, the visibility map is empty (no index-only scans), dead tuples from set-ups
        linger and autovacuum can start in the middle of a timed trial. Only the run's own tables
        are touched (per-table storage parameters, never a server setting).
        """
        tables = [models.qualified(name) for name in models.tables()]
        with self.setup_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false, "
                                  "toast.autovacuum_enabled = false)"))
            conn.execute(text(f"VACUUM (FREEZE, ANALYZE) {', '.join(tables)}"))

    def drop_run_schemas(self) -> list[str]:
        with self.setup_engine.begin() as conn:
            # An exact prefix, not LIKE: there `_` matches any character, so other schemas would match.
            # A lock held by a cut-off workload fails the drop in time instead of hanging the cleanup.
            conn.execute(text("set local lock_timeout = '10s'"))
            names = conn.execute(text(
                "select nspname from pg_namespace where left(nspname, length(:prefix)) = :prefix"),
                {"prefix": f"{self.prefix}_"}).scalars().all()
            for name in names:
                conn.execute(text(f'drop schema "{name}" cascade'))
        return list(names)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def read_facts(engine: Engine, source: str) -> dict:
    """Targets every variant shares, chosen from the source data (so all variants do the same work).

    Chosen among sessions with deleted_draw >= 0.5, which stay live at every deleted fraction.
    """
    queries = {
        "long_session": f"""select m.session_id from "{source}".messages m
            join "{source}".sessions s on s.id = m.session_id where s.deleted_draw >= 0.5
            group by m.session_id order by count(*) desc, m.session_id limit 1""",
        "short_session": f"""select s.id from "{source}".sessions s
            where s.deleted_draw >= 0.5
              and (select count(*) from "{source}".messages m where m.session_id = s.id) between 3 and 6
              and exists (select 1 from "{source}".session_skills k where k.session_id = s.id)
            order by s.id limit 1""",
        "delete_session": f"""select s.id from "{source}".sessions s
            where s.deleted_draw >= 0.5
              and (select count(*) from "{source}".messages m where m.session_id = s.id) between 5 and 20
              and exists (select 1 from "{source}".session_skills k where k.session_id = s.id)
            order by s.id desc limit 1""",
        "sync_session": f"""select s.id from "{source}".sessions s
            where s.deleted_draw >= 0.5 and not s.any_syncing order by s.id limit 1""",
        "purge_user": f"""select user_id from "{source}".sessions
            group by user_id order by count(*) desc, user_id limit 1""",
        # C6's boundary sits on a data point (the 10th most recent update), so reading naive
        # values in another time zone moves rows across it at any data size.
        "recent_since": f"""select updated_at from "{source}".sessions
            order by updated_at desc, id limit 1 offset 9""",
    }
    with engine.connect() as conn:
        facts = {name: conn.execute(text(sql)).scalar_one() for name, sql in queries.items()}
        facts["sync_node"] = conn.execute(text(
            f'select min(node_id) from "{source}".session_nodes where session_id = :id'),
            {"id": facts["sync_session"]}).scalar_one()
        facts["purge_user_sessions"] = conn.execute(text(
            f'select count(*) from "{source}".sessions where user_id = :id'), {"id": facts["purge_user"]}).scalar_one()
        facts["long_session_messages"] = conn.execute(text(
            f'select count(*) from "{source}".messages where session_id = :id'),
            {"id": facts["long_session"]}).scalar_one()
    facts["recent_since"] = facts["recent_since"].replace(tzinfo=timezone.utc)
    return facts
