"""Network distance for a run: the URL workloads use, direct or through a calibrated relay."""

from __future__ import annotations

import contextlib
import sys

from sqlalchemy.engine import URL

from bench.net.relay import LatencyRelay
from bench.net.urls import measure_rtt, relay_url, socket_target_from_url

# A relay whose measured added delay is further than this from the one asked for says so.
CALIBRATION_TOLERANCE = 0.20


@contextlib.contextmanager
def open_endpoint(url: URL, rtt_ms: float, *, relayed: bool = True):
    """Yield (url, calibration). With `relayed` false and no RTT asked, connect directly."""
    direct = url.render_as_string(hide_password=False)
    if not relayed and rtt_ms == 0:
        yield direct, {"rtt_ms": 0.0, "relayed": False}
        return
    with LatencyRelay(socket_target_from_url(url), rtt_ms=rtt_ms) as relay:
        routed = relay_url(url, relay)
        base = measure_rtt(direct)
        through = measure_rtt(routed)
        added = through - base
        calibration = {"rtt_ms": rtt_ms, "relayed": True, "direct_ms": round(base, 4),
                       "through_relay_ms": round(through, 4), "added_ms": round(added, 4)}
        if rtt_ms > 0 and abs(added - rtt_ms) > CALIBRATION_TOLERANCE * rtt_ms:
            calibration["warning"] = (f"relay adds {added:.3f} ms per round trip, asked {rtt_ms:g} ms "
                                      f"({(added / rtt_ms - 1):+.0%})")
            print(f"sessionbench: warning: {calibration['warning']}", file=sys.stderr)
        try:
            yield routed, calibration
        finally:
            calibration["relay"] = relay.stats()
