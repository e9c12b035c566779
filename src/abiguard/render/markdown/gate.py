"""Markdown of ``abiguard gate``."""

from __future__ import annotations

from typing import Any

from ...compare.gate import GateResult
from ...missing import is_missing_line


def render_gate_markdown(result: GateResult, **_: Any) -> str:
    out = ["# abiguard gate", ""]
    verdict = "passed" if result.passed else "**failed**"
    out += [(f"Gate {verdict}: {len(result.consumers)} consumer(s), {len(result.new)} new, "
             f"{len(result.removed)} gone, {result.kept} in the baseline "
             f"`{result.baseline}`."), ""]
    out += [f"> **Warning:** {n}\n" for n in result.notes if is_missing_line(n)]
    if result.new:
        out += ["| consumer | new symbol | library | class |", "|---|---|---|---|"]
        for e in result.new:
            out.append(f"| `{e.consumer}` | `{e.symbol}` | {e.library} | "
                       f"{e.stability.value if e.stability else '-'} |")
        out.append("")
    if result.removed:
        out += ["No longer used (the baseline can shrink: `--update-baseline`): "
                + ", ".join(f"`{e.symbol}`" for e in result.removed), ""]
    return "\n".join(out).rstrip() + "\n"


__all__ = ["render_gate_markdown"]
