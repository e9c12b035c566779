"""Text of ``abiguard history``: per library family its verdict and evidence, then each
suite's package, upstream version and sonames."""

from __future__ import annotations

from typing import Any

from ...policy.archive import PolicyData
from ...policy.collect import HistoryRun


def history_text(data: PolicyData) -> str:
    """One line per family (verdict, reason), then one per suite."""
    lines = []
    for e in data["history"]:
        lines.append(f"{e['family']}: {e['verdict']}: {e['reason']}")
        for r in e["releases"]:
            so = ", ".join(r.get("sonames", [])[:3]) + (" …" if len(r.get("sonames", [])) > 3
                                                         else "")
            lines.append(f"    {r['suite']:<10} {r['package']:<28} {r['upstream']:<12} {so}"
                         + ("  (derived)" if r.get("derived") else ""))
    return "\n".join(lines) + ("\n" if lines else "")


def render_history_text(run: HistoryRun, **_: Any) -> str:
    return history_text(run.data)


__all__ = ["history_text", "render_history_text"]
