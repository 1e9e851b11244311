"""Every setting of a benchmark run, declared once: name, default, environment variable, check, help.

The `sessionbench` command and plain `pytest bench/benchmarks` both build their options from
SETTINGS and resolve them with `resolve`: command-line flag, then SESSIONBENCH_<NAME>, then the
default. The resolved values are saved in every results file, so a run says how it was made.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from bench.errors import UserError
from bench.shard import parse_shard

SCALES = {"small": 1_000, "medium": 100_000, "large": 1_000_000}
# The most added round-trip time a run accepts: a 1000-statement N+1 at 1 s per trip is 17 minutes.
MAX_RTT_MS = 1000.0
# Bytes of generated source data per session (all tables, measured at medium): the memory check
# for --sessions refuses sizes whose data could not even be held while loading.
BYTES_PER_SESSION = 2_600


def _positive_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high:,}")
        return value
    return parse


def _seconds(high: float):
    def parse(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or not 0 < value <= high:
            raise ValueError(f"{text!r} must be more than 0 and at most {high:g} s")
        return value
    return parse


# The most concurrent clients a load case runs (each is a thread holding at most one connection).
MAX_CLIENTS = 256


def parse_counts(text: str, high: int) -> list[int]:
    """"1,4,8" -> [1, 4, 8]: whole numbers from 1 to `high`, each once, in rising order."""
    values = set()
    for item in str(text).strip("[] ").split(","):
        if item.strip():
            values.add(_positive_int(1, high)(item))
    if not values:
        raise ValueError("no number given")
    return sorted(values)


def parse_rtts(text: str) -> list[float]:
    """"0,0.5,2" -> [0.0, 0.5, 2.0]: finite, non-negative, at most MAX_RTT_MS, each once."""
    values = []
    for item in str(text).split(","):
        if not item.strip():
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"{item.strip()!r} is not a number of milliseconds") from None
        if not math.isfinite(value) or not 0 <= value <= MAX_RTT_MS:
            raise ValueError(f"{item.strip()!r} must be between 0 and {MAX_RTT_MS:g} ms")
        if value not in values:
            values.append(value)
    if not values:
        raise ValueError("no round-trip time given")
    return values


def _scale(text: str) -> str:
    if text not in SCALES:
        raise ValueError(f"unknown scale {text!r}; use one of {', '.join(SCALES)}")
    return text


def _choice(*choices: str):
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text
    return parse


def _sessions(text: str) -> int:
    value = _positive_int(50, 100_000_000)(text)
    available = _available_memory()
    if available and value * BYTES_PER_SESSION > available:
        raise ValueError(f"{value:,} sessions need about {value * BYTES_PER_SESSION / 2**30:.1f} GiB of data, "
                         f"more than the {available / 2**30:.1f} GiB of memory available")
    return value


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class Setting:
    name: str                 # attribute name; the flag is --name-with-dashes
    default: object
    help: str
    parse: object = str       # text -> value, raising ValueError with the reason
    many: bool = False        # repeatable flag (a list)
    env: str | None = ""      # "" = SESSIONBENCH_<NAME>; None = no environment variable
    hint: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_name(self) -> str | None:
        return None if self.env is None else (self.env or f"SESSIONBENCH_{self.name.upper()}")


SETTINGS: tuple[Setting, ...] = (
    Setting("backend", "auto", "auto | embedded | docker | url", _choice("auto", "embedded", "docker", "url")),
    Setting("image", [], "container image for --backend docker; repeat for a version matrix "
            "(default postgres:18-alpine)", many=True, env="SESSIONBENCH_PG_IMAGE"),
    Setting("database_url", None, "server for --backend url (never printed or stored)"),
    Setting("scale", "small", "small (1,000 sessions) | medium (100,000) | large (1,000,000)", _scale,
            hint="use small, medium or large, or --sessions N"),
    Setting("sessions", None, "exact number of sessions (overrides --scale), 50 or more", _sessions,
            hint="e.g. --sessions 5000"),
    Setting("seed", 42, "data seed", _positive_int(0, 2**31 - 1)),
    Setting("rtt_ms", [0.0], "added network round-trip times in ms, comma separated, e.g. 0,0.5,2", parse_rtts,
            hint="e.g. --rtt-ms 0,0.5,2"),
    Setting("only", [], "keep only cases whose results column has one of these values (COLUMN=V1,V2; repeatable)",
            many=True, env=None),
    Setting("grid", "axis", "axis: each workload over the axis it exercises; full: every combination",
            _choice("axis", "full")),
    Setting("shard", None, "run only part K of N of the cases (e.g. 2/8), every comparison group whole, for N "
            "machines", parse_shard, hint="e.g. --shard 1/8 for the first of eight parts"),
    Setting("max_time", 0.4, "seconds of timed rounds per case, spread over its trials", _seconds(600),
            hint="e.g. --max-time 0.4"),
    Setting("min_rounds", 6, "least timed rounds per case", _positive_int(1, 10_000)),
    Setting("trials", 6, "trials per case: each runs every variant of a comparison in a new random order",
            _positive_int(2, 1000), hint="use 2 or more; 6 or more for an interval"),
    # Concurrent load (bench.concurrency): runs only when --clients is given.
    Setting("clients", [], "concurrent clients of the load benchmarks, comma separated, e.g. 1,4,8 "
            "(default: none, no load run)", lambda text: parse_counts(text, MAX_CLIENTS), hint="e.g. --clients 1,4,8"),
    Setting("pool_size", 2, "connections in each load worker's pool (SQLAlchemy pool_size, no overflow)",
            _positive_int(1, 100), hint="e.g. --pool-size 2"),
    Setting("load_workers", 2, "worker processes serving the load's clients, as an app server's workers",
            _positive_int(1, 64), hint="e.g. --load-workers 2"),
    Setting("load_seconds", 3.0, "seconds measured per load case, after a warm-up of a third of that",
            _seconds(600), hint="e.g. --load-seconds 3"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class RunSettings:
    """The resolved settings of one run (a password never reaches `public()`)."""

    values: dict = field(default_factory=dict)

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def public(self) -> dict:
        """What a results file records: every setting except the database URL."""
        return {name: value for name, value in self.values.items() if name != "database_url"}


def parse_value(setting: Setting, raw, source: str):
    if raw is None:
        return None
    try:
        if setting.many:
            return [setting.parse(item) for item in raw]
        return setting.parse(raw) if setting.parse is not str else raw
    except ValueError as exc:
        raise UserError(f"{source} {exc}", setting.hint or f"see `sessionbench run --help` for {setting.flag}") \
            from None


def resolve(flags: dict) -> RunSettings:
    """Flag values (None = not given) -> RunSettings: flag, then SESSIONBENCH_<NAME>, then default."""
    values = {}
    for setting in SETTINGS:
        raw = flags.get(setting.name)
        if raw is not None and raw != []:
            values[setting.name] = parse_value(setting, raw, f"{setting.flag}:")
            continue
        env = os.environ.get(setting.env_name) if setting.env_name else None
        if env:
            raw_env = [item for item in env.split(",") if item.strip()] if setting.many else env
            values[setting.name] = parse_value(setting, raw_env, f"{setting.env_name}:")
            continue
        values[setting.name] = setting.default
    return RunSettings(values)


def add_to_argparse(parser, names: tuple[str, ...] | None = None, title: str = "run settings") -> None:
    """The settings as argparse options (default None, so `resolve` can tell given from not given)."""
    group = parser.add_argument_group(title)
    for setting in SETTINGS:
        if names is not None and setting.name not in names:
            continue
        default = "" if setting.default in (None, []) else f"; default {_show(setting.default)}"
        env = f"; env {setting.env_name}" if setting.env_name else ""
        group.add_argument(setting.flag, dest=setting.name, default=None,
                           action="append" if setting.many else "store",
                           metavar=setting.name.upper(), help=f"{setting.help}{env}{default}")


def _show(value) -> str:
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def as_flags(settings: RunSettings) -> list[str]:
    """The resolved settings as `--sb-*` options for the benchmarks' pytest run."""
    argv = []
    for setting in SETTINGS:
        value = settings.values.get(setting.name)
        if value is None or value == []:
            continue
        if setting.many:
            for item in value:
                argv += [f"--sb-{setting.name.replace('_', '-')}", str(item)]
        elif setting.name == "rtt_ms":
            argv += ["--sb-rtt-ms", _show(value)]
        else:
            argv += [f"--sb-{setting.name.replace('_', '-')}", str(value)]
    return argv
