"""The HTML report: one self-contained file (inline CSS, inline SVG charts, a few lines of
inline script; nothing is loaded from anywhere when it is viewed).

Sections (element ids): ``summary``, ``heatmap`` (consumer × symbol matrix, inline SVG),
``ranking`` (stabilise-these-first bar chart, inline SVG), ``libraries``, ``groups`` (co-use
groups), ``consumers`` (drill-down per consumer; with the migration plan when the input is a
plan), ``failures``. Charts use the palette and helpers of :mod:`abiguard.render.svg`.

``render(obj)`` accepts an :class:`~abiguard.census.aggregate.Aggregate`, an Audit or a Plan.
"""

from __future__ import annotations

import html
import math
import zlib
from collections import defaultdict
from typing import Any

from .svg import FONT, PALETTE, bar_chart, nice_ticks

MAX_ROWS = 80
MAX_COLS = 150
MAX_BARS = 30
STAB_COLOUR = {"unstable": "#D55E00", "private": "#CC79A7"}


def esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _slug(s: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in s)
    return "c-" + out.strip("-")[:80] + f"-{zlib.crc32(s.encode()) % 10**6}"


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def group_colour(gid: int | None) -> str:
    if not gid:
        return "#9a9a9a"
    return PALETTE[(gid - 1) % (len(PALETTE) - 2)]  # skip black and yellow for contrast


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def heatmap_svg(agg) -> str:
    """The consumer × symbol matrix: rows most-affected first, columns in ranking order,
    a strip above the columns coloured by co-use group; every cell has a tooltip."""
    rows = agg.rows[:MAX_ROWS]
    cols = agg.symbols[:MAX_COLS]
    if not rows or not cols:
        return '<p class="empty">No consumer imports an unstable or private symbol.</p>'
    cell = 22 if len(cols) <= 30 and len(rows) <= 30 else 14 if len(cols) <= 80 else 10
    row_w = min(300, 12 + 6.6 * max(len(_short(r, 44)) for r in rows))
    col_h = min(260, 14 + 6.2 * max(len(_short(c.symbol, 40)) for c in cols))
    x0, y0 = row_w, col_h + 14
    angle = -60 if cell > 14 else -90  # dense columns: vertical labels do not overlap
    font = 11 if cell > 10 else 9
    width = int(x0 + cell * len(cols) + 60)
    height = int(y0 + cell * len(rows) + 30)
    vmax = max(agg.matrix.values()) if agg.matrix else 1
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" {FONT} font-size="11" '
           f'class="chart heatmap-svg">'),
           "<title>Unstable/private symbols (columns) imported by each consumer (rows)</title>",
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    for j, s in enumerate(cols):
        x = x0 + j * cell + cell / 2
        out.append(f'<text x="{x + (cell / 3 if angle == -90 else 0):.1f}" y="{col_h:.1f}" '
                   f'transform="rotate({angle} {x:.1f} {col_h:.1f})" font-size="{font}" '
                   f'fill="#333">{esc(_short(s.symbol, 40))}'
                   f"<title>{esc(s.label)} — rank {s.rank}, {len(s.consumers)} consumer(s)"
                   f"</title></text>")
        out.append(f'<rect x="{x0 + j * cell:.1f}" y="{col_h + 4:.1f}" width="{cell - 1}" '
                   f'height="6" fill="{group_colour(s.group)}"><title>'
                   f'{"group G" + str(s.group) if s.group else "no co-use group"}</title></rect>')
    for i, r in enumerate(rows):
        y = y0 + i * cell
        out.append(f'<text x="{x0 - 6:.1f}" y="{y + cell - 3:.1f}" text-anchor="end" '
                   f'fill="#333">{esc(_short(r, 44))}<title>{esc(r)}</title></text>')
        out.append(f'<rect x="{x0}" y="{y:.1f}" width="{cell * len(cols)}" height="{cell - 1}" '
                   f'fill="{"#f4f4f4" if i % 2 else "#fafafa"}"/>')
        for j, s in enumerate(cols):
            w = agg.matrix.get((r, s.key))
            if not w:
                continue
            base = STAB_COLOUR.get(s.stability, "#0072B2")
            alpha = 0.35 + 0.65 * (math.log1p(w) / math.log1p(vmax) if vmax > 1 else 1)
            out.append(f'<rect x="{x0 + j * cell:.1f}" y="{y:.1f}" width="{cell - 1}" '
                       f'height="{cell - 1}" fill="{base}" fill-opacity="{alpha:.2f}">'
                       f"<title>{esc(r)} imports {esc(s.label)}"
                       f"{' (' + esc(', '.join(s.versions)) + ')' if s.versions else ''}"
                       f"{'' if w == 1 else f' — weight {w:g}'}</title></rect>")
    out.append("</svg>")
    note = ""
    if len(agg.rows) > len(rows) or len(agg.symbols) > len(cols):
        note = (f'<p class="note">Showing the {len(rows)} most affected of {len(agg.rows)} '
                f"consumers and the first {len(cols)} of {len(agg.symbols)} symbols by rank; "
                "the CSV/JSON export has the whole matrix.</p>")
    return "\n".join(out) + note


def ranking_svg(agg) -> str:
    """Horizontal bars: consumers per symbol, in ranking order, coloured by co-use group."""
    syms = agg.symbols[:MAX_BARS]
    if not syms:
        return '<p class="empty">Nothing to rank.</p>'
    label_w = min(380, 20 + 6.8 * max(len(_short(s.symbol, 40)) + 2 for s in syms))
    bar_h, gap = 18, 5
    x0, y0 = label_w + 40, 30
    plot_w = 520
    width = int(x0 + plot_w + 170)
    height = int(y0 + (bar_h + gap) * len(syms) + 30)
    top = max(len(s.consumers) for s in syms)
    ticks = nice_ticks(top)
    vmax = ticks[-1] or 1
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" {FONT} font-size="12" '
           f'class="chart ranking-svg">'),
           "<title>Stabilise these first: consumers per unstable symbol</title>",
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    for t in ticks:
        x = x0 + plot_w * t / vmax
        out.append(f'<line x1="{x:.1f}" y1="{y0 - 6}" x2="{x:.1f}" '
                   f'y2="{y0 + (bar_h + gap) * len(syms)}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 - 10}" text-anchor="middle" fill="#555">'
                   f"{int(t) if float(t).is_integer() else t}</text>")
    for i, s in enumerate(syms):
        y = y0 + i * (bar_h + gap)
        n = len(s.consumers)
        w = plot_w * n / vmax
        out.append(f'<text x="{x0 - 34:.1f}" y="{y + bar_h - 5}" text-anchor="end" '
                   f'fill="#222">{esc(_short(s.symbol, 40))}<title>{esc(s.label)}</title></text>')
        out.append(f'<text x="{x0 - 6:.1f}" y="{y + bar_h - 5}" text-anchor="end" '
                   f'fill="#777">#{s.rank}</text>')
        consumers = ", ".join(s.consumers[:12]) + (", …" if n > 12 else "")
        out.append(f'<rect x="{x0}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" '
                   f'fill="{group_colour(s.group)}"><title>{esc(s.label)}: {n} consumer(s)'
                   f" — {esc(consumers)}</title></rect>")
        tag = f"{n}" + (f"  G{s.group}" if s.group else "") + (f"  {s.remedy}" if s.remedy
                                                                 else "")
        out.append(f'<text x="{x0 + w + 6:.1f}" y="{y + bar_h - 5}" fill="#333">'
                   f"{esc(tag)}</text>")
    out.append(f'<text x="{x0 + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
               f'fill="#555">consumers</text>')
    out.append("</svg>")
    note = ""
    if len(agg.symbols) > len(syms):
        note = (f'<p class="note">The first {len(syms)} of {len(agg.symbols)} symbols; '
                "all of them are in the ranking table below.</p>")
    return "\n".join(out) + note


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _summary(agg) -> str:
    s = agg.summary()
    top = agg.symbols[0] if agg.symbols else None
    cards = [("consumers", s["consumers"], "scanned" if s["kind"] == "census" else "objects"),
             ("with findings", s["with_findings"], "import unstable/private symbols"),
             ("symbols", s["symbols"], "unstable/private, distinct"),
             ("libraries", s["libraries"], "providing them"),
             ("co-use groups", s["groups"], f"Jaccard ≥ {agg.threshold:g} ({agg.method})"),
             ("failures", s["failed"], "stored with their error")]
    out = ['<div class="cards">']
    for title, value, sub in cards:
        cls = " bad" if title == "failures" and value else ""
        out.append(f'<div class="card{cls}"><div class="v">{esc(value)}</div>'
                   f'<div class="t">{esc(title)}</div><div class="s">{esc(sub)}</div></div>')
    out.append("</div>")
    if top is not None:
        out.append(f"<p>Most used: <code>{esc(top.symbol)}</code> from "
                   f"<code>{esc(top.library)}</code>, imported by {len(top.consumers)} "
                   f"consumer(s). Weights: {esc(s['weights'])}.</p>")
    return "\n".join(out)


def _ranking_table(agg) -> str:
    out = [('<table class="t sortable"><thead><tr><th>rank</th><th>symbol</th><th>library</th>'
           "<th>version</th><th>stability</th><th>consumers</th><th>weight</th><th>group</th>"
           "<th>known remedy</th></tr></thead><tbody>")]
    for s in agg.symbols:
        remedy = esc(s.remedy or "")
        if s.replacements:
            remedy += " → " + ", ".join(f"<code>{esc(r)}</code>" for r in s.replacements[:4])
        out.append(f"<tr><td>{s.rank}</td><td><code>{esc(s.symbol)}</code></td>"
                   f"<td>{esc(s.library)}</td><td>{esc(' '.join(s.versions))}</td>"
                   f'<td><span class="stab {esc(s.stability)}">{esc(s.stability)}</span></td>'
                   f'<td title="{esc(", ".join(s.consumers[:40]))}">{len(s.consumers)}</td>'
                   f"<td>{s.weight:g}</td>"
                   f"<td>{'G' + str(s.group) if s.group else ''}</td><td>{remedy}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _libraries(agg) -> str:
    if not agg.libraries:
        return '<p class="empty">No library provides an unstable/private symbol used here.</p>'
    libs = agg.libraries[:12]
    chart = bar_chart([lib["library"] for lib in libs],
                      {"consumers": [lib["consumers"] for lib in libs],
                       "symbols": [lib["symbols"] for lib in libs]},
                      title="Consumers and distinct symbols per library")
    rows = "".join(f"<tr><td><code>{esc(lib['library'])}</code></td><td>{lib['consumers']}</td>"
                   f"<td>{lib['symbols']}</td><td>{lib['uses']}</td>"
                   f"<td>{esc(', '.join(lib['consumer_names'][:20]))}"
                   f"{' …' if lib['consumers'] > 20 else ''}</td></tr>" for lib in agg.libraries)
    return (f'<div class="chartbox">{chart}</div><table class="t"><thead><tr><th>library</th>'
            "<th>consumers</th><th>symbols</th><th>uses</th><th>consumer names</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _groups(agg) -> str:
    if not agg.groups:
        return (f'<p class="empty">No two symbols are used by similar sets of consumers '
                f"(Jaccard ≥ {agg.threshold:g}).</p>")
    out = [(f"<p>Symbols used by the same (or nearly the same) consumers: candidates for one "
           f"stable API each. Similarity: Jaccard index of the consumer sets, threshold "
           f"{agg.threshold:g}, {esc(agg.method)} grouping. <em>always</em>: every symbol of "
           f"the group has exactly the same consumers.</p>")]
    for g in agg.groups:
        chips = " ".join(f'<code class="chip" title="{esc(lib)}">{esc(sym)}</code>'
                         for lib, sym in g.symbols)
        libs = sorted({lib for lib, _ in g.symbols})
        core = (f"Every symbol of it is used by {len(g.core)}: {esc(', '.join(g.core[:20]))}"
                f"{' …' if len(g.core) > 20 else ''}. " if g.core
                else "No consumer uses all of them. ")
        out.append(f'<div class="group" id="group-{g.id}" style="border-left-color:'
                   f'{group_colour(g.id)}"><h3>G{g.id} <span class="kind">{g.kind} together'
                   f"</span> — {len(g.symbols)} symbols from {esc(', '.join(libs))}</h3>"
                   f"<p>Used by {len(g.consumers)} consumer(s): "
                   f"{esc(', '.join(g.consumers[:30]))}{' …' if len(g.consumers) > 30 else ''}. "
                   f"{core}Jaccard min {g.min_jaccard:.2f}, mean {g.mean_jaccard:.2f}.</p>"
                   f'<div class="chips">{chips}</div></div>')
    return "\n".join(out)


def _plan_html(cp) -> str:
    out = ['<ol class="plan">']
    for step in cp.steps:
        items = []
        for it in step.items:
            ver = "; ".join(f"{esc(v.symbol)}: {esc(v.status)}" for v in it.verifications)
            sites = f", {len(it.call_sites)} call site(s)" if it.call_sites else ""
            items.append(f"<li><code>{esc(it.symbol.name)}</code> — {esc(it.kind)}"
                         f"{' (' + ver + ')' if ver else ''}{sites}</li>")
        out.append(f"<li><strong>{esc(step.title)}</strong> <span class='kind'>"
                   f"{esc(step.kind)}</span><ul>{''.join(items)}</ul></li>")
    out.append("</ol>")
    return "".join(out)


def _consumers(agg, result=None) -> str:
    by_consumer: dict[str, list] = defaultdict(list)
    for cell in agg.data.cells:
        by_consumer[cell.consumer].append(cell)
    plans = {}
    evidence: dict[tuple[str, str], str] = {}
    if result is not None:
        from ..model import Plan

        audit = result.audit if isinstance(result, Plan) else result
        if isinstance(result, Plan):
            plans = {cp.consumer: cp for cp in result.plans}
        for c in audit.consumers:
            for b in c.findings:
                if b.evidence:
                    evidence[(c.display_name, b.symbol.name)] = b.evidence[0].detail
    info = {c.name: c for c in agg.consumers}
    out = [('<p><input id="filter" type="search" placeholder="filter consumers…" '
           'aria-label="filter consumers"> <span id="shown"></span></p><div id="consumer-list">')]
    for name in agg.rows:
        cells = sorted(by_consumer[name], key=lambda c: (c.library, c.symbol))
        c = info.get(name)
        libs = sorted({x.library for x in cells})
        head = (f"<summary><strong>{esc(name)}</strong> {esc(c.version if c else '')} — "
                f"{len(cells)} symbol(s) from {esc(', '.join(libs))}</summary>")
        rows = []
        for x in cells:
            ev = evidence.get((name, x.symbol), "")
            rows.append(f"<tr><td><code>{esc(x.symbol)}</code></td><td>{esc(x.version or '')}"
                        f"</td><td>{esc(x.library)}</td><td><span class='stab "
                        f"{esc(x.stability)}'>{esc(x.stability)}</span></td>"
                        f"<td>{x.weight:g}</td><td>{esc(' '.join(x.objects))}</td>"
                        f"<td class='ev'>{esc(_short(ev, 200))}</td></tr>")
        body = ("<table class='t'><thead><tr><th>symbol</th><th>version</th><th>library</th>"
                "<th>stability</th><th>weight</th><th>objects</th><th>evidence</th></tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table>")
        if name in plans:
            body += "<h4>Migration plan, easy to hard</h4>" + _plan_html(plans[name])
        opened = " open" if len(agg.rows) <= 3 else ""
        out.append(f'<details class="consumer" id="{_slug(name)}" data-name="{esc(name)}"'
                   f"{opened}>{head}{body}</details>")
    out.append("</div>")
    clean = [c.name for c in agg.consumers if c.status == "ok" and c.name not in by_consumer]
    if clean:
        out.append(f"<details><summary>{len(clean)} consumer(s) without unstable/private "
                   f"imports</summary><p class='names'>{esc(', '.join(clean))}</p></details>")
    return "\n".join(out)


def _failures(agg) -> str:
    if not agg.failures:
        return '<p class="empty">None.</p>'
    rows = "".join(f"<tr><td>{esc(c.name)}</td><td>{esc(c.version)}</td><td>{esc(c.arch)}</td>"
                   f"<td>{esc(c.error_kind or '')}</td><td>{esc(c.error or '')}</td></tr>"
                   for c in agg.failures)
    return ("<table class='t'><thead><tr><th>package</th><th>version</th><th>arch</th>"
            f"<th>kind</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>")


CSS = """
:root { --fg:#1d1d1f; --muted:#666; --line:#ddd; --accent:#0072B2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0; background: #fff; }
header { background: #1d2b3a; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d3dd; }
nav { padding: 8px 28px; border-bottom: 1px solid var(--line); background: #f7f7f9;
      position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1600px; }
section { margin-top: 22px; }
h2 { border-bottom: 2px solid var(--line); padding-bottom: 4px; font-size: 19px; }
h3 { font-size: 15px; margin: 4px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 150px;
        background: #fbfbfd; }
.card .v { font-size: 28px; font-weight: 700; color: var(--accent); }
.card.bad .v { color: #D55E00; }
.card .t { font-weight: 600; }
.card .s, .note, .empty { color: var(--muted); font-size: 12px; }
.chartbox { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 6px;
            margin: 8px 0; background: #fff; }
table.t { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
table.t th, table.t td { border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left;
                         vertical-align: top; }
table.t th { background: #f3f4f6; cursor: default; }
td.ev { color: var(--muted); font-size: 12px; max-width: 520px; }
.stab { padding: 0 6px; border-radius: 8px; font-size: 12px; color: #fff; background: #888; }
.stab.unstable { background: #D55E00; } .stab.private { background: #CC79A7; }
.group { border-left: 6px solid #999; padding: 4px 12px; margin: 10px 0; background: #fafafa; }
.group .kind, .plan .kind { font-weight: normal; color: var(--muted); font-size: 12px; }
.chip { display: inline-block; margin: 2px; padding: 1px 6px; background: #eef2f7;
        border-radius: 4px; }
details.consumer { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0;
                   padding: 4px 10px; }
details.consumer[open] { background: #fcfcfd; }
summary { cursor: pointer; }
.names { color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
#filter { padding: 4px 8px; width: 320px; }
footer { color: var(--muted); font-size: 12px; padding: 10px 28px 30px; }
"""

SCRIPT = """
(function () {
  var input = document.getElementById('filter');
  var shown = document.getElementById('shown');
  if (!input) { return; }
  var items = Array.prototype.slice.call(document.querySelectorAll('details.consumer'));
  function update() {
    var q = input.value.toLowerCase();
    var n = 0;
    items.forEach(function (d) {
      var hit = !q || d.getAttribute('data-name').toLowerCase().indexOf(q) >= 0;
      d.style.display = hit ? '' : 'none';
      if (hit) { n += 1; }
    });
    shown.textContent = n + ' of ' + items.length + ' shown';
  }
  input.addEventListener('input', update);
  update();
  document.body.setAttribute('data-ready', 'yes');
})();
"""


def render_report(agg, result=None, title: str | None = None) -> str:
    """The whole page for an aggregate (and, for a scan/plan, the result it came from)."""
    from .. import __version__

    s = agg.summary()
    kind = {"census": "census store", "plan": "migration plan", "scan": "scan result"}.get(
        s["kind"], s["kind"])
    title = title or f"abiguard report — {s['source'] or kind}"
    sections = [
        ("summary", "Summary", _summary(agg)),
        ("heatmap", "Consumers × unstable symbols",
         ('<p>Rows: consumers, most affected first. Columns: symbols in ranking order; the '
         'coloured strip marks co-use groups. Hover for details.</p>'
         f'<div class="chartbox">{heatmap_svg(agg)}</div>')),
        ("ranking", "Stabilise these first",
         ("<p>By number of consumers, then call weight, then co-use (symbols of one group stay "
         "together). A stable replacement for the symbols at the top helps the most consumers."
         f'</p><div class="chartbox">{ranking_svg(agg)}</div>{_ranking_table(agg)}')),
        ("libraries", "Libraries", _libraries(agg)),
        ("groups", "Co-use groups", _groups(agg)),
        ("consumers", "Consumers", _consumers(agg, result)),
        ("failures", "Failures", _failures(agg)),
    ]
    nav = "".join(f'<a href="#{sid}">{esc(h)}</a>' for sid, h, _ in sections)
    body = "\n".join(f'<section id="{sid}"><h2>{esc(h)}</h2>\n{content}\n</section>'
                     for sid, h, content in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{esc(title)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>{esc(title)}</h1><p>{esc(kind)}: {esc(s['source'])} — {s['consumers']} consumer(s),
{s['symbols']} unstable/private symbol(s)</p></header>
<nav>{nav}</nav>
<main>
{body}
</main>
<footer>Generated by abiguard {esc(__version__)}. Self-contained: no external resources.</footer>
<script>{SCRIPT}</script>
</body></html>
"""


def render(obj: Any, *, title: str | None = None, threshold: float = 0.5,
           method: str = "average", **_: Any) -> str:
    from ..census.aggregate import Aggregate, CensusData, aggregate

    if isinstance(obj, Aggregate):
        return render_report(obj, title=title)
    agg = aggregate(CensusData.from_result(obj), threshold=threshold, method=method)
    return render_report(agg, obj, title=title)
