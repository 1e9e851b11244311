"""Which cases a run measures: each workload over its axis (or the full grid), narrowed by --only."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.errors import UserError
from bench.plan.recommended import RECOMMENDED
from bench.workloads import Workload, load_all, param_label
from models_variants import AXES, Variant
from models_variants import labels

# A case's identity in results (with the data set: bench.results.format.KEY); --only filters on these and the axes.
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


@dataclass(frozen=True)
class RttPass:
    """A short relay pass: a few cases measured again through a relay adding each RTT, on a smaller budget."""

    workload: str
    param: str
    variants: tuple[str, ...]
    rtt_ms: tuple[float, ...]
    max_time: float
    trials: int

    def holds(self, case: Case) -> bool:
        return (case.workload.name, case.param) == (self.workload, self.param) and case.variant.label in self.variants


# Claim C1 where it hurts, in every default run: the dashboard at one page size through a relay at a
# few added round-trip times (the latency-against-RTT chart), lazy beside the review's fix (selectin on
# both) and the recommended explicit loading (raise). It joins a run given neither --rtt-ms (other than 0) nor
# --only; --rtt-ms with other values measures every case at each instead.
RTT_PASS = RttPass(workload="dashboard", param="page_size=10",
                   variants=(labels.BASELINE, labels.SELECTIN, labels.RAISE),
                   rtt_ms=(0.5, 2.0), max_time=0.1, trials=3)


def run_rtts(chosen: list[float], only: dict | None = None) -> list[float]:
    """The RTTs a run measures at: the chosen ones, plus RTT_PASS's in a default run (0 alone, no --only)."""
    return [*chosen, *RTT_PASS.rtt_ms] if list(chosen) == [0.0] and not only else list(chosen)


def in_rtt_pass_only(rtt_ms: float, chosen: list[float]) -> bool:
    """Whether an RTT is measured by RTT_PASS alone (its cases only, on its budget)."""
    return rtt_ms not in chosen and rtt_ms in RTT_PASS.rtt_ms


def all_cases(grid: str = "axis") -> list[Case]:
    """Each workload over its axis plus the recommended model (bench.plan.recommended) at the workload's
    last (largest) parameters, or the full grid."""
    cases = []
    for workload in load_all().values():
        variants = Variant.full_grid() if grid == "full" else [*Variant.along(workload.axis), RECOMMENDED]
        for variant in variants:
            if workload.skip_reason(variant):
                continue
            params_grid = workload.param_grid()
            if grid != "full" and variant == RECOMMENDED:
                params_grid = params_grid[-1:]  # end to end once per workload: the run's time budget
            for params in params_grid:
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
