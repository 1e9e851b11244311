"""`sessionbench list`: every axis with its values, and every workload with its axis and params."""

from __future__ import annotations

from bench.workloads import load_all
from models_variants import AXES, BASELINE


def print_listing() -> int:
    print("axes (a variant is one value per axis; baseline in brackets):")
    for axis in AXES.values():
        print(f"  {axis.name}")
        base = getattr(BASELINE, axis.name)
        for value in axis.values.values():
            mark = f"[{value.name}]" if value.name == base else value.name
            print(f"    {mark:<14} {value.description}")
    print("\nworkloads (each runs over its axis, other axes at baseline):")
    for workload in load_all().values():
        params = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in workload.params.items()) or "-"
        print(f"  {workload.name:<22} {workload.axis:<14} {params:<30} {workload.label}")
    return 0
