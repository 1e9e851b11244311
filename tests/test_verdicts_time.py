"""C6's rule (bench.verdicts.timestamps) on synthetic ordering facts: which counts confirm, refute or partly hold."""

import pytest

from bench.verdicts.timestamps import NTP_SKEW_MS, RULE
from tests.test_verdicts import frame, judged, row, skew_facts, with_facts


def c6(**options):
    return judged(with_facts(frame(row("unrelated", median_s=1.0)), ordering_facts=skew_facts(**options)), "C6")


def test_no_more_misordering_than_the_server_at_every_skew_and_none_across_zones_confirms():
    facts = [{**f, "misordered_pairs": 1, "late_events": 1} if f["source"].startswith("client") else f
             for f in skew_facts(client_at_ntp=(1, 1))]
    found = judged(with_facts(frame(row("unrelated", median_s=1.0)), ordering_facts=facts), "C6")
    assert (found["verdict"], found["action"]) == ("confirmed", "change")
    assert found["reason"] == ("ordering holds at every measured skew up to 10 ms and across zones, but "
                               "datetime.utcnow is deprecated since Python 3.12 (write datetime.now(timezone.utc))")


@pytest.mark.parametrize(("options", "verdict", "recommended"), [
    ({"client_at_ntp": (1, 1), "zones_utc": 24}, "partly", "timestamps=aware"),   # holds at 10 ms, not at 1 s
    ({"aware_zones": 3}, "refuted", "baseline"),   # aware values mis-order too: no variant to recommend
])
def test_zones_and_the_recommendation(options, verdict, recommended):
    found = c6(**options)
    assert (found["verdict"], found["recommended"]) == (verdict, recommended)


def test_the_rule_names_its_deciding_skew_and_assumptions():
    assert NTP_SKEW_MS == 10
    assert "at a writer clock skew of 10 ms (NTP-synced hosts)" in RULE
    assert "40 events from 4 writers, one started every 10 ms (EVENT_GAP_MS)" in RULE
    assert "datetime.utcnow is deprecated since Python 3.12" in RULE
