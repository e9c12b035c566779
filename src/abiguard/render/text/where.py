"""Text of ``abiguard where`` (a WhereResult): the summary, a table of the sites (identifiers
never break: :mod:`abiguard.render.table`), the wrappers, the remedies and what remains
without some sources. Input errors are not repeated here (the command prints each once on
stderr)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...callsites.result import WhereResult
from ...demangle import display
from ...model import CallSite
from ..table import Column, Table, item_lines, paragraph, print_lines
from .console import console, on_console


def location(s: CallSite) -> str:
    if s.line is not None:
        return f"{s.file}:{s.line}:{s.column}" if s.column else f"{s.file}:{s.line}"
    if s.address is not None:
        return f"{s.file}+{s.address:#x}"
    return s.file


def compiled_text(v: bool | None, method: str = "source") -> str:
    if v is None and method != "source":
        return "-"  # found in a compiled artifact: no preprocessor question
    return "?" if v is None else ("yes" if v else "no")


def summary_lines(result: WhereResult) -> list[str]:
    lines = []
    n_sym = len({s.symbol for s in result.callsites})
    lines.append(f"{len(result.targets)} target symbol(s), {n_sym} referenced, "
                 f"{len(result.callsites)} site(s)")
    if result.source_root:
        lines.append(f"source: {result.source_root} ({result.files_scanned} files searched, "
                     f"{result.files_parsed} parsed, {len(result.parse_error_files)} with "
                     "parse errors)")
    if result.configuration:
        lines.append("conditions evaluated with " + " ".join(result.configuration))
    return lines


def impact_lines(result: WhereResult, md: bool = False) -> list[str]:
    imp = result.impact
    if imp is None:
        return []
    what = ", ".join(list(imp.features) + [p for p in imp.without]) or "nothing"
    code = (lambda x: f"`{x}`") if md else (lambda x: x)
    out = [f"Without {what}:"]
    by = {s.symbol: s for s in imp.symbols}
    out.append(f"  remaining ({len(imp.remaining)}):" if not md
               else f"- **remaining** ({len(imp.remaining)}):")
    for sym in imp.remaining:
        files = ", ".join(by[sym].remaining_files)
        out.append(f"    {sym}  [{files}]" if not md else f"  - {code(sym)} ({files})")
    out.append(f"  disappear ({len(imp.disappearing)}):" if not md
               else f"- **disappear** ({len(imp.disappearing)}):")
    for sym in imp.disappearing:
        files = ", ".join(by[sym].removed_files)
        out.append(f"    {sym}  [only in {files}]" if not md
                   else f"  - {code(sym)} (only in {files})")
    if imp.not_compiled:
        out.append((f"  not compiled with this configuration ({len(imp.not_compiled)}): " if not md
                    else f"- not compiled with this configuration ({len(imp.not_compiled)}): ")
                   + ", ".join(code(s) for s in imp.not_compiled))
    if imp.unreferenced:
        shown = imp.unreferenced if md or len(imp.unreferenced) <= 30 else imp.unreferenced[:30]
        more = len(imp.unreferenced) - len(shown)
        out.append((f"  not referenced at all ({len(imp.unreferenced)}): " if not md
                    else f"- not referenced at all ({len(imp.unreferenced)}): ")
                   + ", ".join(code(s) for s in shown) + (f" … ({more} more)" if more else ""))
    return out


def render_where_text(result: WhereResult, *, verbose: int = 0, color: bool = False,
                      width: int | None = None, **_: Any) -> str:
    con = console(color, width)
    width = con.width
    for line in summary_lines(result):
        print_lines(con, paragraph(line, width, 0, 2))
    if result.callsites:
        # the compiled column once something decides it: -D/-U/--config-header, or constants
        # (#if 0) for some sites; a column of "?" says nothing
        evaluated = bool(result.configuration) or any(
            s.compiled is not None for s in result.callsites if s.method == "source")
        table = Table([Column("symbol"), Column("file:line:col"), Column("function"),
                       Column("via"), Column("kind", drop=2),
                       Column("compiled" if evaluated else ""),
                       Column("condition", "text", min_width=20)],
                      heading=(0,))
        previous = None
        for s in result.callsites:
            table.add_row((display(s.symbol) if s.symbol != previous else "", "bold"),
                          location(s), display(s.function) if s.function else "-",
                          display(s.via) if s.via else "", s.kind,
                          compiled_text(s.compiled, s.method) if result.configuration else
                          ("" if s.compiled is None else compiled_text(s.compiled, s.method)),
                          s.condition or "")
            previous = s.symbol
        print_lines(con, table.lines(width))
        if not result.configuration and any(s.condition for s in result.callsites):
            print_lines(con, [Text(ln, "dim") for ln in paragraph(
                "(whether a conditional site is compiled: give -D/-U/--config-header)",
                width)])
    referenced = {s.symbol for s in result.callsites}
    unreferenced = [display(t) for t in result.targets if t not in referenced]
    if unreferenced:
        shown = unreferenced[:30]
        print_lines(con, [Text(ln, "dim") for ln in item_lines(
            f"no site found for {len(unreferenced)}: ",
            shown + (["…"] if len(unreferenced) > 30 else []), width)])
    if result.wrappers:
        con.print(Text("wrappers (sites inside them count where they are used):", "bold"))
        for w in result.wrappers:
            cond = f" [{w.condition}]" if w.condition else ""
            lines = paragraph(f"{w.name} ({w.kind}, {w.file}:{w.line}){cond} -> "
                              + ", ".join(display(x) for x in w.symbols), width, 2, 6)
            print_lines(con, lines)
    known = [r for r in result.remedies if r.kind != "unknown" and r.symbol in referenced]
    if known:
        con.print(Text("remedies:", "bold"))
        for r in known:
            print_lines(con, item_lines(f"{display(r.symbol)}: {r.kind}"
                                        + (" -> " if r.replacements else ""),
                                        [display(x) for x in r.replacements], width, 2))
            if verbose and r.rationale:
                print_lines(con, [Text(ln, "dim") for ln in paragraph(r.rationale, width, 6)])
    for line in impact_lines(result):
        indent = len(line) - len(line.lstrip())
        print_lines(con, [line] if len(line) <= width else
                    item_lines(line.lstrip(), [], width, indent))
    return on_console(con)


__all__ = ["compiled_text", "impact_lines", "location", "render_where_text", "summary_lines"]
