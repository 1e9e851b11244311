"""The published JSON Schema of the results file: generated from bench.results' declarations, valid
draft 2020-12, accepting real files of every kind a run makes, refusing the hostile ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bench import results
from bench.results import format
from bench.results.schema import KIND_SCHEMAS, PATH, published, strict_json, text
from tests.conftest import docker_image_or_skip
from tests.runs import ROOT, tiny_dashboard_run
from tests.test_results_untrusted import HOSTILE, valid_doc

SHORT = ["--backend", "embedded", "--max-time", "0.02", "--min-rounds", "2", "--trials", "2", "--quiet"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = published()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, source: str) -> list[str]:
    """Why a file's text is refused: not strict JSON, or each place the schema rejects; [] if valid."""
    try:
        doc = strict_json(source)
    except (ValueError, RecursionError) as exc:
        return [f"not strict JSON: {exc.__class__.__name__}"]
    return [f"{error.json_path}: {error.message[:120]}" for error in validator.iter_errors(doc)]


def test_the_committed_schema_is_the_one_the_declarations_make():
    assert PATH.read_text() == text(), "regenerate it: python -m bench.results.schema --write"
    schema = published()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"format-{results.FORMAT_VERSION}")
    assert schema["$defs"]["run"]["properties"]["format_version"]["const"] == results.FORMAT_VERSION
    assert schema["$defs"]["run"]["additionalProperties"] is False  # strict for sessionbench's own block
    assert "additionalProperties" not in schema  # open for pytest-benchmark's part


@pytest.mark.parametrize("kind", sorted(format.KINDS))
def test_each_declared_kind_accepts_exactly_what_the_reader_accepts(kind, validator):
    assert set(KIND_SCHEMAS) == set(format.KINDS)
    check = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{kind}", "$defs": validator.schema["$defs"]})
    for value in (0, 1, 7, 2.5, -1, -0.5, 2**63, 1e300, "", "x", True, False, None, [1], {"a": 1}):
        reader = value is None or format.KINDS[kind][0](value)
        assert check.is_valid(value) == reader, (kind, value)


def test_every_hostile_file_is_refused_and_the_valid_one_accepted(validator):
    assert _errors(validator, json.dumps(valid_doc())) == []
    for name, (source, _words) in HOSTILE.items():
        assert _errors(validator, source), f"{name} was accepted"


def test_an_unknown_field_in_the_sessionbench_block_is_refused(validator):
    doc = valid_doc()
    doc["sessionbench"]["surprise"] = 1
    assert _errors(validator, json.dumps(doc)) == ["$.sessionbench: Additional properties are not allowed "
                                                  "('surprise' was unexpected)"]
    doc = valid_doc()
    doc["machine_info"]["anything"] = {"pytest-benchmark": "decides"}
    doc["benchmarks"][0]["options"] = {"timer": "perf_counter"}
    assert _errors(validator, json.dumps(doc)) == []


def _run(out: Path, *args: str) -> Path:
    done = subprocess.run([sys.executable, "-m", "bench.cli", "run", *args, "--out", str(out), "--print-path"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
                          env={**os.environ, "SESSIONBENCH_SHARD": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema-runs")
    return lambda name, *args: _run(folder / name, *args)


def _valid(validator, path: Path) -> None:
    assert _errors(validator, path.read_text()) == []
    results.read(path)  # and the reader takes it too


@pytest.mark.db
def test_a_small_run_validates(validator, tmp_path_factory):
    _valid(validator, Path(tiny_dashboard_run(tmp_path_factory)))


@pytest.mark.db
@pytest.mark.slow
def test_a_default_run_with_its_relay_pass_and_fact_tables_validates(validator, made):
    path = made("default", "--sessions", "200", *SHORT)
    doc = json.loads(path.read_text())
    assert {b["extra_info"]["rtt_ms"] for b in doc["benchmarks"]} > {0.0}  # the relay pass ran
    assert doc["sessionbench"]["deletion_facts"] and doc["sessionbench"]["ordering_facts"]
    _valid(validator, path)


@pytest.mark.db
@pytest.mark.slow
def test_a_size_sweep_at_two_rtts_validates(validator, made):
    path = made("sweep", "--sessions", "100,200", "--rtt-ms", "0,0.5", "--only", "workload=active_sync",
                "--only", "sync_flag=bool_column,json", *SHORT)
    assert len(json.loads(path.read_text())["sessionbench"]["data_sizes"]) == 2
    _valid(validator, path)


@pytest.mark.db
@pytest.mark.slow
def test_a_run_with_clients_validates(validator, made):
    path = made("clients", "--sessions", "200", "--only", "workload=dashboard", "--only", "param=page_size=100",
                "--only", "loading=lazy,raise", "--clients", "1,4", "--load-seconds", "0.5", *SHORT)
    doc = json.loads(path.read_text())
    assert doc["sessionbench"]["concurrency"]
    assert {b["extra_info"].get("clients") for b in doc["benchmarks"]} >= {1, 4}  # the load rows
    _valid(validator, path)


@pytest.mark.db
@pytest.mark.slow
def test_merged_shards_validate(validator, made, tmp_path):
    only = ["--sessions", "200", "--only", "workload=restore_session,recent_activity", *SHORT]
    parts = [made(f"shard{k}", *only, "--shard", f"{k}/2") for k in (1, 2)]
    done = subprocess.run([sys.executable, "-m", "bench.cli", "merge", *map(str, parts), "--out", str(tmp_path),
                           "--print-path"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    merged = Path(done.stdout.strip())
    assert len(json.loads(merged.read_text())["sessionbench"]["shards"]) == 2
    for path in (*parts, merged):
        _valid(validator, path)


@pytest.mark.docker
@pytest.mark.db
@pytest.mark.slow
def test_a_docker_run_validates(validator, made):
    image = docker_image_or_skip()
    path = made("docker", "--image", image, "--sessions", "200", "--only", "workload=active_sync",
                "--only", "sync_flag=bool_column", *(a if a != "embedded" else "docker" for a in SHORT))
    servers = json.loads(path.read_text())["sessionbench"]["servers"]
    assert [s["backend"] for s in servers] == ["docker"] and servers[0]["image_id"]
    _valid(validator, path)
