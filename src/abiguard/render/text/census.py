"""Text of ``abiguard census``: the summary of a store (the run, the ranking, the libraries, the
co-use groups, the packages; the internal packages apart) and its failures. Plain text laid
out for the width (identifiers never break: :mod:`abiguard.render.table`); at a narrow width
the ranking's columns fold."""

from __future__ import annotations

from typing import Any

from ...census.aggregate import Aggregate
from ...census.overview import CensusFailures, CensusOverview, OwnLibraries
from ...demangle import display
from ..table import Column, Table, item_lines, paragraph
from .console import terminal_width


def render_failures(agg: Aggregate) -> str:
    fails = agg.failures
    if not fails:
        return "no failures\n"
    out = [f"{len(fails)} failed package(s):"]
    for c in fails:
        out.append(f"  {c.name} {c.version} {c.arch}: [{c.error_kind}] {c.error}")
    return "\n".join(out) + "\n"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def own_line(own: OwnLibraries) -> str:
    """What the ranking is limited to, and how to see everything."""
    names = ", ".join(own.sonames[:4]) + (", …" if len(own.sonames) > 4 else "")
    return (f"(the symbols of the {len(own.sonames)} libraries built from "
            f"{', '.join(own.sources)}: {names}; --all-libraries ranks every library)")


def render_internal(inside: Aggregate, width: int) -> list[str]:
    """The packages built from a --source package: apart from the consumers."""
    per: dict[str, set[str]] = {}
    for (r, k) in inside.matrix:
        per.setdefault(r, set()).add(k[1])
    sources = sorted({c.internal for c in inside.consumers if c.internal})
    out = [""] + paragraph(f"Internal: {len(inside.consumers)} package(s) built from "
                           f"{', '.join(sources)} (not ranked; --include-internal ranks "
                           "them):", width)
    none = []
    for c in sorted(inside.consumers, key=lambda c: (-len(per.get(c.name, ())), c.name)):
        if per.get(c.name):
            out += paragraph(f"{c.name} {c.version}: {len(per[c.name])} unstable/private "
                             "symbol(s)", width, 2, 4)
        else:
            none.append(c.name)
    if none:
        out += item_lines("no unstable/private symbol: ", none, width, 2)
    return out


def render_summary(agg: Aggregate, counts: dict[str, Any] | None, store_counts: dict[str, int],
                   store_path: str, top: int = 20, verbose: int = 0, width: int | None = None,
                   internal: Aggregate | None = None, own: OwnLibraries | None = None) -> str:
    """The text summary of a store: identifiers never break (abiguard.render.table); at a
    narrow width the ranking's columns fold. ``internal``: the aggregate of the packages
    built from a --source package, listed apart; ``own``: the libraries the ranking is
    limited to."""
    width = width or terminal_width()
    out: list[str] = []
    if counts is not None:
        secs = max(counts["seconds"], 1e-9)
        rate = (f" — {counts['done'] / secs:.2f} packages/s, "
                f"{counts['bytes'] / secs / 1e6:.1f} MB/s" if counts["done"] else "")
        out += paragraph(f"census: {counts['planned'] + counts['skipped']} package(s): "
                         f"{counts['done']} scanned, {counts['skipped']} already stored, "
                         f"{counts['failed']} failed, in {counts['seconds']:.1f} s{rate} "
                         f"[{counts['engine']}]", width, 0, 2)
    s = agg.summary()
    out += paragraph(f"store {store_path}: {store_counts['packages']} package result(s) "
                     f"({_mb(store_counts['bytes'])}); {s['consumers']} package(s) by name, "
                     f"{s['with_findings']} import unstable/private symbols, "
                     f"{s['failed']} failed", width, 0, 2)
    if s["failed"]:
        out += paragraph(f"failures: abiguard census --store {store_path} --failures",
                         width, 2, 4)
    if agg.symbols:
        shown = agg.symbols[:top] if top else agg.symbols
        out += [""] + paragraph(f"Stabilise these first ({len(shown)} of {len(agg.symbols)} "
                                "unstable/private symbols, by consumers, then co-use):", width)
        if own is not None:
            out += paragraph(own_line(own), width, 2, 4)
        t = Table([Column("rank", "num"), Column("symbol"), Column("library"),
                   Column("consumers", "num"), Column("group", drop=1),
                   Column("remedy", "text")], indent=2)
        for x in shown:
            t.add_row(str(x.rank), display(x.symbol), x.library, str(len(x.consumers)),
                      ("G" + str(x.group)) if x.group else "-", x.remedy or "-")
        out += [line.plain for line in t.lines(width)]
        out += ["", "Libraries:"]
        for lib in agg.libraries:
            names = lib["consumer_names"][:6] + (["…"] if lib["consumers"] > 6 else [])
            out += item_lines(f"{lib['library']}: {lib['symbols']} symbol(s) used by "
                              f"{lib['consumers']} package(s): ", names, width, 2)
        out += [""] + paragraph(f"Co-use groups (Jaccard ≥ {agg.threshold:g}, {agg.method}): "
                                f"{len(agg.groups)}", width)
        for g in agg.groups[: (None if verbose else 10)]:
            names = [display(sym) for _, sym in g.symbols]
            shown_names = names if verbose or len(names) <= 8 else names[:8] + ["…"]
            users = g.consumers[:5] + (["…"] if len(g.consumers) > 5 else [])
            out += item_lines(f"G{g.id} ({g.kind} together, {len(g.symbols)} symbols, "
                              f"J min {g.min_jaccard:.2f}), used by {len(g.consumers)} "
                              f"({', '.join(users)}): ", shown_names, width, 2)
        if not verbose and len(agg.groups) > 10:
            out.append(f"  … {len(agg.groups) - 10} more (-v)")
        out += ["", "Packages importing unstable/private symbols:"]
        per: dict[str, list[str]] = {}
        per_lib: dict[str, set[str]] = {}
        for (r, k) in agg.matrix:
            per.setdefault(r, []).append(k[1])
            per_lib.setdefault(r, set()).add(k[0])
        info = {c.name: c for c in agg.consumers}
        for r in agg.rows:
            c = info.get(r)
            libs = sorted(per_lib[r])
            out += item_lines(f"{r} {c.version if c else ''}: {len(per[r])} symbol(s) from ",
                              libs, width, 2)
    elif counts is not None or store_counts["packages"]:
        out += ["", "No package imports an unstable or private symbol."]
    if internal is not None:
        out += render_internal(internal, width)
    return "\n".join(out) + "\n"


def render_census_text(view: CensusOverview, *, top: int = 20, verbose: int = 0,
                       width: int | None = None, **_: Any) -> str:
    return render_summary(view.aggregate, view.run, view.store_counts, view.store, top=top,
                          verbose=verbose, width=width, internal=view.internal,
                          own=view.own_libraries)


def render_failures_text(view: CensusFailures, **_: Any) -> str:
    return render_failures(view.aggregate)


__all__ = ["render_census_text", "render_failures", "render_failures_text", "render_internal",
           "render_summary"]
