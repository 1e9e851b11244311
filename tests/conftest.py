"""Fixtures shared by the test modules: one real embedded PostgreSQL per test session."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.backends import embedded_server


@pytest.fixture(scope="session")
def server():
    with embedded_server() as server:
        yield server


@pytest.fixture
def open_tmp_path():
    """A scratch folder every user can pass through, for tests that point TMPDIR at it.

    Run as root, the embedded server runs as its own user, who must reach its folder. pytest's
    tmp_path lies under a folder only its owner may enter, and sessionbench opens none itself.
    """
    folder = Path(tempfile.mkdtemp(prefix="sessionbench-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(server) -> str:
    return server.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def engine(database_url):
    # A lock wait fails after 30 s with the lock named, instead of hanging until the test times out.
    engine = create_engine(database_url, connect_args={"application_name": "sessionbench/tests",
                                                       "options": "-c lock_timeout=30s"})
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_schema(engine):
    name = f"t_{secrets.token_hex(5)}"
    with engine.begin() as conn:
        conn.execute(text(f'create schema "{name}"'))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f'drop schema if exists "{name}" cascade'))


@pytest.fixture(scope="module")
def small_state(server):
    """One run's state on 200 generated sessions (seed 3) for a test module; its schemas go afterwards."""
    from bench.measure.context import RunState, new_run_id
    from bench.data.spec import DataSpec

    run = RunState(server, new_run_id(), DataSpec(sessions=200, seed=3))
    run.load_source()
    yield run
    run.drop_run_schemas()
    run.close()


def docker_required() -> bool:
    return os.environ.get("SESSIONBENCH_REQUIRE_DOCKER", "") not in ("", "0", "false")


def docker_image_or_skip() -> str:
    """The image the docker tests use; skip where no engine or image exists, fail instead in CI."""
    from bench import backends

    from bench.plan import settings

    image = backends.resolve_image(settings.resolve_one("image"))[0]
    engine_up, present, reason = backends.docker_status(image)
    if not (engine_up and present):
        if docker_required():
            pytest.fail(f"SESSIONBENCH_REQUIRE_DOCKER is set but: {reason}")
        pytest.skip(reason)
    return image
