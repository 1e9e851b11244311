"""What `sessionbench run` shows while it runs: one counted line per step with the time left, the data
load's share, a heartbeat during a long step, and the steps that failed (a pytest plugin of the run)."""

from __future__ import annotations

import os
import threading
import time

from bench import interrupts, redact
from bench.commands.summary import short_label
from bench.errors import UserError
from bench.plan import shard

class Progress:
    """The run's count and progress, on the real terminal whatever pytest captures.

    One unit from the first line to the last: the step, a pytest item, either a benchmark (one
    results row) or a fact table (C3's delete paths, C4's deletion facts, C6's ordering facts,
    C2's node writes). The first line is printed once collection knows the steps, then one line
    per finished step with an estimate of the time left, and lines while the source data loads.
    """

    LOAD_EVERY_S = 2.0  # at most one data-load line per this many seconds
    STILL_EVERY_S = 15.0  # a step running longer says so this often (a large data set fills each variant's tables)

    def __init__(self, quiet: bool, header: str, info_fd: int = 1):
        self.total, self.done, self.quiet, self.failed, self.skipped = 0, 0, quiet, [], []
        self.benchmarks = self.facts = 0
        self.header = header
        self.started = time.perf_counter()
        self.config = None
        self.interrupted = False
        self._labels: dict[str, str] = {}
        self._weights: dict[str, float] = {}
        self._weight_done = 0.0
        self._load_started = self._load_shown = self._load_last = None
        self._running: tuple[str, float] | None = None  # the step under way and when it started
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None
        # Copies of the terminal's descriptors: pytest's capture and the log redirect cannot reach them.
        self.terminal = _terminal(2)
        self.info = _terminal(info_fd)

    def close(self) -> None:
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.join()
        for stream in (self.terminal, self.info):
            stream.close()

    def pytest_runtest_logstart(self, nodeid, location):  # noqa: ARG002 - hook signature
        self._running = (nodeid, time.perf_counter())
        if self._ticker is None and not self.quiet:
            self._ticker = threading.Thread(target=self._still_running, name="sessionbench-progress", daemon=True)
            self._ticker.start()

    def _still_running(self) -> None:
        """A line every STILL_EVERY_S while one step lasts longer: the first step of a comparison fills and
        settles its variants' tables and measures them all side by side, which takes minutes at large scale."""
        while not self._stopped.wait(self.STILL_EVERY_S):
            running = self._running
            if running is None or time.perf_counter() - running[1] < self.STILL_EVERY_S:
                continue
            name = self._labels.get(running[0], running[0])
            self._say(self.terminal, f"  ... step {self.done + 1} of {self.total}, {name}: "
                                     f"{time.perf_counter() - running[1]:.0f} s so far (its comparison's variant "
                                     f"tables are filled and measured in this step){self._left()}")

    def pytest_configure(self, config):
        self.config = config
        if not self.quiet:  # the benchmarks' data load reports here (bench/benchmarks/conftest.py)
            config._sessionbench_load_progress = self.data_loading

    def pytest_keyboard_interrupt(self, excinfo):  # noqa: ARG002 - hook signature
        self.interrupted = True
        # A benchmark cut off before its first timed round has no statistics, and
        # pytest-benchmark would fail writing it out: it is dropped, the run is abandoned anyway.
        session = getattr(self.config, "_benchmarksession", None)
        if session is not None:
            session.benchmarks[:] = [b for b in session.benchmarks
                                     if getattr(getattr(b, "stats", None), "data", None)]

    @property
    def fatal(self) -> UserError | None:
        """A UserError raised while starting a server or loading data stops the whole run."""
        return self.config._sessionbench.get("fatal") if self.config is not None else None

    def pytest_sessionstart(self, session):
        self.session = session

    def pytest_collection_finish(self, session):
        """What will really run, counted once: the first line's count is the counter's total and the last line's."""
        self.total = len(session.items)
        cases = {case.id: case for case in getattr(self.config, "_sessionbench", {}).get("cases", [])}
        group_seconds: dict = {}
        for case in cases.values():
            group_seconds[case.group] = group_seconds.get(case.group, 0.0) + shard.case_seconds(case)
        measured = set()
        every = [getattr(getattr(item, "callspec", None), "params", {}) for item in session.items]
        varying = [key for key in ("image", "data", "rtt_ms") if len({str(p.get(key)) for p in every}) > 1]
        for item, params in zip(session.items, every):
            case = cases.get(params.get("case"))
            # A step's name: its case (or the fact table and its variant), and where it runs when that varies.
            where = "".join(f" rtt={params[key]:g}ms" if key == "rtt_ms" else f" {params[key]}"
                            for key in varying if key in params)
            if case is not None or "load_case" in params:
                self.benchmarks += 1
                self._labels[item.nodeid] = short_label(f"{params.get('case') or params['load_case'].id}{where}")
            else:
                self.facts += 1
                variant = next((v for k, v in params.items() if k.endswith("_variant")), None)
                label = getattr(variant, "label", None) or item.nodeid.split("[", 1)[-1].rstrip("]")
                self._labels[item.nodeid] = f"{item.originalname.removeprefix('test_')} {label}{where}"
            # Expected seconds, for the estimate of what remains: a comparison group is measured whole
            # by its first case (bench/measure/trials.py), so that step carries the group's time and the rest none.
            weight = shard.DEFAULT_CASE_SECONDS
            if case is not None:
                key = (params.get("image"), params.get("data"), params.get("rtt_ms"), case.group)
                weight = 0.0 if key in measured else group_seconds[case.group]
                measured.add(key)
            self._weights[item.nodeid] = weight
        self._say(self.info, f"{self.header}; {self.total} steps: {self.benchmarks} benchmarks and "
                             f"{self.facts} fact tables")

    def pytest_runtest_logfinish(self, nodeid, location):  # noqa: ARG002 - hook signature
        self._running = None
        if interrupts.received():
            # The signal's exception may have been swallowed inside a finaliser: stop here anyway.
            self.interrupted = True
            self.session.shouldstop = "interrupted"

    def pytest_runtest_logreport(self, report):
        if not (report.when == "call" or (report.when == "setup" and not report.passed)):
            return
        self.done += 1
        self._weight_done += self._weights.get(report.nodeid, 0.0)
        name = self._labels.get(report.nodeid) or report.nodeid.split("[", 1)[-1].rstrip("]")
        status, why = "ok", ""
        if report.failed:
            status = "FAILED"
            self.failed.append((name, str(report.longrepr).strip().splitlines()[-1:]))
        elif report.skipped:
            status = "skipped"
            why = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            why = f" ({why.removeprefix('Skipped: ')})"
            self.skipped.append(name)
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            self._say(self.terminal, f"  [{self.done:>3}/{self.total}] {elapsed:6.1f}s  {status:<7} {name}{why}"
                                     f"{self._left()}")

    def _left(self) -> str:
        """'  (about 1 min 20 s left)': the expected seconds still to run, scaled by how this run has gone."""
        remaining = sum(self._weights.values()) - self._weight_done
        if self._weight_done <= 0 or self.done >= self.total:
            return ""
        seconds = remaining * (time.perf_counter() - self.started) / self._weight_done
        return f"  (about {_duration(seconds)} left)" if seconds >= 1 else "  (under 1 s left)"

    def data_loading(self, rows_done: int, rows_total: int) -> None:
        """The source data's COPY, as rows arrive (called from the loader's threads)."""
        now = time.perf_counter()
        if self._load_started is None or rows_done < (self._load_last or 0):
            self._load_started, self._load_shown = now, now  # a new data set
        self._load_last = rows_done
        if rows_done < rows_total and now - self._load_shown < self.LOAD_EVERY_S:
            return
        self._load_shown = now
        elapsed = now - self._load_started
        left = (f", about {_duration(elapsed * (rows_total - rows_done) / rows_done)} left"
                if 0 < rows_done < rows_total else "")
        self._say(self.terminal, f"  loading data: {rows_done / max(rows_total, 1):4.0%} of {rows_total:,} rows, "
                                 f"{elapsed:.0f} s{left}")

    _saying = threading.Lock()  # the loader's threads and the ticker write too: whole lines only

    def _say(self, stream, line: str) -> None:
        with self._saying:
            stream.write(line + "\n")
            stream.flush()


def _terminal(fd: int):
    """A line-buffered, redacted text stream on a copy of the descriptor `fd` as it is now."""
    return redact.RedactingStream(os.fdopen(os.dup(fd), "w", buffering=1, errors="replace"), owns=True)


def _duration(seconds: float) -> str:
    """12 s, 3 min 5 s, 1 h 2 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
