"""What every backend yields: a `Server` (URL plus facts), read from the server itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError

from bench.faults import first_line, known_fault
from bench.errors import UserError

DEFAULT_IMAGE = "postgres:18-alpine"
# Settings worth keeping next to every number: they change what a benchmark measures.
REPORTED_SETTINGS = (
    "shared_buffers", "work_mem", "effective_cache_size", "jit", "max_connections",
    "random_page_cost", "plan_cache_mode", "synchronous_commit", "fsync", "TimeZone",
    "server_encoding", "shared_preload_libraries",
)
# pg_stat_statements.max: room for every statement of a full-grid run, so no entry is evicted
# while the run counts (an eviction is detected anyway: bench/measure/counting.py).
SERVER_ARGS = ("-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all",
               "-c", "pg_stat_statements.max=20000", "-c", "max_connections=200")


@dataclass
class Server:
    """A reachable PostgreSQL server and what the suite knows about it."""

    backend: str
    url: URL
    version: str = ""
    version_num: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    pg_stat_statements: bool = False
    where: str = ""
    image_id: str | None = None  # the image's content digest: a tag can move, this cannot
    image_digest: str | None = None  # the registry digest (name@sha256:...) of a pulled image; none for a local build
    # What the backend that opened it can do (bench.backends.registry.Backend says each):
    started_here: bool = False  # this run started the server: its server-wide statistics are the run's own
    local_processes: bool = False  # its processes are this machine's, by the PIDs it reports: their CPU time is readable

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def describe(self) -> dict:
        """Facts for run metadata and output; never holds a password."""
        return {
            "backend": self.backend, "url": self.safe_url, "server_version": self.version,
            "server_version_num": self.version_num, "image": self.image, "image_id": self.image_id,
            "image_digest": self.image_digest,
            "pg_stat_statements": self.pg_stat_statements, "where": self.where,
            "settings": dict(self.settings),
        }


def probe(server: Server, *, enable_statements: bool) -> Server:
    """Fill in version and settings; create pg_stat_statements where the server preloads it."""
    engine = create_engine(server.url, connect_args={"application_name": "sessionbench/setup"})
    try:
        with engine.connect() as conn:
            server.version = conn.execute(text("show server_version")).scalar_one().split()[0]
            server.version_num = int(conn.execute(text("show server_version_num")).scalar_one())
            rows = conn.execute(text("select name, setting, unit from pg_settings where name = any(:names)"),
                                {"names": list(REPORTED_SETTINGS)})
            server.settings = {name: _with_unit(setting, unit) for name, setting, unit in rows}
            preloaded = "pg_stat_statements" in server.settings.get("shared_preload_libraries", "")
            if enable_statements and preloaded:
                conn.execute(text("create extension if not exists pg_stat_statements"))
                conn.commit()
            server.pg_stat_statements = preloaded and conn.execute(text(
                "select count(*) from pg_extension where extname = 'pg_stat_statements'")).scalar_one() == 1
    except DBAPIError as exc:
        known = known_fault(exc, "the first connection")
        if known is not None:
            raise known from None
        if not isinstance(exc, OperationalError):
            raise
        raise UserError(f"cannot connect to PostgreSQL at {server.safe_url}: {first_line(exc)}",
                        "check that the server runs, and the host, port, user and password") from None
    finally:
        engine.dispose()
    return server


def _with_unit(setting: str, unit: str | None) -> str:
    if unit == "8kB" and setting.isdigit():
        return f"{int(setting) * 8 // 1024}MB"
    if unit == "kB" and setting.isdigit():
        return f"{int(setting) // 1024}MB" if int(setting) >= 1024 else f"{setting}kB"
    return setting if not unit else f"{setting}{unit}"
