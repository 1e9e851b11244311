"""`sessionbench doctor`: which PostgreSQL backends work on this machine, and what each gives."""

from __future__ import annotations

import time

from bench import backends
from bench.errors import UserError


def _try(label: str, opener) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        with opener() as server:
            seconds = time.perf_counter() - started
            statements = "pg_stat_statements on" if server.pg_stat_statements else "pg_stat_statements off"
            return True, f"PostgreSQL {server.version}, started in {seconds:.1f} s, {statements}"
    except UserError as exc:
        return False, exc.message
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        return False, f"{label} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def doctor(images: list[str] | None) -> int:
    backends.leftovers.report_stale()
    rows: list[tuple[str, bool, str]] = []
    ok, detail = _try("embedded", backends.embedded_server)
    rows.append(("embedded", ok, detail))
    for image in backends.resolve_image(images):
        engine_up, present, reason = backends.docker_status(image)
        rows.append(("docker engine", engine_up, reason if not engine_up else "answers"))
        if not engine_up:
            break
        if not present:
            rows.append((f"docker {image}", False, reason))
            continue
        ok, detail = _try("docker", lambda image=image: backends.docker_server(image, run_id="doctor"))
        backends.remove_run_containers("doctor")
        rows.append((f"docker {image}", ok, detail))
    width = max(len(name) for name, _, _ in rows)
    for name, ok, detail in rows:
        print(f"{name:<{width}}  {'ok ' if ok else 'no '}  {detail}")
    chosen, why = backends.choose("auto", images=backends.resolve_image(images), database_url=None)
    print(f"--backend auto would use: {chosen} ({why})")
    return 0 if any(ok for name, ok, _ in rows if name == "embedded" or name.startswith("docker ")) else 1
