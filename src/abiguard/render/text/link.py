"""Text of ``abiguard link`` (a LinkResult): the answer, the references to what the library
defines and, apart, those missing anyway."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...callsites.link import LinkResult
from ...demangle import display
from ...model import CallSite
from ..table import Column, Table, paragraph, print_lines
from .console import console, on_console


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(result: LinkResult) -> str:
    lib = f"lib{result.library}"
    if result.linked:
        return f"no references: {lib} is not needed (the link succeeded without it)"
    if result.attributed and not result.sites:
        return (f"no references to what {lib} defines: {lib} is not needed (the link fails "
                "without it only for references missing anyway)")
    n = len(result.sites)
    what = " it defines" if result.attributed else \
        f" ({lib} not found: not checked which it defines)"
    return (f"without {lib}: {plural(n, 'undefined reference')} to "
            f"{plural(len(result.symbols), 'symbol')}{what}")


def anyway(result: LinkResult) -> str:
    return (f"missing anyway (not defined by lib{result.library}): "
            f"{plural(len(result.other_sites), 'undefined reference')} to "
            f"{plural(len(result.other_symbols), 'symbol')}")


def ordered(sites: Iterable[CallSite]) -> list[CallSite]:
    return sorted(sites, key=lambda s: (s.symbol, s.file, s.function or "", s.line or 0))


def truncation_note(result: LinkResult) -> str | None:
    if not result.truncated:
        return None
    names = ", ".join("(all: too many errors)" if t == "*" else t for t in result.truncated)
    return (f"the linker stopped listing references to {names}; "
            "'abiguard where --objects' lists every one")


def render_link_text(result: LinkResult, *, color: bool = False, width: int | None = None,
                     **_: Any) -> str:
    con = console(color, width)
    print_lines(con, paragraph(summary(result), con.width, 0, 2))
    for title, sites in ((None, result.sites), (anyway(result), result.other_sites)):
        if not sites:
            continue
        if title:
            print_lines(con, paragraph(title, con.width, 0, 2))
        table = Table([Column("symbol"), Column("file"), Column("function"),
                       Column("line", "num")], indent=0)
        for s in ordered(sites):
            table.add_row(display(s.symbol), s.file, display(s.function) if s.function else "-",
                          str(s.line) if s.line is not None else "-")
        print_lines(con, table.lines(con.width))
    tn = truncation_note(result)
    if tn:
        print_lines(con, paragraph(f"note: {tn}", con.width, 0, 2))
    return on_console(con)


__all__ = ["anyway", "ordered", "render_link_text", "summary", "truncation_note"]
