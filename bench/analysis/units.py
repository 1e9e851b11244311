"""Numbers as people read them: milliseconds, bytes in binary units. Charts, verdicts and tables
print through these, so one quantity reads the same everywhere."""

from __future__ import annotations

MS = 1000.0  # seconds -> milliseconds


def ms(seconds: float) -> str:
    value = seconds * MS
    return f"{value:.3g} ms" if value < 1000 else f"{seconds:.2f} s"


def size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" or count >= 100 else f"{count:.3g} {unit}"
        count /= 1024
    return ""
