"""Charts drawn from the runs' fact tables (C4 bloat, C6 clock skew) and the deletion dot plot's labels, on
synthetic results (no database): finding titles from the numbers, linear axes from 0, "not measured"."""

import pandas as pd

from bench.report import plotting
from bench.results import COLUMNS, Facts
from tests.test_verdicts import skew_facts


def frame(records, **tables):
    df = pd.DataFrame(records, columns=COLUMNS)
    df.attrs["facts"] = Facts({name: [{"run_id": "r1", **entry} for entry in entries] for name, entries in tables.items()})
    return df


def one_row(workload="unrelated", **values):
    record = dict.fromkeys(COLUMNS)
    record.update(run_id="r1", workload=workload, variant="baseline", param="", rtt_ms=0.0, sessions=1000, image=None,
                  commit="abc", **values)
    return record


def title(fig):
    return fig.axes[0].get_title(loc="left").replace("\n", " ")


BLOAT = [{"variant": variant, "check": "bloat", "case": "10 cycles", "cycles": 10, "vacuum": vacuum,
          "table_bytes_before": 100_000, "index_bytes_before": index, "table_bytes": after, "index_bytes": index * 2,
          "dead_tuples": 0 if vacuum else 12_000}
         for variant, index in (("deletion=soft", 50_000), ("deletion=soft_unindexed", 30_000))
         for vacuum, after in ((False, 860_000), (True, 190_000))]


def test_bloat_chart_states_the_growth_with_and_without_vacuum_on_a_linear_axis():
    fig = plotting.soft_delete_bloat(frame([one_row()], deletion_facts=BLOAT))
    # what the bars show, table + index bytes: (860,000 + 100,000) / (100,000 + 50,000) = 6.4 without VACUUM,
    # (190,000 + 100,000) / 150,000 = 1.9 with it
    assert title(fig) == ("10 soft delete/restore cycles grow the sessions table and its indexes 6.4× without VACUUM, "
                          "1.9× with VACUUM after each cycle")
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0
    # the chart's own two-line labels are kept as written (tick labels shorten each line, not the whole)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["as loaded", "10 cycles,\nno VACUUM",
                                                            "10 cycles,\nVACUUM after each"]
    assert ax.get_ylabel() == "table + index size (MiB)"


def test_skew_chart_compares_utcnow_with_the_server_clock():
    fig = plotting.ordering_vs_skew(frame([one_row()], ordering_facts=skew_facts()))
    assert title(fig) == ("At 10 ms clock skew, utcnow timestamps put 14 of 40 events behind one committed earlier; "
                          "the server's clock_timestamp() 1 (one event every 10 ms, 4 writers)")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "10", "1,000"]
    assert ax.get_ylim() == (0, 42) and "of 40" in ax.get_ylabel()


def test_fact_charts_without_facts_say_not_measured():
    empty = frame([one_row()])
    assert title(plotting.soft_delete_bloat(empty)).startswith("Not measured: soft delete/restore cycles")
    assert title(plotting.ordering_vs_skew(empty)).startswith("Not measured: clock skew")


def test_four_variants_side_by_side_get_upright_value_labels():
    records = [one_row("delete_session", median_s=m, q1_s=m, q3_s=m) for m in (0.0105, 0.0026, 0.0036, 0.0031)]
    for record, variant in zip(records, ("baseline", "deletion=hard_db", "deletion=soft", "deletion=soft_unindexed")):
        record["variant"] = variant
    fig = plotting.deletion_latency(frame(records))
    labels = [t for t in fig.axes[0].texts if t.get_text().endswith(" ms")]
    assert len(labels) == 4 and {t.get_rotation() for t in labels} == {90.0}
