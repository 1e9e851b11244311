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
    assert profile["read_by"] == {"messages": "C5 (PRODUCTION_MESSAGES)", "reads_per_write": "C2 (READS_PER_WRITE)"}
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
    good = _profile(tmp_path, "format = 1\n[hub]\nmessages = 40_000_000\nclock_skew_ms = 5\n")
    done = subprocess.run([sys.executable, "-m", "bench.cli", "verdicts", DEFAULT, "--profile", str(good)],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Hub: profile hub.toml (sha256 ")
    assert "| C5 | confirmed |" in done.stdout and "Stated, read by no rule yet: clock_skew_ms" in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("format = 1\n[hub]\nmesages = 4\n")
    done = subprocess.run([sys.executable, "-m", "bench.cli", "verdicts", DEFAULT, "--profile", str(bad)],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0] == f"sessionbench: error: {bad}: unknown key hub.mesages"
    assert "Traceback" not in done.stderr
