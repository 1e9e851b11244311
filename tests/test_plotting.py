"""Charts on synthetic results: fixed colours, units, finding titles, side-by-side panels (no database)."""

import pandas as pd
import pytest

from bench import plotting
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
    return fig.axes[index].get_title(loc="left").replace("\n", " ")


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


def test_latency_chart_compares_strategies_at_the_largest_page():
    fig = plotting.latency_vs_page_size(pd.DataFrame(dashboard(), columns=COLUMNS))
    assert title(fig) == "At page size 1000: fastest is selectin (290 ms), 2.1× faster than lazy (620 ms)"
    assert fig.axes[0].get_ylabel() == "latency per page load (ms)"


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
    for variant, scale in (("baseline", 1.0), ("deletion=hard_db", 0.5), ("deletion=soft", 0.4)):
        for workload, median, wal in (("delete_session", 0.003, 600), ("purge_user", 0.3, 90_000)):
            records.append(row(workload, variant, "", median_s=median * scale, q1_s=median * scale * 0.9,
                               q3_s=median * scale * 1.1, wal_bytes=wal * scale, rows=1))
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
        "Soft delete needs less time than ORM hard delete for delete_session (0.40×), purge_user (0.40×); "
        "restore 0.7 ms")


def test_migration_chart_is_a_dot_plot_with_counts_written():
    df = pd.DataFrame([row("migrate_audio_storage", "baseline", rows=1664, median_s=0.015, wal_bytes=800_000),
                       row("migrate_audio_storage", "audio_storage=storage_key", rows=1, median_s=0.0005,
                           wal_bytes=128)], columns=COLUMNS)
    ax = plotting.migration_cost(df).axes[0]
    assert not ax.patches and ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert [t.get_text() for t in ax.texts] == ["1,664 rows: 15 ms, 781 KiB WAL", "1 row: 0.5 ms, 128 B WAL"]


def test_read_write_chart_starts_at_zero_and_names_index_sizes_in_words():
    df = pd.DataFrame([row(workload, variant, median_s=median, q1_s=median, q3_s=median, index_bytes=index)
                       for variant, index, medians in (("baseline", 589_824, (0.004, 0.0023)),
                                                       ("sync_flag=bool_column", 606_208, (0.0003, 0.0026)))
                       for workload, median in zip(("active_sync", "mark_sync"), medians)], columns=COLUMNS)
    ax = plotting.read_write_tradeoff(df).axes[0]
    assert ax.get_ylim()[0] == 0 and ax.get_xlim()[0] == 0
    assert ax.get_legend_handles_labels()[1] == ["json (baseline): indexes 576 KiB", "bool_column: indexes 592 KiB"]
    assert not [c for c in ax.collections if type(c).__name__ == "PathCollection"]  # no marker-area encoding


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
                                      "(620 ms) (chart of latency per page load (ms) against page size (sessions "
                                      "per page))")
