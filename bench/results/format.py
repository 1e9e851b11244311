"""The results format, declared: its version, its columns and the kind of value each holds.

A results file is pytest-benchmark's JSON. Each benchmark keeps its raw per-round timings in
`stats.data` and its own columns in `extra_info` (ROW_SCHEMA says each column's kind); the run's
metadata sits in `machine_info`, `commit_info` and a `sessionbench` block carrying FORMAT_VERSION.
bench.results reads it (bench.results.validate checks every value on the way in) and writes it.
"""

from __future__ import annotations

from bench.data.spec import DATA_COLUMNS as _DATA
from bench.plan.cases import RUN_COLUMNS
from models_variants import AXES

FORMAT_VERSION = 2
AXIS_COLUMNS = list(AXES)
# The data set a case ran on (bench.data.spec owns them): a size sweep measures each case at each.
DATA_COLUMNS = list(_DATA)
COLUMNS = [
    "run_id", "backend", "server_version", "image", "rtt_ms", "workload", "param", "variant", *AXIS_COLUMNS,
    *DATA_COLUMNS, "statements", "server_statements", "rows",
    # per round, on the wire (bench.measure.counting says what each is): executions with every parameter set,
    # round trips an added RTT multiplies, rows and bytes the server sent over all statements
    "executions", "round_trips", "wire_rows", "wire_bytes", "min_s", "median_s", "mean_s", "stddev_s",
    "iqr_s", "q1_s", "q3_s", "p95_s", "p99_s", "rounds",
    # measured side by side (bench.measure.trials): the ratio to the group's baseline and its interval
    "trials", "rounds_per_trial", "trials_discarded", "budget_limited", "ratio", "ratio_low", "ratio_high",
    "cpu_s", "client_cpu_s", "server_cpu_s", "cpu_wait_s", "server_exec_s",
    # a storage move (bench.workloads.storage), once with a writer updating the same messages meanwhile
    "rows_rewritten", "batches", "migration_wall_s", "writer_wait_max_s", "writer_updates", "writer_lock_waits",
    "plan_top", "seq_scan", "generic_plan_top",
    "generic_seq_scan", "plan_in_use", "plan_changes", "plan_rows", "shared_hit", "shared_read", "jit_used", "planning_ms",
    "execution_ms", "wal_bytes", "table_bytes", "index_bytes", "orphans", "leaks", "label", "commit",
    "datetime",
    # under concurrent load (--clients, bench.load.cases): one row per mix x variant x clients
    "clients", "roles", "pool_size", "load_workers", "ops", "ops_per_s", "p50_s", "pool_wait_s", "pool_wait_p99_s",
    "pool_wait_share", "pool_waited", "errors", "load_cpu_share", "ceiling_ops_per_s", "headroom", "busy_backends",
    "cpu_share", "lock_wait_share", "client_wait_share", "lock_waits", "top_wait",
]
# Lists of numbers, kept in extra_info beside the columns.
LIST_COLUMNS = ("trial_medians_s", "trial_cpu_s", "trial_unloaded_s", "trial_yardstick_s", "trial_paced_s")
# Bulky detail kept in the file, not in the table.
DETAIL = ("first_statements", "orphans_detail", "leaks_detail", "roles_detail", "wait_events", *LIST_COLUMNS)
# A benchmark's identity across files: the case as the plan names it, then its data set.
KEY = [*RUN_COLUMNS, *DATA_COLUMNS]


LARGEST = 2.0**63  # numbers must fit the 64-bit columns pandas computes with
MAX_DEPTH = 24  # sessionbench writes at most 7 levels; far deeper nesting would exhaust a reader's stack
RUN_TEXT = ("run_id", "backend", "server_version", "scale", "commit", "python", "grid")
RUN_NUMBERS = ("sessions", "seed")


# What a value of each kind must be: a test and the words an error line uses. None (absent) is always allowed.
def finite(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and abs(value) < LARGEST


KINDS = {
    "duration": (lambda v: finite(v) and v > 0, "a positive duration"),  # a timed round is never 0 s
    "time": (lambda v: finite(v) and v >= 0, "a time of 0 or more"),  # a wait or a CPU time can be 0
    "count": (lambda v: finite(v) and type(v) is int and v >= 0, "a whole count of 0 or more"),
    "amount": (lambda v: finite(v) and v >= 0, "a number of 0 or more"),
    "ratio": (lambda v: finite(v) and v > 0, "a positive ratio"),
    "number": (finite, "a finite number"),
    "text": (lambda v: isinstance(v, str), "text"),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
}
LIST_KINDS = {"durations": "duration", "times": "time", "texts": "text"}

# The declared row: every column's kind (KINDS, or a list of one kind: LIST_KINDS). A column not
# declared here is judged by its name's suffix (SUFFIX_KINDS), else it must be one plain value.
ROW_SCHEMA = {
    **dict.fromkeys(("run_id", "backend", "server_version", "image", "workload", "param", "variant", *AXIS_COLUMNS,
                     "syncing", "label", "commit", "datetime", "plan_top", "generic_plan_top", "plan_in_use",
                     "roles", "lock_waits", "top_wait"), "text"),
    **dict.fromkeys(("sessions", "nodes_per_session", "statements", "server_statements", "rows", "executions",
                     "round_trips", "wire_rows", "wire_bytes", "rounds", "trials", "rounds_per_trial",
                     "trials_discarded", "rows_rewritten", "batches", "writer_updates", "writer_lock_waits",
                     "shared_hit", "shared_read", "wal_bytes", "table_bytes", "index_bytes", "orphans", "leaks",
                     "clients", "pool_size", "load_workers", "ops", "pool_waited", "errors", "wait_samples",
                     "warmup_rounds", "rounds_planned", "prepared_statements", "generic_executions",
                     "custom_executions"), "count"),
    **dict.fromkeys(("min_s", "median_s", "mean_s", "q1_s", "q3_s", "p95_s", "p99_s"), "duration"),
    **dict.fromkeys(("stddev_s", "iqr_s", "cpu_s", "client_cpu_s", "server_cpu_s", "cpu_wait_s", "server_exec_s",
                     "migration_wall_s", "writer_wait_max_s", "p50_s", "pool_wait_s", "pool_wait_p99_s"), "time"),
    **dict.fromkeys(("rtt_ms", "plan_rows", "planning_ms", "execution_ms", "ops_per_s", "pool_wait_share",
                     "load_cpu_share", "ceiling_ops_per_s", "busy_backends", "cpu_share", "lock_wait_share",
                     "client_wait_share"), "amount"),
    **dict.fromkeys(("ratio", "ratio_low", "ratio_high"), "ratio"),
    "headroom": "number",
    **dict.fromkeys(("budget_limited", "seq_scan", "generic_seq_scan", "plan_changes", "jit_used", "steady_state"),
                    "flag"),
    "indexes_used": "texts", "trial_medians_s": "durations", "trial_cpu_s": "times", "trial_unloaded_s": "times",
    "trial_yardstick_s": "durations", "trial_paced_s": "durations",
}
# pytest-benchmark's statistics of the timed rounds, and the raw rounds in stats.data.
STATS_SCHEMA = {"min": "duration", "max": "duration", "median": "duration", "mean": "duration", "q1": "duration",
                "q3": "duration", "stddev": "time", "iqr": "time", "rounds": "count"}
SUFFIX_KINDS = (("_s", "time"), ("_ms", "amount"), ("_bytes", "amount"))


# Fact tables a run writes beside its benchmarks (`sessionbench.<name>`, lists of flat objects): C3's
# delete paths, C4's deletion facts (unique keys, leaks per read path, bloat), C6's ordering facts.
FACT_TABLES = ("delete_paths", "deletion_facts", "ordering_facts")
FACT_DETAIL = ("orphans_detail", "warnings")  # nested detail kept in the file, not in the tables
