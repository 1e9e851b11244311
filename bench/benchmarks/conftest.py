"""pytest options and fixtures for the benchmarks: plain `pytest bench/benchmarks` works on them.

`sessionbench run` calls pytest with these options; anyone can too, with any `--benchmark-*`
flag. Servers (one per image) and relays (one per RTT) are session-scoped parameters, so
pytest groups the cases by them and starts each once.
"""

from __future__ import annotations

import os

import pytest

from bench import backends
from bench.measure import environment, placement, priority
from bench.plan import settings
from bench.plan.cases import RTT_PASS, Case, all_cases, apply_only, in_rtt_pass_only, parse_only, run_rtts
from bench.measure.context import RunState, new_run_id
from bench.data.spec import DataSpec, data_specs
from bench.errors import UserError
from bench.plan.recommended import RECOMMENDED
from bench.results import set_run_info
from bench.results.metadata import record_options, run_metadata
from bench.plan.settings import SETTINGS


# CodSpeed counts the instructions of this process: the time PostgreSQL spends on each statement,
# which these benchmarks measure, never reaches it. One line and exit 2, with or without its plugin.
CODSPEED_REFUSAL = ("sessionbench: CodSpeed does not apply: its instruction counting sees only this process, not "
                    "the database time these benchmarks measure; run them without --codspeed (or `sessionbench run`)")


def pytest_addoption(parser, pluginmanager):
    if not pluginmanager.has_plugin("codspeed"):  # without pytest-codspeed, --codspeed still gets the reason
        parser.addoption("--codspeed", action="store_true", default=False, help="not supported: " + CODSPEED_REFUSAL)
    group = parser.getgroup("sessionbench")
    for setting in SETTINGS:  # the same settings, defaults and environment variables as `sessionbench run`
        group.addoption("--sb-" + setting.name.replace("_", "-"), dest="sb_" + setting.name, default=None,
                        action="append" if setting.many else "store", help=setting.help)
    group.addoption("--sb-run-id", default=None)
    group.addoption("--sb-progress", action="store_true")


def pytest_configure(config):
    if config.getoption("codspeed", False) or (
            config.pluginmanager.has_plugin("codspeed") and os.environ.get("CODSPEED_ENV") is not None):
        pytest.exit(CODSPEED_REFUSAL, returncode=2)
    plan = settings.RunPlan.of(config)  # given by `sessionbench run`; plain pytest resolves its --sb-* options
    try:
        if plan is None:
            plan = settings.RunPlan(settings.resolve({s.name: config.getoption("sb_" + s.name) for s in SETTINGS}),
                                    config.getoption("--sb-run-id") or new_run_id(), config.getoption("--sb-progress"))
        resolved = plan.settings
        only = parse_only(resolved.only)
    except UserError as exc:
        raise pytest.UsageError(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None
    config._sessionbench = {"run_id": plan.run_id, "progress": plan.progress, "states": [],
                            "relays": [], "delete_paths": [], "settings": resolved, "only": only, "groups": {},
                            "trials": {"disturbed": 0, "kept": 0, "max_dead_tuples": 0},
                            "load": environment.LoadMeter()}
    # Before any server or thread starts, so all of them inherit it (bench.measure.priority).
    config._sessionbench["priority"] = priority.for_run(resolved.priority)
    config._sessionbench["priority"].__enter__()
    placement.configure(resolved.cpus)  # the CPU each comparison group is timed on (bench.measure.placement)


def pytest_unconfigure(config):
    held = getattr(config, "_sessionbench", {}).get("priority")
    if held is not None:
        held.__exit__(None, None, None)


def _settings(config) -> settings.RunSettings:
    return config._sessionbench["settings"]


def _images(config) -> list:
    backend = _settings(config).backend
    if backend == "auto" or not backends.get(backend).uses_image:  # one server; images are a docker matrix
        return [None]
    return backends.resolve_image(_settings(config).image)


def data_sets(config) -> list[tuple[str, DataSpec]]:
    """(tag, spec) per data set of the run, smallest first; the tag names its schemas."""
    shared = config._sessionbench
    if "data_sets" not in shared:
        shared["data_sets"] = [(f"d{n}", spec) for n, spec in enumerate(data_specs(_settings(config)))]
    return shared["data_sets"]


def _data_id(spec: DataSpec) -> str:
    nodes = f"-nodes={spec.nodes_per_session}" if spec.nodes_per_session else ""
    return f"sessions={spec.sessions}-syncing={spec.syncing}{nodes}"


def _cases(config) -> list[Case]:
    shared = config._sessionbench
    if "cases" not in shared:
        from bench.plan import shard

        cases = apply_only(all_cases(_settings(config).grid), shared["only"], images=_images(config),
                           rtts=run_rtts(_settings(config).rtt_ms, shared["only"]))
        try:  # --shard K/N: only this part's comparison groups, each whole
            shared["cases"] = shard.select(cases, _settings(config).shard)
        except UserError as exc:  # an empty shard runs nothing; `sessionbench run` prints the one line
            shared["fatal"], shared["cases"] = exc, []
    return shared["cases"]


def pytest_generate_tests(metafunc):
    config = metafunc.config
    only = config._sessionbench["only"]
    images, rtts = _images(config), run_rtts(_settings(config).rtt_ms, only)
    if "case" in metafunc.fixturenames:
        # Parametrized by id, a stable string: pytest-benchmark stores it as the `case` param.
        ids = [case.id for case in _cases(config)]
        metafunc.parametrize("case", ids, ids=ids, indirect=True)
    if "deletion_variant" in metafunc.fixturenames:
        # Claim C3's fact table runs for every deletion variant some deletion workload of this run uses.
        variants = sorted({c.variant for c in _cases(config) if c.workload.axis == "deletion"
                           and c.variant != RECOMMENDED}, key=lambda v: v.label)  # the recommended model: its value has a row
        if metafunc.function.__name__ == "test_delete_paths":  # a variant whose paths another one takes: no step
            labels = {v.label for v in variants}
            variants = [v for v in variants if f"deletion={v.values()['deletion'].paths_as}" not in labels]
        metafunc.parametrize("deletion_variant", variants, ids=[v.label for v in variants])
    if "timestamps_variant" in metafunc.fixturenames:
        # Claim C6's ordering facts run for every timestamps variant some timestamps workload of this run uses.
        variants = sorted({c.variant for c in _cases(config) if c.workload.axis == "timestamps"
                           and c.variant != RECOMMENDED}, key=lambda v: v.label)  # the recommended model: its value has a row
        metafunc.parametrize("timestamps_variant", variants, ids=[v.label for v in variants])
    if "image" in metafunc.fixturenames:
        kept = [i for i in images if "image" not in only or str(i) in only["image"]]
        metafunc.parametrize("image", kept, ids=[f"image={i}" if i else "server" for i in kept], scope="session")
    if "data" in metafunc.fixturenames:
        # By a readable id (pytest-benchmark stores it as the `data` param); run_state looks the set up.
        ids = [_data_id(spec) for _, spec in data_sets(config)]
        metafunc.parametrize("data", ids, ids=ids, scope="session")
    if "rtt_ms" in metafunc.fixturenames:
        kept = [r for r in rtts if "rtt_ms" not in only or any(float(v) == r for v in only["rtt_ms"])]
        metafunc.parametrize("rtt_ms", kept, ids=[f"rtt={r:g}ms" for r in kept], scope="session")


def pytest_collection_modifyitems(config, items):
    # A test whose parameter list came out empty (no deletion workload in this run) is not a case.
    items[:] = [item for item in items if "NOTSET" not in item.nodeid]
    # At an RTT only the relay pass measures (bench.plan.cases.RTT_PASS), only its cases run.
    chosen, cases = _settings(config).rtt_ms, {case.id: case for case in _cases(config)}
    items[:] = [item for item in items if not _outside_rtt_pass(getattr(item, "callspec", None), chosen, cases)]


def _outside_rtt_pass(callspec, chosen: list[float], cases: dict) -> bool:
    if callspec is None or not in_rtt_pass_only(callspec.params.get("rtt_ms", 0.0), chosen):
        return False
    return "case" not in callspec.params or not RTT_PASS.holds(cases[callspec.params["case"]])


@pytest.fixture
def case(request) -> Case:
    return next(c for c in _cases(request.config) if c.id == request.param)


@pytest.fixture(scope="session")
def server(request, image):
    """One server per image for the whole run; the data sets of the run live on it one after another."""
    config = request.config
    chosen = _settings(config)
    backend = chosen.backend if chosen.backend != "auto" else backends.choose(
        "auto", images=backends.resolve_image(chosen.image), database_url=chosen.database_url)[0]
    try:
        with backends.open_server(backend, image=image, database_url=chosen.database_url,
                                  run_id=config._sessionbench["run_id"]) as opened:
            from bench.load.cases import check_connection_limit  # --clients the server cannot take
            check_connection_limit(opened.url, chosen.clients, chosen.pool_size, chosen.load_workers)
            yield opened
    except UserError as exc:
        _stop(config, exc)


@pytest.fixture(scope="session")
def run_state(request, server, data):
    """One data set on the server: its source and variant tables, dropped when the run moves on."""
    config = request.config
    tag, spec = next((tag, spec) for tag, spec in data_sets(config) if _data_id(spec) == data)
    pinned = {"jit": "off"} if _settings(config).jit == "off" else {}
    # `sessionbench run` prints the load's progress past pytest's capture; plain pytest draws a bar.
    progress = getattr(config, "_sessionbench_load_progress", None) or config._sessionbench["progress"]
    state = RunState(server, config._sessionbench["run_id"], spec, tag=tag, session_settings=pinned,
                     progress=progress, trial_log=config._sessionbench["trials"])
    config._sessionbench["states"].append(state)
    try:
        state.load_source()
        yield state
        state.record_data_size()
    except UserError as exc:
        _stop(config, exc)
    finally:
        if not server.started_here or len(data_sets(config)) > 1:
            _drop_run_schemas(config, state, data_set=True)
        state.close()


def _stop(config, exc: UserError):
    """No server or no data, no benchmark: stop the session and let `sessionbench run` print the one line."""
    config._sessionbench["fatal"] = exc
    pytest.exit(str(exc), returncode=pytest.ExitCode.INTERNAL_ERROR)


def _drop_run_schemas(config, state: RunState, data_set: bool = False) -> None:
    """Drop the run's schemas (or one data set's); when that fails (the server went away), name them instead."""
    from sqlalchemy.exc import DBAPIError

    from bench import interrupts
    from bench.backends import leftovers
    from bench.faults import first_line

    try:
        state.drop_run_schemas(data_set=data_set)
    except DBAPIError as exc:
        created = [state.source_schema, *(load["schema"] for load in state.loads.values() if "schema" in load)]
        names = ", ".join(dict.fromkeys(created))
        leftovers.hold(f"schemas:{state.prefix}", f"schemas {names} on {state.server.safe_url}")
        leftovers.remember_schemas(state.server.safe_url, created)  # the next run reaching it drops them
        if interrupts.received():
            return  # the interrupted run's last line names them
        fatal = config._sessionbench.get("fatal") or UserError(f"could not drop this run's schemas: {first_line(exc)}")
        config._sessionbench["fatal"] = UserError(f"{fatal.message}; its schemas were NOT dropped: {names}",
                                                  "the next run that reaches the server drops them; "
                                                  f"or, once it is back: DROP SCHEMA {names} CASCADE")


def pytest_exception_interact(node, call, report):  # noqa: ARG001 - hook signature
    """A fault no later case survives (server gone, statement timeout, read-only, out of file
    descriptors) stops the run at once; `sessionbench run` prints it as one line."""
    from bench.faults import fatal_fault

    shared = node.config._sessionbench
    if shared.get("fatal") is not None or call.excinfo is None:
        return
    case = node.nodeid.split("[", 1)[-1].rstrip("]")
    during = case if call.when == "call" else f"the {call.when} of {case}"
    fatal = fatal_fault(call.excinfo.value, [state.server.url for state in shared["states"]], during)
    if fatal is not None:
        shared["fatal"] = fatal
        node.session.shouldstop = fatal.message


@pytest.fixture(scope="session")
def endpoint(request, run_state, rtt_ms):
    """The URL workloads connect through: direct, or through a relay adding `rtt_ms`."""
    from bench.net.rtt import open_endpoint

    relayed = len(_settings(request.config).rtt_ms) > 1 or rtt_ms > 0
    with open_endpoint(run_state.server.url, rtt_ms, relayed=relayed) as (url, calibration):
        request.config._sessionbench["relays"].append({"image": run_state.server.image, **calibration})
        yield url, rtt_ms


def pytest_benchmark_update_json(config, benchmarks, output_json):
    record_options(config, output_json["benchmarks"])  # what the run did, not the fixture's defaults
    set_run_info(output_json, run_metadata(config, output_json))
