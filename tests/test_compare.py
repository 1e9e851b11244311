import io
import json

import numpy as np
import pytest

from bench.compare import compare_runs, identity_label, main_compare, parse_threshold, render
from bench.errors import UserError


def make_bench(workload="dashboard", *, median=0.010, noise=0.0002, rounds=40, seed=0, statements=2,
               variant="baseline", param="page_size=100", raw=True):
    data = list(np.random.default_rng(seed).normal(median, noise, rounds))
    stats = {"median": float(np.median(data)), "min": min(data), "max": max(data), "rounds": rounds}
    if raw:
        stats["data"] = data
    return {
        "name": f"test_{workload}[{param}]",
        "group": workload,
        "stats": stats,
        "extra_info": {"workload": workload, "param": param, "variant": variant, "image": None,
                       "rtt_ms": 0.0, "statements": statements},
    }


def make_doc(*benchmarks, run_id="run-1"):
    return {
        "machine_info": {},
        "commit_info": {"id": "abc1234def"},
        "datetime": "2026-01-01T12:00:00+00:00",
        "version": "5.3.0",
        "sessionbench": {"format_version": 1, "run_id": run_id},
        "benchmarks": list(benchmarks),
    }


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_identical_runs_are_unchanged():
    doc = make_doc(make_bench())
    (row,) = compare_runs(doc, doc)
    assert row.ratio == 1.0
    assert row.ci_low <= 1.0 <= row.ci_high
    assert row.verdict == "no change"
    assert row.statements_verdict == "same"
    assert row.label == "dashboard page_size=100 [baseline]"


def test_regressions_come_first():
    base = make_doc(make_bench("dashboard", seed=1), make_bench("search", seed=2), make_bench("export", seed=3))
    new = make_doc(make_bench("dashboard", seed=4, median=0.0080),
                   make_bench("search", seed=5, median=0.0125), make_bench("export", seed=6))
    rows = compare_runs(base, new)
    assert [(row.workload, row.verdict) for row in rows] == [
        ("search", "regression"), ("dashboard", "improvement"), ("export", "no change"),
    ]


def test_statement_counts_are_compared():
    base = make_doc(make_bench(statements=2))
    new = make_doc(make_bench(statements=101))
    (row,) = compare_runs(base, new)
    assert (row.base_statements, row.new_statements, row.statements_verdict) == (2, 101, "more")
    assert row.verdict == "no change"


def test_missing_raw_data_falls_back_to_medians():
    base = make_doc(make_bench(raw=False, median=0.010, noise=0))
    new = make_doc(make_bench(median=0.015, noise=0))
    (row,) = compare_runs(base, new)
    assert row.ratio == pytest.approx(1.5)
    assert row.ci_low == row.ci_high == row.ratio
    assert row.verdict == "regression"
    assert "medians only" in row.note
    assert "medians only" in render([row], "markdown")


def test_identity_includes_variant_image_and_rtt():
    base = make_doc(make_bench(variant="baseline"), make_bench(variant="loading=selectin"))
    new = make_doc(make_bench(variant="loading=selectin"))
    (row,) = compare_runs(base, new)
    assert row.variant == "loading=selectin"


def test_nothing_in_common_is_a_user_error():
    with pytest.raises(UserError, match="no benchmark in common"):
        compare_runs(make_doc(make_bench("dashboard")), make_doc(make_bench("search")))


def test_duplicate_benchmark_is_a_user_error():
    with pytest.raises(UserError, match="twice"):
        compare_runs(make_doc(make_bench(), make_bench()), make_doc(make_bench()))


@pytest.mark.parametrize(("text", "value"), [("10%", 0.10), ("0.1", 0.10), ("10", 0.10), (" 5 % ", 0.05),
                                             ("0", 0.0), ("1", 1.0), ("150%", 1.5), (0.2, 0.2)])
def test_parse_threshold(text, value):
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "", "%", "-5%", "nan"])
def test_parse_threshold_rejects_junk(text):
    with pytest.raises(ValueError, match="threshold"):
        parse_threshold(text)


def test_markdown_has_summary_then_table():
    base = make_doc(make_bench("dashboard", seed=1), make_bench("search", seed=2))
    new = make_doc(make_bench("dashboard", seed=3, median=0.0125), make_bench("search", seed=4))
    text = render(compare_runs(base, new), "markdown", threshold=0.10)
    lines = text.splitlines()
    assert lines[0] == "**1 regression, 0 improvements, 1 unchanged (threshold 10%, 95% CI)**"
    assert lines[2] == ("| benchmark | base median (ms) | new median (ms) | change | 95% CI | verdict "
                        "| statements |")
    assert lines[4].startswith("| dashboard page_size=100 [baseline] |")
    assert "**regression**" in lines[4]


def test_text_and_json_renderings():
    base = make_doc(make_bench(statements=2))
    new = make_doc(make_bench(statements=3))
    rows = compare_runs(base, new)
    text = render(rows, "text")
    assert text.splitlines()[0] == ("0 regressions, 0 improvements, 1 unchanged (threshold 10%, 95% CI); "
                                    "1 benchmark issuing more SQL statements")
    assert "2 → 3 (more)" in text
    payload = json.loads(render(rows, "json"))
    assert payload["rows"][0]["statements_verdict"] == "more"
    assert payload["confidence"] == 0.95


def test_render_rejects_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        render([], "html")


def run_main(base_path, new_path, threshold="10%", fmt="text"):
    out, err = io.StringIO(), io.StringIO()
    code = main_compare(base_path, new_path, threshold, fmt, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_main_compare_exit_0_when_nothing_regressed(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1), make_bench("only_base")))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=2, median=0.008)))
    code, out, err = run_main(base, new)
    assert code == 0
    assert out.startswith("0 regressions, 1 improvement, 0 unchanged")
    assert "1 only in base, not compared: only_base page_size=100 [baseline]" in out
    assert err == ""


def test_main_compare_exit_1_on_regression(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1)))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=2, median=0.0125)))
    code, out, _ = run_main(base, new, fmt="markdown")
    assert code == 1
    assert "| benchmark |" in out


def test_main_compare_exit_1_on_more_statements(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1, statements=2)))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=1, statements=12)))
    assert run_main(base, new)[0] == 1


def test_main_compare_threshold_changes_the_verdict(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1)))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=2, median=0.0125)))
    assert run_main(base, new, threshold="50%")[0] == 0


@pytest.mark.parametrize(
    ("new_content", "message"),
    [
        (None, "no such results file"),
        ("{not json", "not JSON"),
        ({"benchmarks": []}, "not a sessionbench results file"),
        ({"sessionbench": {}}, "not a sessionbench results file"),
        ([1, 2], "not a sessionbench results file"),
        ({"sessionbench": {"format_version": 99}, "benchmarks": []}, "results format 99"),
        (make_doc(make_bench("other")), "no benchmark in common"),
    ],
)
def test_main_compare_exit_2_on_unusable_input(tmp_path, new_content, message):
    base = write(tmp_path, "base.json", make_doc(make_bench()))
    new = tmp_path / "new.json" if new_content is None else write(tmp_path, "new.json", new_content)
    code, out, err = run_main(base, new)
    assert code == 2
    assert out == ""
    assert message in err.splitlines()[0]
    assert err.splitlines()[1].startswith("  try: ")


@pytest.mark.parametrize(("threshold", "fmt"), [("lots", "text"), ("10%", "html")])
def test_main_compare_exit_2_on_bad_options(tmp_path, threshold, fmt):
    base = write(tmp_path, "base.json", make_doc(make_bench()))
    assert run_main(base, base, threshold=threshold, fmt=fmt)[0] == 2


def test_identity_label_shows_only_what_is_set():
    assert identity_label(("dashboard", "page_size=10", None, None, 0.0)) == "dashboard page_size=10 [baseline]"
    assert identity_label(("purge", None, "deletion=soft", "postgres:16", 5.0)) == (
        "purge [deletion=soft] image=postgres:16 rtt=5ms"
    )
