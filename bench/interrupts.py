"""Ctrl-C and SIGTERM: remembered, raised once, never inside the cleanup they start.

The first signal raises KeyboardInterrupt so every backend's `finally` runs at once. Later
signals (a held-down Ctrl-C sends dozens) are only remembered: raised again, they would cut
those `finally` blocks short and leave a server, its folder or the run's schemas behind.

An exception raised while Python runs a finaliser (SQLAlchemy returns pooled connections from
weakref callbacks) is printed and dropped; the remembered signal lets the runner stop after
the current case and abandon the run anyway.
"""

from __future__ import annotations

import signal

_received: list[int] = []


def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
    first = not _received
    _received.append(signum)
    if first:
        raise KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def received() -> bool:
    return bool(_received)


def exit_code() -> int:
    """128 + the first signal's number, as a shell reports it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (_received[0] if _received else signal.SIGINT)
