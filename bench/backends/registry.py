"""What a backend is: how it opens a server, and what the rest of sessionbench may rely on it for.

A backend module declares one `Backend`; bench.backends registers each with one line. Nothing
outside this package compares backend names: it asks the `Backend` (before a server exists) or
the `Server` it opened (`started_here`, `local_processes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ContextManager

from bench.backends.server import Server
from bench.errors import UserError


@dataclass(frozen=True)
class Opening:
    """What a run asks of a backend: the backend's name as chosen, and the options that concern it."""

    name: str
    image: str | None = None
    database_url: str | None = None
    run_id: str = "adhoc"


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[Opening], ContextManager[Server]]  # a server, always cleaned up after
    summary: str = ""
    uses_image: bool = False  # one server per --image: a version matrix
    needs_url: bool = False  # --database-url names the server
    data_in_tmpdir: bool = False  # the server's files go under TMPDIR on this machine: a run checks the room first
    check: Callable[[Opening], None] | None = None  # refuses an unusable server before anything starts


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend (`--backend NAME`); a name already taken is refused."""
    if backend.name in BACKENDS or backend.name == "auto":
        raise ValueError(f"a backend named {backend.name!r} is already registered")
    BACKENDS[backend.name] = backend
    return backend


def names() -> tuple[str, ...]:
    """Every `--backend` value: auto, then the registered backends in order."""
    return ("auto", *BACKENDS)


def get(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UserError(f"unknown backend {name!r}", f"use one of: {', '.join(names())}") from None
