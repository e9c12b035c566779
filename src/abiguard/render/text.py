"""Terminal rendering with rich: per consumer, a table grouped by provider library."""

from __future__ import annotations

import io
import os
from collections import defaultdict
from typing import Any

from ..model import Audit, Binding, Consumer, Plan, PlanItem, Stability

STYLE = {Stability.UNSTABLE: "bold red", Stability.PRIVATE: "bold magenta",
         Stability.STABLE: "green", Stability.UNKNOWN: "yellow"}


def console(color: bool):
    from rich.console import Console

    width = int(os.environ.get("COLUMNS", "0") or 0) or 120
    return Console(file=io.StringIO(), width=max(width, 80), force_terminal=color,
                   no_color=not color, color_system="standard" if color else None,
                   highlight=False, emoji=False)


def evidence_text(b_or_lib: Any, limit: int = 2, width: int | None = 140) -> str:
    """The first pieces of evidence, each cut to its first sentence unless verbose."""
    out = []
    for e in b_or_lib.evidence[:limit]:
        detail = e.detail
        if width is not None and len(detail) > width:
            cut = detail.find(". ", 0, width)
            detail = detail[: cut + 1] if cut > 0 else detail[: width - 1] + "…"
        out.append(f"{e.source}: {detail}")
    return "; ".join(out)


def _by_provider(c: Consumer) -> dict[str | None, list[Binding]]:
    groups: dict[str | None, list[Binding]] = defaultdict(list)
    for b in c.bindings:
        groups[b.provider if b.status == "bound" else None].append(b)
    return groups


def group_unresolved(bindings: list[Binding]) -> dict[str, list[Binding]]:
    """Unresolved imports grouped by reason (the symbol name taken out of it)."""
    groups: dict[str, list[Binding]] = defaultdict(list)
    for b in bindings:
        reason = (b.reason or "unresolved").replace(f"{b.symbol.name}@{b.symbol.version}", "it")
        reason = reason.replace(f"no loaded library defines {b.symbol.name}",
                                "no loaded library defines it")
        groups[reason].append(b)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def consumer_summary(c: Consumer) -> str:
    bound = sum(1 for b in c.bindings if b.status == "bound")
    unstable = sum(1 for b in c.bindings if b.is_problem and b.stability == Stability.UNSTABLE)
    private = sum(1 for b in c.bindings if b.is_problem and b.stability == Stability.PRIVATE)
    unresolved = sum(1 for b in c.bindings if b.status == "unresolved" and not b.weak)
    weak = sum(1 for b in c.bindings if b.status == "unresolved" and b.weak)
    copies = len(c.copies)
    declared = len(c.declared)
    direct = sum(1 for lib in c.libraries if lib.depth == 1)
    return (f"{len(c.bindings)} imports from {direct} needed libraries ({len(c.libraries)} in "
            f"load order): {bound} bound" + (f" ({copies} copied)" if copies else "")
            + f", {unstable} unstable, {private} private, {unresolved} unresolved"
            + (f" (+{weak} weak)" if weak else "")
            + (f", {declared} declared only" if declared else ""))


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


def render_consumer(con, c: Consumer, verbose: int = 0) -> None:
    from rich.table import Table
    from rich.text import Text

    where = f"{c.kind} {c.machine}" + (f", {c.package}" if c.package else "")
    con.print(Text.assemble((c.display_name, "bold"), f"  ({where})"))
    con.print(f"  {consumer_summary(c)}", soft_wrap=True)
    groups = _by_provider(c)
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1), expand=False)
    table.add_column("library", no_wrap=True)
    table.add_column("stability", no_wrap=True)
    table.add_column("imports", justify="right")
    table.add_column("evidence", overflow="fold")
    stable_summary = []
    for lib in c.libraries:
        bs = groups.get(lib.key, [])
        if not bs and not verbose and lib.path is not None:
            continue
        if lib.path is None:
            table.add_row(lib.name, Text("not found", "bold yellow"), str(len(bs)),
                          f"needed by {lib.needed_by}")
            continue
        problem = any(b.is_problem for b in bs) or lib.stability.is_problem
        if problem or verbose:
            table.add_row(lib.key, Text(lib.stability.value, STYLE[lib.stability]), str(len(bs)),
                          evidence_text(lib, 3 if verbose else 2, None if verbose else 140))
        else:
            stable_summary.append(f"{lib.key} ({len(bs)}, {lib.stability.value})")
    con.print(table)
    problems = c.findings
    if problems:
        st = Table(show_header=True, header_style="bold", box=None, padding=(0, 1),
                   title=None)
        st.add_column("unstable/private symbol", no_wrap=True)
        st.add_column("version", no_wrap=True)
        st.add_column("library", no_wrap=True)
        st.add_column("class", no_wrap=True)
        if verbose:
            st.add_column("evidence", overflow="fold")
        for b in problems:
            row = [b.symbol.name, b.provided_version or b.symbol.version or "-",
                   b.provider or "-", Text(b.stability.value, STYLE[b.stability])]
            if verbose:
                row.append(evidence_text(b, 1))
            st.add_row(*row)
        con.print(st)
    copies = sorted(c.copies, key=lambda b: (not (b.copy and b.copy.size_differs),
                                             b.provider or "", b.symbol.name))
    if copies:
        limit = None if verbose else 12
        ct = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        ct.add_column("copied object", no_wrap=True)
        ct.add_column("version", no_wrap=True)
        ct.add_column("library", no_wrap=True)
        ct.add_column("bytes", justify="right", no_wrap=True)
        for b in copies[:limit]:
            bad = b.copy is not None and b.copy.size_differs
            ct.add_row(b.symbol.name, b.symbol.version or "-", b.provider or "-",
                       Text(copy_size_text(b), "bold red" if bad else ""))
        con.print(ct)
        if limit is not None and len(copies) > limit:
            con.print(Text(f"  … {len(copies) - limit} more copied objects (-v)", "dim"))
        for b in copies:
            if b.copy is not None and b.copy.size_differs:
                con.print(Text("  warning: " + copy_warning(b), "bold red"), overflow="fold")
    if stable_summary:
        con.print(Text("  other libraries: " + ", ".join(stable_summary), "dim"))
    if c.declared:
        con.print(Text("  " + declared_text(c, verbose), "dim"), overflow="fold")
    unresolved = [b for b in c.bindings if b.status == "unresolved" and (verbose or not b.weak)]
    if unresolved:
        ut = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        ut.add_column("unresolved", justify="right")
        ut.add_column("reason", overflow="fold")
        ut.add_column("symbols", overflow="fold")
        for reason, bs in group_unresolved(unresolved).items():
            names = ", ".join(str(b.symbol) + (" (weak)" if b.weak else "")
                              for b in bs[: None if verbose else 4])
            more = "" if verbose or len(bs) <= 4 else f", … {len(bs) - 4} more"
            ut.add_row(str(len(bs)), reason, names + more)
        con.print(ut)
    if verbose > 1:
        vt = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        for col in ("symbol", "library", "version", "class", "copy"):
            vt.add_column(col)
        for b in sorted(c.bindings, key=lambda b: (b.provider or "", b.symbol.name)):
            if b.status == "bound":
                vt.add_row(b.symbol.name, b.provider or "", b.provided_version or "",
                           b.stability.value, copy_size_text(b) if b.copy else "")
        con.print(vt)
    con.print()


def render_audit(con, audit: Audit, verbose: int = 0) -> None:
    for c in audit.consumers:
        render_consumer(con, c, verbose)
    n_unstable = len({(c.display_name, b.symbol.name) for c, b in audit.findings})
    n_sizes = sum(1 for c in audit.consumers for b in c.copies
                  if b.copy is not None and b.copy.size_differs)
    con.print(f"[bold]{len(audit.consumers)} consumer(s), {n_unstable} unstable/private "
              f"import(s), {len(audit.errors)} input error(s)"
              + (f", {n_sizes} copied object(s) of another size" if n_sizes else "")
              + "[/bold]")
    for e in audit.errors:
        con.print(f"[bold red]input error[/bold red] {e}")
    for n in audit.notes:
        con.print(f"[dim]note: {n}[/dim]")


def render(obj: Any, *, verbose: int = 0, color: bool = False, **_: Any) -> str:
    con = console(color)
    if isinstance(obj, Audit):
        render_audit(con, obj, verbose)
    elif isinstance(obj, Plan):
        render_plan(con, obj, verbose)
    elif hasattr(obj, "render_text"):
        obj.render_text(con, verbose=verbose)
    else:
        raise TypeError(f"no text renderer for {type(obj).__name__}")
    return con.file.getvalue()


KIND_STYLE = {"replace": "green", "retire": "cyan", "new-entry-point": "yellow",
              "redesign": "red", "keep": "dim", "unknown": "magenta"}


def verification_text(item: PlanItem) -> str:
    """Compact: one 'symbol: status@node' per replacement (details in -v, JSON, Markdown)."""
    return ", ".join(f"{v.symbol}: {v.status}" + (f"@{v.version}" if v.version else "")
                     for v in item.verifications)


def where_text(item: PlanItem) -> str:
    if item.call_sites:
        funcs = sorted({cs.function or (f"0x{cs.address:x}" if cs.address is not None else "?")
                        for cs in item.call_sites})
        return f"{len(item.call_sites)} sites in " + ", ".join(funcs[:3]) + \
            (f" +{len(funcs) - 3}" if len(funcs) > 3 else "")
    funcs = list(dict.fromkeys(k.rsplit(":", 1)[-1] for k in item.known_call_sites))
    return ", ".join(funcs[:3]) + (f" +{len(funcs) - 3}" if len(funcs) > 3 else "")


def render_plan(con, plan: Plan, verbose: int = 0) -> None:
    from rich.table import Table
    from rich.text import Text

    for cp in plan.plans:
        con.print(Text.assemble(("Migration plan for ", "bold"), (cp.consumer, "bold"),
                                f"  ({cp.package})" if cp.package else ""))
        n = sum(len(s.items) for s in cp.steps)
        if not n:
            con.print("  no unstable or private imports: nothing to do\n")
            continue
        con.print(f"  {n} unstable/private symbol(s) in {len(cp.steps)} step(s), easy to hard")
        for i, step in enumerate(cp.steps, 1):
            con.print(Text.assemble(f"\n {i}. ", (step.title, "bold " + KIND_STYLE.get(
                step.kind, ""))))
            if step.rationale:
                text = " ".join(step.rationale.split())
                if not verbose and len(text) > 300:
                    cut = text.find(". ", 150, 400)
                    text = (text[: cut + 1] if cut > 0 else text[:300]) + " (-v for more)"
                con.print(Text("    " + text, "dim"), overflow="fold")
            t = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
            t.add_column("symbol", no_wrap=True)
            t.add_column("remedy", overflow="fold")
            t.add_column("verified", overflow="fold")
            t.add_column("used in", overflow="fold")
            for it in step.items:
                repl = ", ".join(dict.fromkeys(v.symbol for v in it.verifications))
                t.add_row(it.symbol.name, it.kind + (f" -> {repl}" if repl else ""),
                          verification_text(it) or "-", where_text(it) or "-")
            con.print(t)
            if verbose:
                for it in step.items:
                    con.print(Text(f"    {it.symbol.name}: {it.rationale}", "dim"),
                              overflow="fold")
                    for v in it.verifications:
                        con.print(Text(f"      {v.status}: {v.detail}", "dim"), overflow="fold")
                    for ref in it.references:
                        con.print(Text(f"      ref: {ref}", "dim"), overflow="fold")
        con.print()
    a = plan.audit
    for e in a.errors:
        con.print(f"[bold red]input error[/bold red] {e}")
