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

from bench import redact
from bench.backends import leftovers
from bench.backends.registry import Backend, Opening
from bench.backends.server import DEFAULT_IMAGE, SERVER_ARGS, Server, probe
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

    client, answered = None, False
    try:
        client = docker.from_env(timeout=10)
        answered = client.ping()
    except Exception:  # the docker SDK raises many kinds; all mean "no engine here"
        answered = False
    if not answered:
        if client is not None:
            client.close()
        _collect_failed_sockets()
        return False, False, f"no Docker engine answers at {os.environ.get('DOCKER_HOST') or 'the default socket'}"
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
            return True, False, f"image {image} is not on this machine and cannot be pulled ({_docker_cause(exc)})"
    finally:
        client.close()


def _collect_failed_sockets() -> None:
    """The docker SDK leaves the socket of a failed connection to the garbage collector, which
    then warns wherever it happens to run; collect it here, where its cause is known."""
    import gc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _repo_digest(container, image: str) -> str | None:
    """The registry digest the tag was pulled as; a locally built image has none (its image_id still names it)."""
    try:
        digests = container.get_docker_client().client.images.get(image).attrs.get("RepoDigests") or []
    except Exception:  # noqa: BLE001 - a missing digest is a fact to record, not a reason to stop the run
        return None
    return digests[0] if digests else None


@contextlib.contextmanager
def docker_server(image: str, run_id: str = "adhoc") -> Iterator[Server]:
    """A testcontainers PostgresContainer, reached through 127.0.0.1 and its published port."""
    engine_up, present, reason = docker_status(image, pull=True)
    if not engine_up:
        raise UserError(f"--backend docker: {reason}; start Docker (or .ci/docker-engine.sh start), "
                        "or use --backend embedded")
    if not present:
        raise UserError(f"--backend docker: {reason}; build one with .ci/build-postgres-image.sh and pass its tag "
                        "with --image, or use --backend embedded")
    from testcontainers.community.postgres import PostgresContainer

    password = secrets.token_urlsafe(16)
    redact.register(password)
    leftovers.hold(f"docker:{run_id}", f"containers labelled {LABEL}={run_id}")
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
        image_id = container.get_wrapped_container().attrs.get("Image")  # sha256:..., what the tag resolved to
        yield probe(Server("docker", url, image=image, where=container.get_container_id()[:12], image_id=image_id,
                           image_digest=_repo_digest(container, image), started_here=True), enable_statements=True)
    except UserError:
        raise
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise UserError(f"--backend docker: the container from {image} did not start ({_docker_cause(exc)}); "
                        "see `docker logs`, or use --backend embedded") from None
    finally:
        with contextlib.suppress(Exception):
            container.stop()


def remove_run_containers(run_id: str) -> int:
    """Remove every container labelled with this run id; returns how many were removed."""
    _docker_environment()
    try:
        import docker
        client = docker.from_env(timeout=10)
        labelled = {"label": f"{LABEL}={run_id}"}
        found = client.containers.list(all=True, filters=labelled)
        for container in found:
            container.remove(force=True, v=True)
        if not client.containers.list(all=True, filters=labelled):
            leftovers.release(f"docker:{run_id}")
        client.close()
        return len(found)
    except Exception:
        return 0


def _docker_cause(exc: BaseException) -> str:
    """A short cause in words instead of the Docker API's raw error text."""
    import docker.errors

    if isinstance(exc, docker.errors.NotFound):
        return "not found in its registry"
    if isinstance(exc, docker.errors.APIError):
        explanation = str(getattr(exc, "explanation", "") or "").lower()
        if any(word in explanation for word in ("dial tcp", "timeout", "no such host", "connection refused")):
            return "no registry answers"
        if "denied" in explanation or "unauthorized" in explanation:
            return "the registry refused access"
        return f"the Docker engine answered HTTP {exc.status_code}"
    if isinstance(exc, (ConnectionError, OSError)) or "Connection" in type(exc).__name__:
        return "the Docker engine stopped answering"
    return type(exc).__name__


@contextlib.contextmanager
def _open(opening: Opening) -> Iterator[Server]:
    try:
        with docker_server(opening.image or DEFAULT_IMAGE, opening.run_id) as server:
            yield server
    finally:
        remove_run_containers(opening.run_id)  # releases the run's hold once none is left


BACKEND = Backend("docker", _open, "a container per --image, through testcontainers", uses_image=True)
