"""The pace probe's table (tools/pace_probe.py) on runs whose shifts are known: what each way removes."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from bench.results import FORMAT_VERSION
from tools import pace_probe


def _doc(number: int, speed: float, yard_speed: float) -> dict:
    """One run of a two-case group: every time `speed` times its base, every yardstick `yard_speed` times 1 ms."""
    benches = []
    for variant, base in (("baseline", 0.010), ("loading=selectin", 0.004)):
        benches.append({"name": f"test_{variant}", "stats": {"median": base * speed},
                        "extra_info": {"workload": "dashboard", "param": "page_size=10", "variant": variant,
                                       "image": None, "rtt_ms": 0.0,
                                       "trial_medians_s": [base * speed * f for f in (1.0, 1.02, 0.98)],
                                       "trial_yardstick_s": [0.001 * yard_speed] * 3}})
    return {"machine_info": {}, "commit_info": {}, "datetime": f"2026-01-01T00:00:0{number}+00:00",
            "sessionbench": {"format_version": FORMAT_VERSION, "run_id": f"20260101T00000{number}-abc",
                             "yardstick": {"version": 1, "nominal_s": 0.001, "median_s": 0.001 * yard_speed}},
            "benchmarks": benches}


def _rows(text: str) -> dict[str, list[str]]:
    return {cells[0]: cells[1:] for line in text.splitlines() if line.startswith("| ") and "---" not in line
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}


def test_a_shift_the_yardstick_also_took_is_removed_and_one_it_did_not_take_is_kept(tmp_path):
    speeds = [(1.0, 1.0), (1.2, 1.2), (0.9, 0.9)]  # the machine's pace moved every time alike
    paths = []
    for number, (speed, yard) in enumerate(speeds):
        path = tmp_path / f"run-{number}" / f"{number}.json"
        path.parent.mkdir()
        path.write_text(json.dumps(_doc(number, speed, yard)))
        paths.append(path)
    rows = _rows(pace_probe.table(paths))
    wall_spread = float(rows["wall time"][0])
    assert wall_spread == pytest.approx(statistics.stdev([math.log(s) for s, _ in speeds]), abs=1e-3)
    for way in ("over each block's yardstick", "over each trial's pace (paced)", "over the group's median yardstick",
                "over the run's median yardstick"):
        assert float(rows[way][0]) == pytest.approx(0.0, abs=1e-3), way
    # a change the yardstick did not see (the code itself got slower) stays whole in every way
    slower = tmp_path / "run-3" / "3.json"
    slower.parent.mkdir()
    slower.write_text(json.dumps(_doc(3, 1.25, 1.0)))
    rows = _rows(pace_probe.table([paths[0], slower]))
    assert float(rows["over each trial's pace (paced)"][0]) == pytest.approx(statistics.stdev([0.0, math.log(1.25)]), abs=1e-3)

