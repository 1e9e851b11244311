"""The table `sessionbench run` ends with: counts, medians and the ratio to baseline with its interval.

The ratio comes from the run's trials: each variant measured beside the baseline in the same
trial, so load that came and went fell on both (bench.measure.trials). A ratio whose interval includes 1
is marked "~": the run cannot tell it from no difference.
"""

from __future__ import annotations

import shutil
import textwrap

from bench.results import data_sizes, rows, run_info, under_load
from models_variants import labels


def summary_rows(doc: dict) -> list[dict]:
    return sorted((r for r in rows(doc) if not under_load(r)), key=lambda r: (str(r["image"]), r["rtt_ms"] or 0, r["workload"], r["param"],
                                            str(r.get("syncing")), r.get("nodes_per_session") or 0,
                                            r.get("sessions") or 0, r["variant"] != labels.BASELINE, r["variant"]))


def _data_cell(row: dict) -> str:
    nodes = f" x{row['nodes_per_session']} nodes" if row.get("nodes_per_session") else ""
    return f"{row.get('sessions') or 0:,} ({row.get('syncing') or '-'} syncing){nodes}"


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.3f}"


def ratio_cell(row: dict) -> str:
    ratio, low, high = row.get("ratio"), row.get("ratio_low"), row.get("ratio_high")
    if ratio is None:
        return "-"
    if row["variant"] == labels.BASELINE:
        return "1"
    if low is None or high is None:  # one trial (a case over --case-budget): no spread to take an interval from
        return f"{ratio:.2f} [no interval: 1 trial]"
    unclear = "~" if low <= 1 <= high else " "
    return f"{ratio:.2f} [{low:.2f}-{high:.2f}]{unclear}"


def short_label(text: str) -> str:
    """`recommended` for the recommended model's label (five axes, 93 characters) wherever it appears."""
    from bench.plan.recommended import RECOMMENDED

    return text.replace(RECOMMENDED.label, "recommended")


def headline(table: list[dict]) -> list[str]:
    """The run in a few lines: what was measured, and how the variants came out against the model as reviewed."""
    from bench.plan.recommended import RECOMMENDED
    from models_variants import BASELINE

    if not table:
        return ["summary: no benchmark rows in this run"]
    groups = {(str(r["image"]), r["rtt_ms"], _data_cell(r), r["workload"], r["param"]) for r in table}
    sizes = sorted({r.get("sessions") or 0 for r in table})
    where = ", ".join(sorted({f"{r.get('backend')} PostgreSQL {r.get('server_version')}" for r in table}))
    compared = [r for r in table if r["variant"] != labels.BASELINE and r.get("ratio_low") is not None
                and r.get("ratio_high") is not None]
    faster = [r for r in compared if r["ratio_high"] < 1]
    slower = [r for r in compared if r["ratio_low"] > 1]
    lines = [f"summary: {len(table)} benchmarks in {len(groups)} comparison{'s' if len(groups) > 1 else ''} ({where}; "
             f"{', '.join(f'{size:,}' for size in sizes)} sessions)",
             f"against the model as reviewed ({'/'.join(BASELINE.as_dict().values())}): {len(faster)} faster, "
             f"{len(slower)} slower, {len(compared) - len(faster) - len(slower)} not told apart (~)"]
    mine = [r for r in compared if r["variant"] == RECOMMENDED.label]
    if mine:
        lines.append(f"recommended ({'/'.join(RECOMMENDED.as_dict().values())}): faster on "
                     f"{sum(r in faster for r in mine)} of {len(mine)} comparisons, slower on "
                     f"{sum(r in slower for r in mine)}")
    if faster:
        best = min(faster, key=lambda r: r["ratio"])
        lines.append(f"largest gain: {best['workload']} {best['param'] or ''} {short_label(best['variant'])} "
                     f"{ratio_cell(best).strip()} x baseline".replace("  ", " "))
    if slower:
        worst = max(slower, key=lambda r: r["ratio"])
        lines.append(f"largest loss: {worst['workload']} {worst['param'] or ''} {short_label(worst['variant'])} "
                     f"{ratio_cell(worst).strip()} x baseline".replace("  ", " "))
    return lines


OPTIONAL = ("client cpu ms", "server ms")  # left out, in this order, when the table is wider than the terminal


def table_lines(table: list[dict], width: int) -> list[str]:
    """The summary table, grouped by workload and parameter, no wider than `width` where it can be."""
    multi_image = len({r["image"] for r in table}) > 1
    multi_rtt = len({r["rtt_ms"] for r in table}) > 1
    multi_data = len({_data_cell(r) for r in table}) > 1
    header = ["workload / variant", "statements", "median ms", "server ms", "client cpu ms",
              "x baseline [95% interval]"]
    if multi_data:
        header.insert(1, "sessions")
    groups: dict[str, list[list[str]]] = {}
    for r in table:
        where = (f" image={r['image']}" if multi_image else "") + (f" rtt={r['rtt_ms'] or 0:g}ms" if multi_rtt else "")
        cells = ["  " + short_label(r["variant"]), str(r["statements"]), _ms(r["median_s"]),
                 _ms(r.get("server_exec_s")), _ms(r.get("client_cpu_s")), ratio_cell(r)]
        if multi_data:
            cells.insert(1, _data_cell(r))
        groups.setdefault(f"{r['workload']} {r['param'] or ''}".rstrip() + where, []).append(cells)
    rows = [cells for members in groups.values() for cells in members]

    def widths(columns):
        return [max(len(header[i]), *(len(c[i]) for c in rows)) for i in columns]

    columns = list(range(len(header)))
    for name in OPTIONAL:
        if sum(widths(columns)) + 2 * (len(columns) - 1) <= width:
            break
        columns.remove(header.index(name))
    sized = widths(columns)
    over = sum(sized) + 2 * (len(sized) - 1) - width
    if over > 0:  # still too wide: the variant's name gives way, never a number
        sized[0] = max(len(header[0]), sized[0] - over)

    def fmt(cells):
        out = []
        for i, w in zip(columns, sized):
            text = cells[i] if len(cells[i]) <= w else cells[i][:w - 3] + "..."
            out.append(text.ljust(w) if i == 0 or header[i] == "sessions" else text.rjust(w))
        return "  ".join(out).rstrip()

    lines = [fmt(header), "  ".join("-" * w for w in sized)]
    for name, members in groups.items():
        lines.append(name)
        lines.extend(fmt(cells) for cells in members)
    if len(columns) < len(header):
        lines.append(f"({', '.join(h for i, h in enumerate(header) if i not in columns)} left out to fit "
                     f"{width} columns; the report has them)")
    lines.append("~ : the interval includes 1: this run cannot tell it from the baseline")
    return lines


def print_summary(doc: dict, *, quiet: bool = False, width: int | None = None) -> None:
    """Headline facts first, then (unless `quiet`) the table fitted to the terminal, then the notes."""
    table = summary_rows(doc)
    width = width or shutil.get_terminal_size().columns
    for line in headline(table):
        print(textwrap.fill(line, width, subsequent_indent="  "))
    if not quiet and table:
        print()
        print("\n".join(table_lines(table, width)))
    from bench.report.concurrency import print_load_summary  # the --clients rows, a table of their own

    print_load_summary(doc)
    meta = run_info(doc)
    load, trials = meta.get("load") or {}, meta.get("trials") or {}
    if load.get("noisy"):
        print(f"note: the machine was busy during this run (other processes used {load.get('other_cpu_share', 0):.0%} "
              f"of its CPU, steal {load.get('steal_share', 0):.1%}): small differences may not repeat")
        held = meta.get("priority")  # a results file from elsewhere may hold anything here
        if isinstance(held, dict) and held.get("raised") is False:
            print("note: the run's priority could not be raised above the other processes (needs root or "
                  "CAP_SYS_NICE), so they competed with it on equal terms (bench/measure/priority.py)")
        elif isinstance(held, dict) and held.get("backend_groups_raised") is False:
            print("note: the server backends' session groups could not be raised (needs root or CAP_SYS_NICE), "
                  "so a busy process could take half their CPU (bench/measure/priority.py)")
    if trials.get("disturbed"):
        print(f"note: {trials['disturbed']} trial(s) were discarded because autovacuum or a checkpoint ran inside them")
    limited = [r for r in table if r.get("budget_limited")]
    if limited:
        print(f"note: {len(limited)} case(s) ran fewer rounds or trials than asked, to stay within --case-budget "
              f"(their rows say budget_limited): {', '.join(sorted({r['workload'] for r in limited}))}")
    for size in data_sizes(doc):  # read through results: a file from elsewhere may hold anything here
        if size.get("fits_in_shared_buffers") is False and size.get("sessions") is not None:
            detail = ", ".join(part for part in (
                f"{size['syncing']} syncing" if size.get("syncing") else "",
                f"{size['nodes_per_session']} nodes each" if size.get("nodes_per_session") else "") if part)
            where = f"{size.get('sessions'):,} sessions" + (f" ({detail})" if detail else "")
            print(f"note: at {where} the data ({(size.get('data_bytes') or 0) / 2**20:,.0f} MiB) "
                  f"exceeds shared_buffers ({(size.get('shared_buffers_bytes') or 0) / 2**20:,.0f} MiB): "
                  "reads there come from the OS cache or disk")
