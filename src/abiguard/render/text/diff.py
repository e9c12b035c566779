"""Text of ``abiguard diff`` (a DiffResult: consumer by consumer, the changed symbols in a
table, the unchanged ones grouped) and of ``diff --trend`` (a TrendResult: a table of counts).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.text import Text

from ...compare.diff import ConsumerDiff, DiffResult, SymbolDelta
from ...compare.trend import TrendResult
from ...demangle import display
from ...missing import is_missing_line
from ..table import Column, Table, item_lines, print_lines, title
from .console import console, on_console, print_indented, warn

CHANGE_STYLE = {"added": "bold red", "removed": "green", "moved": "cyan",
                "unchanged": "dim", "renamed-node": "dim", "resized": "bold red"}


def arrow(a: str | None, b: str | None) -> str:
    if a == b or b is None or a is None:
        return a or b or "-"
    return f"{a or '-'} -> {b or '-'}"


def side(path: str | None, package: str | None, count: int) -> str:
    if path is None:
        return "absent"
    return (f"{package}, " if package else "") + f"{count} unstable/private"


Group = tuple[str, str | None, str | None, str | None, str | None]
"""(change, old library, new library, old node, new node) of unchanged symbols."""


def unchanged_groups(c: ConsumerDiff) -> dict[Group, list[str]]:
    groups: dict[Group, list[str]] = defaultdict(list)
    for d in c.unchanged:
        groups[(d.change, d.old_library, d.new_library, d.old_version, d.new_version)].append(
            d.name)
    return groups


def _names(names: list[str], verbose: int, limit: int = 6) -> str:
    names = [display(n) for n in names]
    if verbose or len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", … {len(names) - limit} more (-v)"


def summary_line(c: ConsumerDiff) -> str:
    renamed = len(c.renamed)
    return (f"+{len(c.added)} added, -{len(c.removed)} removed, {len(c.moved)} moved, "
            f"{len(c.unchanged)} unchanged" + (f" ({renamed} with a renamed version node)"
                                               if renamed else "")
            + (f", {len(c.resized)} copied object(s) resized (breaking)" if c.resized else ""))


def rows(c: ConsumerDiff) -> list[SymbolDelta]:
    """The changes of a consumer shown in its table."""
    return list(c.added) + list(c.removed) + list(c.moved) + list(c.resized)


def version_text(d: SymbolDelta) -> str:
    """The version node column; for a resized copy also its sizes."""
    node = arrow(d.old_version, d.new_version)
    if d.change != "resized":
        return node
    sizes = arrow(None if d.old_size is None else str(d.old_size),
                  None if d.new_size is None else str(d.new_size))
    return f"{node}, {sizes} bytes (program: {d.program_size})"


def totals_text(result: DiffResult) -> str:
    t = result.totals()
    return (f"+{t['added']} added, -{t['removed']} removed, {t['moved']} moved, "
            f"{t['unchanged']} unchanged ({t['renamed-node']} renamed node)"
            + (f", {t['resized']} copied object(s) resized (breaking)" if t["resized"] else ""))


def fail_note(failed: dict[str, int]) -> str:
    """What ``diff --fail-on`` rejected, for stderr."""
    words = {"added": "unstable/private symbol(s) added",
             "resized": "copied object(s) resized"}
    return "--fail-on: " + ", ".join(f"{n} {words[what]}" for what, n in failed.items())


def render_diff(con: Console, result: DiffResult, verbose: int = 0) -> None:
    con.print(Text.assemble(("abiguard diff ", "bold"), (result.old, "bold"), " -> ",
                            (result.new, "bold")), soft_wrap=True)
    con.print()
    for c in result.consumers:
        how = {"path": "", "only-old": "only in old", "only-new": "only in new"}.get(
            c.matched_by, f"matched by {c.matched_by}: {c.old_path}")
        print_lines(con, title(c.consumer, how, con.width))
        print_indented(con, Text(f"old: {side(c.old_path, c.old_package, c.old_count)}"), 2)
        print_indented(con, Text(f"new: {side(c.new_path, c.new_package, c.new_count)}"), 2)
        print_indented(con, Text(summary_line(c)), 2)
        changes = rows(c)
        if changes:
            t = Table([Column("change"), Column("symbol"), Column("library"),
                       Column("version node"), Column("detail", "text", min_width=20)])
            for d in changes:
                t.add_row((d.change, CHANGE_STYLE[d.change]), display(d.name),
                          arrow(d.old_library, d.new_library), version_text(d),
                          d.detail or "")
            print_lines(con, t.lines(con.width))
        for (change, ol, nl, ov, nv), names in unchanged_groups(c).items():
            what = "unchanged, renamed node" if change == "renamed-node" else "unchanged"
            where = arrow(ol, nl) + (f" @ {arrow(ov, nv)}" if ov or nv else "")
            print_indented(con, Text(f"{what} ({len(names)}): {where}", "dim"), 2, 4)
            print_lines(con, [Text(line, "dim") for line in
                              item_lines("", _names(names, verbose).split(", "), con.width, 4)])
        con.print()
    if not result.consumers:
        con.print("no consumer has unstable/private imports or resized copies on either side "
                  "(--all lists every consumer)\n")
    print_indented(con, Text(f"{len(result.consumers)} consumer(s) compared: "
                             f"{totals_text(result)}"
                             + (f"; {len(result.errors)} input error(s)" if result.errors
                                else ""), "bold"), 0)
    for n in result.notes:
        if is_missing_line(n):
            warn(con, n)
    if verbose:
        for n in result.notes:
            if not is_missing_line(n):
                print_indented(con, Text(f"note: {n}", "dim"), 0)


def render_trend(con: Console, result: TrendResult, verbose: int = 0) -> None:
    con.print("[bold]Unstable/private symbols per version[/bold]")
    t = Table([Column("consumer")] + [Column(lab, "num") for lab in result.labels])
    for r in result.rows:
        t.add_row(r.consumer, *["-" if c is None else str(c) for c in r.counts])
    print_lines(con, t.lines(con.width))
    if verbose:
        for r in result.rows:
            prev: set[str] = set()
            for lab, syms in zip(result.labels, r.symbols):
                now = set(syms)
                plus, minus = sorted(now - prev), sorted(prev - now)
                if prev and (plus or minus):
                    print_lines(con, [Text(line) for line in item_lines(
                        f"{r.consumer} @ {lab}: ",
                        [f"+{display(s)}" for s in plus] + [f"-{display(s)}" for s in minus],
                        con.width, 2)])
                prev = now
    if not result.rows:
        con.print("no consumer has unstable/private imports in any version")


def render_diff_text(result: DiffResult, *, verbose: int = 0, color: bool = False,
                     width: int | None = None, **_: Any) -> str:
    con = console(color, width)
    render_diff(con, result, verbose)
    return on_console(con)


def render_trend_text(result: TrendResult, *, verbose: int = 0, color: bool = False,
                      width: int | None = None, **_: Any) -> str:
    con = console(color, width)
    render_trend(con, result, verbose)
    return on_console(con)


__all__ = ["CHANGE_STYLE", "arrow", "fail_note", "render_diff", "render_diff_text",
           "render_trend", "render_trend_text", "rows", "side", "summary_line", "totals_text",
           "unchanged_groups", "version_text"]
