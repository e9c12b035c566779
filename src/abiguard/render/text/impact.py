"""Text of ``abiguard impact`` (an ImpactResult): per consumer the verdict, its reasons, a
table of the symbols (binary, version node, prototype) and the prototypes that changed."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...compare.impact import ImpactResult, ImpactSymbol
from ...demangle import display
from ...headers import ProtoChange
from ...missing import is_missing_line
from ..table import Column, Table, print_lines, title
from .console import console, on_console, print_indented, warn

VERDICT_TEXT = {
    "runs-as-is": ("runs as is", "bold green"),
    "needs-rebuild": ("needs rebuild only", "bold yellow"),
    "needs-source-changes": ("needs source changes", "bold red"),
    "not-affected": ("not affected", "green"),
    "unknown": ("cannot tell: libraries not found", "bold yellow"),
}
STATUS_STYLE = {"same": "green", "rebuild": "yellow", "moved": "cyan", "gone": "bold red",
                "resized": "bold red"}
PROTO_STYLE = {"same": "green", "compatible": "yellow", "changed": "bold red",
               "gone": "bold red", "unknown": "dim"}


def arrow(a: str | None, b: str | None) -> str:
    if a == b:
        return a or "-"
    return f"{a or '-'} -> {b or '-'}"


def binary_text(s: ImpactSymbol) -> str:
    if s.status == "moved":
        return f"moved to {s.new_library}"
    if s.status == "resized":
        return f"resized {s.copy_size} -> {s.new_size} bytes"
    return s.status


def proto_text(p: ProtoChange) -> str:
    """A prototype change (abiguard.headers.ProtoChange) in words."""
    if p.status == "unknown" or not p.changes:
        return p.status
    return f"{p.status}: {'; '.join(p.changes)}"


def render_impact_text(result: ImpactResult, *, verbose: int = 0, color: bool = False,
                       width: int | None = None, **_: Any) -> str:
    con = console(color, width)
    print_indented(con, Text(f"abiguard impact {result.old} -> {result.new}", "bold"), 0, 2)
    if result.headers_checked:
        print_indented(con, Text(f"headers: {result.old_headers} -> {result.new_headers}"), 0,
                       2)
    con.print()
    for c in result.consumers:
        verdict, style = VERDICT_TEXT[c.verdict]
        print_lines(con, title(c.consumer, c.package or "", con.width))
        con.print(Text.assemble("  verdict: ", (verdict, style)))
        for r in c.reasons:
            print_indented(con, Text(f"- {r}"), 2, 4)
        if c.symbols:
            t = Table([Column("symbol"), Column("binary"), Column("version node"),
                       Column("prototype", "text", min_width=20)])
            for s in c.symbols:
                t.add_row(display(s.name), (binary_text(s), STATUS_STYLE.get(s.status, "")),
                          arrow(s.old_version, s.new_version),
                          (proto_text(s.prototype), PROTO_STYLE.get(s.prototype.status, "")))
            print_lines(con, t.lines(con.width))
            for s in c.symbols:
                p = s.prototype
                if p.status in ("changed", "gone", "compatible") or (verbose and p.old):
                    con.print(Text(f"    {display(s.name)}:", "bold"), soft_wrap=True)
                    if p.old:
                        print_indented(con, Text(f"- {p.old};  ({p.old_location})", "red"),
                                       6, 8)
                    if p.new:
                        print_indented(con, Text(f"+ {p.new};  ({p.new_location})",
                                                 "green"), 6, 8)
        con.print()
    for n in result.notes:
        if is_missing_line(n):
            warn(con, n)
    counts: dict[str, int] = {}
    for c in result.consumers:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    total = ", ".join(f"{n} {VERDICT_TEXT[v][0]}" for v, n in counts.items()) if counts \
        else "no consumers"
    if result.errors:
        total += f"; {len(result.errors)} input error(s)"
    print_indented(con, Text(total, "bold"), 0)
    if not result.headers_checked:
        con.print("[dim]prototypes not compared: give --headers-from and --headers-to[/dim]")
    con.print("[dim]not checked: type and struct layout changes behind unchanged "
              "prototypes[/dim]")
    return on_console(con)


__all__ = ["PROTO_STYLE", "STATUS_STYLE", "VERDICT_TEXT", "arrow", "binary_text", "proto_text",
           "render_impact_text"]
