"""Text of ``abiguard propose``: what was proposed and written (the proposal itself is
proposal.md: :mod:`abiguard.render.markdown.propose`)."""

from __future__ import annotations

from typing import Any

from ...propose.result import Proposal


def render_proposal_text(p: Proposal, *, verbose: int = 0, **_: Any) -> str:
    """What was proposed and written, for the terminal."""
    out: list[str] = []
    if p.nothing:
        out.append(f"abiguard propose: {p.nothing}")
    else:
        n = sum(1 for g in p.groups for f in g.functions if f.status == "proposed")
        libs = "; ".join(f"{a.library}: {len(a.functions)} in new node {a.node}"
                         + (f" after {a.previous_node}" if a.previous_node else "")
                         for a in p.additions)
        out.append(f"abiguard propose: {len(p.groups)} group(s), {n} function(s) proposed"
                   + (f" ({libs})" if libs else ""))
        for i, g in enumerate(p.groups, 1):
            out.append(f"  {i}. {g.title} [{g.kind}]")
            for f in g.functions:
                if f.status == "proposed":
                    out.append(f"       {f.replaces} -> {f.name}")
                else:
                    out.append(f"       {f.replaces} -> {f.name}: not derived ({f.detail})")
            if g.changed_functions:
                shown = list(dict.fromkeys(x.rpartition(":")[2] for x in g.changed_functions))
                out.append("     consumer functions that change: " + ", ".join(shown))
            if verbose:
                for x in g.stays_unstable:
                    out.append(f"     stays unstable: {x.symbol} ({x.reason})")
    if p.not_declared:
        out.append("not declared in the headers given (no prototype derived): "
                   + ", ".join(p.not_declared))
    for patch in p.patches:
        gone = len(patch.removed)
        out.append(f"  {patch.file}: {patch.title}; {', '.join(patch.files)}; "
                   f"{gone} reference(s) {'removed' if patch.kind == 'retire' else 'rewritten'}"
                   f", {len(patch.remaining)} remain")
        if verbose:
            for c in patch.remaining:
                out.append(f"     remains: {c.symbol} {c.file}:{c.line} {c.function or '-'}: "
                           f"{c.reason}")
        out.append(f"     checked: {patch.verified or 'not checked'}")
    for note in p.notes:
        out.append(f"note: {note}")
    if p.written:
        out.append(f"wrote {len(p.written)} file(s) to {p.output_dir}: " + ", ".join(p.written))
    elif not p.nothing:
        out.append("nothing written")
    return "\n".join(out) + "\n"


__all__ = ["render_proposal_text"]
