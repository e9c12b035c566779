"""Markdown of ``abiguard link``."""

from __future__ import annotations

from typing import Any

from ...callsites.link import LinkResult
from ..text.link import anyway, ordered, summary, truncation_note


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_link_markdown(result: LinkResult, **_: Any) -> str:
    out = [f"# Link without lib{result.library}", "", summary(result), ""]
    for title, sites in ((None, result.sites), (anyway(result), result.other_sites)):
        if not sites:
            continue
        if title:
            out += [f"## {title[0].upper()}{title[1:]}", ""]
        out += ["| symbol | file | function | line |", "| --- | --- | --- | --- |"]
        for s in ordered(sites):
            out.append(f"| `{_md(s.symbol)}` | {_md(s.file)} | {_md(s.function or '-')} | "
                       f"{s.line if s.line is not None else '-'} |")
        out.append("")
    tn = truncation_note(result)
    if tn:
        out += [f"> {tn}", ""]
    return "\n".join(out)


__all__ = ["render_link_markdown"]
