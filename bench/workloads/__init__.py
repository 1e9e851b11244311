"""The hub's real operations, one small function each, registered by a decorator.

A workload's docstring's first line is its label in tables and charts. `setup` (untimed,
once per case) picks targets and prepares data; the timed body gets an ORM session and
returns the number of rows it handled. Workloads marked `rollback` run each round inside a
transaction that is rolled back, so every round measures the same change on the same data.
"""

from __future__ import annotations

# Importing the modules registers their workloads; the order here is the order in results.
from bench.workloads import loading, sync, deletion, storage, timestamps  # noqa: F401, I001
from bench.workloads.registry import WORKLOADS, Workload, param_label, workload  # noqa: F401 - the registry's API


def load_all() -> dict[str, Workload]:
    """Every registered workload by name, in the order results list them."""
    return WORKLOADS
