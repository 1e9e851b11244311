"""Every setting of a benchmark run, declared once: name, default, environment variable, check, help.

The `sessionbench` command and plain `pytest bench/benchmarks` both build their options from
SETTINGS and resolve them with `resolve`: command-line flag, then SESSIONBENCH_<NAME>, then the
default. The resolved values are saved in every results file, so a run says how it was made.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from bench import backends
from bench.errors import UserError
from bench.plan.shard import parse_shard

SCALES = {"small": 1_000, "medium": 100_000, "large": 1_000_000}
# The most added round-trip time a run accepts: a 1000-statement N+1 at 1 s per trip is 17 minutes.
MAX_RTT_MS = 1000.0
# Bytes of generated source data per session (all tables, measured at medium): the memory check
# for --sessions refuses sizes whose data could not even be held while loading.
BYTES_PER_SESSION = 2_600
# Mesh nodes a session can list in its sync state (the JSON blob holds one entry each).
MAX_NODES_PER_SESSION = 1_000


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


def _seconds(high: float, low: float = 0.0):
    """Seconds above 0 (or from `low` on: the least that can be measured) and at most `high`."""
    def parse(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or not 0 < value <= high:
            raise ValueError(f"{text!r} must be more than 0 and at most {high:g} s")
        if value < low:
            raise ValueError(f"{text!r} is too short to measure: at least {low:g} s")
        return value
    return parse


# The shortest load window that measures anything: the server's wait events are sampled every 20 ms
# (bench.load.waits), so half a second holds 25 samples, and every client a few requests.
MIN_LOAD_SECONDS = 0.5


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


def _comma_list(text) -> list[str]:
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise ValueError("no value given")
    return list(dict.fromkeys(items))


def _scales(text: str) -> list[str]:
    """"small,medium" -> ["small", "medium"]: each a known scale, each once."""
    scales = _comma_list(text)
    for scale in scales:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    return sorted(scales, key=SCALES.get)


def _syncing(text: str) -> list[str]:
    """"100,1%" -> ["100", "1%"]: a fixed number of syncing sessions, or a percentage of them all."""
    values = []
    for item in _comma_list(text):
        number = item[:-1] if item.endswith("%") else item
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"{item!r} is neither a count (100) nor a percentage (1%)") from None
        if item.endswith("%"):
            if not math.isfinite(value) or not 0 < value <= 100:
                raise ValueError(f"{item!r} must be a percentage above 0 and at most 100")
            values.append(f"{value:g}%")
        elif not value.is_integer() or not 1 <= value <= 10_000_000:
            raise ValueError(f"{item!r} must be a whole number of sessions from 1 to 10,000,000")
        else:
            values.append(str(int(value)))
    return list(dict.fromkeys(values))


def _nodes(text: str) -> list[int]:
    return sorted({_positive_int(1, MAX_NODES_PER_SESSION)(item) for item in _comma_list(text)})


def _choice(*choices: str):
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text
    return parse


def _backend(text: str) -> str:
    """A registered backend's name, or auto (read when a value is checked, so a backend registered later counts)."""
    return _choice(*backends.names())(text)


def _sessions(text: str) -> list[int]:
    """"1000,3000" -> [1000, 3000]: each 50 or more, sorted, each once, the largest within memory."""
    values = sorted({_positive_int(50, 100_000_000)(item) for item in _comma_list(text)})
    largest, available = values[-1], _available_memory()
    if available and largest * BYTES_PER_SESSION > available:
        raise ValueError(f"{largest:,} sessions need about {largest * BYTES_PER_SESSION / 2**30:.1f} GiB of data, "
                         f"more than the {available / 2**30:.1f} GiB of memory available")
    return values


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
    Setting("backend", "auto", "where the server comes from: auto or a registered backend (bench.backends)", _backend),
    Setting("image", [], "container image for --backend docker; repeat for a version matrix "
            "(default postgres:18-alpine)", many=True, env="SESSIONBENCH_PG_IMAGE"),
    Setting("database_url", None, "server for --backend url (never printed or stored)"),
    Setting("scale", ["small"], "small (1,000 sessions) | medium (100,000) | large (1,000,000); "
            "comma separated for a size sweep", _scales, hint="use small, medium or large, or --sessions N"),
    Setting("sessions", None, "exact numbers of sessions (override --scale), 50 or more; comma separated for a "
            "size sweep, e.g. 1000,3000,10000", _sessions, hint="e.g. --sessions 5000 or --sessions 1000,10000"),
    Setting("syncing", None, "sessions syncing at once: a count (100) or a share (1%%); comma separated to show "
            "both (default 1%% for one size, 100 for a size sweep)", _syncing, hint="e.g. --syncing 100 or --syncing 1%"),
    Setting("nodes_per_session", None, "mesh nodes in every session's sync state, comma separated to sweep, "
            "e.g. 2,20,200 (default: 1 to 16, about 5)", _nodes, hint="e.g. --nodes-per-session 2,20,200"),
    Setting("seed", 42, "data seed", _positive_int(0, 2**31 - 1)),
    Setting("rtt_ms", [0.0], "added network round-trip times in ms, comma separated, e.g. 0,0.5,2", parse_rtts,
            hint="e.g. --rtt-ms 0,0.5,2"),
    Setting("only", [], "keep only cases whose results column has one of these values (COLUMN=V1,V2; repeatable)",
            many=True, env=None),
    Setting("grid", "axis", "axis: each workload over the axis it exercises; full: every combination",
            _choice("axis", "full")),
    Setting("shard", None, "run only part K of N of the cases (e.g. 2/8), every comparison group whole, for N "
            "machines", parse_shard, hint="e.g. --shard 1/8 for the first of eight parts"),
    Setting("max_time", 0.25, "seconds of timed rounds per case, spread over its trials", _seconds(600),
            hint="e.g. --max-time 0.25"),
    Setting("min_rounds", 6, "least timed rounds per case", _positive_int(1, 10_000)),
    Setting("case_budget", 20.0, "seconds of timed rounds a case may take at most; a slower case runs fewer "
            "rounds and trials and says so in its row", _seconds(86_400), hint="e.g. --case-budget 20"),
    Setting("jit", "off", "PostgreSQL JIT on the run's connections: off (pinned, the same on every server) "
            "or server (whatever the server is set to)", _choice("off", "server")),
    Setting("priority", "high", "high: run the client and an embedded server at nice -10, ahead of other "
            "processes on a busy machine (needs root or CAP_SYS_NICE; otherwise the run says so); normal: as started",
            _choice("high", "normal")),
    Setting("cpus", "same", "same: the client and each measured case's server backend (embedded server) on one "
            "CPU while timed, so every round trip costs the same; free: wherever the scheduler puts them",
            _choice("same", "free")),
    Setting("trials", 12, "trials per case: each runs every variant of a comparison in a new random order",
            _positive_int(2, 1000), hint="use 2 or more; 6 or more for a median ratio with a distribution-free interval"),
    # Concurrent load (bench.load.concurrency): runs only when --clients is given.
    Setting("clients", [], "concurrent clients of the load benchmarks, comma separated, e.g. 1,4,8 "
            "(default: none, no load run)", lambda text: parse_counts(text, MAX_CLIENTS), hint="e.g. --clients 1,4,8"),
    Setting("pool_size", 2, "connections in each load worker's pool (SQLAlchemy pool_size, no overflow)",
            _positive_int(1, 100), hint="e.g. --pool-size 2"),
    Setting("load_workers", 2, "worker processes serving the load's clients, as an app server's workers",
            _positive_int(1, 64), hint="e.g. --load-workers 2"),
    Setting("load_seconds", 3.0, "seconds measured per load case, after a warm-up of a third of that",
            _seconds(600, MIN_LOAD_SECONDS), hint="e.g. --load-seconds 3"),
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


# Environment variables other than the settings' own (SESSIONBENCH_<NAME>): read here and nowhere else.
ENVIRONMENT = {
    "SESSIONBENCH_RESULTS_DIR": "the folder `sessionbench run` writes to when --out is not given",
    "SESSIONBENCH_NOTEBOOKS": "a folder of notebooks `sessionbench report` runs instead of the shipped ones",
    "SESSIONBENCH_TEST_SLOWDOWN": "test only: real work added to the timed rounds of the cases named (bench.measure.injected)",
    "SESSIONBENCH_TEST_EXTRA_STATEMENT": "test only: one more statement in each round of the cases named",
    "SESSIONBENCH_TEST_SLOWDOWN_LOG": "test only: a file each slowed round appends its line to",
}


def environment(name: str) -> str | None:
    """The value of one of ENVIRONMENT's variables; None when unset or empty."""
    if name not in ENVIRONMENT:
        raise KeyError(f"{name} is not one of sessionbench's environment variables")
    return os.environ.get(name) or None


def resolve_one(name: str, raw=None):
    """One setting alone (`sessionbench doctor --image`): its flag value, else its environment variable,
    else its default."""
    setting = next(s for s in SETTINGS if s.name == name)
    if raw is not None and raw != []:
        return parse_value(setting, raw, f"{setting.flag}:")
    env = os.environ.get(setting.env_name) if setting.env_name else None
    if env:
        return parse_value(setting, [item for item in env.split(",") if item.strip()] if setting.many else env,
                           f"{setting.env_name}:")
    return setting.default


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
    _refuse_meaningless(values)
    return RunSettings(values)


def _refuse_meaningless(values: dict) -> None:
    """Settings each valid alone that cannot mean anything together, refused before anything starts."""
    sizes = values.get("sessions") or [SCALES[scale] for scale in values.get("scale") or []]
    counts = [int(item) for item in values.get("syncing") or [] if not str(item).endswith("%")]
    if sizes and counts and max(counts) > min(sizes):
        raise UserError(f"--syncing {max(counts):,} is more than the {min(sizes):,} sessions of the "
                        f"{'smallest ' if len(sizes) > 1 else ''}data set: every session would sync, not "
                        f"{max(counts):,}", f"give at most {min(sizes):,}, or a share such as --syncing 1%")


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


@dataclass(frozen=True, eq=False)  # a pytest plugin: hashed by identity
class RunPlan:
    """A resolved run, handed by `sessionbench run` to the benchmarks' pytest as a plugin object
    (`pytest.main(args, plugins=[plan])`): the settings travel as values, parsed once. Under plain
    `pytest bench/benchmarks` there is none, and the benchmarks resolve their `--sb-*` options instead."""

    settings: RunSettings
    run_id: str
    progress: bool = False  # the run prints its data load's progress

    @classmethod
    def of(cls, config) -> RunPlan | None:
        """The plan `sessionbench run` registered with this pytest run, if any."""
        return next((plugin for plugin in config.pluginmanager.get_plugins() if isinstance(plugin, cls)), None)
