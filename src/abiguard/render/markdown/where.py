"""Markdown of ``abiguard where``."""

from __future__ import annotations

from typing import Any

from ...callsites.result import WhereResult
from ..text.where import compiled_text, impact_lines, location, summary_lines


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_where_markdown(result: WhereResult, **_: Any) -> str:
    out = ["# Where the target symbols are used", ""]
    out += [f"- {_esc(line)}" for line in summary_lines(result)]
    out.append("")
    if result.callsites:
        out += ["| symbol | location | function | via | kind | condition | compiled |",
                "|---|---|---|---|---|---|---|"]
        for s in result.callsites:
            cond = f"`{_esc(s.condition)}`" if s.condition else ""
            via = f"`{s.via}`" if s.via else ""
            out.append(f"| `{s.symbol}` | `{_esc(location(s))}` | {_esc(s.function or '-')} | "
                       f"{via} | {s.kind} | {cond} | {compiled_text(s.compiled, s.method)} |")
        out.append("")
    if result.wrappers:
        out += ["## Wrappers", ""]
        for w in result.wrappers:
            cond = f" under `{_esc(w.condition)}`" if w.condition else ""
            out.append(f"- `{w.name}` ({w.kind}, `{w.file}:{w.line}`){cond}: "
                       + ", ".join(f"`{x}`" for x in w.symbols))
        out.append("")
    known = [r for r in result.remedies if r.kind != "unknown"]
    if known:
        out += ["## Remedies", ""]
        for r in known:
            repl = f" → {', '.join(f'`{x}`' for x in r.replacements)}" if r.replacements else ""
            out.append(f"- `{r.symbol}`: **{r.kind}**{repl}"
                       + (f". {_esc(r.rationale)}" if r.rationale else ""))
        out.append("")
    if result.impact is not None:
        out += ["## Without some sources", ""] + impact_lines(result, md=True) + [""]
    if result.notes:
        out += [f"> note: {_esc(n)}" for n in result.notes] + [""]
    return "\n".join(out)


__all__ = ["render_where_markdown"]
