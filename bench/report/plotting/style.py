"""The one look every chart shares: a fixed colour and marker per variant, legend names, number
labels, and figures written out as PNG (Agg, no pyplot)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.analysis.units import MS, ms, size  # noqa: F401 - the charts' number labels
from bench.report.layout import not_measured_line
from models_variants import AXES, BASELINE
from models_variants import labels

# Okabe & Ito's colour-blind-safe palette. The reviewed baseline is always black; within an
# axis the alternatives take the palette in the order their axis module declares them, so no chart
# shows a colour twice and a new axis value gets its colour without an entry here.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442"]
COLOURS = {labels.BASELINE: "#000000", **{
    f"{axis.name}={value}": PALETTE[index % len(PALETTE)]
    for axis in AXES.values() for index, value in enumerate(list(axis.values)[1:])}}
MARKERS = {"#000000": "o", "#0072B2": "s", "#E69F00": "^", "#009E73": "D", "#CC79A7": "v", "#D55E00": "P"}
# Variants from a full grid ("loading=joined,deletion=soft") get a colour derived from the label.
_SPARE = ["#D55E00", "#56B4E9", "#F0E442", "#999999", "#882255", "#44AA99"]
DPI = 110


def colour(variant: str) -> str:
    if variant in COLOURS:
        return COLOURS[variant]
    digest = int(hashlib.sha1(variant.encode()).hexdigest(), 16)
    return _SPARE[digest % len(_SPARE)]


def name(variant: str, axis: str | None = None) -> str:
    """Legend text: the axis value ("selectin"), the baseline as "lazy (baseline)"."""
    if variant == labels.BASELINE:
        return f"{getattr(BASELINE, axis)} (baseline)" if axis else labels.BASELINE
    if "," not in variant and "=" in variant:
        return plain(variant.split("=", 1)[1])
    return plain(variant)


def marker_style(variant: str) -> dict:
    shade = colour(variant)
    return {"color": shade, "marker": MARKERS.get(shade, "o")}


def save(fig: Figure, out_dir: str | Path | None, name_: str) -> Path | None:
    """Write `<out_dir>/<name>.png`; nothing when out_dir is None (interactive use)."""
    if out_dir is None:
        return None
    path = Path(out_dir) / f"{name_}.png"
    # One level only: a report removed while its kernel still draws must not be re-created.
    path.parent.mkdir(exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def missing(fig: Figure) -> str | None:
    """What a chart could not draw, when none of its panels was measured (`axes.not_measured`): "growth of
    dashboard (one size measured: run with --sessions ...)". None when any panel has data."""
    found = [getattr(ax, "sessionbench_missing", None) for ax in fig.axes]
    return "; ".join(dict.fromkeys(found)) if found and all(found) else None


def publish(fig: Figure, out_dir: str | Path | None, name_: str):
    """Save the chart and return it as a PNG image, so a notebook cell shows it under any backend. A
    chart with nothing measured is one line naming what is missing and how to measure it, and no file."""
    from IPython.display import Image, Markdown

    what = missing(fig)
    if what is not None:
        return Markdown(not_measured_line(what))
    save(fig, out_dir, name_)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return Image(data=buffer.getvalue(), format="png", alt=describe(fig))


def describe(fig: Figure) -> str:
    """Alt text for a chart: each panel's title (its finding) and what its axes measure."""
    parts = []
    for ax in fig.axes:
        title = " ".join(ax.get_title(loc=where) for where in ("left", "center")).split()
        axes = [label for label in (ax.get_xlabel(), ax.get_ylabel()) if label]
        if title or axes:
            parts.append(" ".join(title) + (f" (chart of {' against '.join(reversed(axes))})" if axes else ""))
    text = "; ".join(parts).replace("$", "").replace("\\", "")
    return text or "chart"


def plain(text) -> str:
    """A results string made safe for chart text: `$` would start mathtext (and can fail to draw)."""
    return str(text).replace("$", r"\$")
