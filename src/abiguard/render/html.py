"""The HTML report: one self-contained file (inline CSS, inline SVG charts, a few lines of
inline script; nothing is loaded from anywhere when it is viewed).

Sections (element ids): ``summary``, ``heatmap`` (consumer × symbol matrix, inline SVG),
``ranking`` (stabilise-these-first bar chart, inline SVG), ``libraries``, ``groups`` (co-use
groups), ``consumers`` (drill-down per consumer; with the migration plan when the input is a
plan), ``internal`` (the packages built from the census's --source-package, listed apart), ``failures``. Charts use the palette and helpers of :mod:`abiguard.render.svg`.

``render(obj)`` accepts a :class:`~abiguard.census.overview.Report`, an
:class:`~abiguard.census.aggregate.Aggregate`, an Audit or a Plan.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any

from .. import __version__
from ..census.aggregate import Aggregate, Cell, CensusData, aggregate
from ..census.overview import OwnLibraries, Report
from ..demangle import display
from ..model import Audit, ConsumerPlan, Plan
from .charts import esc, group_colour, heatmap_svg, library_svg, ranking_svg, short
from .dispatch import dispatch

TOP_RANKED = 25
"""Rows of the ranking table shown at first; the rest behind a toggle (and the filter)."""
MAX_CHIPS = 30


def _slug(s: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in s)
    return "c-" + out.strip("-")[:80] + f"-{zlib.crc32(s.encode()) % 10**6}"


def _sym(name: str) -> str:
    """A symbol as a <code>, demangled (the raw name in its tooltip when they differ)."""
    shown = display(name)
    if shown == name:
        return f"<code>{esc(name)}</code>"
    return f'<code title="{esc(name)}">{esc(shown)}</code>'


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _summary(agg: Aggregate) -> str:
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
        out.append(f"<p>Most used: {_sym(top.symbol)} from "
                   f"<code>{esc(top.library)}</code>, imported by {len(top.consumers)} "
                   f"consumer(s). Weights: {esc(s['weights'])}.</p>")
    return "\n".join(out)


def _ranking_table(agg: Aggregate) -> str:
    """The first TOP_RANKED symbols; the others in the same table behind a toggle; a filter
    over all of them (works on the hidden rows too)."""
    n = len(agg.symbols)
    head = ('<thead><tr><th>rank</th><th>symbol</th><th>library</th><th>version</th>'
            "<th>stability</th><th>consumers</th><th>weight</th><th>group</th>"
            "<th>known remedy</th></tr></thead>")
    rows = []
    for k, s in enumerate(agg.symbols):
        remedy = esc(s.remedy or "")
        if s.replacements:
            remedy += " → " + ", ".join(_sym(r) for r in s.replacements[:4])
        more = ' class="more"' if k >= TOP_RANKED else ""
        rows.append(f"<tr{more}><td>{s.rank}</td><td>{_sym(s.symbol)}</td>"
                    f"<td>{esc(s.library)}</td><td>{esc(' '.join(s.versions))}</td>"
                    f'<td><span class="stab {esc(s.stability)}">{esc(s.stability)}</span></td>'
                    f'<td title="{esc(", ".join(s.consumers[:40]))}">{len(s.consumers)}</td>'
                    f"<td>{s.weight:g}</td>"
                    f"<td>{'G' + str(s.group) if s.group else ''}</td><td>{remedy}</td></tr>")
    tools = ""
    if n > TOP_RANKED:
        tools = (f'<p class="tools"><input id="rank-filter" type="search" '
                 f'placeholder="filter the {n} symbols by name, library, remedy…" '
                 f'aria-label="filter the ranking"> <button id="rank-toggle" type="button" '
                 f'data-n="{n}">show all {n}</button> <span id="rank-shown">the first '
                 f"{TOP_RANKED} of {n} shown</span></p>")
    return (f'{tools}<div class="tablebox"><table class="t ranking" id="ranking-table">{head}'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _libraries(agg: Aggregate) -> str:
    if not agg.libraries:
        return '<p class="empty">No library provides an unstable/private symbol used here.</p>'
    rows = "".join(f"<tr><td><code>{esc(lib['library'])}</code></td><td>{lib['consumers']}</td>"
                   f"<td>{lib['symbols']}</td><td>{lib['uses']}</td>"
                   f"<td>{esc(', '.join(lib['consumer_names'][:20]))}"
                   f"{' …' if lib['consumers'] > 20 else ''}</td></tr>" for lib in agg.libraries)
    return (f'<div class="chartbox">{library_svg(agg.libraries)}</div><div class="tablebox">'
            '<table class="t"><thead><tr><th>library</th><th>consumers</th><th>symbols</th>'
            "<th>uses</th><th>consumer names</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _chip(lib: str, sym: str) -> str:
    return f'<code class="chip" title="{esc(sym)} ({esc(lib)})">{esc(display(sym))}</code>'


def _groups(agg: Aggregate) -> str:
    if not agg.groups:
        return (f'<p class="empty">No two symbols are used by similar sets of consumers '
                f"(Jaccard ≥ {agg.threshold:g}).</p>")
    out = [(f"<p>Symbols used by the same (or nearly the same) consumers: candidates for one "
           f"stable API each. Similarity: Jaccard index of the consumer sets, threshold "
           f"{agg.threshold:g}, {esc(agg.method)} grouping. <em>always</em>: every symbol of "
           f"the group has exactly the same consumers.</p>")]
    for g in agg.groups:
        chips = " ".join(_chip(lib, sym) for lib, sym in g.symbols[:MAX_CHIPS])
        if len(g.symbols) > MAX_CHIPS:
            chips += (f" <details class='more-chips'><summary>{len(g.symbols) - MAX_CHIPS} "
                      "more</summary>" + " ".join(_chip(lib, sym) for lib, sym in
                                                  g.symbols[MAX_CHIPS:]) + "</details>")
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


def _plan_html(cp: ConsumerPlan) -> str:
    out = ['<ol class="plan">']
    for step in cp.steps:
        items = []
        for it in step.items:
            ver = "; ".join(f"{esc(display(v.symbol))}: {esc(v.status)}"
                            for v in it.verifications)
            sites = f", {len(it.call_sites)} call site(s)" if it.call_sites else ""
            items.append(f"<li>{_sym(it.symbol.name)} — {esc(it.kind)}"
                         f"{' (' + ver + ')' if ver else ''}{sites}</li>")
        out.append(f"<li><strong>{esc(step.title)}</strong> <span class='kind'>"
                   f"{esc(step.kind)}</span><ul>{''.join(items)}</ul></li>")
    out.append("</ol>")
    return "".join(out)


def _consumers(agg: Aggregate, result: Audit | Plan | None = None) -> str:
    by_consumer: dict[str, list[Cell]] = defaultdict(list)
    for cell in agg.data.cells:
        by_consumer[cell.consumer].append(cell)
    plans = {}
    evidence: dict[tuple[str, str], str] = {}
    if result is not None:
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
        ci = info.get(name)
        libs = sorted({x.library for x in cells})
        head = (f"<summary><strong>{esc(name)}</strong> {esc(ci.version if ci else '')} — "
                f"{len(cells)} symbol(s) from {esc(', '.join(libs))}</summary>")
        rows = []
        for x in cells:
            ev = evidence.get((name, x.symbol), "")
            rows.append(f"<tr><td>{_sym(x.symbol)}</td><td>{esc(x.version or '')}"
                        f"</td><td>{esc(x.library)}</td><td><span class='stab "
                        f"{esc(x.stability)}'>{esc(x.stability)}</span></td>"
                        f"<td>{x.weight:g}</td><td>{esc(' '.join(x.objects))}</td>"
                        f"<td class='ev'>{esc(short(ev, 200))}</td></tr>")
        body = ("<div class='tablebox'><table class='t'><thead><tr><th>symbol</th>"
                "<th>version</th><th>library</th><th>stability</th><th>weight</th>"
                "<th>objects</th><th>evidence</th></tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table></div>")
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


def _failures(agg: Aggregate) -> str:
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
.tablebox { overflow-x: auto; max-width: 100%; }
table.ranking tr.more { display: none; }
table.ranking.all tr.more, table.ranking.filtering tr.more { display: table-row; }
table.ranking.filtering tr.miss { display: none; }
.tools input { padding: 4px 8px; width: 360px; }
.tools button { padding: 3px 10px; }
.more-chips { display: inline; }
.more-chips summary { display: inline; color: var(--accent); }
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
  var table = document.getElementById('ranking-table');
  var rf = document.getElementById('rank-filter');
  var toggle = document.getElementById('rank-toggle');
  var rshown = document.getElementById('rank-shown');
  if (table && rf && toggle) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var first = rows.filter(function (r) { return !r.classList.contains('more'); }).length;
    var rupdate = function () {
      var q = rf.value.toLowerCase();
      var n = 0;
      table.classList.toggle('filtering', !!q);
      rows.forEach(function (r) {
        var hit = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
        r.classList.toggle('miss', !hit);
        if (hit && (q || table.classList.contains('all') || !r.classList.contains('more'))) {
          n += 1;
        }
      });
      rshown.textContent = q ? n + ' of ' + rows.length + ' match' :
        (table.classList.contains('all') ? 'all ' + rows.length + ' shown' :
         'the first ' + first + ' of ' + rows.length + ' shown');
      toggle.textContent = table.classList.contains('all') ? 'show the first ' + first :
        'show all ' + rows.length;
    };
    toggle.addEventListener('click', function () {
      table.classList.toggle('all');
      rupdate();
    });
    rf.addEventListener('input', rupdate);
    rupdate();
  }
  document.body.setAttribute('data-ready', 'yes');
})();
"""


def _internal(inside: Aggregate) -> str:
    """The packages built from the census's --source-package: listed, not ranked."""
    per: dict[str, set[str]] = defaultdict(set)
    for cell in inside.data.cells:
        per[cell.consumer].add(cell.symbol)
    sources = sorted({c.internal for c in inside.consumers if c.internal})
    rows = "".join(
        f"<tr><td>{esc(c.name)}</td><td>{esc(c.version)}</td><td>{len(per.get(c.name, ()))}"
        "</td></tr>"
        for c in sorted(inside.consumers, key=lambda c: (-len(per.get(c.name, ())), c.name)))
    return (f"<p>{len(inside.consumers)} package(s) built from {esc(', '.join(sources))}: "
            "their use of their own libraries is not what must go away, so they are not in "
            "the heatmap or the ranking (<code>abiguard report --include-internal</code> "
            "ranks them).</p><table class='t'><thead><tr><th>package</th><th>version</th>"
            f"<th>unstable/private symbols</th></tr></thead><tbody>{rows}</tbody></table>")


def _own(own: OwnLibraries | None) -> str:
    if own is None:
        return ""
    return (f"<p>The symbols of the {len(own.sonames)} libraries built from "
            f"{esc(', '.join(own.sources))}: "
            + ", ".join(f"<code>{esc(s)}</code>" for s in own.sonames)
            + " (<code>--all-libraries</code>: every library the consumers import).</p>")


def render_report(agg: Aggregate, result: Audit | Plan | None = None,
                  title: str | None = None, internal: Aggregate | None = None,
                  own: OwnLibraries | None = None) -> str:
    """The whole page for an aggregate (and, for a scan/plan, the result it came from)."""
    s = agg.summary()
    kind = {"census": "census store", "plan": "migration plan", "scan": "scan result"}.get(
        s["kind"], s["kind"])
    title = title or f"abiguard report — {s['source'] or kind}"
    sections = [
        ("summary", "Summary", _summary(agg) + _own(own)),
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
    if internal is not None:
        sections.insert(-1, ("internal", "Internal packages", _internal(internal)))
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


def report_html(report: Report, *, title: str | None = None, **_: Any) -> str:
    return render_report(report.aggregate, report.result, title=title,
                         internal=report.internal, own=report.own_libraries)


def aggregate_html(agg: Aggregate, *, title: str | None = None, **_: Any) -> str:
    return render_report(agg, title=title)


def result_html(obj: Audit | Plan, *, title: str | None = None, threshold: float = 0.5,
                method: str = "average", **_: Any) -> str:
    """A scan or plan result's own report (its aggregate made here)."""
    agg = aggregate(CensusData.from_result(obj), threshold=threshold, method=method)
    return render_report(agg, obj, title=title)


RENDERERS: dict[str, str] = {
    "abiguard.census.overview.Report": "abiguard.render.html:report_html",
    "abiguard.census.aggregate.Aggregate": "abiguard.render.html:aggregate_html",
    "abiguard.model.core.Audit": "abiguard.render.html:result_html",
    "abiguard.model.plan.Plan": "abiguard.render.html:result_html",
}


def render(obj: Any, **options: Any) -> str:
    return dispatch(RENDERERS, "html", obj, **options)


__all__ = ["RENDERERS", "render", "render_report"]
