"""The hub's own numbers: a production profile, a small versioned TOML file the reviewer writes.

    format = 1
    [hub]
    messages = 40_000_000       # messages in the production database (C5 projects the move to it)
    reads_per_write = 20        # active_sync reads per mark_sync write (C2 weighs read and write by it)
    foreign_keys = false        # production's tables lack the model's foreign keys (C3 judges those paths)
    soft_deleted_fraction = 0.3 # C4 judges list_live at the smallest measured fraction at or above it
    maintenance_window_s = 600  # C5: a move longer than this is massive
    clock_skew_ms = 1           # C6 judges ordering at the smallest measured skew at or above it

`sessionbench verdicts --profile FILE` judges with it; the decision states the file, its SHA-256, the
values it gave and, as assumptions, every value left at its default. Units are in the key names
where a key has one (`_ms`, `_s`, `_fraction`). An unknown key, a wrong type or another format is
refused in one line: a misspelt key would otherwise be silently ignored and the default used.
`sessions`, `nodes_per_session` and `rtt_ms` feed no rule yet: they are stated for the reader (and
listed as not used by any rule) so a profile can already say everything a later rule will read.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UserError
from bench.verdicts.facts import NTP_SKEW_MS
from bench.verdicts.migration import MASSIVE_SECONDS, PRODUCTION_MESSAGES
from bench.verdicts.sync_flag import READS_PER_WRITE

FORMAT = 1
# key: (type, default, what it is, the rule that reads it or "")
KEYS = {
    "sessions": (int, None, "sessions in the production database", ""),
    "messages": (int, PRODUCTION_MESSAGES, "messages in the production database", "C5 (PRODUCTION_MESSAGES)"),
    "nodes_per_session": (int, None, "mesh nodes per session", ""),
    "reads_per_write": (float, READS_PER_WRITE, "active_sync reads per mark_sync write", "C2 (READS_PER_WRITE)"),
    "rtt_ms": (float, None, "round-trip time between the app and the database, ms", ""),
    "foreign_keys": (bool, True, "whether production's tables have the foreign keys the model declares", "C3"),
    "soft_deleted_fraction": (float, None, "share of sessions soft-deleted (default: the largest measured)", "C4"),
    "maintenance_window_s": (float, MASSIVE_SECONDS, "longest migration the hub can take, seconds",
                             "C5 (MASSIVE_SECONDS)"),
    "clock_skew_ms": (float, NTP_SKEW_MS, "clock skew between the hub's writers, ms", "C6 (NTP_SKEW_MS)"),
}
# How a default of None reads: what the rule then does.
UNSTATED = {"messages": "the measured size", "soft_deleted_fraction": "the largest measured"}
# The keyword each rule-read key is passed to bench.verdicts.judge_all as, where it differs from the key.
OPTION = {"messages": "production_messages"}


@dataclass(frozen=True)
class Profile:
    stated: dict = field(default_factory=dict)  # the values the file gave
    file: str | None = None  # its name (never a path built from a results file)
    sha256: str | None = None

    def value(self, key: str):
        return self.stated[key] if key in self.stated else KEYS[key][1]

    def options(self) -> dict:
        """The stated values the rules read, as bench.verdicts.judge_all's keyword options (an unstated one is
        left to the rule's own default, so the decision and the notebooks' verdict tables say the same)."""
        return {OPTION.get(key, key): value for key, value in self.stated.items() if KEYS[key][3]}

    def as_dict(self) -> dict:
        assumed = {key: KEYS[key][1] for key in KEYS if key not in self.stated}
        # "assumed_said": each assumed value as the page and the Markdown print it
        unused = sorted(key for key in self.stated if not KEYS[key][3])
        return {"file": self.file, "sha256": self.sha256, "format": FORMAT, "stated": dict(self.stated),
                "assumed": assumed, "assumed_said": {key: said(key, value) for key, value in assumed.items()}, "read_by": {key: KEYS[key][3] for key in KEYS if KEYS[key][3]},
                "stated_but_not_used_by_a_rule": unused}


DEFAULTS = Profile()


def said(key: str, value) -> str:
    """A profile value as the decision prints it ("the measured size" for an unstated production size)."""
    if value is None:
        return UNSTATED.get(key, "not stated")
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)


def _typed(key: str, value, where: str):
    kind = KEYS[key][0]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise UserError(f"{where}: [hub] {key} must be {'a number' if kind is float else kind.__name__}, not "
                        f"{type(value).__name__}", f"e.g. {key} = {KEYS[key][1] if KEYS[key][1] is not None else 1}")
    if kind in (int, float) and value < 0:
        raise UserError(f"{where}: [hub] {key} must be 0 or more", "give the hub's own figure")
    return value


def load_profile(path: str | Path | None) -> Profile:
    """The profile in `path`, or the defaults when None. One-line UserError for anything else."""
    if path is None:
        return DEFAULTS
    path = Path(path)
    try:
        raw = path.read_bytes()
        doc = tomllib.loads(raw.decode())
    except FileNotFoundError:
        raise UserError(f"{path}: no such profile", "pass a TOML file with [hub] and format = 1") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: not a readable TOML profile ({type(exc).__name__})",
                        "see bench/verdicts/profile.py for the format") from None
    if doc.get("format") != FORMAT:
        raise UserError(f"{path}: profile format {doc.get('format')!r}, this sessionbench reads {FORMAT}",
                        f"put format = {FORMAT} at the top")
    unknown = sorted(set(doc) - {"format", "hub"}) + sorted(f"hub.{k}" for k in set(doc.get("hub") or {}) - set(KEYS))
    if unknown or not isinstance(doc.get("hub", {}), dict):
        raise UserError(f"{path}: unknown key {', '.join(unknown) or 'hub'}", f"known [hub] keys: {', '.join(KEYS)}")
    stated = {key: _typed(key, value, str(path)) for key, value in (doc.get("hub") or {}).items()}
    return Profile(stated, path.name, hashlib.sha256(raw).hexdigest())
