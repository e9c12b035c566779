"""The HTML report's charts as inline SVG: the consumer × symbol heatmap, the "stabilise
these first" ranking and the per-library panels.

Every label gets its own room: text widths are estimated generously (``text_px``), rows are
taller than their font, vertical column labels are one column apart, the SVG is as large as
its outermost label (nothing is clipped), and two quantities of different sizes (consumers
1–6, symbols up to 471) get separate scales with their values written on the bars.
tests/render/test_report_html.py measures every label's box in Chromium. Names go through
:func:`abiguard.demangle.display`; the tooltips keep the raw names.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from ..demangle import display
from .svg import FONT, PALETTE, nice_ticks

if TYPE_CHECKING:
    from ..census.aggregate import Aggregate

MAX_ROWS = 80
MAX_COLS = 60
MAX_BARS = 30
STAB_COLOUR = {"unstable": "#D55E00", "private": "#CC79A7"}


def esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def text_px(s: str, size: float) -> float:
    """A generous estimate of the width of ``s`` in a sans-serif font of ``size`` px."""
    wide = sum(1 for ch in s if ch.isupper() or ch in "mwMW@_")
    return (len(s) * 0.58 + wide * 0.12) * size + 2


def group_colour(gid: int | None) -> str:
    if not gid:
        return "#9a9a9a"
    return PALETTE[(gid - 1) % (len(PALETTE) - 2)]  # skip black and yellow for contrast


def _open(width: float, height: float, cls: str, title: str, size: int = 12) -> list[str]:
    w, h = math.ceil(width), math.ceil(height)
    return [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
             f'height="{h}" role="img" {FONT} font-size="{size}" class="chart {cls}">'),
            f"<title>{esc(title)}</title>", f'<rect width="{w}" height="{h}" fill="#ffffff"/>']


def heatmap_svg(agg: Aggregate) -> str:
    """The consumer × symbol matrix: rows most-affected first, columns in ranking order,
    vertical column labels, a strip above the columns coloured by co-use group; every cell
    has a tooltip."""
    rows = agg.rows[:MAX_ROWS]
    cols = agg.symbols[:MAX_COLS]
    if not rows or not cols:
        return '<p class="empty">No consumer imports an unstable or private symbol.</p>'
    font = 11
    col_w = 22 if len(cols) <= 30 else 16
    row_h = 22 if len(rows) <= 30 and len(cols) <= 30 else 16
    labels = [short(display(s.symbol), 40) for s in cols]
    names = [short(r, 44) for r in rows]
    row_w = 10 + max(text_px(n, font) for n in names)
    col_h = 8 + max(text_px(lab, font) for lab in labels)
    x0, y0 = row_w + 6, col_h + 16
    width = x0 + col_w * len(cols) + 12
    height = y0 + row_h * len(rows) + 10
    vmax = max(agg.matrix.values()) if agg.matrix else 1
    out = _open(width, height, "heatmap-svg",
                "Unstable/private symbols (columns) imported by each consumer (rows)", font)
    for j, (s, lab) in enumerate(zip(cols, labels)):
        x = x0 + j * col_w + col_w / 2 + font * 0.35  # the glyphs sit left of the baseline
        y = col_h
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" transform="rotate(-90 {x:.1f} {y:.1f})" '
                   f'fill="#333">{esc(lab)}'
                   f"<title>{esc(s.label)} — rank {s.rank}, {len(s.consumers)} consumer(s)"
                   f"</title></text>")
        out.append(f'<rect x="{x0 + j * col_w:.1f}" y="{col_h + 6:.1f}" width="{col_w - 1}" '
                   f'height="6" fill="{group_colour(s.group)}"><title>'
                   f'{"group G" + str(s.group) if s.group else "no co-use group"}</title></rect>')
    for i, (r, name) in enumerate(zip(rows, names)):
        y = y0 + i * row_h
        out.append(f'<text x="{x0 - 6:.1f}" y="{y + row_h / 2 + font * 0.35:.1f}" '
                   f'text-anchor="end" fill="#333">{esc(name)}<title>{esc(r)}</title></text>')
        out.append(f'<rect x="{x0}" y="{y:.1f}" width="{col_w * len(cols)}" '
                   f'height="{row_h - 1}" fill="{"#f4f4f4" if i % 2 else "#fafafa"}"/>')
        for j, s in enumerate(cols):
            w = agg.matrix.get((r, s.key))
            if not w:
                continue
            base = STAB_COLOUR.get(s.stability, "#0072B2")
            alpha = 0.35 + 0.65 * (math.log1p(w) / math.log1p(vmax) if vmax > 1 else 1)
            out.append(f'<rect x="{x0 + j * col_w:.1f}" y="{y:.1f}" width="{col_w - 1}" '
                       f'height="{row_h - 1}" fill="{base}" fill-opacity="{alpha:.2f}">'
                       f"<title>{esc(r)} imports {esc(s.label)}"
                       f"{' (' + esc(', '.join(s.versions)) + ')' if s.versions else ''}"
                       f"{'' if w == 1 else f' — weight {w:g}'}</title></rect>")
    out.append("</svg>")
    note = ""
    if len(agg.rows) > len(rows) or len(agg.symbols) > len(cols):
        note = (f'<p class="note">Showing the {len(rows)} most affected of {len(agg.rows)} '
                f"consumers and the first {len(cols)} of {len(agg.symbols)} symbols by rank; "
                "the ranking below lists every symbol, the CSV/JSON export has the whole "
                "matrix.</p>")
    return "\n".join(out) + note


def ranking_svg(agg: Aggregate) -> str:
    """Horizontal bars: consumers per symbol, in ranking order, coloured by co-use group,
    each with its count, group and known remedy written after it."""
    syms = agg.symbols[:MAX_BARS]
    if not syms:
        return '<p class="empty">Nothing to rank.</p>'
    font = 12
    labels = [short(display(s.symbol), 48) for s in syms]
    ranks = [f"#{s.rank}" for s in syms]
    label_w = max(text_px(lab, font) for lab in labels)
    rank_w = max(text_px(r, font) for r in ranks)
    bar_h, gap = 18, 5
    x0 = 10 + label_w + 8 + rank_w + 8
    y0 = 30
    plot_w = 480
    tags = [f"{len(s.consumers)}" + (f"  G{s.group}" if s.group else "")
            + (f"  {s.remedy}" if s.remedy else "") for s in syms]
    width = x0 + plot_w + 12 + max(text_px(t, font) for t in tags) + 10
    height = y0 + (bar_h + gap) * len(syms) + 28
    top = max(len(s.consumers) for s in syms)
    ticks = nice_ticks(top)
    vmax = ticks[-1] or 1
    out = _open(width, height, "ranking-svg",
                "Stabilise these first: consumers per unstable symbol", font)
    for t in ticks:
        x = x0 + plot_w * t / vmax
        out.append(f'<line x1="{x:.1f}" y1="{y0 - 6}" x2="{x:.1f}" '
                   f'y2="{y0 + (bar_h + gap) * len(syms)}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 - 10}" text-anchor="middle" fill="#555">'
                   f"{int(t) if float(t).is_integer() else t}</text>")
    for i, (s, lab, rank, tag) in enumerate(zip(syms, labels, ranks, tags)):
        y = y0 + i * (bar_h + gap)
        base = y + bar_h / 2 + font * 0.35
        n = len(s.consumers)
        w = plot_w * n / vmax
        out.append(f'<text x="{x0 - 8 - rank_w - 8:.1f}" y="{base:.1f}" text-anchor="end" '
                   f'fill="#222">{esc(lab)}<title>{esc(s.label)}</title></text>')
        out.append(f'<text x="{x0 - 8:.1f}" y="{base:.1f}" text-anchor="end" '
                   f'fill="#777">{rank}</text>')
        consumers = ", ".join(s.consumers[:12]) + (", …" if n > 12 else "")
        out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" '
                   f'fill="{group_colour(s.group)}"><title>{esc(s.label)}: {n} consumer(s)'
                   f" — {esc(consumers)}</title></rect>")
        out.append(f'<text x="{x0 + w + 6:.1f}" y="{base:.1f}" fill="#333">{esc(tag)}</text>')
    out.append(f'<text x="{x0 + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
               f'fill="#555">consumers</text>')
    out.append("</svg>")
    note = ""
    if len(agg.symbols) > len(syms):
        note = (f'<p class="note">The first {len(syms)} of {len(agg.symbols)} symbols; '
                "the ranking table below has every one.</p>")
    return "\n".join(out) + note


def library_svg(libraries: list[dict[str, Any]], limit: int = 20) -> str:
    """One row per library: its name, then consumers and distinct symbols as two bar
    panels, each on its own scale, the value written after each bar."""
    libs = libraries[:limit]
    if not libs:
        return ""
    font = 12
    panels = [("consumers", "consumers", "#0072B2"), ("symbols", "distinct symbols", "#E69F00")]
    names = [short(lib["library"], 44) for lib in libs]
    label_w = max(text_px(n, font) for n in names)
    row_h, bar_h = 24, 16
    x0, y0 = 10 + label_w + 12, 40
    panel_w = 300
    value_w = max(text_px(str(lib[k]), font) for lib in libs for k, _, _ in panels) + 8
    width = x0 + len(panels) * (panel_w + value_w + 24)
    height = y0 + row_h * len(libs) + 10
    out = _open(width, height, "libraries-svg",
                "Consumers and distinct unstable/private symbols per library", font)
    for p, (key, title, colour) in enumerate(panels):
        px = x0 + p * (panel_w + value_w + 24)
        top = max(lib[key] for lib in libs) or 1
        out.append(f'<text x="{px:.1f}" y="{y0 - 16}" font-weight="bold" fill="#333">'
                   f"{esc(title)} (scale 0–{top})</text>")
        out.append(f'<line x1="{px:.1f}" y1="{y0 - 8}" x2="{px:.1f}" '
                   f'y2="{y0 + row_h * len(libs)}" stroke="#bbb"/>')
        for i, lib in enumerate(libs):
            y = y0 + i * row_h
            v = lib[key]
            w = panel_w * v / top
            out.append(f'<rect x="{px:.1f}" y="{y + (row_h - bar_h) / 2:.1f}" '
                       f'width="{max(w, 1):.1f}" height="{bar_h}" fill="{colour}"><title>'
                       f"{esc(lib['library'])}: {v} {esc(title)}</title></rect>")
            out.append(f'<text x="{px + w + 5:.1f}" y="{y + row_h / 2 + font * 0.35:.1f}" '
                       f'fill="#333">{v}</text>')
    for i, (lib, name) in enumerate(zip(libs, names)):
        y = y0 + i * row_h
        out.append(f'<text x="{x0 - 12:.1f}" y="{y + row_h / 2 + font * 0.35:.1f}" '
                   f'text-anchor="end" fill="#222">{esc(name)}<title>{esc(lib["library"])}'
                   "</title></text>")
    out.append("</svg>")
    note = ""
    if len(libraries) > len(libs):
        note = (f'<p class="note">The {len(libs)} libraries with the most consumers of '
                f"{len(libraries)}; the table has every one.</p>")
    return "\n".join(out) + note


__all__ = ["MAX_BARS", "MAX_COLS", "MAX_ROWS", "esc", "group_colour", "heatmap_svg",
           "library_svg", "ranking_svg", "short", "text_px"]
