"""tools/decision_stability.py judges stored runs one by one and pooled, and says per claim whether the
answers agree (the runs here are the committed fixture under two run ids, and a changed copy)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tools.decision_stability import judge

RUNS = Path(__file__).resolve().parent / "golden" / "runs"


def test_the_same_run_twice_agrees_with_itself_and_its_pool(tmp_path):
    doc = json.loads((RUNS / "default.json").read_text())
    (tmp_path / "idle").mkdir()
    for name in ("one", "two"):
        doc["sessionbench"]["run_id"] = f"20261207T00000{len(name)}-{name}"
        (tmp_path / "idle" / f"{name}.json").write_text(json.dumps(doc))
    said = judge(tmp_path)
    assert said.startswith("3 decisions: idle/one, idle/two, idle/pooled")
    rows = [line for line in said.splitlines() if line.startswith("| C")]
    assert len(rows) == 6 and all(line.split(" | ")[1] == "yes" for line in rows)
    with open(tmp_path / "decision-stability.csv") as found:
        assert len(list(csv.DictReader(found))) == 18  # 3 decisions x 6 claims
