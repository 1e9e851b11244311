"""A production profile changes the answer where the stated rule says it should (C5 at the hub's size,
C2 at its reads per write); without one the decision lists the defaults it assumed; a bad profile is
one line and exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.verdicts.decision import decision
from bench.verdicts.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = str(ROOT / "tests" / "golden" / "runs" / "default.json")


def _profile(tmp_path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return path


def _claim(found: dict, claim: str) -> dict:
    return next(c for c in found["claims"] if c["claim"] == claim)


def test_without_a_profile_the_decision_lists_what_it_assumed():
    found = decision([DEFAULT])
    profile = found["profile"]
    assert profile["file"] is None and profile["stated"] == {}
    assert profile["assumed"]["messages"] is None and profile["assumed"]["reads_per_write"] == 0.1
    assert profile["read_by"] == {"messages": "C5 (PRODUCTION_MESSAGES)", "reads_per_write": "C2 (READS_PER_WRITE)",
                                  "foreign_keys": "C3", "soft_deleted_fraction": "C4",
                                  "maintenance_window_s": "C5 (MASSIVE_SECONDS)", "clock_skew_ms": "C6 (NTP_SKEW_MS)"}
    assert profile["assumed_said"]["messages"] == "the measured size"
    assert profile["assumed_said"]["soft_deleted_fraction"] == "the largest measured"
    assert profile["assumed_said"]["foreign_keys"] == "true"
    assert _claim(found, "C5")["verdict"] == "inconclusive"  # cheap at the measured size says nothing of production


def test_c5_at_the_hubs_40_million_messages_follows_the_stated_rule(tmp_path):
    found = decision([DEFAULT], load_profile(_profile(tmp_path, "format = 1\n[hub]\nmessages = 40_000_000\n")))
    c5 = _claim(found, "C5")
    assert (c5["verdict"], c5["action"]) == ("confirmed", "adopt")
    # The fixture measured the move of 1,664 rows in 27.5 ms (one size: projected linearly, as the rule says);
    # at 40 million rows that is 661 s, past MASSIVE_SECONDS (10 s): a massive migration.
    seconds = float(re.search(r"\): ([\d.]+) s", c5["reason"]).group(1))
    assert seconds == pytest.approx(0.0275 * 40_000_000 / 1_664, rel=0.01)
    assert "at or above 10 s or 1 GiB" in c5["reason"]
    assert found["profile"]["stated"] == {"messages": 40_000_000} and len(found["profile"]["sha256"]) == 64


def test_c2_weighs_the_hubs_reads_per_write(tmp_path):
    rarely = _claim(decision([DEFAULT]), "C2")
    often = _claim(decision([DEFAULT], load_profile(_profile(tmp_path, "format = 1\n[hub]\nreads_per_write = 20\n"))),
                   "C2")
    cost = {name: float(re.search(r"read \+ write cost is ([\d.]+)×", claim["reason"]).group(1))
            for name, claim in (("rarely", rarely), ("often", often))}
    # bool_column's read is far cheaper than the JSON blob's and its write a little dearer: the more reads per
    # write, the lower its read + write cost against the blob's.
    assert cost["often"] < cost["rarely"]
    assert "at 20 reads per write" in often["reason"] and "at 0.1 reads per write" in rarely["reason"]


def _answer(claim: dict) -> tuple:
    return claim["verdict"], claim["recommended"][0] if claim["recommended"] else "", claim["action"]


def test_c5_break_evens_follow_the_stated_rule_and_the_decision_either_side():
    """C5's break-evens on the fixture (one size: projected linearly): the move reaches 10 s with its upper
    quartile at rows x 10 / q3 messages (the interval across the cut-off: inconclusive), and with its lower
    quartile at rows x 10 / q1, or 1 GiB of WAL first (confirmed). Judging just either side of each gives
    the answers the break-even names."""
    from bench.results import load
    from bench.verdicts.profile import Profile
    found = decision([DEFAULT])
    even = next(e for e in _claim(found, "C5")["break_even"] if e["parameter"] == "messages")
    assert even["judged_at"] is None and even["measured"] == [1664.0, 1664.0]
    move = load([DEFAULT])
    move = move[(move["workload"] == "migrate_audio_storage") & (move["variant"] == "baseline")].iloc[0]
    straddles = move["rows"] * 10 / move["q3_s"]
    massive = min(move["rows"] * 10 / move["q1_s"], move["rows"] * 2 ** 30 / move["wal_bytes"])
    assert [(c["verdict"], c["extrapolated"]) for c in even["changes"]] == [("inconclusive", True), ("confirmed", True)]
    assert even["changes"][0]["at"] == pytest.approx(straddles, rel=0.011)
    assert even["changes"][1]["at"] == pytest.approx(massive, rel=0.011)
    before = ("refuted", "audio_storage=storage_key", "reject")
    for change in even["changes"]:
        below = _claim(decision([DEFAULT], Profile({"messages": int(change["at"] / 1.02)})), "C5")
        above = _claim(decision([DEFAULT], Profile({"messages": int(change["at"] * 1.02)})), "C5")
        assert _answer(below) == before
        assert _answer(above) == (change["verdict"], change["recommended"], change["action"])
        before = _answer(above)
    assert even["said"].startswith("refuted (reject) up to ")


def test_c2_break_even_by_reads_per_write_agrees_with_the_decision_at_the_hubs_figure():
    """Over the searched range (0.001 to 10,000 reads per write) the fixture's C2 answer never changes, so
    the decision at the ends and at the hub's own 20 is the one the break-even states."""
    from bench.verdicts.profile import Profile
    found = decision([DEFAULT])
    even = next(e for e in _claim(found, "C2")["break_even"] if e["parameter"] == "reads_per_write")
    assert even["judged_at"] == 0.1 and even["searched"] == [0.001, 10_000.0] and even["changes"] == []
    assert even["said"].endswith("no break-even")
    answers = {_answer(_claim(decision([DEFAULT], Profile({"reads_per_write": r})), "C2")) for r in (0.001, 20, 10_000)}
    assert answers == {_answer(_claim(found, "C2"))}


@pytest.mark.parametrize("text, said", [
    ("format = 1\n[hub]\nmesages = 4\n", "unknown key hub.mesages"),
    ("format = 1\n[hub]\nmessages = \"many\"\n", "[hub] messages must be int, not str"),
    ("format = 1\n[hub]\nreads_per_write = -1\n", "[hub] reads_per_write must be 0 or more"),
    ("format = 2\n[hub]\n", "profile format 2, this sessionbench reads 1"),
    ("format = 1\n[hub\n", "not a readable TOML profile"),
    ("format = 1\n[other]\n", "unknown key other"),
])
def test_a_bad_profile_is_refused_in_one_line(tmp_path, text, said):
    with pytest.raises(UserError) as refused:
        load_profile(_profile(tmp_path, text))
    assert said in refused.value.message


def test_the_command_takes_a_profile_and_refuses_a_bad_one_in_one_line(tmp_path):
    good = _profile(tmp_path, "format = 1\n[hub]\nmessages = 40_000_000\nrtt_ms = 0.5\n")
    done = subprocess.run([sys.executable, "-m", "bench.cli", "verdicts", DEFAULT, "--profile", str(good)],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Hub: profile hub.toml (sha256 ")
    assert "| C5 | confirmed |" in done.stdout and "Stated, read by no rule yet: rtt_ms" in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("format = 1\n[hub]\nmesages = 4\n")
    done = subprocess.run([sys.executable, "-m", "bench.cli", "verdicts", DEFAULT, "--profile", str(bad)],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0] == f"sessionbench: error: {bad}: unknown key hub.mesages"
    assert "Traceback" not in done.stderr


def _even(found: dict, claim: str, parameter: str) -> dict:
    return next(e for e in _claim(found, claim)["break_even"] if e["parameter"] == parameter)


def test_c3_for_a_hub_without_the_foreign_keys_is_judged_on_those_paths():
    """foreign_keys = false: C3 counts the completed paths that left orphans on the tables without the
    foreign keys (the fixture's own fact table), and the action is to add them."""
    from bench.report import delete_paths
    from bench.verdicts.facts import with_schema
    from bench.verdicts.profile import Profile
    from bench.verdicts.storage import UNSUPPORTED_PATHS
    paths = with_schema(delete_paths([DEFAULT]))
    bare = paths[(paths["schema"] == "no_fks") & ~paths["path"].isin(UNSUPPORTED_PATHS) & paths["error"].isna()]
    leaving = int((bare["orphans"] > 0).sum())
    assert leaving > 0
    found = decision([DEFAULT], Profile({"foreign_keys": False}))
    c3 = _claim(found, "C3")
    assert (c3["verdict"], c3["action"]) == ("confirmed", "change")
    assert c3["deciding"].startswith(f"{leaving} of {len(bare)} completed delete paths leave orphans")
    assert "Add the foreign keys with ON DELETE CASCADE" in c3["reason"]
    assert _claim(decision([DEFAULT], Profile({"foreign_keys": True})), "C3")["verdict"] == \
        _claim(decision([DEFAULT]), "C3")["verdict"] == "refuted"
    even = _even(found, "C3", "foreign_keys")
    assert even["judged_at"] is False and [c["verdict"] for c in even["changes"]] == ["refuted"]


def test_c4_judges_list_live_at_the_measured_fraction_at_or_above_the_hubs():
    """soft_deleted_fraction: list_live is judged at the smallest measured deleted fraction at or above
    the hub's (the largest when above them all), with that fraction's own ratio; the stepped break-evens
    name the answer just above each measured fraction, which judging there gives."""
    from bench.analysis.tables import ratio_of, ratios
    from bench.verdicts.profile import Profile
    from bench.verdicts.storage import c4_soft_delete, deleted_fractions, soft_ratios
    measured = deleted_fractions(load_default())
    assert measured == [0.0, 0.1, 0.5, 0.9]
    table = ratios(load_default(), "list_live")
    for stated, judged in ((0.0, 0.0), (0.05, 0.1), (0.3, 0.5), (0.5, 0.5), (0.95, 0.9)):
        found = soft_ratios(load_default(), fraction=stated)
        assert [w for w in found if w.startswith("list_live")] == [f"list_live at {judged:.0%} deleted"]
        assert found[f"list_live at {judged:.0%} deleted"] == ratio_of(table, "deletion=soft", f"deleted_fraction={judged:g}")
        said = c4_soft_delete(load_default(), soft_deleted_fraction=stated).evidence
        assert f"list_live judged at {judged:.0%} deleted, for the hub's {stated:.0%} soft-deleted" in said
    even = _even(decision([DEFAULT]), "C4", "soft_deleted_fraction")
    assert even["judged_at"] is None and even["measured"] == measured
    before = _answer(_claim(decision([DEFAULT], Profile({"soft_deleted_fraction": 0.0})), "C4"))
    for change in even["changes"]:
        above = _claim(decision([DEFAULT], Profile({"soft_deleted_fraction": change["at"] + 1e-6})), "C4")
        assert _answer(above) == (change["verdict"], change["recommended"], change["action"]) != before
        before = _answer(above)


def test_c5_takes_the_hubs_maintenance_window_as_its_cut_off():
    """maintenance_window_s replaces MASSIVE_SECONDS: at the measured size the move (its whole interquartile
    range) is massive for a window below its lower quartile; the break-even lies at that quartile."""
    from bench.verdicts.profile import Profile
    move = load_default()
    move = move[(move["workload"] == "migrate_audio_storage") & (move["variant"] == "baseline")].iloc[0]
    short = _claim(decision([DEFAULT], Profile({"maintenance_window_s": move["q1_s"] * 0.9})), "C5")
    assert (short["verdict"], short["action"]) == ("confirmed", "adopt")
    assert _claim(decision([DEFAULT], Profile({"maintenance_window_s": 600.0})), "C5")["verdict"] == "inconclusive"
    even = _even(decision([DEFAULT]), "C5", "maintenance_window_s")
    assert even["judged_at"] == 10.0
    assert [c["verdict"] for c in even["changes"]] == ["inconclusive"]
    assert even["changes"][0]["at"] == pytest.approx(move["q1_s"], rel=0.011)


def test_c6_judges_ordering_at_the_measured_skew_at_or_above_the_hubs():
    """clock_skew_ms: refuted exactly where utcnow's clock mis-ordered more pairs than the best server
    clock at the judged skew (the fixture's own counts), and the break-even follows the same counts."""
    from bench.load.ordering import CLIENT_SOURCE, SERVER_SOURCES
    from bench.results import fact_table
    from bench.verdicts.facts import ordering as ordering_counts
    from bench.verdicts.profile import Profile
    from bench.verdicts.timestamps import measured_skews
    counts = ordering_counts(fact_table(load_default(), "ordering_facts"), "naive_utc")
    client = {k[2]: v["misordered_pairs"] for k, v in counts.items() if k[:2] == ("clock skew", CLIENT_SOURCE)}
    best = min(v["misordered_pairs"] for k, v in counts.items() if k[0] == "clock skew" and k[1] in SERVER_SOURCES)
    skews = measured_skews(load_default())
    assert skews == sorted(client) and len(skews) >= 3
    for skew in skews:
        c6 = _claim(decision([DEFAULT], Profile({"clock_skew_ms": float(skew)})), "C6")
        assert (c6["verdict"] == "refuted") == (client[skew] > best), (skew, c6["verdict"])
    even = _even(decision([DEFAULT]), "C6", "clock_skew_ms")
    assert even["judged_at"] == 10
    first_worse = min(s for s in skews if client[s] > best)
    assert [c["at"] for c in even["changes"]][:1] == [max(s for s in skews if s < first_worse)]


def load_default():
    from bench.results import load
    return load([DEFAULT])
