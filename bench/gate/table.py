"""The comparison as it is printed: a table of rows (benchmark, times, change, interval, what it
detects, verdict, statements) under a summary line and the notes, as text for a terminal,
markdown for a PR comment or job summary, or json.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from bench.gate.rule import FAMILY_ALPHA, RUN_SPREAD, RUN_SPREAD_PER_TRIAL_SPREAD, VERDICT_ORDER, Row, sort_rows

UNIT_WORDS = {"trial": "trial", "run": "run", "pair": "pair of runs taken one after the other"}


def summary_line(rows: list[Row], threshold: float, family_alpha: float = FAMILY_ALPHA) -> str:
    counts = {verdict: sum(row.verdict == verdict for row in rows) for verdict in VERDICT_ORDER}

    def plural(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    units = {row.unit for row in rows}
    line = (
        f"{plural(counts['regression'], 'regression')}, {plural(counts['improvement'], 'improvement')}, "
        f"{counts['no change']} unchanged (threshold {threshold * 100:g}%; noise flags any of the "
        f"{len(rows)} benchmarks as slower at most {family_alpha * 100:g}% of the time; "
        f"unit: {'/'.join(UNIT_WORDS[u] for u in sorted(units))})"
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
    ci = "no interval" if row.note else f"[{_pct(row.ci_low)}, {_pct(row.ci_high)}]"
    detectable = "-" if row.detectable is None else f"{row.detectable * 100:.0f}%"
    return [
        row.label,
        f"{row.base_median_s * 1000:.3f}",
        f"{row.new_median_s * 1000:.3f}",
        _pct(row.ratio),
        ci,
        detectable,
        row.verdict,
        _statements_cell(row),
    ]


_HEADER = ["benchmark", "base ms", "new ms", "change", "interval", "detects", "verdict", "statements"]
_NUMERIC = range(1, 4)


def render(rows: list[Row], fmt: str = "text", *, threshold: float = 0.10, notes: tuple[str, ...] = ()) -> str:
    """The comparison as "text" (terminal), "markdown" (PR comment / job summary) or "json"."""
    rows = sort_rows(rows)
    summary = summary_line(rows, threshold)
    if fmt == "json":
        payload = {"summary": summary, "threshold": threshold, "family_alpha": FAMILY_ALPHA,
                   "run_spread_least": RUN_SPREAD, "run_spread_per_trial_spread": RUN_SPREAD_PER_TRIAL_SPREAD, "notes": list(notes), "rows": [asdict(row) for row in rows]}
        return json.dumps(payload, indent=2)
    table = [_cells(row) for row in rows]
    legend = (f"interval: new/base, each bound at {FAMILY_ALPHA * 100:g}% / {len(rows)} benchmarks (Bonferroni); "
              "detects: the smallest slowdown this benchmark flags 95% of the time")
    if fmt == "markdown":
        lines = [f"**{summary}**", ""]
        lines.extend(f"> {note}" for note in notes)
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * 5 + ["---"] * 2) + "|")
        for row, cells in zip(rows, table):
            if row.verdict != "no change":
                cells[6] = f"**{cells[6]}**"
            if row.statements_verdict == "more":
                cells[7] = f"**{cells[7]}**"
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append(f"\n_{legend}_")
        return "\n".join(lines) + "\n"
    if fmt == "text":
        widths = [max(len(r[c]) for r in [_HEADER, *table]) for c in range(len(_HEADER))]
        lines = [summary, *notes, ""]
        for cells in [_HEADER, *table]:
            aligned = [cell.rjust(width) if column in _NUMERIC else cell.ljust(width)
                       for column, (cell, width) in enumerate(zip(cells, widths))]
            lines.append("  ".join(aligned).rstrip())
        lines.append(legend)
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use text, markdown or json")
