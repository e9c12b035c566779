"""Markdown of ``abiguard impact``."""

from __future__ import annotations

from typing import Any

from ...compare.impact import ImpactResult
from ...missing import is_missing_line
from ..text.impact import VERDICT_TEXT, arrow, binary_text, proto_text


def render_impact_markdown(result: ImpactResult, **_: Any) -> str:
    def md(s: Any) -> str:
        return str(s if s is not None else "-").replace("|", "\\|")

    out = [f"# abiguard impact: {md(result.old)} → {md(result.new)}", ""]
    out += [f"> **Warning:** {md(n)}\n" for n in result.notes if is_missing_line(n)]
    if result.headers_checked:
        out += [f"Headers: {md(result.old_headers)} → {md(result.new_headers)}.", ""]
    for c in result.consumers:
        out += [f"## `{c.consumer}`", ""]
        if c.package:
            out += [f"Package: {c.package}", ""]
        out += [f"**Verdict: {VERDICT_TEXT[c.verdict][0]}.**", ""]
        out += [f"- {md(r)}" for r in c.reasons] + [""]
        if c.symbols:
            out += ["| symbol | binary | version node | prototype |", "|---|---|---|---|"]
            for s in c.symbols:
                out.append(f"| `{s.name}` | {md(binary_text(s))} | "
                           f"{md(arrow(s.old_version, s.new_version))} | "
                           f"{md(proto_text(s.prototype))} |")
            out.append("")
            for s in c.symbols:
                p = s.prototype
                if p.status in ("changed", "gone", "compatible"):
                    out += [f"`{s.name}`:", "", "```diff"]
                    if p.old:
                        out.append(f"- {p.old};")
                    if p.new:
                        out.append(f"+ {p.new};")
                    out += ["```", ""]
    return "\n".join(out).rstrip() + "\n"


__all__ = ["render_impact_markdown"]
