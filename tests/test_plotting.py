"""Charts on synthetic results: fixed colours, units, finding titles, side-by-side panels (no database)."""

import pandas as pd
import pytest

from bench.report import plotting
from bench.report.plotting.axes import BARS
from bench.analysis.tables import EXTRA_ROWS, SAME_ROWS, UNKNOWN_WORK, Ratio, dashboard_work, ratio_of, ratios
from bench.results import COLUMNS
from models_variants import AXES, BASELINE


def row(workload, variant="baseline", param="", **values):
    record = dict.fromkeys(COLUMNS)
    record.update(run_id="r1", workload=workload, variant=variant, param=param, rtt_ms=0.0, sessions=1000,
                  image=None, commit="abc")
    record.update(values)
    return record


def dashboard(image=None):
    records = []
    for variant, counts, medians in (("baseline", (11, 101, 1001), (0.008, 0.057, 0.62)),
                                     ("loading=selectin", (3, 3, 5), (0.0034, 0.011, 0.29))):
        for size, count, median in zip((10, 100, 1000), counts, medians):
            records.append(row("dashboard", variant, f"page_size={size}", statements=count, rows=size * 4,
                               median_s=median, q1_s=median * 0.9, q3_s=median * 1.1, image=image))
    return records


def title(fig, index=0):
    """The finding a chart's title states (what its error bars are, said after it, is tested apart)."""
    return fig.axes[index].get_title(loc="left").replace("\n", " ").replace(" " + BARS, "")


def test_every_declared_variant_has_its_own_colour_within_its_axis():
    for axis in AXES.values():
        labels = ["baseline"] + [f"{axis.name}={value}" for value in axis.values if value != getattr(BASELINE, axis.name)]
        assert all(label in plotting.COLOURS for label in labels), axis.name
        assert len({plotting.colour(label) for label in labels}) == len(labels)


def test_unknown_variant_colour_is_stable():
    assert plotting.colour("loading=joined,deletion=soft") == plotting.colour("loading=joined,deletion=soft")


def test_statements_chart_states_the_finding_with_units_and_log_axes(tmp_path):
    fig = plotting.statements_vs_page_size(pd.DataFrame(dashboard(), columns=COLUMNS))
    ax = fig.axes[0]
    assert title(fig) == "Statements per page — lazy: 1+N (11→1001); selectin: 3–5 at page sizes 10–1000"
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_ylabel() == "SQL statements per page load"
    path = plotting.save(fig, tmp_path, "statements")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_latency_chart_without_ratios_compares_medians_and_names_the_extra_work():
    fig = plotting.latency_vs_page_size(pd.DataFrame(dashboard(), columns=COLUMNS))
    assert title(fig) == "At page size 1000: fastest is selectin (290 ms), 2.1× faster than lazy (620 ms); " \
                         "selectin also loads every message (dashed)"
    assert fig.axes[0].get_ylabel() == "latency per page load (ms)"


def test_latency_chart_groups_strategies_by_equal_work_with_their_intervals():
    records = dashboard()
    for variant, counts, ratio in (("loading=raise", (2, 2, 4), (0.1, 0.09, 0.11)),):
        for size, count in zip((10, 100, 1000), counts):
            records.append(row("dashboard", variant, f"page_size={size}", statements=count, rows=size * 4,
                               median_s=0.06, q1_s=0.05, q3_s=0.07))
    df = pd.DataFrame(records, columns=COLUMNS)
    top = df["param"] == "page_size=1000"
    df.loc[top & (df["variant"] == "loading=selectin"), ["ratio", "ratio_low", "ratio_high"]] = [0.4, 0.3, 0.5]
    df.loc[top & (df["variant"] == "loading=raise"), ["ratio", "ratio_low", "ratio_high"]] = [0.1, 0.09, 0.11]
    ax = plotting.latency_vs_page_size(df).axes[0]
    assert title(ax.figure) == ("At page size 1000, latency ÷ lazy [95% interval] — equal work (same rows): raise "
                                "0.10× [0.09–0.11]; also loading every message (dashed): selectin 0.40× "
                                "[0.30–0.50]")
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["lazy (baseline)", "selectin + messages", "raise"]
    assert [h.lines[0].get_linestyle() for h in handles] == ["-", "--", "-"]


def test_ratios_pool_runs_by_the_median_and_an_interval_over_the_runs():
    def frame(runs):
        return pd.DataFrame([row("dashboard", "loading=selectin", "page_size=10", run_id=run, ratio=r, ratio_low=low,
                                 ratio_high=high) for run, r, low, high in runs], columns=COLUMNS)
    three = (("r1", 0.4, 0.3, 0.5), ("r2", 0.5, 0.45, 0.6), ("r3", 0.45, 0.4, 0.55))
    pooled = ratio_of(ratios(frame(three), "dashboard"), "loading=selectin", "page_size=10")
    # Three runs: the run is the unit, Student-t (2 df, 4.3027) over the log ratios 0.4, 0.5, 0.45.
    assert pooled.value == 0.45 and pooled.how == "pooled over 3 runs: Student-t over the runs' ratios"
    assert pooled.low == pytest.approx(0.339612058, rel=1e-8) and pooled.high == pytest.approx(0.591350866, rel=1e-8)
    # Two runs: the span of both runs' intervals.
    assert ratio_of(ratios(frame(three[:2]), "dashboard"), "loading=selectin", "page_size=10") == \
        Ratio(0.45, 0.3, 0.6, how="pooled over 2 runs: the span of both runs' intervals")
    # A run without an interval leaves the pool without one.
    gap = ratio_of(ratios(frame((*three, ("r4", 0.5, None, None))), "dashboard"), "loading=selectin", "page_size=10")
    assert (gap.value, gap.low, gap.high) == (0.475, None, None)
    assert ratio_of(ratios(frame(three), "dashboard"), "loading=raise", "page_size=10") is None


def test_a_ratio_is_on_one_side_of_a_threshold_only_with_its_whole_interval():
    assert [Ratio(0.4, 0.3, 0.5).side(0.9), Ratio(1.2, 1.1, 1.3).side(0.9), Ratio(0.85, 0.7, 1.03).side(0.9),
            Ratio(0.85, 0.7, 0.9).side(0.9), Ratio(0.85).side(0.9)] == \
        ["below", "above", "straddles", "straddles", "unknown"]
    # 0.1 / 0.4 with the widest interval both allow: 0.09 / 0.5 to 0.11 / 0.3.
    assert Ratio(0.1, 0.09, 0.11).over(Ratio(0.4, 0.3, 0.5)).text() == "0.25× [0.18–0.37]"
    assert Ratio(0.1, 0.09, 0.11).over(Ratio(0.4)).text() == "0.25× (no interval)"
    assert Ratio(1664.0, 0.0512, 2.0).text() == "1,664× [0.051–2.00]"


def test_equal_work_on_the_dashboard_follows_the_strategy_without_rows_sent():
    table = pd.DataFrame({"variant": ["baseline", "loading=selectin", "loading=joined", "loading=subquery",
                                      "loading=raise", "loading=$nope$"]})
    assert dashboard_work(table) == {"baseline": SAME_ROWS, "loading=selectin": EXTRA_ROWS,
                                     "loading=joined": EXTRA_ROWS, "loading=subquery": EXTRA_ROWS,
                                     "loading=raise": SAME_ROWS, "loading=$nope$": UNKNOWN_WORK}


def test_two_images_are_drawn_side_by_side():
    df = pd.DataFrame(dashboard("postgres:17") + dashboard("postgres:18"), columns=COLUMNS)
    fig = plotting.statements_vs_page_size(df)
    assert len(fig.axes) == 2
    assert title(fig, 0).startswith("[postgres:17]") and title(fig, 1).startswith("[postgres:18]")


def test_timestamps_chart_names_the_zone_difference():
    df = pd.DataFrame([row("recent_activity", v, f"timezone={z}", rows=n, median_s=0.002)
                       for v, counts in (("baseline", (95, 94)), ("timestamps=aware", (95, 95)))
                       for z, n in zip(("UTC", "Asia/Tokyo"), counts)], columns=COLUMNS)
    assert title(plotting.timestamps_rows(df)) == ("naive_utc (baseline): 95 in UTC, 94 in Asia/Tokyo (differs by "
                                                   "zone); aware: 95 in UTC, 95 in Asia/Tokyo (same everywhere)")


def test_active_sync_fits_a_slope_per_variant_over_several_sizes():
    df = pd.DataFrame([row("active_sync", v, sessions=n, median_s=m, q1_s=m, q3_s=m, plan_top="Seq Scan")
                       for v, medians in (("baseline", (0.001, 0.01, 0.1)), ("sync_flag=bool_column", (0.001,) * 3))
                       for n, m in zip((1000, 10000, 100000), medians)], columns=COLUMNS)
    fig = plotting.active_sync(df)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["json (baseline): slope 1.00", "bool_column: slope 0.00"]


@pytest.mark.parametrize("name", sorted(plotting.CHARTS))
def test_every_chart_says_what_is_missing_instead_of_failing(name):
    fig = plotting.CHARTS[name](pd.DataFrame([row("unrelated", median_s=1.0)], columns=COLUMNS))
    assert title(fig).startswith("Not measured")


def deletion_rows():
    records = []
    # Each variant's ratio to the baseline as its trials measured it (the medians' ratio would say 0.40 for soft)
    for variant, scale, ratio in (("baseline", 1.0, 1.0), ("deletion=hard_db", 0.5, 0.5), ("deletion=soft", 0.4, 0.42)):
        for workload, median, wal in (("delete_session", 0.003, 600), ("purge_user", 0.3, 90_000)):
            records.append(row(workload, variant, "", median_s=median * scale, q1_s=median * scale * 0.9,
                               q3_s=median * scale * 1.1, wal_bytes=wal * scale, rows=1, ratio=ratio,
                               ratio_low=ratio * 0.9, ratio_high=ratio * 1.1))
    records.append(row("restore_session", "deletion=soft", "", median_s=0.0007, q1_s=0.0006, q3_s=0.0008,
                       wal_bytes=432, rows=1))
    return pd.DataFrame(records, columns=COLUMNS)


@pytest.mark.parametrize("chart", ["deletion_latency", "deletion_wal"])
def test_log_axis_charts_draw_labelled_points_not_bars_and_say_n_a(chart):
    ax = plotting.CHARTS[chart](deletion_rows()).axes[0]
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert not [c for c in ax.containers if type(c).__name__ == "BarContainer"]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n/a") == 2  # restore does not apply to the two hard deletes
    assert ("3 ms" in texts and "300 ms" in texts) if chart == "deletion_latency" else "87.9 KiB" in texts


def test_soft_delete_finding_says_where_it_costs_more_or_less():
    assert title(plotting.deletion_latency(deletion_rows())) == (
        "Soft delete needs less time than ORM hard delete for delete_session (0.42×), purge_user (0.42×); "
        "restore 0.7 ms")  # C4's ratios (measured side by side), not the medians' 0.40


def test_migration_chart_is_a_dot_plot_with_counts_written():
    df = pd.DataFrame([row("migrate_audio_storage", "baseline", rows=1664, median_s=0.015, wal_bytes=800_000),
                       row("migrate_audio_storage", "audio_storage=storage_key", rows=1, median_s=0.0005,
                           wal_bytes=128)], columns=COLUMNS)
    ax = plotting.migration_cost(df).axes[0]
    assert not ax.patches and ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert [t.get_text() for t in ax.texts] == ["1,664 rows: 15 ms, 781 KiB WAL", "1 row: 0.5 ms, 128 B WAL"]


def test_read_write_chart_starts_at_zero_and_names_index_sizes_in_words():
    df = pd.DataFrame([row(workload, variant, median_s=median, q1_s=median, q3_s=median, index_bytes=index,
                           seq_scan=variant == "baseline" and workload == "active_sync")
                       for variant, index, medians in (("baseline", 589_824, (0.004, 0.0023)),
                                                       ("sync_flag=bool_column", 606_208, (0.0003, 0.0026)))
                       for workload, median in zip(("active_sync", "mark_sync"), medians)], columns=COLUMNS)
    ax = plotting.read_write_tradeoff(df).axes[0]
    # Reads 13x apart: a log axis that says so (five times apart is enough), writes from 0.
    assert ax.get_ylim()[0] == 0 and ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()
    df.loc[df["workload"] == "active_sync", "median_s"] = [0.0004, 0.0003]  # close: a linear axis from 0
    assert plotting.read_write_tradeoff(df).axes[0].get_xlim()[0] == 0
    df.loc[df["workload"] == "active_sync", "median_s"] = [0.004, 0.0003]
    assert ax.get_legend_handles_labels()[1] == ["json (baseline): indexes 576 KiB", "bool_column: indexes 592 KiB"]
    assert not [c for c in ax.collections if type(c).__name__ == "PathCollection"]  # no marker-area encoding
    # 0.1 × 0.3 + 2.6 ms against 0.1 × 4 + 2.3 ms: bool_column.
    assert title(ax.figure).startswith("Cheapest without a Seq Scan at 0.1 reads per write: bool_column (0.3 ms")
    # At 0.01 reads per write the blob costs less (2.34 against 2.60 ms), but its plan scans.
    assert title(plotting.read_write_tradeoff(df, reads_per_write=0.01)).startswith(
        "Cheapest without a Seq Scan at 0.01 reads per write: bool_column")
    df["seq_scan"] = None
    assert title(plotting.read_write_tradeoff(df, reads_per_write=0.01)).startswith(
        "Cheapest without a Seq Scan at 0.01 reads per write: json (baseline) (4 ms read")


def test_row_explosion_says_it_counts_the_main_statement_only():
    records = [dict(r, plan_rows=r["rows"] * (6 if r["variant"] != "baseline" else 1)) for r in dashboard()]
    ax = plotting.row_explosion(pd.DataFrame(records, columns=COLUMNS)).axes[0]
    assert "the other statements' rows are not counted" in ax.get_ylabel()
    assert "main statement alone returns" in title(ax.figure)


def test_detail_latency_title_states_the_winner():
    df = pd.DataFrame([row("session_detail", v, f"messages={case}", median_s=m, q1_s=m, q3_s=m)
                       for v, medians in (("baseline", (0.002, 0.004)), ("loading=selectin", (0.001, 0.001)))
                       for case, m in zip(("short", "long"), medians)], columns=COLUMNS)
    assert title(plotting.latency_bars(df)) == "session_detail: selectin is fastest in every case, 2.0–4.0× faster " \
                                               "than lazy (baseline)"


def test_results_strings_are_drawn_as_text_never_as_mathtext(tmp_path):
    df = pd.DataFrame(dashboard(), columns=COLUMNS)
    df["variant"] = df["variant"].replace("loading=selectin", r"loading=$\undefinedcommand{x}$")
    df["image"] = ["<b>$\\nope$</b>"] * 3 + [None] * 3  # two panels, one named by this string
    for chart in ("loading_statements", "loading_latency"):
        fig = plotting.CHARTS[chart](df)
        assert plotting.save(fig, tmp_path, chart).stat().st_size > 0  # drawing raised nothing
        assert r"$\undefinedcommand{x}$" in plotting.describe(fig) or "undefinedcommand" in plotting.describe(fig)


def test_alt_text_is_the_finding_and_the_axes():
    fig = plotting.latency_vs_page_size(pd.DataFrame(dashboard(), columns=COLUMNS))
    assert plotting.describe(fig) == ("At page size 1000: fastest is selectin (290 ms), 2.1× faster than lazy "
                                      "(620 ms); selectin also loads every message (dashed) " + BARS + " (chart of latency per "
                                      "page load (ms) against page size (sessions per page))")


def test_row_explosion_counts_every_statements_rows_when_the_results_hold_them():
    records = [dict(r, wire_rows=r["rows"] * (3 if r["variant"] != "baseline" else 1)) for r in dashboard()]
    ax = plotting.row_explosion(pd.DataFrame(records, columns=COLUMNS)).axes[0]
    assert ax.get_ylabel() == "rows the server sent, all statements of a page load"
    assert title(ax.figure) == "At page size 1000 the page uses 4,000 rows; the server sends 12,000 (3.0×) for " \
                               "selectin; 4,000 (1.0×) for lazy"


def test_rtt_chart_draws_the_relay_pass_with_what_round_trips_predict():
    records = [r for r in dashboard() if r["param"] == "page_size=10"]
    for r in list(records):  # the relay pass: +1 ms per round trip per added ms, at 1 and 3 ms
        trips = r["statements"] + 2
        r["round_trips"] = trips
        records += [dict(r, rtt_ms=rtt, median_s=r["median_s"] + trips * rtt / 1000 + 0.001) for rtt in (1.0, 3.0)]
    records.append(row("dashboard", "loading=joined", "page_size=10", statements=1, round_trips=3, median_s=0.005))
    ax = plotting.latency_vs_rtt(pd.DataFrame(records, columns=COLUMNS)).axes[0]
    assert ax.get_xlabel().startswith("added round-trip time (ms")
    assert ax.get_ylabel() == "latency per page load at page size 10 (ms)"
    assert ax.get_yscale() == "linear"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "joined" not in labels  # measured at one RTT only: not a line
    assert labels.count("least an added RTT can cost: round trips × RTT") == 1
    assert title(ax.figure) == "At 3 ms added RTT: lazy 48 ms, selectin 19.4 ms; per added ms: lazy +13.0 ms (13 " \
                               "round trips), selectin +5.0 ms (5 round trips)"
