"""The table `sessionbench run` ends with: counts, medians and the ratio to baseline with its interval.

The ratio comes from the run's trials: each variant measured beside the baseline in the same
trial, so load that came and went fell on both (bench.trials). A ratio whose interval includes 1
is marked "~": the run cannot tell it from no difference.
"""

from __future__ import annotations

from bench.results import data_sizes, rows, under_load


def summary_rows(doc: dict) -> list[dict]:
    return sorted((r for r in rows(doc) if not under_load(r)), key=lambda r: (str(r["image"]), r["rtt_ms"] or 0, r["workload"], r["param"],
                                            str(r.get("syncing")), r.get("nodes_per_session") or 0,
                                            r.get("sessions") or 0, r["variant"] != "baseline", r["variant"]))


def _data_cell(row: dict) -> str:
    nodes = f" x{row['nodes_per_session']} nodes" if row.get("nodes_per_session") else ""
    return f"{row.get('sessions') or 0:,} ({row.get('syncing') or '-'} syncing){nodes}"


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.3f}"


def ratio_cell(row: dict) -> str:
    ratio, low, high = row.get("ratio"), row.get("ratio_low"), row.get("ratio_high")
    if ratio is None:
        return "-"
    if row["variant"] == "baseline":
        return "1"
    if low is None or high is None:  # one trial (a case over --case-budget): no spread to take an interval from
        return f"{ratio:.2f} [no interval: 1 trial]"
    unclear = "~" if low <= 1 <= high else " "
    return f"{ratio:.2f} [{low:.2f}-{high:.2f}]{unclear}"


def print_summary(doc: dict) -> None:
    table = summary_rows(doc)
    multi_image = len({r["image"] for r in table}) > 1
    multi_rtt = len({r["rtt_ms"] for r in table}) > 1
    multi_data = len({_data_cell(r) for r in table}) > 1
    header = ["workload", "param", "variant", "statements", "median ms", "server ms", "client cpu ms",
              "x baseline [95% interval]"]
    if multi_data:
        header.insert(3, "sessions")
    if multi_rtt:
        header.insert(0, "rtt ms")
    if multi_image:
        header.insert(0, "image")
    lines = []
    for r in table:
        cells = [r["workload"], r["param"] or "-", r["variant"], str(r["statements"]), _ms(r["median_s"]),
                 _ms(r.get("server_exec_s")), _ms(r.get("client_cpu_s")), ratio_cell(r)]
        if multi_data:
            cells.insert(3, _data_cell(r))
        if multi_rtt:
            cells.insert(0, f"{r['rtt_ms']:g}")
        if multi_image:
            cells.insert(0, str(r["image"]))
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(header)]
    numeric = {"statements", "median ms", "server ms", "client cpu ms", "x baseline [95% interval]", "rtt ms"}

    def fmt(cells):
        return "  ".join(c.rjust(w) if h in numeric else c.ljust(w) for c, w, h in zip(cells, widths, header))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for cells in lines:
        print(fmt(cells))
    print("~ : the interval includes 1, so this run cannot tell the variant from the baseline")
    from bench.concurrency_report import print_load_summary  # the --clients rows, a table of their own

    print_load_summary(doc)
    meta = doc["sessionbench"]
    load, trials = meta.get("load") or {}, meta.get("trials") or {}
    if load.get("noisy"):
        print(f"note: the machine was busy during this run (other processes used {load.get('other_cpu_share', 0):.0%} "
              f"of its CPU, steal {load.get('steal_share', 0):.1%}): small differences may not repeat")
        held = meta.get("priority")  # a results file from elsewhere may hold anything here
        if isinstance(held, dict) and held.get("raised") is False:
            print("note: the run's priority could not be raised above the other processes (needs root or "
                  "CAP_SYS_NICE), so they competed with it on equal terms (bench/priority.py)")
        elif isinstance(held, dict) and held.get("backend_groups_raised") is False:
            print("note: the server backends' session groups could not be raised (needs root or CAP_SYS_NICE), "
                  "so a busy process could take half their CPU (bench/priority.py)")
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
