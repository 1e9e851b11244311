"""The docker backend: testcontainers' PostgresContainer, reached on loopback.

Only this module imports testcontainers and the docker SDK.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import warnings
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import URL

from bench.backends.server import SERVER_ARGS, Server, _first_line, probe
from bench.errors import UserError

LABEL = "sessionbench.run"


def _docker_environment() -> None:
    """Keep testcontainers on loopback and off Ryuk, whose image no offline machine has.

    The suite removes its own containers (labelled with the run id), so Ryuk is not needed.
    """
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    if not os.environ.get("DOCKER_HOST", "unix://").startswith("tcp://"):
        os.environ.setdefault("TC_HOST", "127.0.0.1")
        os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
        # With DOCKER_HOST unset, testcontainers guesses a "host network" when it believes it
        # runs inside a container; naming the local socket keeps containers on the default bridge.
        if Path("/var/run/docker.sock").exists():
            os.environ.setdefault("DOCKER_HOST", "unix:///var/run/docker.sock")


def docker_status(image: str, *, pull: bool = False) -> tuple[bool, bool, str]:
    """(engine answers, image present, one-line reason)."""
    _docker_environment()
    import docker

    client, failure = None, None
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # the docker SDK raises many kinds; all mean "no engine here"
        failure = _first_line(exc)[:80]
    if failure is not None:
        if client is not None:
            client.close()
        _collect_failed_sockets()
        return False, False, f"no Docker engine answers ({failure})"
    try:
        client.images.get(image)
        return True, True, f"Docker engine answers and image {image} is present"
    except Exception:
        if not pull:
            return True, False, f"Docker engine answers but image {image} is not present"
        try:
            client.images.pull(image)
            return True, True, f"Docker engine answers and image {image} was pulled"
        except Exception as exc:
            return True, False, f"image {image} is not present and cannot be pulled ({_first_line(exc)[:80]})"
    finally:
        client.close()


def _collect_failed_sockets() -> None:
    """The docker SDK leaves the socket of a failed connection to the garbage collector, which
    then warns wherever it happens to run; collect it here, where its cause is known."""
    import gc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@contextlib.contextmanager
def docker_server(image: str, run_id: str = "adhoc") -> Iterator[Server]:
    """A testcontainers PostgresContainer, reached through 127.0.0.1 and its published port."""
    engine_up, present, reason = docker_status(image, pull=True)
    if not engine_up:
        raise UserError(f"--backend docker: {reason}",
                        "start Docker (or run .ci/docker-engine.sh start), or use --backend embedded")
    if not present:
        raise UserError(f"--backend docker: {reason}",
                        "build a local image with .ci/build-postgres-image.sh and pass --image TAG")
    from testcontainers.community.postgres import PostgresContainer

    password = secrets.token_urlsafe(16)
    container = PostgresContainer(image, username="sessionbench", password=password, dbname="sessionbench",
                                  driver="psycopg")
    container.with_command(" ".join(SERVER_ARGS)).with_kwargs(labels={LABEL: run_id})
    # Publish on loopback only: benchmark traffic never leaves this machine.
    container.ports = {5432: ("127.0.0.1", None)}
    try:
        container.start()
        port = int(container.get_exposed_port(5432))
        url = URL.create("postgresql+psycopg", username="sessionbench", password=password,
                         host="127.0.0.1", port=port, database="sessionbench")
        yield probe(Server("docker", url, image=image, where=container.get_container_id()[:12]),
                    enable_statements=True)
    except UserError:
        raise
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise UserError(f"--backend docker: the container from {image} did not start: {_first_line(exc)[:160]}",
                        "check `docker logs`, or use --backend embedded") from None
    finally:
        with contextlib.suppress(Exception):
            container.stop()


def remove_run_containers(run_id: str) -> int:
    """Remove every container labelled with this run id; returns how many were removed."""
    _docker_environment()
    try:
        import docker
        client = docker.from_env(timeout=10)
        found = client.containers.list(all=True, filters={"label": f"{LABEL}={run_id}"})
        for container in found:
            container.remove(force=True, v=True)
        client.close()
        return len(found)
    except Exception:
        return 0
