"""The workload registry: what a workload is (`Workload`) and the decorator that registers one.

bench.workloads imports every workload module, in the order results list them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

from models_variants import AXES, Variant


@dataclass(frozen=True)
class Workload:
    name: str
    run: Callable
    axis: str
    params: dict[str, list] = field(default_factory=dict)
    setup: Callable | None = None
    teardown: Callable | None = None
    rollback: bool = False
    # False only for a workload whose set-up, rounds and facts never write to the variant's tables:
    # its cases may skip re-settling tables that only readers used since the last settle.
    writes: bool = True
    skip_reason: Callable[[Variant], str | None] = lambda variant: None  # why a variant does not apply
    connect_options: Callable[[dict], dict] = lambda params: {}
    main_statement: str = "first"  # which statement gets EXPLAINed: "first" SELECT, or "none"
    # Untimed, once after the trials: (ctx, **params, **setup kwargs) -> more result columns.
    facts: Callable | None = None

    @property
    def label(self) -> str:
        return (self.run.__doc__ or self.name).strip().splitlines()[0]

    def param_grid(self) -> list[dict]:
        names = list(self.params)
        return [dict(zip(names, values)) for values in itertools.product(*self.params.values())] or [{}]


WORKLOADS: dict[str, Workload] = {}


def workload(axis: str, params: dict[str, list] | None = None, **options):
    """Register the decorated function as a workload over `axis`."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}")

    def register(func: Callable) -> Callable:
        WORKLOADS[func.__name__] = Workload(func.__name__, func, axis, dict(params or {}), **options)
        return func

    return register


def param_label(params: dict) -> str:
    return ",".join(f"{key}={value}" for key, value in params.items())
