"""Text of ``abiguard gate`` (a GateResult): a line per new or gone symbol, the verdict, what
the update did; the sentences the command also writes on stderr and SARIF carries."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...compare.gate import GateEntry, GateResult
from ...demangle import display
from ...missing import is_missing_line
from ..table import paragraph, print_lines
from .console import console, on_console, warn


def entry_message(e: GateEntry, baseline: str) -> str:
    """``CONSUMER: new unstable symbol S from LIB (family F) is not in the baseline B``."""
    what = e.stability.value if e.stability else "unstable"
    return (f"{e.consumer}: new {what} symbol {e.symbol} from {e.library} "
            f"(family {e.family}) is not in the baseline {baseline}")


def update_message(result: GateResult, path: str) -> str:
    """What --update-baseline did to the file (``result.update`` is set)."""
    assert result.update is not None
    return {
        "created": f"created baseline {path}",
        "shrunk": f"baseline {path} shrunk by {len(result.removed)} symbol(s)",
        "grown": f"baseline {path} updated: +{len(result.new)} symbol(s) accepted"
                 + (f", -{len(result.removed)}" if result.removed else ""),
        "unchanged": f"baseline {path} unchanged",
    }[result.update] + ("" if result.passed else
                        f"; {len(result.new)} new symbol(s) not added (--allow-growth adds "
                        "them)")


def render_gate_text(result: GateResult, *, verbose: int = 0, color: bool = False,
                     width: int | None = None, **_: Any) -> str:
    con = console(color, width)

    def say(label: str, style: str, message: str) -> None:
        lines = paragraph(f"{label} {message}", con.width, 0, 2)
        first = Text(label, style)
        first.append(lines[0][len(label):])
        print_lines(con, [first] + [Text(line) for line in lines[1:]])

    failed_new = result.new and not (result.update in ("created", "grown"))
    for e in result.new:
        if result.update == "created" and not verbose:
            break  # all of them: the summary says how many (-v lists them)
        if failed_new:
            say("FAIL", "bold red", entry_message(e, result.baseline))
        else:
            say("accepted", "yellow", f"{e.consumer}: {display(e.symbol)} from {e.library} "
                                      f"(family {e.family})")
    for e in result.removed:
        say("gone", "green", f"{e.consumer}: {display(e.symbol)} (family {e.family}) is no "
                             "longer used")
    if verbose:
        for k in result.unchecked:
            print_lines(con, [Text(line, "dim") for line in paragraph(
                f"not checked: baseline key {k!r} matches no scanned consumer", con.width)])
    for n in result.notes:
        if is_missing_line(n):
            warn(con, n)
    verdict, style = (("gate passed", "bold green") if result.passed else
                      ("gate failed", "bold red"))
    say(verdict + ":", style, f"{len(result.consumers)} consumer(s), {len(result.new)} new, "
                              f"{len(result.removed)} gone, {result.kept} in the baseline "
                              f"({result.baseline})")
    if result.update:
        print_lines(con, paragraph(update_message(result, result.baseline), con.width))
    elif result.removed:
        con.print("baseline can shrink: run with --update-baseline")
    if not result.passed and result.update is None:
        print_lines(con, paragraph("remove the new uses, or accept them with "
                                   "--update-baseline --allow-growth (and review the "
                                   "baseline change)", con.width))
    return on_console(con)


__all__ = ["entry_message", "render_gate_text", "update_message"]
