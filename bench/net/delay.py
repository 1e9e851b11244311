"""One direction of a relayed connection: holds every chunk for a fixed delay, then writes it on.

Each chunk is held for the delay measured from the moment it was received, so one request
plus its response, each held for ``rtt_ms / 2``, gains ``rtt_ms`` in total. Chunks keep their
order but never wait for each other's delay: throughput is not limited by the delay, only
latency is added. Sub-millisecond delays stay accurate by waking early and spinning out the
rest, and by shrinking the thread's timer slack.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import sys

# Timers fire this much before a chunk is due and the rest is spun out (see
# Direction._flush); 200 µs brought a 0.5 ms round trip from +30% to within ~7%
# on a 2-core VM, for at most 200 µs of spinning per wake-up.
_WAKE_EARLY_S = 0.0002
_PR_SET_TIMERSLACK = 29  # from <linux/prctl.h>

# Markers queued behind the data so a half-close or a broken connection reaches
# the other side only after everything received before it.
EOF = object()
CLOSE = object()


class Direction:
    """One way of one relayed connection: delays chunks, then writes them to ``sink``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay_s: float, count_bytes, on_eof_sent):
        self._loop = loop
        self._delay_s = delay_s
        self._count_bytes = count_bytes
        self._on_eof_sent = on_eof_sent
        self._pending: collections.deque = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self.sink: asyncio.Transport | None = None
        self._early: list = []  # received before the sink existed: written once it does
        self.eof_sent = False

    def attach(self, sink: asyncio.Transport) -> None:
        """Start writing to ``sink``, first whatever arrived while it was being connected."""
        self.sink = sink
        early, self._early = self._early, []
        for item in early:
            self._deliver(item)

    def push(self, item) -> None:
        if self._delay_s <= 0 and not self._pending:
            # rtt 0 still passes through the relay, just without a timer hop.
            self._deliver(item)
            return
        due = self._loop.time() + self._delay_s
        self._pending.append((due, item))
        if self._timer is None:
            self._timer = self._loop.call_at(due - _WAKE_EARLY_S, self._flush)

    def _flush(self) -> None:
        self._timer = None
        clock = self._loop.time
        # Deliver everything due (several chunks may share one wake-up), then
        # re-arm for the oldest chunk still held. The timer fires a little early
        # and the last stretch is waited out here: waking from a sleep on a busy
        # or virtualised machine is late by tens to hundreds of microseconds,
        # which would otherwise add 20% to a 0.5 ms round trip.
        while self._pending:
            due = self._pending[0][0]
            remaining = due - clock()
            if remaining > _WAKE_EARLY_S:
                self._timer = self._loop.call_at(due - _WAKE_EARLY_S, self._flush)
                return
            while clock() < due:
                pass
            self._deliver(self._pending.popleft()[1])

    def _deliver(self, item) -> None:
        sink = self.sink
        if sink is None:
            self._early.append(item)
            return
        if sink.is_closing():
            return
        if item is EOF:
            self.eof_sent = True
            if sink.can_write_eof():
                sink.write_eof()
            self._on_eof_sent()
        elif item is CLOSE:
            sink.close()
        else:
            # Counted first: the write can reach the peer, and a reader of stats() in another
            # thread, before this thread runs its next line.
            self._count_bytes(len(item))
            sink.write(item)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()
        self._early.clear()


def tighten_timer_slack() -> None:
    """Let this thread's sleeps end on time: Linux lets a sleep overrun by the
    thread's timer slack (50 µs by default) to batch wake-ups, and a held chunk
    pays that on every hop. Best effort; elsewhere the default stays."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
