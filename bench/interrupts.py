"""Ctrl-C and SIGTERM: remembered, not only raised.

The handler raises KeyboardInterrupt so every backend's `finally` runs at once. But an
exception raised while Python runs a finaliser (SQLAlchemy returns pooled connections from
weakref callbacks) is printed and dropped; the remembered signal lets the runner stop after
the current case and abandon the run anyway.
"""

from __future__ import annotations

import signal

_received: list[int] = []


def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
    _received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def received() -> bool:
    return bool(_received)
