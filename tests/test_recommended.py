"""The recommended model: where it is written, which cases measure it, and its end-to-end table.

Literal numbers on small synthetic results (no database); the cases come from the real registry.
"""

import pandas as pd

from bench.plan.cases import RTT_PASS, all_cases, in_rtt_pass_only, run_rtts
from bench.analysis.end_to_end import agreement, end_to_end
from bench.plan.recommended import DECIDED_BY, RECOMMENDED, without
from bench.results import COLUMNS
from models_variants import AXES, BASELINE


def test_one_value_per_axis_each_decided_by_a_claim():
    assert set(DECIDED_BY) == set(AXES)
    assert RECOMMENDED.label == ("loading=raise,sync_flag=bool_column,deletion=soft,"
                                 "audio_storage=storage_key,timestamps=aware")


def test_every_workload_measures_it_once_at_its_last_parameters_beside_the_baseline():
    cases = all_cases()
    measured = [c for c in cases if c.variant == RECOMMENDED]
    workloads = {c.workload.name for c in cases}
    assert {c.workload.name for c in measured} == workloads
    assert len(measured) == len(workloads)
    for case in measured:
        assert case.params == case.workload.param_grid()[-1]
        group = [c.variant.label for c in cases if c.group == case.group]
        # in the group of the model as reviewed, so its ratio is paired trial by trial (where that model runs)
        assert "baseline" in group or case.workload.skip_reason(BASELINE) is not None


def test_the_relay_pass_joins_a_default_run_only():
    assert run_rtts([0.0]) == [0.0, *RTT_PASS.rtt_ms]
    assert run_rtts([0.0], {"workload": {"dashboard"}}) == [0.0]  # a narrowed run is not the default run
    assert run_rtts([0.0, 5.0]) == [0.0, 5.0]  # asked for RTTs: every case at each, no pass
    assert in_rtt_pass_only(RTT_PASS.rtt_ms[0], [0.0])
    assert not in_rtt_pass_only(0.0, [0.0]) and not in_rtt_pass_only(RTT_PASS.rtt_ms[0], [0.0, RTT_PASS.rtt_ms[0]])
    held = [c for c in all_cases() if RTT_PASS.holds(c)]
    assert sorted(c.variant.label for c in held) == sorted(RTT_PASS.variants)
    assert {c.id.split("-")[0] for c in held} == {"dashboard[page_size=10]"}


def _row(workload, variant, param="", **values):
    record = dict.fromkeys(COLUMNS)
    record.update(workload=workload, variant=variant, param=param, rtt_ms=0.0, sessions=1000)
    record.update(values)
    return record


def results():
    return pd.DataFrame([
        _row("dashboard", "baseline", "page_size=1000", statements=1001, round_trips=1005, median_s=0.5,
             wal_bytes=0, table_bytes=1000, index_bytes=500, ratio=1.0, ratio_low=1.0, ratio_high=1.0),
        _row("dashboard", RECOMMENDED.label, "page_size=1000", statements=3, round_trips=5, median_s=0.05,
             wal_bytes=0, table_bytes=1100, index_bytes=600, ratio=0.1, ratio_low=0.08, ratio_high=0.12),
        _row("dashboard", RECOMMENDED.label, "page_size=1000", rtt_ms=3.0, statements=3, median_s=0.07),
        _row("restore_session", RECOMMENDED.label, statements=1, round_trips=3, median_s=0.001, wal_bytes=520,
             table_bytes=1100, index_bytes=600),
        _row("dashboard", "loading=selectin", "page_size=1000", statements=5, median_s=0.2),
    ], columns=COLUMNS)


def test_the_end_to_end_table_pairs_the_reviewed_and_the_recommended_model():
    table = end_to_end(results())
    assert list(table["workload"]) == ["dashboard", "restore_session"]
    dashboard = table.iloc[0]
    assert (dashboard["statements"], dashboard["round_trips"], dashboard["latency ms"]) == ("1,001 → 3", "1,005 → 5",
                                                                                           "500 → 50")
    assert dashboard["ratio [95% interval]"] == "0.10× [0.08–0.12]"
    assert dashboard["table + index bytes"] == "1,500 → 1,700"
    restore = table.iloc[1]
    assert restore["ratio [95% interval]"] == "n/a: the model as reviewed cannot run it"
    assert restore["statements"] == "n/a → 1"


def test_the_per_axis_comparisons_leave_it_out():
    assert RECOMMENDED.label not in set(without(results())["variant"])


def test_agreement_says_per_axis_whether_the_runs_verdicts_still_recommend_it():
    verdicts = pd.DataFrame({"claim": ["C1", "C2", "C4", "C5", "C6"],
                             "recommended": ["loading=skills_sel", "sync_flag=bool_column", "deletion=soft", "", "x"]})
    found = agreement(verdicts).set_index("axis")["agree"].to_dict()
    assert found == {"loading": "no", "sync_flag": "yes", "deletion": "yes", "audio_storage": "no recommendation",
                     "timestamps": "no recommendation"}
