"""The results file's JSON Schema (draft 2020-12), built from what bench.results and bench.plan.settings declare.

Published as bench/schema/results.schema.json (shipped in the wheel) so other tools can validate a
results file: `check-jsonschema --schemafile bench/schema/results.schema.json results/RUN.json`.
Strict for sessionbench's own `sessionbench` block (every field named, nothing else allowed) and for
the results columns in each benchmark's `extra_info` (typed as bench.results reads them); open for
pytest-benchmark's part (`machine_info`, `commit_info`, `options`, other stats), which its own
version decides. Its `$id` carries the results format version: a new format is a new schema.

The file is generated, never edited by hand: `python -m bench.results.schema --write` rewrites it,
and tests/test_results_schema.py fails when the committed file and the declarations differ.

JSON has no NaN or Infinity: a file must be parsed as strict JSON (`strict_json`) before it is
validated, or those values (which Python's json module reads) slip past every range.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.results import format as results
from bench.results.validate import kind_of
from bench.plan.settings import SETTINGS

PATH = Path(__file__).parents[1] / "schema" / "results.schema.json"
_LIMIT = 2**63  # numbers must fit the 64-bit columns pandas computes with (bench.results)

# Each kind of value bench.results declares (bench.results.format.KINDS), as JSON Schema; null (absent) is always allowed.
KIND_SCHEMAS = {
    "duration": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": _LIMIT},
    "time": {"type": "number", "minimum": 0, "exclusiveMaximum": _LIMIT},
    "count": {"type": "integer", "minimum": 0, "exclusiveMaximum": _LIMIT},
    "amount": {"type": "number", "minimum": 0, "exclusiveMaximum": _LIMIT},
    "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": _LIMIT},
    "number": {"type": "number", "exclusiveMinimum": -_LIMIT, "exclusiveMaximum": _LIMIT},
    "text": {"type": "string"},
    "flag": {"type": "boolean"},
}


def _kind(kind: str) -> dict:
    """A declared kind (or list of one kind) as a reference, null allowed."""
    return {"$ref": f"#/$defs/{kind}"}


def _kind_defs() -> dict:
    defs = {kind: {"anyOf": [schema, {"type": "null"}]} for kind, schema in KIND_SCHEMAS.items()}
    defs.update({kind: {"anyOf": [{"type": "array", "items": KIND_SCHEMAS[item]}, {"type": "null"}]}
                 for kind, item in results.LIST_KINDS.items()})
    return defs


def _column(name: str) -> dict:
    """A results column's schema: its declared kind (bench.results.validate.kind_of), else one plain value."""
    kind = kind_of(name)
    return _kind(kind) if kind is not None else {"$ref": "#/$defs/plain"}


def _columns() -> dict:
    """extra_info's columns: every COLUMNS and ROW_SCHEMA name, and the suffix rule for other names
    (a declared name is judged by its declaration, never by its suffix)."""
    names = dict.fromkeys((*results.COLUMNS, *results.ROW_SCHEMA))
    properties = {name: _column(name) for name in names}
    patterns = {}
    for suffix, kind in results.SUFFIX_KINDS:
        declared = sorted(name for name in names if name.endswith(suffix))
        patterns[f"^(?!({'|'.join(declared)})$).*{suffix}$" if declared else f"{suffix}$"] = _kind(kind)
    return {"properties": properties, "patternProperties": patterns}


def _defs() -> dict:
    columns = _columns()
    plain = {"anyOf": [KIND_SCHEMAS["number"], {"type": ["string", "boolean", "null"]}]}
    return {
        **_kind_defs(),
        "plain": plain,
        # One benchmark's results columns, typed as the reader takes them; the other metrics a
        # benchmark carries (first_statements, roles_detail, ...) are its detail, any JSON.
        "extra_info": {"type": "object", **columns},
        # A fact-table entry (deletion and ordering facts, node writes): flat values only.
        "fact": {"type": "object", **columns, "additionalProperties": {"$ref": "#/$defs/plain"}},
        "delete_path": {"type": "object", "properties": {**columns["properties"], "orphans_detail": {}, "warnings": {}},
                        "patternProperties": columns["patternProperties"],
                        "additionalProperties": {"$ref": "#/$defs/plain"}},
        "stats": {"type": "object", "properties": {
            **{name: _kind(kind) for name, kind in results.STATS_SCHEMA.items()}, "data": _kind("durations")}},
        "benchmark": {"type": "object", "properties": {
            "name": _kind("text"), "stats": {"$ref": "#/$defs/stats"}, "extra_info": {"$ref": "#/$defs/extra_info"}}},
        "server": {"type": "object", "additionalProperties": False, "properties": {
            "backend": {"type": "string"}, "url": {"type": "string"}, "server_version": {"type": "string"},
            "server_version_num": {"type": "integer"}, "image": _kind("text"), "image_id": _kind("text"),
            "image_digest": _kind("text"), "pg_stat_statements": {"type": "boolean"}, "where": {"type": "string"},
            "settings": {"type": "object", "additionalProperties": {"type": "string"}},
            "server_counts": {"type": "string"}}},
        "settings": {"type": "object", "additionalProperties": False, "properties": {
            setting.name: _kind("text") if setting.name == "shard" else {}
            for setting in SETTINGS if setting.name != "database_url"}},
    }


def _run_block() -> dict:
    """The `sessionbench` block (bench.results.metadata.run_metadata, bench.commands.runner, bench.results.merge): every field named."""
    objects = {"type": "array", "items": {"type": "object"}}
    obj = {"type": "object"}
    fields = {
        "format_version": {"type": "integer", "const": results.FORMAT_VERSION},
        "run_id": {"type": "string", "pattern": r"^[0-9]{8}T[0-9]{6}-[0-9a-f]+$"},
        "backend": {"enum": ["embedded", "docker", "url", None]},
        "server_version": _kind("text"),
        "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
        "scale": _kind("text"), "sessions": _kind("count"), "seed": _kind("number"),
        "data": {"anyOf": [{"type": "object", "properties": {"sessions": _kind("count")}}, {"type": "null"}]},
        "grid": {"enum": ["axis", "full", None]},
        "only": _kind("texts"),
        "settings": {"$ref": "#/$defs/settings"},
        "priority": obj, "placement": obj, "yardstick": obj, "machine": obj, "load": obj, "trials": obj,
        "data_sizes": objects, "loads": objects, "sizes": objects, "facts": objects, "relays": objects,
        "delete_paths": {"type": "array", "items": {"$ref": "#/$defs/delete_path"}},
        **{name: {"type": "array", "items": {"$ref": "#/$defs/fact"}} for name in results.FACT_TABLES[1:]},
        "concurrency": {"type": ["object", "null"]},
        "node_writes": {"type": "array", "items": {"$ref": "#/$defs/fact"}},
        "packages": {"type": "object", "additionalProperties": _kind("text")},
        "python": _kind("text"), "commit": _kind("text"),
        "failed": _kind("texts"),
        # sessionbench merge: the shards a merged file was made of, and any left out (--allow-missing)
        "missing_shards": {"type": "array", "items": {"type": "integer"}},
        "shards": objects,
    }
    return {"type": "object", "required": ["format_version", "run_id"], "properties": fields,
            "additionalProperties": False}


def schema() -> dict:
    """The results file's schema for this FORMAT_VERSION."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:sessionbench:results:format-{results.FORMAT_VERSION}",
        "title": f"sessionbench results file, format {results.FORMAT_VERSION}",
        "description": "pytest-benchmark's JSON with a `sessionbench` block. Generated by bench/results/schema.py "
                       "from bench.results; parse as strict JSON (no NaN or Infinity) before validating.",
        "type": "object",
        "required": ["benchmarks", "sessionbench"],
        "properties": {
            "sessionbench": {"$ref": "#/$defs/run"},
            "benchmarks": {"type": "array", "items": {"$ref": "#/$defs/benchmark"}},
            "commit_info": {"anyOf": [{"type": "object", "properties": {"id": _kind("text")}}, {"type": "null"}]},
            "datetime": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": (
                r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}(:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?)?"
                r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$")}]},
        },
        "$defs": {"run": _run_block(), **_defs()},
    }


def text() -> str:
    return json.dumps(schema(), indent=1, sort_keys=False) + "\n"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def strict_json(source: str):
    """Parse JSON as RFC 8259 has it: NaN, Infinity and -Infinity are refused (ValueError)."""
    return json.loads(source, parse_constant=_refuse_constant)


def published() -> dict:
    """The committed schema file, as shipped in the package."""
    return json.loads(PATH.read_text())


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        PATH.parent.mkdir(exist_ok=True)
        PATH.write_text(text())
        print(f"wrote {PATH}")
    else:
        sys.stdout.write(text())
