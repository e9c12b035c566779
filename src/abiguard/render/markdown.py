"""Markdown: for issues, merge requests and mailing-list mails."""

from __future__ import annotations

from typing import Any

from ..model import Audit, Consumer


def esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def consumer_section(c: Consumer) -> list[str]:
    from .text import consumer_summary

    out = [f"## `{c.display_name}`", ""]
    if c.package:
        out += [f"Package: {c.package}", ""]
    out += [consumer_summary(c) + ".", ""]
    problems = c.findings
    if problems:
        out += ["| symbol | version | library | class |", "|---|---|---|---|"]
        for b in problems:
            out.append(f"| `{b.symbol.name}` | {b.provided_version or '-'} | "
                       f"{b.provider} | {b.stability.value} |")
        out.append("")
        libs = {b.provider for b in problems}
        for lib in c.libraries:
            if lib.key in libs:
                out.append(f"- **{lib.key}** is {lib.stability.value}: "
                           + "; ".join(esc(e.detail) for e in lib.evidence[:2]))
        out.append("")
    else:
        out += ["No unstable or private imports.", ""]
    missing = [b for b in c.unresolved if not b.weak]
    if missing:
        out += [f"Unresolved ({len(missing)}):", ""]
        out += [f"- `{b.symbol}`: {esc(b.reason or '')}" for b in missing[:50]]
        out.append("")
    return out


def render(obj: Any, **_: Any) -> str:
    if not isinstance(obj, Audit):
        if hasattr(obj, "render_markdown"):
            return obj.render_markdown()
        raise TypeError(f"no Markdown renderer for {type(obj).__name__}")
    out = ["# abiguard scan", ""]
    n = len(obj.findings)
    out += [f"{len(obj.consumers)} consumer(s), {n} unstable/private import(s), "
            f"{len(obj.errors)} input error(s).", ""]
    for c in obj.consumers:
        out += consumer_section(c)
    if obj.errors:
        out += ["## Input errors", ""] + [f"- `{e.path}`: {esc(e.message)}" for e in obj.errors]
        out.append("")
    return "\n".join(out)
