"""docs/compare-rule.md states the numbers that set compare's rule: they are the code's."""

from __future__ import annotations

import inspect
from pathlib import Path

from bench import cli
from bench.gate import compare, rule

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "compare-rule.md").read_text()


def _row(name: str) -> str:
    (line,) = [line for line in PAGE.splitlines() if line.startswith("|") and f"`{name}`" in line]
    return line.split("|")[2].strip()


def test_the_page_states_the_rule_parameters_the_code_uses():
    assert float(_row("FAMILY_ALPHA")) == rule.FAMILY_ALPHA
    assert int(_row("MIN_PAIRS")) == rule.MIN_PAIRS
    assert float(_row("RUN_SPREAD")) == rule.RUN_SPREAD
    assert float(_row("RUN_SPREAD_PER_TRIAL_SPREAD")) == rule.RUN_SPREAD_PER_TRIAL_SPREAD
    threshold = _row("--threshold").removesuffix("%")
    parser = cli.build_parser()
    compare_command = parser._subparsers._group_actions[0].choices["compare"]
    default = next(action.default for action in compare_command._actions if action.dest == "threshold")
    assert default == f"{threshold}%" and _row("--threshold") == f"{threshold}%"


def test_each_parameter_is_a_keyword_argument_of_compare_runs_with_that_default():
    signature = inspect.signature(compare.compare_runs)
    constants = {"family_alpha": "FAMILY_ALPHA", "min_pairs": "MIN_PAIRS", "run_spread_least": "RUN_SPREAD",
                 "run_spread_per_trial_spread": "RUN_SPREAD_PER_TRIAL_SPREAD"}
    for name, constant in constants.items():
        assert signature.parameters[name].default == getattr(rule, constant), name
    assert signature.parameters["threshold"].default == 0.10


def test_each_number_has_a_section_saying_why():
    for heading in ("Family-wise error rate: 0.05", "Threshold: 10%", "Runs per side for pairs: 5",
                    "Spread between runs: 1.8 times the run's trial spread, at least 0.04"):
        assert f"\n## {heading}\n" in PAGE
