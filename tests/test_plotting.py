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
