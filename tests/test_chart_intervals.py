"""Every chart drawn from a real run shows the interval its title names: each error bar is the 95%
interval of its median over the trials (bench.results.median_interval_of), and a chart with error bars
says so in its title."""

import math

import matplotlib.container
import pytest

from bench.analysis.units import MS
from bench.report import plotting
from bench.report.plotting.axes import BARS
from bench.results import load
from tests.test_notebooks import small_run  # noqa: F401 - the shared session fixture


def _intervals(df) -> list[tuple[float, float, float]]:
    """(median, low, high) in ms of every row and of every pooled group a chart can draw, as the bars
    clip them (never below 0 around the median)."""
    found = []
    for _, row in df.iterrows():
        median, low, high = (row.get(c) for c in ("median_s", "median_low_s", "median_high_s"))
        if median is None or (isinstance(median, float) and math.isnan(median)):
            continue
        if low is None or high is None or math.isnan(low) or math.isnan(high):
            low = high = median
        found.append((median * MS, min(low, median) * MS, max(high, median) * MS))
    return found


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _bars(ax):
    """(value, low, high) of every vertical and horizontal error bar on the panel."""
    for container in ax.containers:
        if not isinstance(container, matplotlib.container.ErrorbarContainer):
            continue
        for collection in container.lines[2]:
            for segment in collection.get_segments():
                if len(segment) != 2:  # a case with no value (n/a) has no bar
                    continue
                (x0, y0), (x1, y1) = segment
                yield ("y", x0, y0, y1) if _close(x0, x1) else ("x", y0, x0, x1)


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(plotting.CHARTS))
def test_error_bars_are_the_interval_the_title_names(name, small_run):  # noqa: F811
    df = load([small_run])
    fig = plotting.CHARTS[name](df)
    known = _intervals(df)
    assert known
    for ax in fig.axes:
        bars = list(_bars(ax))
        if not bars:
            continue
        assert BARS in ax.get_title(loc="left").replace("\n", " "), f"{name}: error bars its title does not name"
        for _, _, low, high in bars:
            # Each bar spans a real case's median interval (of the run, as drawn).
            assert any(_close(low, lo) and _close(high, hi) for _, lo, hi in known), (name, low, high)
