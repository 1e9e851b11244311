"""Compare two results files benchmark by benchmark: ratio of medians, bootstrap CI, verdict.

Exit codes of main_compare: 0 no regression, 1 at least one regression (slower
beyond the threshold with confidence, or more SQL statements than before),
2 unusable input (reported as a UserError).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from bench import results
from bench.errors import UserError
from bench.stats import bootstrap_ratio_ci, classify

CONFIDENCE = 0.95
FORMATS = ("text", "markdown", "json")
IDENTITY_FIELDS = ("workload", "param", "variant", "image", "rtt_ms")
# Regressions first (worst first), then improvements, then the rest.
_VERDICT_ORDER = {"regression": 0, "improvement": 1, "no change": 2}

Identity = tuple  # (workload, param, variant, image, rtt_ms)


@dataclass(frozen=True)
class Row:
    """One benchmark present in both runs. Times in seconds; ratio = new / base."""

    workload: str
    param: str | None
    variant: str | None
    image: str | None
    rtt_ms: float | None
    base_median_s: float
    new_median_s: float
    ratio: float
    ci_low: float
    ci_high: float
    verdict: str  # "regression" | "improvement" | "no change"
    base_statements: int | None
    new_statements: int | None
    statements_verdict: str  # "same" | "more" | "fewer" | "unknown"
    note: str = ""

    @property
    def identity(self) -> Identity:
        return (self.workload, self.param, self.variant, self.image, self.rtt_ms)

    @property
    def label(self) -> str:
        return identity_label(self.identity)


def parse_threshold(text: str | float) -> float:
    """"10%", "0.1" and "10" all mean 0.10: a bare number above 1 is read as percent."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100
        else:
            value = float(raw)
            if value > 1:
                value /= 100
    except ValueError:
        raise ValueError(f"threshold {text!r} is not a number; use e.g. 10%, 0.1 or 10") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"threshold {text!r} must be a non-negative percentage, e.g. 10%")
    return value


def benchmark_identity(bench: dict) -> Identity:
    """Identity across files: (workload, param, variant, image, rtt_ms) from extra_info."""
    extra = bench.get("extra_info") or {}
    workload = extra.get("workload") or bench.get("name")
    return (workload, *(extra.get(field) for field in IDENTITY_FIELDS[1:]))


def identity_label(identity: Identity) -> str:
    """Short human label: "dashboard page_size=100 [loading=selectin] image=pg16 rtt=5ms"."""
    workload, param, variant, image, rtt_ms = identity
    parts = [str(workload)]
    if param:
        parts.append(str(param))
    parts.append(f"[{variant or 'baseline'}]")
    if image:
        parts.append(f"image={image}")
    if rtt_ms:
        parts.append(f"rtt={rtt_ms:g}ms")
    return " ".join(parts)


def _index(doc: dict, side: str) -> dict[Identity, dict]:
    indexed: dict[Identity, dict] = {}
    for bench in doc["benchmarks"]:
        identity = benchmark_identity(bench)
        if identity in indexed:
            raise UserError(
                f"{side} results hold {identity_label(identity)} twice",
                "each (workload, param, variant, image, rtt_ms) must appear once per file",
            )
        indexed[identity] = bench
    return indexed


def _statements_verdict(base: int | None, new: int | None) -> str:
    if base is None or new is None:
        return "unknown"
    return "same" if new == base else ("more" if new > base else "fewer")


def _median(stats: dict, identity: Identity) -> float:
    if stats.get("median") is not None:
        return float(stats["median"])
    if stats.get("data"):
        return float(statistics.median(stats["data"]))
    raise UserError(f"{identity_label(identity)} has neither a median nor raw timings", "re-run the benchmark")


def _compare_one(identity: Identity, base: dict, new: dict, threshold: float, seed: int) -> Row:
    base_stats, new_stats = base.get("stats") or {}, new.get("stats") or {}
    base_data, new_data = base_stats.get("data"), new_stats.get("data")
    base_median, new_median = _median(base_stats, identity), _median(new_stats, identity)
    note = ""
    if base_data and new_data:
        ratio, low, high = bootstrap_ratio_ci(base_data, new_data, confidence=CONFIDENCE, seed=seed)
    else:
        # No raw rounds on one side: the interval collapses onto the point ratio.
        ratio = low = high = new_median / base_median
        note = "no raw timings: medians only, no CI"
    base_count = (base.get("extra_info") or {}).get("statements")
    new_count = (new.get("extra_info") or {}).get("statements")
    return Row(
        *identity,
        base_median_s=base_median,
        new_median_s=new_median,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        verdict=classify((ratio, low, high), threshold),
        base_statements=base_count,
        new_statements=new_count,
        statements_verdict=_statements_verdict(base_count, new_count),
        note=note,
    )


def compare_runs(base_doc: dict, new_doc: dict, *, threshold: float = 0.10, seed: int = 0) -> list[Row]:
    """One Row per benchmark present in both documents, regressions first."""
    base_index, new_index = _index(base_doc, "base"), _index(new_doc, "new")
    common = [identity for identity in base_index if identity in new_index]
    if not common:
        raise UserError(
            "the two results files have no benchmark in common",
            "compare runs of the same workloads/variants (identity: workload, param, variant, image, rtt_ms)",
        )
    rows = [_compare_one(i, base_index[i], new_index[i], threshold, seed) for i in common]
    return sort_rows(rows)


def sort_rows(rows: list[Row]) -> list[Row]:
    def key(row: Row) -> tuple:
        # Within regressions the worst first; within improvements the best first.
        severity = -row.ratio if row.verdict == "regression" else row.ratio
        return (_VERDICT_ORDER[row.verdict], severity, row.label)

    return sorted(rows, key=key)


def unmatched(base_doc: dict, new_doc: dict) -> tuple[list[str], list[str]]:
    """Labels of benchmarks only in base and only in new (not compared)."""
    base_ids = {benchmark_identity(b) for b in base_doc["benchmarks"]}
    new_ids = {benchmark_identity(b) for b in new_doc["benchmarks"]}
    return (
        sorted(identity_label(i) for i in base_ids - new_ids),
        sorted(identity_label(i) for i in new_ids - base_ids),
    )


def has_regression(rows: list[Row]) -> bool:
    """A slower verdict, or more statements than before (counts are exact, so any increase is real)."""
    return any(row.verdict == "regression" or row.statements_verdict == "more" for row in rows)


def summary_line(rows: list[Row], threshold: float) -> str:
    counts = {verdict: sum(row.verdict == verdict for row in rows) for verdict in _VERDICT_ORDER}

    def plural(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    line = (
        f"{plural(counts['regression'], 'regression')}, {plural(counts['improvement'], 'improvement')}, "
        f"{counts['no change']} unchanged (threshold {threshold * 100:g}%, {CONFIDENCE * 100:g}% CI)"
    )
    more = sum(row.statements_verdict == "more" for row in rows)
    if more:
        line += f"; {plural(more, 'benchmark')} issuing more SQL statements"
    return line


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


def _statements_cell(row: Row) -> str:
    if row.statements_verdict == "unknown":
        return "?"
    if row.statements_verdict == "same":
        return str(row.new_statements)
    return f"{row.base_statements} → {row.new_statements} ({row.statements_verdict})"


def _cells(row: Row) -> list[str]:
    ci = "medians only" if row.note else f"[{_pct(row.ci_low)}, {_pct(row.ci_high)}]"
    return [
        row.label,
        f"{row.base_median_s * 1000:.3f}",
        f"{row.new_median_s * 1000:.3f}",
        _pct(row.ratio),
        ci,
        row.verdict,
        _statements_cell(row),
    ]


_HEADER = ["benchmark", "base median (ms)", "new median (ms)", "change", "95% CI", "verdict", "statements"]


def render(rows: list[Row], fmt: str = "text", *, threshold: float = 0.10, notes: tuple[str, ...] = ()) -> str:
    """The comparison as "text" (terminal), "markdown" (PR comment / job summary) or "json"."""
    rows = sort_rows(rows)
    summary = summary_line(rows, threshold)
    if fmt == "json":
        payload = {"summary": summary, "threshold": threshold, "confidence": CONFIDENCE,
                   "notes": list(notes), "rows": [asdict(row) for row in rows]}
        return json.dumps(payload, indent=2)
    table = [_cells(row) for row in rows]
    if fmt == "markdown":
        lines = [f"**{summary}**", ""]
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * 4 + ["---"] * 2) + "|")
        for row, cells in zip(rows, table):
            if row.verdict != "no change":
                cells[5] = f"**{cells[5]}**"
            if row.statements_verdict == "more":
                cells[6] = f"**{cells[6]}**"
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.extend(f"\n_{note}_" for note in notes)
        return "\n".join(lines) + "\n"
    if fmt == "text":
        widths = [max(len(r[c]) for r in [_HEADER, *table]) for c in range(len(_HEADER))]
        lines = [summary, ""]
        for cells in [_HEADER, *table]:
            aligned = [cell.rjust(width) if 1 <= column <= 3 else cell.ljust(width)
                       for column, (cell, width) in enumerate(zip(cells, widths))]
            lines.append("  ".join(aligned).rstrip())
        lines.extend(notes)
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use text, markdown or json")


def report_user_error(exc: UserError, err: TextIO) -> int:
    """Print a UserError the way the sessionbench command does and give its exit code, 2."""
    print(f"sessionbench: error: {exc.message}", file=err)
    if exc.hint:
        print(f"  try: {exc.hint}", file=err)
    return 2


def main_compare(
    base_path: str | Path,
    new_path: str | Path,
    threshold: float | str,
    fmt: str,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print the comparison; 1 if anything regressed, 0 if not, 2 on unusable input."""
    try:
        if fmt not in FORMATS:
            raise UserError(f"unknown format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
        try:
            threshold_value = parse_threshold(threshold)
        except ValueError as exc:
            raise UserError(str(exc), "e.g. --threshold 10%") from None
        base_doc, new_doc = results.read(base_path), results.read(new_path)
        rows = compare_runs(base_doc, new_doc, threshold=threshold_value)
    except UserError as exc:
        return report_user_error(exc, err)
    only_base, only_new = unmatched(base_doc, new_doc)
    notes = []
    if only_base:
        notes.append(f"{len(only_base)} only in base, not compared: {', '.join(only_base)}")
    if only_new:
        notes.append(f"{len(only_new)} only in new, not compared: {', '.join(only_new)}")
    out.write(render(rows, fmt, threshold=threshold_value, notes=tuple(notes)))
    return 1 if has_regression(rows) else 0
