import json

from bench import error_rates


def write_run(tmp_path, name, timings):
    doc = {"benchmarks": [{"stats": {"data": data}, "extra_info": dict(zip(("workload", "param", "variant"), key))}
                          for key, data in timings.items()]}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_write_doc_replaces_only_the_measured_block(tmp_path):
    doc = tmp_path / "rates.md"
    doc.write_text(f"# Title\n\nkept above\n\n{error_rates.BEGIN}\nold numbers\n{error_rates.END}\n\nkept below\n")
    error_rates.write_doc(doc, f"{error_rates.BEGIN}\nnew numbers\n{error_rates.END}")
    assert doc.read_text() == (f"# Title\n\nkept above\n\n{error_rates.BEGIN}\nnew numbers\n{error_rates.END}\n\n"
                               "kept below\n")


def test_write_doc_creates_a_page(tmp_path):
    doc = tmp_path / "new.md"
    error_rates.write_doc(doc, f"{error_rates.BEGIN}\nnumbers\n{error_rates.END}")
    assert doc.read_text() == f"# Error rates of the CI gates\n\n{error_rates.BEGIN}\nnumbers\n{error_rates.END}\n"


def test_timings_keep_the_first_seconds_of_rounds_but_at_least_five(tmp_path):
    # Binary fractions, so the running sums are exact.
    path = write_run(tmp_path, "run.json", {("dashboard", "page_size=10", "baseline"): [0.25] * 10,
                                             ("active_sync", "", "baseline"): [0.0625] * 40})
    assert error_rates._timings(path) == {("dashboard", "page_size=10", "baseline"): [0.25] * 10,
                                          ("active_sync", "", "baseline"): [0.0625] * 40}
    cut = error_rates._timings(path, within=1.0)
    assert cut == {("dashboard", "page_size=10", "baseline"): [0.25] * 5,
                   ("active_sync", "", "baseline"): [0.0625] * 16}


def test_per_workload_rule_uses_the_geometric_mean_of_median_ratios():
    base = {("dashboard", "a", "baseline"): [1.0, 1.0, 1.0], ("dashboard", "b", "baseline"): [1.0, 1.0, 1.0],
            ("active_sync", "", "baseline"): [1.0, 1.0, 1.0]}
    # dashboard: ratios 1.44 and 1.0 -> geometric mean 1.2; active_sync 1.05
    new = {("dashboard", "a", "baseline"): [1.44] * 3, ("dashboard", "b", "baseline"): [1.0] * 3,
           ("active_sync", "", "baseline"): [1.05] * 3}
    assert error_rates._flags(base, new, None, 0.10) == {"dashboard"}
    assert error_rates._flags(base, new, None, 0.25) == set()


def test_names_are_capped():
    assert error_rates._names([]) == "none"
    assert error_rates._names(["a", "b", "c", "d", "e"]) == "5: a, b, c and 2 more"
