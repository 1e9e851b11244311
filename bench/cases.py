"""Which cases a run measures: each workload over its axis (or the full grid), narrowed by --only."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.errors import UserError
from bench.workloads import Workload, load_all, param_label
from models_variants import AXES, Variant

# Columns --only can filter on, beyond the axis columns.
RUN_COLUMNS = ("workload", "param", "variant", "image", "rtt_ms")


@dataclass(frozen=True)
class Case:
    """One workload on one variant with one set of parameters."""

    workload: Workload
    variant: Variant
    params: dict = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.workload.name, self.variant, self.param))

    @property
    def param(self) -> str:
        return param_label(self.params)

    @property
    def id(self) -> str:
        return f"{self.workload.name}[{self.param or '-'}]-{self.variant.label}"

    @property
    def group(self) -> tuple[str, str]:
        """Cases of one group are compared with each other: measured side by side, trial by trial."""
        return (self.workload.name, self.param)

    def columns(self) -> dict:
        return {"workload": self.workload.name, "param": self.param, "variant": self.variant.label,
                **self.variant.as_dict()}


def all_cases(grid: str = "axis") -> list[Case]:
    cases = []
    for workload in load_all().values():
        variants = Variant.full_grid() if grid == "full" else Variant.along(workload.axis)
        for variant in variants:
            if workload.skip_reason(variant):
                continue
            for params in workload.param_grid():
                cases.append(Case(workload, variant, params))
    return cases


def parse_only(filters: list[str]) -> dict[str, set[str]]:
    """`--only workload=dashboard --only loading=lazy,selectin` -> {column: allowed values}."""
    valid = list(RUN_COLUMNS) + list(AXES)
    parsed: dict[str, set[str]] = {}
    for item in filters:
        column, sep, values = item.partition("=")
        column = column.strip()
        if not sep or not values.strip():
            raise UserError(f"--only {item!r} is not COLUMN=V1,V2", "e.g. --only workload=dashboard")
        if column not in valid:
            raise UserError(f"--only: unknown column {column!r}", f"use one of: {', '.join(valid)}")
        parsed.setdefault(column, set()).update(v.strip() for v in values.split(",") if v.strip())
    return parsed


def apply_only(cases: list[Case], only: dict[str, set[str]], *, images: list, rtts: list[float]) -> list[Case]:
    """Keep the cases matching every filter; refuse values that match nothing, listing the valid ones."""
    known = {column: set() for column in only}
    for case in cases:
        row = case.columns()
        for column in only:
            if column in row:
                known[column].add(str(row[column]))
    known_extra = {"image": {str(i) for i in images}, "rtt_ms": {_num(r) for r in rtts}}
    for column, values in only.items():
        pool = known_extra.get(column, known[column])
        if column in known_extra:
            values = {_num(v) if column == "rtt_ms" else v for v in values}
        bad = sorted(values - pool)
        if bad:
            raise UserError(f"--only {column}: no case has {', '.join(bad)}",
                            f"valid values: {', '.join(sorted(pool))}")
    kept = []
    for case in cases:
        row = case.columns()
        if all(str(row[c]) in v for c, v in only.items() if c in row):
            kept.append(case)
    if not kept:
        raise UserError("--only left no case to run", "loosen the filters; `sessionbench list` shows the names")
    return kept


def _num(value) -> str:
    try:
        return repr(float(value))
    except ValueError:
        return str(value)
