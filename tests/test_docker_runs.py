"""The docker backend end to end: a version matrix run, and an interrupted run leaves no container."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bench import backends
from bench.plan.cases import all_cases
from bench.results import load
from tests.conftest import docker_image_or_skip
from tests.test_cli import sessionbench


@pytest.fixture(scope="module")
def image() -> str:
    return docker_image_or_skip()


@pytest.fixture(scope="module")
def docker_client(image):  # noqa: ARG001 - only with an engine
    import docker

    client = docker.from_env()
    yield client
    client.close()


def _run_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": backends.LABEL})


@pytest.mark.docker
@pytest.mark.db
def test_image_matrix_repeats_the_run_on_each_image(image, docker_client, tmp_path):
    # A second tag of the same image stands in for a second PostgreSQL version.
    second = f"{image.rsplit(':', 1)[0]}:matrix-test"
    docker_client.images.get(image).tag(second)
    try:
        done = sessionbench("run", "--backend", "docker", "--image", image, "--image", second, "--sessions", "200",
                            "--max-time", "0.05", "--min-rounds", "3", "--only", "workload=active_sync",
                            "--out", str(tmp_path))
    finally:
        docker_client.images.remove(second)
    assert done.returncode == 0, done.stderr
    results_file = next(tmp_path.glob("*.json"))
    table = load(results_file)
    assert set(table["image"]) == {image, second}
    servers = json.loads(results_file.read_text())["sessionbench"]["servers"]
    # two tags, one image: the digest each tag resolved to is recorded, and it is the same
    assert {s["image_id"] for s in servers} == {docker_client.images.get(image).id}
    assert set(table["backend"]) == {"docker"}
    per_image = sum(case.workload.name == "active_sync" for case in all_cases())  # sync_flag values + recommended
    assert len(table) == 2 * per_image and (table.groupby("image").size() == per_image).all()
    assert (table["statements"] == 1).all()
    assert (table["server_statements"] == 1).all()
    assert _run_containers(docker_client) == []


@pytest.mark.docker
@pytest.mark.db
def test_an_interrupted_docker_run_leaves_no_container(image, docker_client, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "run", "--backend", "docker", "--image", image,
                             "--sessions", "200", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while not _run_containers(docker_client) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    assert _run_containers(docker_client), "the run never started its container"
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert _run_containers(docker_client) == []
