"""Markdown of ``abiguard diff`` and ``diff --trend``."""

from __future__ import annotations

from typing import Any

from ...compare.diff import DiffResult
from ...compare.trend import TrendResult
from ...missing import is_missing_line
from ..text.diff import arrow, rows, side, summary_line, unchanged_groups, version_text


def _md(s: str | None) -> str:
    return (s or "-").replace("|", "\\|")


def render_diff_markdown(result: DiffResult, **_: Any) -> str:
    out = [f"# abiguard diff: {_md(result.old)} → {_md(result.new)}", ""]
    t = result.totals()
    out += [(f"{len(result.consumers)} consumer(s) compared: **+{t['added']} added**, "
             f"-{t['removed']} removed, {t['moved']} moved, {t['unchanged']} unchanged "
             f"({t['renamed-node']} with a renamed version node)"
             + (f", **{t['resized']} copied object(s) resized (breaking)**" if t["resized"]
                else "") + "."), ""]
    out += [f"> **Warning:** {_md(n)}\n" for n in result.notes if is_missing_line(n)]
    for c in result.consumers:
        out += [f"## `{c.consumer}`", ""]
        if c.matched_by not in ("path",):
            out += [f"Matched by {c.matched_by}" + (f" (old: `{c.old_path}`)"
                                                    if c.old_path else "") + ".", ""]
        out += [f"- old: {_md(side(c.old_path, c.old_package, c.old_count))}",
                f"- new: {_md(side(c.new_path, c.new_package, c.new_count))}",
                f"- {summary_line(c)}", ""]
        changes = rows(c)
        if changes:
            out += ["| change | symbol | library | version node | detail |",
                    "|---|---|---|---|---|"]
            for d in changes:
                out.append(f"| {d.change} | `{d.name}` | {_md(arrow(d.old_library, d.new_library))}"
                           f" | {_md(version_text(d))} | {_md(d.detail)} |")
            out.append("")
        for (change, ol, nl, ov, nv), names in unchanged_groups(c).items():
            what = "Unchanged, renamed version node" if change == "renamed-node" else "Unchanged"
            where = arrow(ol, nl) + (f" @ {arrow(ov, nv)}" if ov or nv else "")
            out += [f"{what} ({len(names)}, {_md(where)}): "
                    + ", ".join(f"`{n}`" for n in names), ""]
    for e in result.errors:
        out.append(f"- input error: `{_md(e.path)}`: {_md(e.message)}")
    return "\n".join(out).rstrip() + "\n"


def render_trend_markdown(result: TrendResult, **_: Any) -> str:
    out = ["# Unstable/private symbols per version", "",
           "| consumer | " + " | ".join(_md(lab) for lab in result.labels) + " |",
           "|---|" + "---:|" * len(result.labels)]
    for r in result.rows:
        out.append(f"| `{r.consumer}` | " + " | ".join(
            "-" if c is None else str(c) for c in r.counts) + " |")
    out.append("")
    for e in result.errors:
        out.append(f"- input error: `{_md(e.path)}`: {_md(e.message)}")
    return "\n".join(out).rstrip() + "\n"


__all__ = ["render_diff_markdown", "render_trend_markdown"]
