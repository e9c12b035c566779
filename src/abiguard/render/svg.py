"""Small standalone SVG charts (bar and line), no dependencies, no scripts, no external fonts.

The output is one ``<svg xmlns=…>`` element that works as a file of its own and inline in an
HTML page (the HTML report reuses it). Sizes are in user units with a ``viewBox`` so the chart
scales; colours come from a fixed, colour-blind-friendly palette (Okabe-Ito); every bar and
point has a ``<title>`` so a browser shows its value on hover.

    bar_chart(["7.2", "10.0"], {"qemu": [16, 18]}, title="unstable symbols")
    line_chart(labels, {"a": [1, 2, 3], "b": [3, None, 1]})   # None: no value (gap)

As an output format (``render(obj, "svg")``): the chart of ``abiguard diff --trend``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from .dispatch import dispatch

if TYPE_CHECKING:
    from ..compare.trend import TrendResult

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""

Number = int | float | None


def _attr(s: str) -> str:
    return escape(str(s), {'"': "&quot;"})


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2, 5 x 10^k steps)."""
    if top <= 0:
        return [0, 1]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if float(top).is_integer():
        step = max(step, 1)  # counts: no fractional ticks
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _frame(width: int, height: int, title: str | None, body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" {FONT} font-size="12">')
    out = [head]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-size="14" '
                   f'font-weight="bold">{escape(title)}</text>')
    out += body
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(labels: Sequence[str], top: float, x0: float, y0: float, plot_w: float,
          plot_h: float, y_label: str | None) -> tuple[list[str], float]:
    """Grid, y ticks, x labels; returns the parts and the value of the highest tick."""
    ticks = nice_ticks(top)
    vmax = ticks[-1] or 1
    parts = []
    for t in ticks:
        y = y0 + plot_h - plot_h * t / vmax
        parts.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x0 + plot_w:.1f}" y2="{y:.1f}" '
                     f'stroke="#dddddd" stroke-width="1"/>')
        parts.append(f'<text x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#333333">{_fmt(t)}</text>')
    parts.append(f'<line x1="{x0:.1f}" y1="{y0 + plot_h:.1f}" x2="{x0 + plot_w:.1f}" '
                 f'y2="{y0 + plot_h:.1f}" stroke="#333333" stroke-width="1"/>')
    n = max(len(labels), 1)
    slot = plot_w / n
    for i, lab in enumerate(labels):
        x = x0 + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{y0 + plot_h + 16:.1f}" text-anchor="middle" '
                     f'fill="#333333">{escape(_short(lab))}<title>{escape(lab)}</title></text>')
    if y_label:
        cy = y0 + plot_h / 2
        parts.append(f'<text x="14" y="{cy:.1f}" text-anchor="middle" fill="#333333" '
                     f'transform="rotate(-90 14 {cy:.1f})">{escape(y_label)}</text>')
    return parts, vmax


def _short(label: str, n: int = 22) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    parts = []
    for k, name in enumerate(names):
        yy = y + 16 * k
        parts.append(f'<rect x="{x:.1f}" y="{yy - 9:.1f}" width="10" height="10" '
                     f'fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14:.1f}" y="{yy:.1f}" fill="#333333">'
                     f'{escape(_short(name, 48))}<title>{escape(name)}</title></text>')
    return parts


def _layout(labels: Sequence[str], series: dict[str, Sequence[Number]], width: int | None,
            height: int) -> tuple[int, float, float, float, float, float]:
    n = max(len(labels), 1)
    legend_h = 16 * len(series) + 8 if len(series) > 1 else 0
    width = width or max(360, min(1200, 90 + n * max(60, 24 * len(series) + 24)))
    x0, y0 = 56.0, 34.0
    plot_w = width - x0 - 16
    plot_h = height - y0 - 28 - legend_h
    top = max([v for vs in series.values() for v in vs if v is not None] or [0])
    return width, x0, y0, plot_w, plot_h, float(top)


def bar_chart(labels: Sequence[str], series: dict[str, Sequence[Number]], *,
              title: str | None = None, y_label: str | None = None, width: int | None = None,
              height: int = 260) -> str:
    """Grouped bars: one group per label, one bar per series; value printed on each bar."""
    width, x0, y0, plot_w, plot_h, top = _layout(labels, series, width, height)
    body, vmax = _axes(labels, top, x0, y0, plot_w, plot_h, y_label)
    n = max(len(labels), 1)
    slot = plot_w / n
    k = max(len(series), 1)
    bar_w = min(48.0, slot * 0.8 / k)
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for i, v in enumerate(values):
            if v is None:
                continue
            h = plot_h * v / vmax
            x = x0 + slot * (i + 0.5) - bar_w * k / 2 + bar_w * s
            y = y0 + plot_h - h
            tip = f"{name} — {labels[i]}: {_fmt(v)}"
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" '
                        f'height="{h:.1f}" fill="{colour}"><title>{escape(tip)}</title></rect>')
            body.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y - 3:.1f}" '
                        f'text-anchor="middle" fill="#333333">{_fmt(v)}</text>')
    if len(series) > 1:
        body += _legend(list(series), x0, height - 16 * len(series) + 4)
    return _frame(width, height, title, body)


def line_chart(labels: Sequence[str], series: dict[str, Sequence[Number]], *,
               title: str | None = None, y_label: str | None = None, width: int | None = None,
               height: int = 260) -> str:
    """One line per series over the labels; None values leave a gap."""
    width, x0, y0, plot_w, plot_h, top = _layout(labels, series, width, height)
    body, vmax = _axes(labels, top, x0, y0, plot_w, plot_h, y_label)
    n = max(len(labels), 1)
    slot = plot_w / n
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        segment: list[str] = []
        points = []
        for i, v in enumerate(values):
            if v is None:
                if len(segment) > 1:
                    body.append(_polyline(segment, colour))
                segment = []
                continue
            x = x0 + slot * (i + 0.5)
            y = y0 + plot_h - plot_h * v / vmax
            segment.append(f"{x:.1f},{y:.1f}")
            points.append((x, y, f"{name} — {labels[i]}: {_fmt(v)}", v))
        if len(segment) > 1:
            body.append(_polyline(segment, colour))
        for x, y, tip, v in points:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                        f'<title>{escape(tip)}</title></circle>')
            if len(series) == 1:
                body.append(f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" '
                            f'fill="#333333">{_fmt(v)}</text>')
    if len(series) > 1:
        body += _legend(list(series), x0, height - 16 * len(series) + 4)
    return _frame(width, height, title, body)


def _polyline(points: list[str], colour: str) -> str:
    return (f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="2"/>')




def trend_svg(result: TrendResult, **_: Any) -> str:
    """The chart of a trend: bars for one consumer, lines for several."""
    series: dict[str, Sequence[Number]] = {r.consumer: list(r.counts) for r in result.rows}
    title = "Unstable/private symbols per version"
    if len(series) == 1:
        title = f"{os.path.basename(result.rows[0].consumer)}: {title[0].lower()}{title[1:]}"
        return bar_chart(list(result.labels), series, title=title,
                         y_label="unstable/private symbols")
    return line_chart(list(result.labels), series, title=title,
                      y_label="unstable/private symbols")


RENDERERS: dict[str, str] = {
    "abiguard.compare.trend.TrendResult": "abiguard.render.svg:trend_svg",
}


def render(obj: Any, **options: Any) -> str:
    return dispatch(RENDERERS, "svg", obj, **options)


__all__ = ["PALETTE", "RENDERERS", "bar_chart", "line_chart", "nice_ticks", "render", "trend_svg"]
