"""Text of a scan (an Audit): per consumer, a table grouped by provider library; a summary
first for scans of many consumers (:mod:`abiguard.render.summary`).

Symbol names go through :func:`abiguard.demangle.display`. Input errors are not printed
here: the command prints each once, on stderr; the totals line counts them.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from ...demangle import display
from ...missing import is_missing_line, missing_line
from ...model import Audit, Binding, Consumer, Plan, Stability
from ..summary import TOP_CONSUMERS, TOP_LIBRARIES, Summary, detailed, group_unresolved, summarise
from ..table import Column, Table, item_lines, paragraph, print_lines, title, warning_lines
from .console import console, on_console

STYLE = {Stability.UNSTABLE: "bold red", Stability.PRIVATE: "bold magenta",
         Stability.STABLE: "green", Stability.UNKNOWN: "yellow"}


def evidence_text(b_or_lib: Any, limit: int = 2, width: int | None = 140) -> str:
    """The first pieces of evidence, each cut to its first sentence unless verbose."""
    out = []
    for e in b_or_lib.evidence[:limit]:
        detail = " ".join(e.detail.split())
        if width is not None and len(detail) > width:
            cut = detail.find(". ", 0, width)
            detail = detail[: cut + 1] if cut > 0 else detail[: width - 1].rsplit(" ", 1)[0] + " …"
        out.append(f"{e.source}: {detail}")
    return "; ".join(out)


def _by_provider(c: Consumer) -> dict[str | None, list[Binding]]:
    """Imports by library (unresolved ones under the missing library they come from)."""
    groups: dict[str | None, list[Binding]] = defaultdict(list)
    for b in c.bindings:
        groups[b.provider].append(b)
    return groups


def consumer_summary(c: Consumer) -> str:
    bound = sum(1 for b in c.bindings if b.status == "bound")
    unstable = sum(1 for b in c.bindings if b.is_problem and b.stability == Stability.UNSTABLE)
    private = sum(1 for b in c.bindings if b.is_problem and b.stability == Stability.PRIVATE)
    unresolved = sum(1 for b in c.bindings if b.status == "unresolved" and not b.weak)
    weak = sum(1 for b in c.bindings if b.status == "unresolved" and b.weak)
    copies = len(c.copies)
    declared = len(c.declared)
    direct = sum(1 for lib in c.libraries if lib.depth == 1)
    presumed = Counter(b.stability.value for b in c.presumed)
    return (f"{len(c.bindings)} imports from {direct} needed libraries ({len(c.libraries)} in "
            f"load order): {bound} bound" + (f" ({copies} copied)" if copies else "")
            + f", {unstable} unstable, {private} private, {unresolved} unresolved"
            + (f" (+{weak} weak)" if weak else "")
            + (" (" + ", ".join(f"{n} {what}" for what, n in sorted(presumed.items()))
               + " by the name of their missing library)" if presumed else "")
            + (f", {declared} declared only" if declared else ""))


def _symbol(b: Binding) -> str:
    return display(b.symbol.name)


def copy_size_text(b: Binding) -> str:
    """The copied object's size: ``8`` or, when the library's differs, ``16 -> 32``."""
    cp = b.copy
    assert cp is not None
    if cp.library_size is None or not cp.size_differs:
        return str(cp.program_size)
    return f"{cp.program_size} -> {cp.library_size}"


def copy_warning(b: Binding) -> str:
    """The warning for a copied object whose size differs (what ld.so warns about)."""
    cp = b.copy
    assert cp is not None and cp.library_size is not None
    return (f"copy relocation of {b.symbol}: the program reserved {cp.program_size} bytes, "
            f"{b.provider} defines {cp.library_size}: ld.so copies "
            f"{min(cp.program_size, cp.library_size)} and warns; relink the program "
            f"(and rebuild it if the object's type changed)")


def declared_text(c: Consumer, verbose: int = 0) -> str:
    names = [str(b.symbol) for b in c.declared]
    shown = names if verbose else names[:4]
    more = f", … {len(names) - 4} more" if len(names) > len(shown) else ""
    return ("declared only (no relocation uses them, ld.so never looks them up): "
            + ", ".join(shown) + more)


def missing_text(obj: Audit | Plan) -> str | None:
    """The one "libraries not found" line with the remedy (abiguard.missing), or None."""
    audit = obj.audit if isinstance(obj, Plan) else obj
    return missing_line(audit.consumers)


def print_missing(con: Console, obj: Audit | Plan) -> None:
    line = missing_text(obj)
    if line:
        print_lines(con, warning_lines(line, con.width))


def render_consumer(con: Console, c: Consumer, verbose: int = 0) -> None:
    width = con.width
    where = f"{c.kind} {c.machine}" + (f", {c.package}" if c.package else "")
    print_lines(con, title(c.display_name, where, width))
    print_lines(con, paragraph(consumer_summary(c), width, 2))
    groups = _by_provider(c)
    table = Table([Column("library"), Column("stability"), Column("imports", "num"),
                   Column("evidence", "text", min_width=30)])
    stable_summary = []
    for lib in c.libraries:
        bs = groups.get(lib.key, [])
        if not bs and not verbose and lib.path is not None:
            continue
        if lib.path is None:
            known = "" if lib.stability == Stability.UNKNOWN else \
                f"; by its name {lib.stability.value}: {evidence_text(lib, 1)}"
            table.add_row(lib.name, ("not found", "bold yellow"), str(len(bs)),
                          f"needed by {lib.needed_by}{known}")
            continue
        problem = any(b.is_problem for b in bs) or lib.stability.is_problem
        if problem or verbose:
            table.add_row(lib.key, (lib.stability.value, STYLE[lib.stability]), str(len(bs)),
                          evidence_text(lib, 3 if verbose else 2, None if verbose else 140))
        else:
            stable_summary.append(f"{lib.key} ({len(bs)}, {lib.stability.value})")
    print_lines(con, table.lines(width))
    problems = sorted(c.findings + c.presumed, key=lambda b: (b.provider or "", _symbol(b)))
    if problems:
        cols = [Column("unstable/private symbol"), Column("version"), Column("library"),
                Column("class")]
        if verbose:
            cols.append(Column("evidence", "text", min_width=30))
        st = Table(cols, heading=(2, 1, 3))
        for b in problems:
            klass = b.stability.value + ("" if b.status == "bound" else " (not found)")
            row: list[Any] = [_symbol(b), b.provided_version or b.symbol.version or "-",
                              b.provider or "-", (klass, STYLE[b.stability])]
            if verbose:
                row.append(evidence_text(b, 1))
            st.add_row(*row)
        print_lines(con, st.lines(width))
    copies = sorted(c.copies, key=lambda b: (not (b.copy and b.copy.size_differs),
                                             b.provider or "", b.symbol.name))
    if copies:
        limit = None if verbose else 12
        ct = Table([Column("copied object"), Column("version"), Column("library"),
                    Column("bytes", "num")])
        for b in copies[:limit]:
            bad = b.copy is not None and b.copy.size_differs
            ct.add_row(_symbol(b), b.symbol.version or "-", b.provider or "-",
                       (copy_size_text(b), "bold red" if bad else ""))
        print_lines(con, ct.lines(width))
        if limit is not None and len(copies) > limit:
            con.print(Text(f"  … {len(copies) - limit} more copied objects (-v)", "dim"))
        for b in copies:
            if b.copy is not None and b.copy.size_differs:
                print_lines(con, warning_lines(copy_warning(b), width))
    if stable_summary:
        print_lines(con, [Text(line, "dim") for line in
                          item_lines("other libraries: ", stable_summary, width, 2)])
    if c.declared:
        print_lines(con, [Text(line, "dim") for line in
                          paragraph(declared_text(c, verbose), width, 2, 4)])
    unresolved = [b for b in c.bindings if b.status == "unresolved" and (verbose or not b.weak)]
    if unresolved:
        ut = Table([Column("unresolved", "num"), Column("reason", "text", min_width=24),
                    Column("symbols", "list", min_width=24)])
        for reason, bs in group_unresolved(unresolved).items():
            names = ", ".join(display(b.symbol.name) + (f"@{b.symbol.version}"
                                                         if b.symbol.version else "")
                              + (" (weak)" if b.weak else "")
                              for b in bs[: None if verbose else 4])
            more = "" if verbose or len(bs) <= 4 else f", … {len(bs) - 4} more"
            ut.add_row(str(len(bs)), reason, names + more)
        print_lines(con, ut.lines(width))
    if verbose > 1:
        vt = Table([Column("symbol"), Column("library"), Column("version"), Column("class"),
                    Column("copy", "num")], heading=(1, 2, 3))
        for b in sorted(c.bindings, key=lambda b: (b.provider or "", b.symbol.name)):
            if b.status == "bound":
                vt.add_row(_symbol(b), b.provider or "", b.provided_version or "",
                           b.stability.value, copy_size_text(b) if b.copy else "")
        print_lines(con, vt.lines(width))
    con.print()


def render_summary(con: Console, s: Summary, verbose: int = 0) -> None:
    """The answer for a scan of many consumers: libraries, top consumers."""
    width = con.width
    if s.libraries:
        shown = s.libraries if verbose else s.libraries[:TOP_LIBRARIES]
        con.print(Text(f"Libraries with unstable, private or unknown-stability imports "
                       f"({len(s.libraries)}):", "bold"))
        t = Table([Column("library"), Column("verdict"), Column("consumers", "num"),
                   Column("symbols", "num"),
                   Column("evidence", "text", max_lines=None if verbose else 1,
                          min_width=24)])
        for lu in shown:
            t.add_row(lu.library, (lu.stability.value, STYLE[lu.stability]),
                      str(len(lu.consumers)), str(len(lu.symbols)), lu.evidence or "-")
        print_lines(con, t.lines(width))
        if len(shown) < len(s.libraries):
            con.print(Text(f"  … {len(s.libraries) - len(shown)} more (-v)", "dim"))
        con.print()
    if s.ranked:
        top = s.ranked[:TOP_CONSUMERS]
        con.print(Text(f"Consumers importing the most of them (top {len(top)} of "
                       f"{len(s.ranked)}):", "bold"))
        t = Table([Column("consumer"), Column("unstable", "num"), Column("private", "num"),
                   Column("unknown", "num"), Column("libraries", "list", max_lines=1,
                                                    min_width=20, drop=1)])
        for cu in top:
            t.add_row(cu.name, str(cu.unstable), str(cu.private), str(cu.unknown),
                      ", ".join(cu.libraries))
        print_lines(con, t.lines(width))
        con.print()
    if s.unresolved:
        head = (f"Unresolved: {s.unresolved_imports} import(s) in {s.unresolved_consumers} "
                "consumer(s)")
        if len(s.unresolved) == 1:
            head += f": {s.unresolved[0].reason}"
        print_lines(con, [Text(ln, "bold") for ln in paragraph(head, width, 0, 2)])
        for u in s.unresolved[:5] if len(s.unresolved) > 1 else []:
            print_lines(con, paragraph(f"{u.imports} in {len(u.consumers)} consumer(s): "
                                       f"{u.reason}", width, 2, 4))
        if len(s.unresolved) > 5:
            con.print(Text(f"  … {len(s.unresolved) - 5} more reasons (-v)", "dim"))
        con.print()


def _totals(s: Summary, shown: int | None = None) -> list[str]:
    out = [(f"{s.consumers} consumer(s): {s.problem_consumers} import unstable/private symbols "
            f"({s.problem_imports} import(s) of {s.problem_symbols} symbol(s)), "
            f"{s.unknown_consumers} import from libraries of unknown stability, "
            f"{s.unresolved_consumers} have unresolved imports; {s.errors} input error(s)")]
    if shown is not None:
        out.append(f"{shown} of {s.consumers} consumer(s) shown in full")
    return out


def render_audit(con: Console, audit: Audit, verbose: int = 0, select: Sequence[str] = ()
                 ) -> None:
    summary_first, full = detailed(audit, verbose, select)
    s = summarise(audit)
    if summary_first:
        render_summary(con, s, verbose)
    for c in full:
        render_consumer(con, c, verbose)
    if select and not full:
        con.print(Text(f"no consumer matches --consumer {' '.join(select)}", "yellow"))
    if summary_first or select:
        for line in _totals(s, len(full) if select else None):
            print_lines(con, [Text(ln, "bold") for ln in paragraph(line, con.width)])
        if summary_first and not verbose:
            con.print(Text("per-file detail: -v, or --consumer GLOB for some of them", "dim"))
    else:
        n_unstable = len({(c.display_name, b.symbol.name) for c, b in audit.findings})
        n_presumed = len({(c.display_name, b.symbol.name) for c in audit.consumers
                          for b in c.presumed})
        presumed = f" (+{n_presumed} from libraries not found)" if n_presumed else ""
        print_lines(con, [Text(ln, "bold") for ln in paragraph(
            f"{len(audit.consumers)} consumer(s), {n_unstable} unstable/private import(s)"
            f"{presumed}, {len(audit.errors)} input error(s)", con.width)])
    resized = [(c, b) for c in audit.consumers for b in c.copies
               if b.copy is not None and b.copy.size_differs]
    if resized:
        shown = ", ".join(f"{os.path.basename(c.path)}: {b.symbol} ({copy_size_text(b)} bytes)"
                          for c, b in resized[:4])
        more = f", … {len(resized) - 4} more" if len(resized) > 4 else ""
        print_lines(con, warning_lines(
            f"{len(resized)} copied object(s) of another size than the program reserved "
            f"(copy relocations; ld.so warns): {shown}{more}", con.width))
    print_missing(con, audit)
    for n in _notes(audit.notes):
        print_lines(con, [Text(ln, "dim") for ln in paragraph(f"note: {n}", con.width, 0, 2)])


def _notes(notes: tuple[str, ...]) -> list[str]:
    """The notes without the "libraries not found" line (printed apart, prominently)."""
    return [n for n in notes if not is_missing_line(n)]


def render_audit_text(audit: Audit, *, verbose: int = 0, color: bool = False,
                      select: Sequence[str] = (), width: int | None = None, **_: Any) -> str:
    con = console(color, width)
    render_audit(con, audit, verbose, select)
    return on_console(con)


__all__ = ["STYLE", "consumer_summary", "copy_size_text", "copy_warning", "declared_text",
           "evidence_text", "missing_text", "print_missing", "render_audit", "render_audit_text",
           "render_consumer", "render_summary"]
