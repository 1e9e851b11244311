"""bench.plan.shard: `--shard K/N` parsing and the split of a case list, comparison groups whole."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bench.plan import settings, shard
from bench.plan.cases import all_cases
from bench.errors import UserError


def one_per_case(case) -> float:
    return 1.0


@pytest.mark.parametrize("text, parsed", [("3/8", "3/8"), (" 2 / 4 ", "2/4"), ("1/1", "1/1"), ("08/08", "8/8")])
def test_parse_shard_accepts_k_of_n(text, parsed):
    assert shard.parse_shard(text) == parsed
    assert shard.shard_numbers(text) == tuple(int(number) for number in parsed.split("/"))


@pytest.mark.parametrize("text, message", [
    ("3/2", "K must be between 1 and N, got 3/2"),
    ("0/4", "K must be between 1 and N, got 0/4"),
    ("1/0", "N must be between 1 and 1000, got 1/0"),
    ("1/1001", "N must be between 1 and 1000, got 1/1001"),
    ("3", "'3' is not K/N, e.g. 2/8 for the second of eight parts"),
    ("-1/4", "'-1/4' is not K/N"),
    ("a/b", "'a/b' is not K/N"),
])
def test_parse_shard_refuses_in_one_line(text, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace("/", "/")):
        shard.parse_shard(text)


def test_the_setting_resolves_from_the_flag_or_the_environment(monkeypatch):
    monkeypatch.delenv("SESSIONBENCH_SHARD", raising=False)
    assert settings.resolve({}).shard is None
    assert settings.resolve({"shard": "2/8"}).shard == "2/8"
    monkeypatch.setenv("SESSIONBENCH_SHARD", "5/8")
    assert settings.resolve({}).shard == "5/8"
    with pytest.raises(UserError) as refused:
        settings.resolve({"shard": "3/2"})
    assert refused.value.message == "--shard: K must be between 1 and N, got 3/2"
    assert settings.resolve({"shard": "2/8"}).public()["shard"] == "2/8"  # recorded in the results file


# A case list of known shape (the real one changes as workloads are added): 16 groups, as the axis
# grid had: 7 of 5 cases, 5 of 3, 3 of 2 and 1 of 1, 57 cases.
GROUP_SIZES = {"a1": 5, "a2": 5, "a3": 5, "a4": 5, "a5": 5, "a6": 5, "a7": 5, "b1": 3, "b2": 3, "b3": 3, "b4": 3,
               "b5": 3, "c1": 2, "c2": 2, "c3": 2, "d1": 1}


@dataclass(frozen=True)
class Item:
    """What the split reads of a case: its group and its id."""

    group: tuple
    id: str
    variant: str = "baseline"


def known_cases() -> list[Item]:
    return [Item((name, ""), f"{name}-{i}") for name, size in GROUP_SIZES.items() for i in range(size)]


def test_split_by_case_count_literal_sizes():
    sizes = {count: [len(part) for part in shard.split(known_cases(), count, one_per_case)]
             for count in (1, 2, 3, 8, 16, 17)}
    assert sizes == {1: [57], 2: [29, 28], 3: [20, 19, 18], 8: [8, 8, 8, 7, 7, 7, 6, 6],
                     16: [5, 5, 5, 5, 5, 5, 5, 3, 3, 3, 3, 3, 2, 2, 2, 1],
                     17: [5, 5, 5, 5, 5, 5, 5, 3, 3, 3, 3, 3, 2, 2, 2, 1, 0]}


def test_longest_first_to_the_emptiest_shard_ties_to_the_lower():
    first, second = shard.split(known_cases(), 2, one_per_case)
    # 5s alternate in name order (a1 -> 1, a2 -> 2, ...; a7 -> 1: 20 against 15), then b1..b5 go to
    # the emptier (2, 2, 1, 2, 1: 26 against 24), c1 -> 2, c2 -> 1, c3 -> 2, d1 -> 1: 29 against 28.
    assert sorted({case.group[0] for case in first}) == ["a1", "a3", "a5", "a7", "b3", "b5", "c2", "d1"]
    assert len(first) == 29 and len(second) == 28


def test_split_by_cost_balances_estimated_time_not_case_count():
    costs = {"a1": 4.0, "a2": 1.0}  # a1's 5 cases take 20 s, every other group 1 s a case
    parts = shard.split(known_cases(), 2, lambda case: costs.get(case.group[0], 1.0))
    seconds = [shard.estimated_seconds(part, lambda case: costs.get(case.group[0], 1.0)) for part in parts]
    # a1 (20 s) -> 1; a2..a5 -> 2 (20 s); a6 ties -> 1; a7 -> 2; the 3s alternate; c1, c2 -> 2; c3 -> 1; d1 -> 2
    assert seconds == [36.0, 36.0]
    assert [len(part) for part in parts] == [21, 36]
    assert sorted({case.group[0] for case in parts[0]}) == ["a1", "a6", "b1", "b3", "b5", "c3"]


@pytest.mark.parametrize("grid, count", [("axis", 2), ("axis", 5), ("full", 8), ("full", 16)])
def test_every_case_in_exactly_one_shard_and_no_group_split(grid, count):
    cases = all_cases(grid)
    parts = shard.split(cases, count)
    assert sorted(case.id for part in parts for case in part) == sorted(case.id for case in cases)
    owner = {}
    for index, part in enumerate(parts):
        for case in part:
            assert owner.setdefault(case.group, index) == index, f"{case.group} split"
    assert all(parts)  # no shard is empty while there are at least as many groups as shards
    # each shard keeps the run's order, so groups are measured as an unsharded run would
    order = {case.id: position for position, case in enumerate(cases)}
    assert all([order[c.id] for c in part] == sorted(order[c.id] for c in part) for part in parts)


def test_the_split_does_not_depend_on_the_order_of_the_case_list():
    cases = all_cases("full")
    forward = [{case.id for case in part} for part in shard.split(cases, 8)]
    backward = [{case.id for case in part} for part in shard.split(list(reversed(cases)), 8)]
    assert forward == backward


def test_select_without_a_shard_keeps_everything():
    cases = all_cases("axis")
    assert shard.select(cases, None) == cases
    assert shard.select(cases, "1/1") == cases


def test_an_empty_shard_is_refused_naming_the_number_of_groups():
    cases = [Item(("a", ""), "a-1"), Item(("a", ""), "a-2"), Item(("b", ""), "b-1")]  # 2 groups
    assert [[case.id for case in shard.select(cases, f"{k}/2")] for k in (1, 2)] == [["a-1", "a-2"], ["b-1"]]
    with pytest.raises(UserError) as refused:
        shard.select(cases, "3/3")
    assert refused.value.message == ("--shard 3/3: this shard is empty: the run has 2 comparison groups, which fill "
                                     "shards 1 to 2 (a group is never split)")
    assert refused.value.hint == "use at most 2 shards, e.g. --shard 1/2"


def test_a_listed_cost_is_used_an_unlisted_parameter_costs_its_workloads_mean():
    assert all(seconds > 0 for by_param in shard.CASE_SECONDS.values() for seconds in by_param.values())
    dashboard = shard.CASE_SECONDS["dashboard"]
    assert shard.case_seconds(Item(("dashboard", "page_size=10"), "x")) == dashboard["page_size=10"]
    assert shard.case_seconds(Item(("dashboard", "page_size=7"), "x")) == sum(dashboard.values()) / 3
    assert shard.case_seconds(Item(("new_workload", ""), "x")) == shard.DEFAULT_CASE_SECONDS


def test_a_shard_costs_its_start_each_variant_schema_once_and_its_cases():
    items = [Item(("a", ""), "a-1", "v1"), Item(("a", ""), "a-2", "v2"), Item(("b", ""), "b-1", "v1")]
    # 2 s start + 2 variant schemas x 0.17 s + 3 cases x 1 s
    assert shard.shard_seconds(items, one_per_case) == pytest.approx(5.34)
    assert (shard.START_SECONDS, shard.VARIANT_SECONDS) == (2.0, 0.17)


def test_python_m_bench_shard_prints_the_estimated_split(capsys):
    assert shard.main(["2", "axis"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("axis grid: ") and lines[1].startswith("shard 1/2: ")
    assert lines[2].startswith("shard 2/2: ") and lines[3].startswith("longest ")
