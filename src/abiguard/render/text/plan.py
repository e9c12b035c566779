"""Text of a migration plan: per consumer, its steps easy to hard, a table per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from ...demangle import display
from ...model import Plan, PlanItem
from ..summary import matches
from ..table import Column, Table, paragraph, print_lines, title
from .audit import print_missing
from .console import console, on_console

KIND_STYLE = {"replace": "green", "retire": "cyan", "new-entry-point": "yellow",
              "redesign": "red", "keep": "dim", "unknown": "magenta"}


def verification_text(item: PlanItem) -> str:
    """Compact: one 'symbol: status@node' per replacement (details in -v, JSON, Markdown)."""
    return ", ".join(f"{display(v.symbol)}: {v.status}" + (f"@{v.version}" if v.version else "")
                     for v in item.verifications)


def where_text(item: PlanItem) -> str:
    if item.call_sites:
        funcs = sorted({display(cs.function) if cs.function else
                        (f"0x{cs.address:x}" if cs.address is not None else "?")
                        for cs in item.call_sites})
        return f"{len(item.call_sites)} sites in " + ", ".join(funcs[:3]) + \
            (f" +{len(funcs) - 3}" if len(funcs) > 3 else "")
    funcs = list(dict.fromkeys(k.rsplit(":", 1)[-1] for k in item.known_call_sites))
    return ", ".join(funcs[:3]) + (f" +{len(funcs) - 3}" if len(funcs) > 3 else "")


def render_plan(con: Console, plan: Plan, verbose: int = 0, select: Sequence[str] = ()
                ) -> None:
    width = con.width
    consumers = {c.display_name: c for c in plan.audit.consumers}
    for cp in plan.plans:
        c = consumers.get(cp.consumer)
        if select and (c is None or not matches(c, select)):
            continue
        print_lines(con, title(cp.consumer, cp.package or "", width,
                               lead="Migration plan for "))
        n = sum(len(s.items) for s in cp.steps)
        if not n:
            c = next((c for c in plan.audit.consumers if c.display_name == cp.consumer), None)
            if c is not None and c.missing_libraries:
                con.print(f"  no unstable or private imports found, but {len(c.missing_libraries)}"
                          " of its libraries were not found: see the warning below\n")
            else:
                con.print("  no unstable or private imports: nothing to do\n")
            continue
        con.print(f"  {n} unstable/private symbol(s) in {len(cp.steps)} step(s), easy to hard")
        for i, step in enumerate(cp.steps, 1):
            con.print()
            head = paragraph(f"{i}. {step.title}", width, 1, 4)
            style = "bold " + KIND_STYLE.get(step.kind, "")
            print_lines(con, [Text(ln, style) for ln in head])
            if step.rationale:
                text = " ".join(step.rationale.split())
                if not verbose and len(text) > 300:
                    cut = text.find(". ", 150, 400)
                    text = (text[: cut + 1] if cut > 0 else text[:300].rsplit(" ", 1)[0]
                            + " …") + " (-v for more)"
                print_lines(con, [Text(ln, "dim") for ln in paragraph(text, width, 4)])
            t = Table([Column("symbol"), Column("remedy", "list", min_width=16),
                       Column("verified", "list", min_width=16),
                       Column("used in", "list", min_width=16)])
            for it in step.items:
                repl = ", ".join(dict.fromkeys(display(v.symbol) for v in it.verifications))
                t.add_row(display(it.symbol.name), it.kind + (f" -> {repl}" if repl else ""),
                          verification_text(it) or "-", where_text(it) or "-")
            print_lines(con, t.lines(width))
            if verbose:
                for it in step.items:
                    lines = paragraph(f"{display(it.symbol.name)}: {it.rationale}", width, 4, 6)
                    for v in it.verifications:
                        lines += paragraph(f"{v.status}: {v.detail}", width, 6, 8)
                    for ref in it.references:
                        lines += paragraph(f"ref: {ref}", width, 6, 8)
                    print_lines(con, [Text(ln, "dim") for ln in lines])
        con.print()
    print_missing(con, plan)


def render_plan_text(plan: Plan, *, verbose: int = 0, color: bool = False,
                     select: Sequence[str] = (), width: int | None = None, **_: Any) -> str:
    con = console(color, width)
    render_plan(con, plan, verbose, select)
    return on_console(con)


__all__ = ["KIND_STYLE", "render_plan", "render_plan_text", "verification_text", "where_text"]
