"""Adding a backend touches its own module and one registration line (README, "Adding a backend").

A fake backend, "pgfake", is the url backend's way of opening a server registered under another
name, pointed at the test session's embedded server. A real `sessionbench run` with it completes
and its results carry its name; nothing outside bench/backends compares backend names, so the
run's behaviour follows what the Backend and its Server say they can do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import backends
from bench.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

# What a scratch script (or a plugin module) does to add one: declare it, register it.
SCRIPT = textwrap.dedent("""
    import sys
    from bench import backends
    from bench.backends import url

    backends.register(backends.Backend("pgfake", lambda opening: url.url_server(opening.database_url, opening.name),
                                       "the url backend under another name", needs_url=True))
    from bench.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.db
@pytest.mark.slow
def test_a_registered_backend_completes_a_run(database_url, tmp_path):
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "run", "--backend", "pgfake", "--sessions", "200", "--max-time", "0.05",
         "--min-rounds", "2", "--only", "workload=dashboard", "--only", "param=page_size=10",
         "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**__import__("os").environ, "SESSIONBENCH_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (written,) = out.glob("*.json")
    doc = json.loads(written.read_text())
    assert doc["sessionbench"]["backend"] == "pgfake"
    rows = doc["benchmarks"]
    assert rows and all(row["extra_info"]["backend"] == "pgfake" for row in rows)
    # exact counts do not depend on the backend: lazy loading at page 10 is 1 + 10 statements
    lazy = next(row for row in rows if row["extra_info"]["variant"] == "baseline")
    assert lazy["extra_info"]["statements"] == 11
    # a server the run did not start: its server-wide counts are not the run's own, so none is recorded
    assert lazy["extra_info"]["server_statements"] is None


def test_the_registry_refuses_a_second_backend_of_the_same_name():
    with pytest.raises(ValueError, match="already registered"):
        backends.register(backends.Backend("url", lambda opening: None))
    with pytest.raises(ValueError, match="already registered"):
        backends.register(backends.Backend("auto", lambda opening: None))


def test_an_unknown_backend_is_one_line_naming_the_registered_ones():
    with pytest.raises(UserError) as raised:
        backends.get("oracle")
    assert raised.value.hint == "use one of: auto, embedded, docker, url"


def test_what_each_backend_can_do_is_declared_where_it_is():
    declared = {name: (spec.uses_image, spec.needs_url, spec.data_in_tmpdir, spec.check is not None)
                for name, spec in backends.BACKENDS.items()}
    assert declared == {"embedded": (False, False, True, False), "docker": (True, False, False, False),
                        "url": (False, True, False, True)}
