"""Growth tables from hand-built results rows, literal numbers: slopes with intervals, neighbouring slopes
and bends, cache cliffs from the data_sizes blocks, projections with their interval, C5 at size."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.analysis import growth, moves
from bench.report.plotting.axes import BARS

SIZES = (1000, 10_000, 100_000, 1_000_000)
MiB, GiB = 2 ** 20, 2 ** 30


def row(variant, sessions, median, workload="active_sync", syncing="100", nodes=None, **values):
    return {"workload": workload, "param": "", "variant": variant, "image": None, "rtt_ms": 0.0,
            "sessions": sessions, "nodes_per_session": nodes, "syncing": syncing, "median_s": median,
            "q1_s": median, "q3_s": median, **values}


def sweep(variant, logs, **values):
    """One row per size of SIZES, the median 10^log seconds."""
    return [row(variant, s, 10 ** log, **values) for s, log in zip(SIZES, logs)]


# log10 medians: the blob as in test_stats (slope 0.98 [0.80–1.16]); bool_column flat, then a scan.
BLOB = (-3, -1.9, -1.1, 0)
BENT = (-3, -2.9, -2.8, -1.8)


def blocks(bytes_per_session: float, syncing="100"):
    return [{"sessions": s, "nodes_per_session": None, "syncing": syncing, "data_bytes": s * bytes_per_session,
             "shared_buffers_bytes": 128 * MiB, "memory_bytes": 24 * GiB,
             "fits_in_shared_buffers": s * bytes_per_session <= 128 * MiB} for s in SIZES]


def only(table, variant, metric="latency"):
    found = table[(table["variant"] == variant) & (table["metric"] == metric)]
    assert len(found) == 1
    return found.iloc[0]


def test_slope_and_interval_per_variant_from_one_median_per_size():
    table = growth.growth_table(sweep("baseline", BLOB) + sweep("sync_flag=bool_column", BENT))
    blob = only(table, "baseline")
    assert blob["sizes"] == list(SIZES) and blob["points"] == 4
    assert (blob["slope"], blob["slope_low"], blob["slope_high"]) == (
        pytest.approx(0.98), pytest.approx(0.7974, abs=1e-4), pytest.approx(1.1626, abs=1e-4))
    assert growth.slope_text(blob) == "0.98 [0.80–1.16]"
    assert [s for _, _, s in blob["segments"]] == [pytest.approx(1.1), pytest.approx(0.8), pytest.approx(1.1)]
    assert blob["bend"] == ""
    assert blob["syncing"] == "100" and blob["along"] == "sessions"


def test_a_bend_between_neighbouring_sizes_is_named():
    flag = only(growth.growth_table(sweep("sync_flag=bool_column", BENT)), "sync_flag=bool_column")
    assert [s for _, _, s in flag["segments"]] == [pytest.approx(0.1), pytest.approx(0.1), pytest.approx(1.0)]
    assert flag["bend"] == "bends at 100,000→1,000,000: slope 0.10 → 1.00"


def test_a_fit_across_a_cache_cliff_says_so_and_one_inside_a_regime_does_not():
    # 1,000 bytes per session: 128 MiB holds 134,217 sessions, so 1,000,000 leaves shared_buffers.
    across = only(growth.growth_table(sweep("baseline", BLOB), blocks(1000)), "baseline")
    assert across["cliff"] == "data outgrows shared_buffers between 100,000 and 1,000,000 sessions: the slope spans " \
                              "a cache cliff"
    assert across["regimes"] == "1,000: shared_buffers, 10,000: shared_buffers, 100,000: shared_buffers, " \
                                "1,000,000: RAM"
    inside = only(growth.growth_table(sweep("baseline", BLOB), blocks(10)), "baseline")
    assert inside["cliff"] == "" and inside["regimes"].endswith("1,000,000: shared_buffers")
    unknown = only(growth.growth_table(sweep("baseline", BLOB)), "baseline")
    assert (unknown["regimes"], unknown["cliff"]) == ("not recorded", "")
    # Blocks of another syncing mode do not describe these rows.
    assert only(growth.growth_table(sweep("baseline", BLOB), blocks(1000, "1%")), "baseline")["cliff"] == ""


def test_projection_at_ten_times_the_largest_size_with_its_interval_and_the_regime_it_would_leave():
    blob = only(growth.growth_table(sweep("baseline", BLOB), blocks(1000)), "baseline")
    # log10 y at 10,000,000 = -3 + 0.03 + 0.98 × 4 = 0.95; half width 4.3027 × se × sqrt(1/4 + 2.5² / 5) = 0.4999
    # (t at df 2 exactly: 4.3027; the Cornish-Fisher series had said 4.2706).
    assert blob["production"] == 10_000_000
    assert blob["projected"] == pytest.approx(10 ** 0.95)
    assert (blob["projected_low"], blob["projected_high"]) == (pytest.approx(10 ** (0.95 - 0.4999), rel=1e-3),
                                                             pytest.approx(10 ** (0.95 + 0.4999), rel=1e-3))
    assert blob["projection_note"] == "extrapolation: assumes the fitted power law holds"
    # At 100,000,000 sessions the data (93.1 GiB, scaled linearly) would no longer fit in 24 GiB of RAM.
    far = only(growth.growth_table(sweep("baseline", BLOB), blocks(1000), production=100_000_000), "baseline")
    assert far["projection_note"] == (
        "extrapolation: assumes the fitted power law holds; at 100,000,000 sessions the data (about 93.1 GiB, "
        "scaled linearly) would leave RAM, which no measured size did: the projection does not see that cliff")


def test_buffers_read_are_fitted_too_and_two_sizes_give_no_interval():
    rows = [row("baseline", s, 0.001, shared_hit=hit, shared_read=read)
            for s, hit, read in ((1000, 90, 10), (10_000, 900, 100))]
    buffers = only(growth.growth_table(rows), "baseline", "buffers")
    assert (buffers["slope"], buffers["slope_low"], buffers["points"]) == (pytest.approx(1.0), None, 2)
    assert growth.slope_text(buffers) == "1.00 (no interval: two points)"
    assert buffers["projected"] == pytest.approx(10_000) and buffers["projected_low"] is None


def test_one_size_gives_no_fit_and_several_runs_at_a_size_are_pooled_by_their_median():
    assert growth.growth_table([row("baseline", 1000, 0.001)]).empty
    assert growth.sizes_measured([row("baseline", 1000, 0.001)]) == [1000]
    runs = [row("baseline", 1000, 0.001), row("baseline", 1000, 0.003), row("baseline", 1000, 0.002),
            row("baseline", 10_000, 0.02)]
    pooled = only(growth.growth_table(runs), "baseline")
    assert pooled["slope"] == pytest.approx(1.0)  # median 0.002 at 1,000, 0.02 at 10,000


def test_each_data_set_gets_its_own_fit_and_syncing_modes_list_fixed_counts_first():
    rows = sweep("baseline", BLOB) + sweep("baseline", (-3, -2, -1, 0), syncing="1%")
    table = growth.growth_table(rows, metrics=("latency",))
    assert list(table["syncing"]) == ["100", "1%"]
    assert list(table["slope"]) == [pytest.approx(0.98), pytest.approx(1.0)]
    assert growth.syncing_modes(rows) == ["100", "1%"]
    assert growth.syncing_said("100") == "100 sessions syncing at every size (a fixed count)"
    assert growth.syncing_said("1%") == "1% of sessions syncing (a fraction: the answer grows with the table)"
    assert list(growth.one_data_set(rows, "active_sync")["syncing"].unique()) == ["100"]


def test_growth_along_nodes_per_session():
    rows = [row("baseline", 10_000, 0.001 * nodes ** 0.5, nodes=nodes) for nodes in (2, 20, 200)]
    table = growth.growth_table(rows, along="nodes_per_session", metrics=("latency",))
    fit = table.iloc[0]
    assert (fit["along"], fit["sessions"], fit["sizes"]) == ("nodes_per_session", 10_000, [2, 20, 200])
    assert fit["slope"] == pytest.approx(0.5) and fit["production"] == 2000
    # beside a sessions sweep at a fixed count, a nodes sweep at one size (its own 1%) is still the one charted
    sessions_sweep = [row("baseline", size, 0.001, syncing="100") for size in (1000, 3000, 10_000)]
    nodes_sweep = [row("baseline", 10_000, 0.001 * nodes ** 0.5, nodes=nodes, syncing="1%") for nodes in (2, 20, 200)]
    chosen = growth.one_data_set(sessions_sweep + nodes_sweep, "active_sync", along="nodes_per_session")
    assert sorted(chosen["nodes_per_session"]) == [2, 20, 200]
    assert list(growth.one_data_set(sessions_sweep + nodes_sweep, "active_sync")["syncing"].unique()) == ["100"]


def test_the_report_table_writes_every_number_out():
    shown = growth.shown(growth.growth_table(sweep("baseline", BLOB), blocks(1000), metrics=("latency",)))
    assert shown.iloc[0].to_dict() == {
        "workload": "active_sync", "param": "", "variant": "baseline",
        "data set": "100 sessions syncing at every size (a fixed count)", "metric": "latency",
        "sessions": "1,000, 10,000, 100,000, 1,000,000", "slope [95%]": "0.98 [0.80–1.16]",
        "between neighbours": "1.10 · 0.80 · 1.10",
        "bend / cache": "data outgrows shared_buffers between 100,000 and 1,000,000 sessions: the slope spans a cache "
                        "cliff",
        "projection (extrapolation)": "8.91 s [2.82 s–28.18 s] at 10,000,000"}


def test_c5_at_size_gives_each_measured_size_and_the_projection():
    rows = [row("baseline", s, 10 ** log, workload="migrate_audio_storage", rows=1664 * 10 ** k,
                rows_rewritten=1664 * 10 ** k, wal_bytes=803296 * 10 ** k, batches=1,
                writer_wait_max_s=0.01 * 10 ** k, writer_lock_waits=1)
            for k, (s, log) in enumerate(zip(SIZES, BLOB))]
    table = moves.migration_table(rows + [row("baseline", 1000, 0.02, workload="backfill_audio_storage", rows=1664,
                                               rows_rewritten=1664, batches=17, writer_wait_max_s=0.004,
                                               writer_lock_waits=0)])
    assert list(table.iloc[0]) == ["one UPDATE", "baseline", "1,000", "1,664", "1 ms", "784 KiB", "1", "10 ms",
                                   "yes (1 step)"]
    assert list(table.iloc[4]) == ["one UPDATE", "baseline", "10,000,000 (extrapolation)",
                                   "16,640,000 [16,640,000–16,640,000]",
                                   "8.91 s [2.82 s–28.18 s]", "7.48 GiB [7.48 GiB–7.48 GiB]", "",
                                   "100.00 s [100.00 s–100.00 s]", ""]
    assert list(table.iloc[5]) == ["backfill in id batches", "baseline", "1,000", "1,664", "20 ms", "n/a", "17",
                                   "4 ms", "no"]
    assert len(table) == 6  # one size of the backfill: no projection
    scattered = [row("baseline", s, median, workload="migrate_audio_storage", rows_rewritten=10, wal_bytes=100)
                 for s, median in ((1000, 0.001), (3000, 1.0), (10_000, 0.002))]
    assert moves.migration_table(scattered).iloc[3]["time"].endswith(" ms (interval over 1,000× wide: too few sizes)")
    assert moves.migration_table([row("baseline", 1000, 0.001)]).empty


def test_rows_without_the_data_columns_still_fit():
    rows = [{"workload": "dashboard", "param": "page_size=100", "variant": "baseline", "sessions": s, "median_s": m}
            for s, m in ((1000, 0.01), (10_000, 0.01))]
    table = growth.growth_table(pd.DataFrame(rows), metrics=("latency",))
    assert table.iloc[0]["slope"] == pytest.approx(0.0) and table.iloc[0]["syncing"] is None


def test_the_chart_is_log_log_with_slopes_in_the_legend_and_the_projection_marked():
    from bench.report.plotting import latency_vs_size

    df = pd.DataFrame(sweep("baseline", BLOB) + sweep("sync_flag=bool_column", BENT))
    ax = latency_vs_size(df, workload="active_sync", data_sizes=blocks(1000)).axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_xlabel() == "sessions in the table (log scale)"
    assert ax.get_ylabel() == "active_sync latency (ms, log scale)"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    # bool_column: Sxy 1.85 / Sxx 5 = 0.37
    assert legend == ["json (baseline): slope 0.98 [0.80–1.16]", "bool_column: slope 0.37 [-0.30–1.04]"]
    assert ax.get_legend().get_title().get_text().endswith("100 sessions syncing at every size (a fixed count)")
    title = ax.get_title(loc="left").replace("\n", " ")
    assert title.endswith(" " + BARS)  # the whiskers are the median intervals, and the title says so
    title = title.removesuffix(" " + BARS)
    assert title.startswith("active_sync: json (baseline) grows like a scan, $N^{0.98}$ [0.80–1.16]; bool_column "
                            "not told apart from a scan")
    assert "at 10,000,000 sessions (extrapolation)" in title and title.endswith("(dotted line)")
    assert not ax.patches or all(p.get_width() > 0 for p in ax.patches)  # no bars: points and lines only
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 2 and max(dashed[0].get_xdata()) == 10_000_000


def test_the_chart_says_when_one_size_or_one_syncing_mode_was_measured():
    from bench.report.plotting import latency_vs_size

    one = latency_vs_size(pd.DataFrame([row("baseline", 1000, 0.001)]), workload="active_sync").axes[0]
    assert one.get_title(loc="left").replace("\n", " ") == (
        "Not measured: growth of active_sync (one size measured: run with --sessions 1000,3000,10000,30000,100000)")
    counted = pd.DataFrame(sweep("baseline", BLOB))
    fraction = latency_vs_size(counted, workload="active_sync", syncing="fraction").axes[0]
    assert "run with --syncing 1%" in fraction.get_title(loc="left").replace("\n", " ")


def test_data_sizes_blocks_are_read_defensively():
    from bench.results import data_sizes

    doc = {"sessionbench": {"data_sizes": [
        {"sessions": 1000, "syncing": 100, "data_bytes": 10, "fits_in_shared_buffers": True, "fits_in_memory": True},
        {"sessions": "many", "data_bytes": True, "fits_in_shared_buffers": "yes"}, "not a block"]}}
    assert data_sizes(doc) == [
        {"sessions": 1000, "nodes_per_session": None, "data_bytes": 10, "shared_buffers_bytes": None,
         "memory_bytes": None, "syncing": "100", "fits_in_shared_buffers": True, "fits_in_memory": True},
        {"sessions": None, "nodes_per_session": None, "data_bytes": None, "shared_buffers_bytes": None,
         "memory_bytes": None, "syncing": None, "fits_in_shared_buffers": None, "fits_in_memory": None}]
    assert data_sizes({"sessionbench": {}}) == []
