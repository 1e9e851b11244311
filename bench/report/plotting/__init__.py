"""Charts for the report: one function per question, each `(df, ax=None) -> Figure`.

Every chart follows the same conventions so a reader learns them once: one fixed colour
(and marker) per variant everywhere, latency in milliseconds with 95% median intervals as error bars, log
scales where values span orders of magnitude, legends outside the data, and a title that
states the finding computed from the data. Figures are built without pyplot (no global
state, no display backend needed) and rendered to PNG with Agg. Several results files that
differ in image, server version or commit are drawn side by side, one panel each.

style: colours, markers, names, number labels, saving · tables: the numbers a chart draws ·
axes: shared drawing · loading, sync_flag, deletion, storage_time: one module per review area.
"""

import functools

from bench.report.plotting.axes import LOG_SPAN
from bench.report.plotting.concurrency import load_curves
from bench.report.plotting.deletion import (
    DELETION_WORKLOADS, deletion_latency, list_live_vs_fraction, soft_delete_bloat, wal_bytes,
)
from bench.report.plotting.growth import latency_vs_size
from bench.report.plotting.loading import (
    latency_bars, latency_vs_page_size, latency_vs_rtt, row_explosion, statements_vs_page_size,
)
from bench.report.plotting.storage_time import migration_cost, ordering_vs_skew, timestamps_rows
from bench.report.plotting.style import (
    COLOURS, DPI, MARKERS, MS, colour, describe, missing, ms, name, publish, save, size,
)
from bench.report.plotting.sync_flag import active_sync, read_write_tradeoff
from bench.analysis.tables import param_value, summary

__all__ = [
    "CHARTS", "COLOURS", "DELETION_WORKLOADS", "DPI", "describe", "missing", "LOG_SPAN", "MARKERS", "MS", "active_sync", "colour",
    "deletion_latency", "latency_bars", "latency_vs_page_size", "latency_vs_rtt", "latency_vs_size",
    "list_live_vs_fraction",
    "migration_cost", "ms", "name", "param_value", "publish", "read_write_tradeoff", "row_explosion", "save",
    "size", "load_curves", "statements_vs_page_size", "summary", "timestamps_rows", "wal_bytes",
    "soft_delete_bloat", "ordering_vs_skew",
]

# Every chart, by the file name the report gives it.
CHARTS = {
    "loading_statements": statements_vs_page_size,
    "loading_latency": latency_vs_page_size,
    "loading_detail_latency": latency_bars,
    "loading_row_explosion": row_explosion,
    "loading_rtt": latency_vs_rtt,
    "sync_active": active_sync,
    "sync_read_write": read_write_tradeoff,
    "deletion_latency": deletion_latency,
    "deletion_list_live": list_live_vs_fraction,
    "deletion_wal": wal_bytes,
    "storage_migration": migration_cost,
    "time_rows_per_zone": timestamps_rows,
    # --clients only (notebook 06); "not measured" without load rows
    "load_dashboard": functools.partial(load_curves, workload="dashboard_under_load"),
    "load_sync": functools.partial(load_curves, workload="sync_under_load"),
    "load_delete": functools.partial(load_curves, workload="delete_under_load"),
    "deletion_bloat": soft_delete_bloat,
    "time_ordering_skew": ordering_vs_skew,
    # growth with the data size (notebook 05); "one size measured" on a single-size run
    "growth_active_sync": functools.partial(latency_vs_size, workload="active_sync", syncing="count"),
    "growth_active_sync_fraction": functools.partial(latency_vs_size, workload="active_sync", syncing="fraction"),
    "growth_active_sync_nodes": functools.partial(latency_vs_size, workload="active_sync", along="nodes_per_session"),
    "growth_mark_sync_nodes": functools.partial(latency_vs_size, workload="mark_sync", along="nodes_per_session"),
    "growth_dashboard": functools.partial(latency_vs_size, workload="dashboard"),
    "growth_list_live": functools.partial(latency_vs_size, workload="list_live"),
    "growth_migration": functools.partial(latency_vs_size, workload="migrate_audio_storage"),
}
