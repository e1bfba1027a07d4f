"""Geometry of the dashboard's SVG charts, computed on the server (pure: numbers in, rectangles out).

Templates draw what these functions return; each chart also goes out as a table of its numbers, so the page
reads the same without the picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 48
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 36
LABEL_WIDTH = 180  # horizontal bar charts: room for the names


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass
class Chart:
    """An SVG chart: its size, its bars, axis labels and horizontal grid lines (y positions with labels)."""

    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    x_labels: list[Label] = field(default_factory=list)
    y_labels: list[Label] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    plot_left: float = MARGIN_LEFT
    plot_right: float = WIDTH - MARGIN_RIGHT
    plot_bottom: float = HEIGHT - MARGIN_BOTTOM

    @property
    def empty(self) -> bool:
        return not any(rect.height > 0 or rect.width > 0 for rect in self.rects)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (1 for nothing)."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def column_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    maximum: float | None = None,
    unit: str = "",
    label_every: int = 1,
) -> Chart:
    """Stacked columns: one column per category, one segment per series (name, colour, values)."""
    chart = Chart(width=WIDTH, height=HEIGHT)
    chart.legend = [(name, colour) for name, colour, _ in series]
    totals = [sum(values[index] for _, _, values in series) for index in range(len(categories))]
    top = maximum if maximum is not None else nice_ceiling(max(totals, default=0))
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    slot = plot_width / max(len(categories), 1)
    bar_width = max(2.0, slot * 0.7)
    for fraction in (0, 0.5, 1):
        y = MARGIN_TOP + plot_height * (1 - fraction)
        chart.y_labels.append(Label(MARGIN_LEFT - 6, y, _short(top * fraction) + unit))
    for index, category in enumerate(categories):
        x = MARGIN_LEFT + slot * index + (slot - bar_width) / 2
        base = MARGIN_TOP + plot_height
        for name, colour, values in series:
            value = values[index]
            height = plot_height * (value / top) if top else 0
            if value:
                base -= height
                chart.rects.append(
                    Rect(
                        round(x, 1),
                        round(base, 1),
                        round(bar_width, 1),
                        round(height, 1),
                        colour,
                        f"{category}: {name} {value:g}{unit}",
                    )
                )
        if index % max(label_every, 1) == 0:
            chart.x_labels.append(Label(round(x + bar_width / 2, 1), HEIGHT - MARGIN_BOTTOM + 16, category))
    return chart


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, colour: str = "blue", unit: str = ""
) -> Chart:
    """Horizontal bars, one per label, longest scale first as given."""
    row = 24
    height = max(row * len(labels) + MARGIN_TOP + 24, 60)
    chart = Chart(width=WIDTH, height=height, plot_left=LABEL_WIDTH, plot_bottom=height - 20)
    top = nice_ceiling(max(values, default=0))
    plot_width = WIDTH - LABEL_WIDTH - MARGIN_RIGHT - 48
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN_TOP + row * index
        width = plot_width * (value / top) if top else 0
        chart.rects.append(
            Rect(LABEL_WIDTH, y, round(width, 1), row - 6, colour, f"{label}: {value:g}{unit}")
        )
        chart.y_labels.append(Label(LABEL_WIDTH - 6, y + (row - 6) / 2, label))
        chart.x_labels.append(
            Label(round(LABEL_WIDTH + width + 4, 1), y + (row - 6) / 2, f"{_short(value)}{unit}")
        )
    return chart
