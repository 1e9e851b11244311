"""The table `sessionbench run` ends with: counts, medians and the ratio to baseline, side by side."""

from __future__ import annotations

from bench.results import rows


def summary_rows(doc: dict) -> list[dict]:
    table = rows(doc)
    baseline = {(r["workload"], r["param"], r["image"], r["rtt_ms"]): r["median_s"]
                for r in table if r["variant"] == "baseline"}
    for row in table:
        base = baseline.get((row["workload"], row["param"], row["image"], row["rtt_ms"]))
        row["ratio"] = row["median_s"] / base if base and row["median_s"] is not None else None
    return sorted(table, key=lambda r: (str(r["image"]), r["rtt_ms"] or 0, r["workload"], r["param"], r["variant"]))


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.3f}"


def print_summary(doc: dict) -> None:
    table = summary_rows(doc)
    multi_image = len({r["image"] for r in table}) > 1
    multi_rtt = len({r["rtt_ms"] for r in table}) > 1
    header = ["workload", "param", "variant", "statements", "median ms", "p95 ms", "x baseline"]
    if multi_rtt:
        header.insert(0, "rtt ms")
    if multi_image:
        header.insert(0, "image")
    lines = []
    for r in table:
        cells = [r["workload"], r["param"] or "-", r["variant"], str(r["statements"]), _ms(r["median_s"]),
                 _ms(r["p95_s"]), "-" if r["ratio"] is None else f"{r['ratio']:.2f}"]
        if multi_rtt:
            cells.insert(0, f"{r['rtt_ms']:g}")
        if multi_image:
            cells.insert(0, str(r["image"]))
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(header)]
    numeric = {"statements", "median ms", "p95 ms", "x baseline", "rtt ms"}
    def fmt(cells):
        return "  ".join(c.rjust(w) if h in numeric else c.ljust(w) for c, w, h in zip(cells, widths, header))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for cells in lines:
        print(fmt(cells))
