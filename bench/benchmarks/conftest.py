"""pytest options and fixtures for the benchmarks: plain `pytest bench/benchmarks` works on them.

`sessionbench run` calls pytest with these options; anyone can too, with any `--benchmark-*`
flag. Servers (one per image) and relays (one per RTT) are session-scoped parameters, so
pytest groups the cases by them and starts each once.
"""

from __future__ import annotations

import os
import secrets
import time

import pytest

from bench import backends
from bench.cases import all_cases, apply_only, parse_only
from bench.context import RunState
from bench.data import SCALES, DataSpec
from bench.errors import UserError
from bench.metadata import run_metadata


def pytest_addoption(parser):
    group = parser.getgroup("sessionbench")
    group.addoption("--sb-backend", default=os.environ.get("SESSIONBENCH_BACKEND", "embedded"))
    group.addoption("--sb-image", action="append", default=None)
    group.addoption("--sb-database-url", default=os.environ.get("SESSIONBENCH_DATABASE_URL"))
    group.addoption("--sb-scale", default="small", choices=sorted(SCALES))
    group.addoption("--sb-sessions", type=int, default=None)
    group.addoption("--sb-seed", type=int, default=42)
    group.addoption("--sb-rtt-ms", default="0")
    group.addoption("--sb-grid", default="axis", choices=("axis", "full"))
    group.addoption("--sb-only", action="append", default=[])
    group.addoption("--sb-run-id", default=None)
    group.addoption("--sb-progress", action="store_true")


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def pytest_configure(config):
    config._sessionbench = {"run_id": config.getoption("--sb-run-id") or new_run_id(), "states": [],
                            "relays": [], "delete_paths": []}


def _rtts(config) -> list[float]:
    try:
        return [float(v) for v in str(config.getoption("--sb-rtt-ms")).split(",") if v.strip()]
    except ValueError:
        raise UserError("--rtt-ms takes numbers in ms, comma separated", "e.g. --rtt-ms 0,0.5,2") from None


def _images(config) -> list:
    if config.getoption("--sb-backend") != "docker":
        return [None]
    return backends.resolve_image(config.getoption("--sb-image"))


def pytest_generate_tests(metafunc):
    config = metafunc.config
    only = parse_only(config.getoption("--sb-only"))
    images, rtts = _images(config), _rtts(config)
    if "case" in metafunc.fixturenames:
        cases = apply_only(all_cases(config.getoption("--sb-grid")), only, images=images, rtts=rtts)
        metafunc.parametrize("case", cases, ids=[case.id for case in cases])
    if "deletion_variant" in metafunc.fixturenames:
        # Claim C3's fact table runs for every deletion variant some deletion workload of this run uses.
        cases = apply_only(all_cases(config.getoption("--sb-grid")), only, images=images, rtts=rtts)
        variants = sorted({c.variant for c in cases if c.workload.axis == "deletion"}, key=lambda v: v.label)
        metafunc.parametrize("deletion_variant", variants, ids=[v.label for v in variants])
    if "image" in metafunc.fixturenames:
        kept = [i for i in images if "image" not in only or str(i) in only["image"]]
        metafunc.parametrize("image", kept, ids=[f"image={i}" if i else "server" for i in kept], scope="session")
    if "rtt_ms" in metafunc.fixturenames:
        kept = [r for r in rtts if "rtt_ms" not in only or any(float(v) == r for v in only["rtt_ms"])]
        metafunc.parametrize("rtt_ms", kept, ids=[f"rtt={r:g}ms" for r in kept], scope="session")


@pytest.fixture(scope="session")
def run_state(request, image):
    config = request.config
    spec = (DataSpec(sessions=config.getoption("--sb-sessions"), seed=config.getoption("--sb-seed"))
            if config.getoption("--sb-sessions") else
            DataSpec.from_scale(config.getoption("--sb-scale"), seed=config.getoption("--sb-seed")))
    run_id = config._sessionbench["run_id"]
    try:
        with backends.open_server(config.getoption("--sb-backend"), image=image,
                                  database_url=config.getoption("--sb-database-url"), run_id=run_id) as server:
            state = RunState(server, run_id, spec, progress=config.getoption("--sb-progress"))
            config._sessionbench["states"].append(state)
            try:
                state.load_source()
                yield state
            finally:
                if server.backend == "url":
                    state.drop_run_schemas()
                state.close()
    except UserError as exc:
        # No server, no benchmark: stop the session and let `sessionbench run` print the one line.
        config._sessionbench["fatal"] = exc
        pytest.exit(str(exc), returncode=pytest.ExitCode.INTERNAL_ERROR)


@pytest.fixture(scope="session")
def endpoint(request, run_state, rtt_ms):
    """The URL workloads connect through: direct, or through a relay adding `rtt_ms`."""
    from bench.rtt import open_endpoint

    relayed = len(_rtts(request.config)) > 1 or rtt_ms > 0
    with open_endpoint(run_state.server.url, rtt_ms, relayed=relayed) as (url, calibration):
        request.config._sessionbench["relays"].append({"image": run_state.server.image, **calibration})
        yield url, rtt_ms


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["sessionbench"] = run_metadata(config, output_json)
