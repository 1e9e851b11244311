import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bench.results import FORMAT_VERSION  # noqa: E402
from bench.report.history import finding, history_table, main_history, mark_steps, plot_history, step_changes  # noqa: E402

# Median seconds of two benchmarks over eight daily runs: "lazy" gets 50% slower from run 4 on.
LAZY = [0.010, 0.0101, 0.0099, 0.0100, 0.0150, 0.0151, 0.0149, 0.0150]
SELECTIN = [0.006, 0.0061, 0.0060, 0.0059, 0.0060, 0.0061, 0.0060, 0.0060]


def make_bench(variant, median, statements=2):
    return {
        "name": "test_dashboard",
        "stats": {"median": median, "iqr": median / 10, "data": [median] * 3},
        "extra_info": {"workload": "dashboard", "param": "page_size=100", "variant": variant, "image": None,
                       "rtt_ms": 0.0, "statements": statements},
    }


def make_doc(day, lazy, selectin):
    return {
        "commit_info": {"id": f"c{day:06d}abcdef"},
        "datetime": f"2026-02-{day + 1:02d}T09:00:00+00:00",
        "sessionbench": {"format_version": FORMAT_VERSION, "run_id": f"run-{day}"},
        "benchmarks": [make_bench("loading=lazy", lazy, statements=101), make_bench("loading=selectin", selectin)],
    }


@pytest.fixture
def docs():
    # Given newest first, as a glob over files might return them.
    return [make_doc(day, lazy, selectin) for day, (lazy, selectin) in enumerate(zip(LAZY, SELECTIN))][::-1]


def test_history_table_rows_sorted_by_datetime(docs):
    df = history_table(docs)
    assert len(df) == 16
    assert list(df.columns[:3]) == ["key", "workload", "param"]
    assert df["datetime"].is_monotonic_increasing
    lazy = df[df["variant"] == "loading=lazy"]
    assert lazy["median_s"].tolist() == LAZY
    assert lazy["run_id"].tolist() == [f"run-{day}" for day in range(8)]
    assert lazy["statements"].tolist() == [101] * 8
    assert lazy["iqr_s"].iloc[0] == pytest.approx(0.001)
    assert lazy["key"].iloc[0] == "dashboard page_size=100 [loading=lazy]"
    assert lazy["commit"].iloc[0] == "c000000abcdef"


def test_mark_steps_flags_the_first_slow_run(docs):
    df = mark_steps(history_table(docs))
    flagged = df[df["step"]]
    assert flagged[["variant", "run_id"]].values.tolist() == [["loading=lazy", "run-4"]]
    (change,) = step_changes(df).to_dict("records")
    assert change["before_s"] == pytest.approx(0.01)
    assert change["after_s"] == pytest.approx(0.015)
    assert change["ratio"] == pytest.approx(1.5)


def test_finding_names_the_step(docs):
    df = mark_steps(history_table(docs))
    assert finding(df) == "dashboard page_size=100 [loading=lazy]: 50% slower from c000004 (2026-02-05)"
    selectin = df[df["variant"] == "loading=selectin"]
    assert finding(selectin) == "dashboard: no step change over 8 runs"


def test_plot_history_labels(docs):
    df = mark_steps(history_table(docs))
    fig, ax = plt.subplots()
    plot_history(df, sorted(df["key"].unique()), ax)
    assert ax.get_ylabel() == "median latency (ms)"
    assert ax.get_xlabel() == "run (date, commit)"
    assert ax.get_title(loc="left").startswith("dashboard page_size=100 [loading=lazy]: 50% slower")
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["dashboard page_size=100 [loading=lazy]", "dashboard page_size=100 [loading=selectin]",
                      "step change"]
    plt.close(fig)


def test_fifteen_series_each_get_their_own_style_and_the_legend_sits_outside_the_plot():
    from bench.report.history import series_style

    styles = [tuple(sorted(series_style(number).items())) for number in range(15)]
    assert len(set(styles)) == 15
    docs = [{"commit_info": {"id": f"c{day}"}, "datetime": f"2026-02-0{day + 1}T09:00:00+00:00",
             "sessionbench": {"format_version": FORMAT_VERSION, "run_id": f"run-{day}"},
             "benchmarks": [make_bench(f"v{series}", 0.01 + series / 1000) for series in range(15)]} for day in range(3)]
    df = mark_steps(history_table(docs))
    fig, ax = plt.subplots()
    plot_history(df, sorted(df["key"].unique()), ax)
    drawn = [(line.get_color(), line.get_marker(), line.get_linestyle()) for line in ax.get_lines()
             if not line.get_label().startswith("_")]
    assert len(drawn) == 15 and len(set(drawn)) == 15
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.x0 > 1.0  # right of the axes: the legend never covers a line
    plt.close(fig)


def test_plot_history_unknown_key(docs):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="no history"):
        plot_history(history_table(docs), "nothing", ax)
    plt.close(fig)


def test_main_history_prints_tables_and_writes_chart(tmp_path, docs):
    paths = []
    for doc in docs:
        path = tmp_path / f"{doc['sessionbench']['run_id']}.json"
        path.write_text(json.dumps(doc))
        paths.append(path)
    out = io.StringIO()
    assert main_history(paths, tmp_path / "charts", out=out) == 0
    chart = tmp_path / "charts" / "history.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = out.getvalue()
    assert "dashboard page_size=100 [loading=lazy]" in text
    assert text.count("<- step") == 1
    assert text.rstrip().endswith(f"chart: {chart}")


def test_main_history_missing_file_is_exit_2(tmp_path):
    err = io.StringIO()
    assert main_history([tmp_path / "missing.json"], tmp_path, out=io.StringIO(), err=err) == 2
    assert "no such results file" in err.getvalue()
