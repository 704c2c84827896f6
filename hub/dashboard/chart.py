"""Stacked bar charts as plain geometry for an SVG drawn by a template on the server:
no chart library and no script, so the page works under the strict CSP and offline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 40, 40, 10
SERIES_COLOURS = 8  # .series-0 ... .series-7 in dashboard.css


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass
class Chart:
    """What the template draws: bars, axis labels and the legend."""

    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    legend: list[tuple[int, str]] = field(default_factory=list)
    empty: bool = True


def stacked(
    categories: Sequence[str],
    series: Sequence[str],
    values: Mapping[tuple[str, str], int],
    labels: Mapping[str, str] | None = None,
) -> Chart:
    """One bar per category, stacked by series; `values[(category, series)]`."""
    chart = Chart(legend=[(i % SERIES_COLOURS, name) for i, name in enumerate(series)])
    totals = [sum(values.get((c, s), 0) for s in series) for c in categories]
    top = _nice_max(max(totals, default=0))
    plot_h, plot_w = HEIGHT - BOTTOM - TOP, WIDTH - LEFT
    step = plot_w / max(1, len(categories))
    chart.y_ticks = [(TOP + plot_h - plot_h * t / 4, round(top * t / 4)) for t in range(5)]
    for index, category in enumerate(categories):
        x, base = LEFT + index * step + step * 0.15, TOP + plot_h
        for number, name in enumerate(series):
            value = values.get((category, name), 0)
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            title = f"{(labels or {}).get(category, category)} · {name}: {value}"
            chart.bars.append(Bar(x, base, step * 0.7, height, number % SERIES_COLOURS, title))
        chart.x_labels.append((x + step * 0.35, (labels or {}).get(category, category)))
    chart.empty = not chart.bars
    return chart


def _nice_max(value: int) -> int:
    """A round number at or above `value` for the top of the axis (at least 4)."""
    if value <= 4:
        return 4
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return int(math.ceil(factor * magnitude / 4) * 4)
    return value
