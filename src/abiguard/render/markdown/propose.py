"""proposal.md: the RFC a maintainer can post, from a
:class:`~abiguard.propose.result.Proposal` (GitHub Markdown; it only reads the proposal).
``abiguard propose`` writes it into the output directory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...propose.emit import format_declaration
from ...propose.result import ConsumerPatch, Proposal, ProposalGroup, ProposedFunction, SymbolDemand


def _esc(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"``{text}``"


def _list(items: Iterable[str], empty: str = "none") -> str:
    items = list(items)
    return ", ".join(items) if items else empty


def _functions_by_file(functions: Iterable[str]) -> str:
    by_file: dict[str, list[str]] = {}
    for f in functions:
        file, _, fn = f.rpartition(":")
        by_file.setdefault(file, []).append(fn)
    return "; ".join(f"{_code(file)}: " + ", ".join(_code(fn) for fn in fns)
                     for file, fns in by_file.items())


def _usage(s: SymbolDemand, p: Proposal) -> str:
    if s.census_consumers is not None and p.census_consumers:
        return f"{s.census_consumers} of {p.census_consumers}"
    return str(len(s.consumers))


def _title(p: Proposal) -> str:
    who = _list(p.consumers[:3]) + (f" and {len(p.consumers) - 3} more"
                                     if len(p.consumers) > 3 else "")
    libs = _list(dict.fromkeys(a.library for a in p.additions)) if p.additions else \
        "stable libraries"
    return f"RFC: new entry points in {libs} for the ABI-unstable calls of {who}"


def _function_block(f: ProposedFunction) -> list[str]:
    out = [f"#### {_code(f.name)} (replaces {_code(f.replaces)})", ""]
    if f.status != "proposed":
        out += [f"Not derived: {_esc(f.detail)}", ""]
        if f.summary:
            out += [_esc(f.summary), ""]
        return out
    out += ["```c", f.doc, format_declaration(f.prototype or ""), "```", ""]
    out += [(f"Today: {_code((f.old_prototype or '') + ';')} ({_code(f.old_location or '?')}); "
            f"forwarding: {_code(f.forward or '')}."), ""]
    if f.decide:
        out += ["To decide:", ""] + [f"- {_esc(d)}" for d in f.decide] + [""]
    return out


def _group(n: int, g: ProposalGroup, p: Proposal) -> list[str]:
    kind = {"redesign": "a new stable API design", "new-entry-point": "new stable entry points"}
    syms = [s for s in g.symbols]
    out = [f"## {n}. {_esc(g.title)}", "",
           (f"*Kind: {kind.get(g.kind, g.kind)}; {len(syms)} unstable symbol(s), "
           f"{sum(1 for f in g.functions if f.status == 'proposed')} proposed function(s).*"), ""]
    if g.rationale:
        out += ["**Why.** " + _esc(g.rationale), ""]
    census = p.census_consumers is not None
    out += ["**Motivating consumers and call sites.**", "",
            (f"| symbol | remedy | {'packages (census)' if census else 'consumers'} | "
            "used in |"), "|---|---|---|---|"]
    for s in syms:
        where = _functions_by_file(s.functions) or "-"
        if s.functions_from == "knowledge":
            where += " (from the knowledge base)"
        out.append(f"| {_code(s.symbol)} | {s.kind} | {_usage(s, p)}: "
                   f"{_esc(_list(s.consumers[:5]))}{' …' if len(s.consumers) > 5 else ''} | "
                   f"{where} |")
    out.append("")
    if g.parts:
        for part in g.parts:
            out += [f"### {_esc(part.title)}", ""]
            if part.rationale:
                out += [_esc(part.rationale), ""]
            out += [(f"Replaces: {_list(_code(x) for x in part.symbols)}. "
                    f"Proposed: {_list(_code(x) for x in part.functions)}."), ""]
            for f in g.functions:
                if f.part == part.id:
                    out += _function_block(f)
        rest = [f for f in g.functions if f.part not in {pt.id for pt in g.parts}]
    else:
        rest = list(g.functions)
        out += ["### Proposed functions", ""]
    for f in rest:
        out += _function_block(f)
    if g.changed_functions:
        out += ["**Consumer functions that change.** " + _functions_by_file(g.changed_functions)
                + ".", ""]
    if g.stays_unstable:
        out += ["**Stays unstable.**", ""] + [f"- {_code(x.symbol)}: {_esc(x.reason)}"
                                              for x in g.stays_unstable] + [""]
    if g.references:
        out += ["**References.**", ""] + [f"- {_esc(r)}" for r in g.references] + [""]
    return out


def _patch(p: ConsumerPatch) -> list[str]:
    out = [f"### {_code(p.file)}: {_esc(p.title)}", "", _esc(p.description), "",
           f"Files: {_list(_code(f) for f in p.files)}."]
    if p.applies_after:
        out.append(f"Apply after {_list(_code(x) for x in p.applies_after)}.")
    out += [f"Checked: {_esc(p.verified) or 'not checked'}.", ""]
    if p.removed:
        what = "Removed" if p.kind == "retire" else "Rewritten"
        out += [f"{what} references:", "", "| symbol | file:line | function | via | condition |",
                "|---|---|---|---|---|"]
        for c in p.removed:
            out.append(f"| {_code(c.symbol)} | {_code(f'{c.file}:{c.line}')} | "
                       f"{_esc(c.function or '-')} | {_esc(c.via or '')} | "
                       f"{_code(c.condition) if c.condition else ''} |")
        out.append("")
    if p.remaining:
        out += ["What remains, and why:", "", "| symbol | file:line | function | why |",
                "|---|---|---|---|"]
        for c in p.remaining:
            out.append(f"| {_code(c.symbol)} | {_code(f'{c.file}:{c.line}')} | "
                       f"{_esc(c.function or '-')} | {_esc(c.reason)} |")
        out.append("")
    return out


def render_proposal_markdown(p: Proposal, **_: Any) -> str:
    out = [f"# {_esc(_title(p))}", ""]
    if p.nothing:
        out += [_esc(p.nothing[0].upper() + p.nothing[1:]) + ".", ""]
    else:
        n_sym = sum(len([s for s in g.symbols if s.kind in ('new-entry-point', 'redesign')])
                    for g in p.groups)
        out += [f"These unstable calls have no stable replacement yet: {n_sym} symbol(s) in "
                f"{len(p.groups)} group(s), from the consumer(s) {_esc(_list(p.consumers))}"
                + (f" ({p.census_consumers} packages in the census {_code(p.census or '')})"
                   if p.census_consumers is not None else "") + ". Each group below says who "
                "uses the calls and where, the functions proposed for the stable library, why, "
                "what they replace, and what stays unstable. The prototypes are derived from "
                f"the unstable declarations in {_esc(p.headers or 'the headers given')}; the "
                "names come from the remedies knowledge and are placeholders until agreed.", ""]
        out += ["| # | group | kind | unstable symbols | proposed functions |",
                "|---|---|---|---|---|"]
        for i, g in enumerate(p.groups, 1):
            out.append(f"| {i} | {_esc(g.title)} | {g.kind} | "
                       f"{_list(_code(s.symbol) for s in g.symbols)} | "
                       f"{_list(_code(f.name) for f in g.functions if f.status == 'proposed')}"
                       " |")
        out.append("")
    if p.not_declared:
        out += [(f"> **Not declared in the headers given:** "
                f"{_list(_code(x) for x in p.not_declared)}: no prototype could be derived for "
                "their functions; the others are proposed."), ""]
    for i, g in enumerate(p.groups, 1):
        out += _group(i, g, p)
    if p.additions:
        out += ["## The stable library's additions", ""]
        for a in p.additions:
            out += [f"**{_esc(a.library)}**: {len(a.functions)} function(s) in a new version "
                    f"node {_code(a.node)}" + (f" after {_code(a.previous_node)}"
                                               if a.previous_node else "")
                    + f" ({_esc(a.node_source)}); handle {_code(a.handle)}"
                    + (f" in place of {_code(a.unstable_handle)}" if a.unstable_handle else "")
                    + ".", "",
                    (f"- {_code(a.header_file)}: the prototypes with their doc comments, for "
                    f"{_code(a.header_include or '?')}"),
                    f"- {_code(a.version_script_file)}: the version-script node",
                    (f"- {_code(a.skeleton_file)}: a forwarding implementation (each function "
                    "calls the unstable one it replaces); `DECIDE:` comments mark what a "
                    "maintainer must decide"), "",
                    "```", a.version_script_text.rstrip(), "```", ""]
    if p.patches:
        out += ["## Consumer patches", "",
                "Unified diffs against the consumer's source tree "
                f"({_code(p.source_root or '')}), a series to apply in order with "
                "`patch -p1`." + (f" Minimum library version: {p.min_version}."
                                  if p.min_version else ""), ""]
        for patch in p.patches:
            out += _patch(patch)
    if p.notes:
        out += ["## Notes", ""] + [f"- {_esc(n)}" for n in p.notes] + [""]
    out += ["---", (f"Generated by abiguard {p.tool_version} `propose` from "
            f"{_esc(_list(p.inputs))}; knowledge: {_esc(_list(p.knowledge))}."), ""]
    return "\n".join(out)


__all__ = ["render_proposal_markdown"]
