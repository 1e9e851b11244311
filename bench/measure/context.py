"""One run's state on one server: its schemas, its data, and each variant's models.

Everything a run creates lives in schemas named `sb_<run>_...`; `drop_run_schemas` removes
those and nothing else, which is what makes the `url` backend safe on a shared server.
The canonical data is generated once per run; each variant schema is filled from it once and
reused by every workload (write workloads undo their changes).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import timezone

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from bench.measure import plans
from bench.backends import Server
from bench.data.load import load_source
from bench.data.spec import DataSpec
from models_variants import Variant, build_models


def new_run_id() -> str:
    """A run's id: its UTC start time and a random suffix (which also names its schemas)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def schema_prefix(run_id: str) -> str:
    return "sb_" + run_id.rsplit("-", 1)[-1].lower()


@dataclass
class RunState:
    """One data set of a run on one server: its source schema and each variant's tables.

    `tag` (d0, d1, ...) tells the run's data sets apart in schema names. Variants whose tables
    come out identical (same DDL, same fill: the loading variants) share one copy, so a size's
    data is held once per table layout instead of once per variant.
    """

    server: Server
    run_id: str
    spec: DataSpec
    tag: str = "d0"
    progress: bool = False
    session_settings: dict = field(default_factory=dict)  # SET on every connection of the run, e.g. jit=off
    trial_log: dict = field(default_factory=lambda: {"disturbed": 0, "kept": 0, "max_dead_tuples": 0})
    loads: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    shared_with: dict = field(default_factory=dict)  # variant label -> label of the variant whose tables it uses
    cache: dict = field(default_factory=dict)        # data bytes against shared_buffers (record_data_size)
    _models: dict = field(default_factory=dict)
    _layouts: dict = field(default_factory=dict)      # layout signature -> (schema, its first models)
    # Schemas settled since anything that may write to them last had them (settle, changed).
    _clean: set = field(default_factory=set)
    _engine: Engine | None = None

    @property
    def prefix(self) -> str:
        return schema_prefix(self.run_id)

    @property
    def source_schema(self) -> str:
        return f"{self.prefix}_{self.tag}_source"

    @property
    def setup_engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.server.url, pool_size=2,
                                         connect_args={"application_name": "sessionbench/setup"})
            pin_session_settings(self._engine, self.session_settings)  # EXPLAIN runs here: as the workloads do
        return self._engine

    def load_source(self) -> None:
        report = load_source(self.setup_engine, self.spec, self.source_schema, progress=self.progress)
        self.loads["source"] = report.as_dict()
        self.facts = read_facts(self.setup_engine, self.source_schema)

    def models_for(self, variant: Variant, *, reads_only: bool = False):
        """The variant's models; its tables are created and filled from the source on first use,
        or, when an earlier variant's tables are identical, that variant's copy is used.

        Whoever asks may change the tables unless it says `reads_only`: the next `settle` of the
        schema then runs in full."""
        models = self._models_for(variant)
        if not reads_only:
            self.changed(models)
        return models

    def _models_for(self, variant: Variant):
        if variant not in self._models:
            signature = layout_signature(variant, self.source_schema)
            if signature in self._layouts:
                schema, first = self._layouts[signature]
                models = build_models(variant, schema=schema)
                self.shared_with[variant.label] = first
                self.loads[variant.label] = {"schema": schema, "shares": first}
                self.sizes[variant.label] = self.sizes[first]
                self._models[variant] = models
                return models
            schema = variant_schema(self.prefix, self.tag, variant.slug)
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
            self._layouts[signature] = (schema, variant.label)
        return self._models[variant]

    def data_bytes(self) -> int:
        """Bytes of every table and index this data set holds: its source and each distinct copy."""
        with self.setup_engine.connect() as conn:
            return int(conn.execute(text(
                "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where left(n.nspname, length(:p)) = :p and c.relkind in ('r', 'm')"),
                {"p": f"{self.prefix}_{self.tag}_"}).scalar_one())

    def restore_variant(self, variant: Variant, tables: tuple[str, ...] = ()) -> None:
        """Put the variant's data back as loaded: every table, or only `tables` (which no other
        table may reference) when the caller knows nothing else changed."""
        models = self._models[variant]
        with self.setup_engine.begin() as conn:
            if tables:
                models.refill(conn, self.source_schema, tables)
            else:
                conn.execute(text(f'drop schema "{models.metadata.schema}" cascade'))
                models.create_schema(conn)
                models.fill_from_source(conn, self.source_schema)
        self.settle(models)

    def note_trial(self, *, dead_tuples: int, disturbed: bool) -> None:
        """Count a trial, and the dead tuples the run's tables held at its end, for the run's metadata."""
        self.trial_log["disturbed" if disturbed else "kept"] += 1
        self.trial_log["max_dead_tuples"] = max(self.trial_log["max_dead_tuples"], dead_tuples)

    def changed(self, models) -> None:
        """The variant's tables may have changed since they were last settled."""
        self._clean.discard(models.metadata.schema)

    def settle(self, models, *, unless_clean: bool = False) -> None:
        """Every table of the variant vacuumed, frozen and analyzed, with autovacuum off.

        Freshly filled or changed tables otherwise differ from run to run: the first readers set
        hint bits, the visibility map is empty (no index-only scans), dead tuples from set-ups
        linger and autovacuum can start in the middle of a timed trial. Only the run's own tables
        are touched (per-table storage parameters, never a server setting).

        `unless_clean` skips a schema nothing has had the chance to write to since its last
        settle (a reading case after reading cases): at 1,000,000 sessions ANALYZE alone reads
        tens of thousands of pages per table, for the same statistics.
        """
        if unless_clean and models.metadata.schema in self._clean:
            return
        tables = [models.qualified(name) for name in models.tables()]
        with self.setup_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false, "
                                  "toast.autovacuum_enabled = false)"))
            conn.execute(text(f"VACUUM (FREEZE, ANALYZE) {', '.join(tables)}"))
        self._clean.add(models.metadata.schema)

    def record_data_size(self) -> None:
        """How this data set's bytes compare with the server's shared_buffers and the machine's memory."""
        with self.setup_engine.connect() as conn:
            buffers = conn.execute(text(
                "select setting::bigint * current_setting('block_size')::bigint from pg_settings "
                "where name = 'shared_buffers'")).scalar_one()
        data = self.data_bytes()
        self.cache = {"data_bytes": data, "shared_buffers_bytes": int(buffers),
                      "fits_in_shared_buffers": data <= buffers}

    def drop_run_schemas(self, data_set: bool = False) -> list[str]:
        """Drop every schema of the run (or only this data set's); nothing else is touched."""
        prefix = f"{self.prefix}_{self.tag}_" if data_set else f"{self.prefix}_"
        with self.setup_engine.begin() as conn:
            # An exact prefix, not LIKE: there `_` matches any character, so other schemas would match.
            # A lock held by a cut-off workload fails the drop in time instead of hanging the cleanup.
            conn.execute(text("set local lock_timeout = '10s'"))
            names = conn.execute(text(
                "select nspname from pg_namespace where left(nspname, length(:prefix)) = :prefix"),
                {"prefix": prefix}).scalars().all()
            for name in names:
                conn.execute(text(f'drop schema "{name}" cascade'))
        return list(names)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def pin_session_settings(engine: Engine, session_settings: dict) -> None:
    """SET each setting on every new connection: this session only, never the server's configuration."""
    if not session_settings:
        return
    @event.listens_for(engine, "connect")
    def _pin(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            for name, value in session_settings.items():
                cursor.execute("select set_config(%s, %s, false)", (name, value))
        dbapi_connection.commit()


def variant_schema(prefix: str, tag: str, slug: str) -> str:
    """`<prefix>_<tag>_<slug>`, or, past PostgreSQL's 63 characters, cut with a hash of the slug so
    two long slugs never land on one name."""
    name = f"{prefix}_{tag}_{slug}"
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.sha256(slug.encode()).hexdigest()[:8]}"


def layout_signature(variant: Variant, source_schema: str) -> str:
    """What a variant's tables are: their DDL and the statements filling them, schema left out.

    Two variants with the same signature hold byte-identical tables, so they can share one copy.
    """
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from models_variants import filling

    models = build_models(variant, schema="sb_layout")
    dialect = postgresql.dialect()
    parts = []
    for table in models.metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        parts += sorted(str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes)
    parts += filling.fill_statements(models, source_schema)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


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
            where s.deleted_draw >= 0.5 order by s.any_syncing, s.id limit 1""",  # one not syncing, if any is
        "purge_user": f"""select user_id from "{source}".sessions
            group by user_id order by count(*) desc, user_id limit 1""",
        # a typical account: the median number of sessions (a bounded target at any size)
        "purge_user_median": f"""select user_id from (select user_id, count(*) n from "{source}".sessions
            group by user_id) u order by n, user_id limit 1 offset (select count(distinct user_id) / 2
            from "{source}".sessions)""",
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
        for user in ("purge_user", "purge_user_median"):
            facts[f"{user}_sessions"] = conn.execute(text(
                f'select count(*) from "{source}".sessions where user_id = :id'), {"id": facts[user]}).scalar_one()
        facts["long_session_messages"] = conn.execute(text(
            f'select count(*) from "{source}".messages where session_id = :id'),
            {"id": facts["long_session"]}).scalar_one()
    facts["recent_since"] = facts["recent_since"].replace(tzinfo=timezone.utc)
    return facts
