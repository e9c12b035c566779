"""Markdown of a scan (an Audit) and of a migration plan: for issues, merge requests and
mailing-list mails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...demangle import display
from ...missing import missing_line
from ...model import Audit, Consumer, Plan
from ..summary import TOP_CONSUMERS, Summary, detailed, matches, summarise
from ..text.audit import consumer_summary, copy_size_text, copy_warning, declared_text


def esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def consumer_section(c: Consumer) -> list[str]:
    out = [f"## `{c.display_name}`", ""]
    if c.package:
        out += [f"Package: {c.package}", ""]
    out += [consumer_summary(c) + ".", ""]
    problems = c.findings + c.presumed
    if problems:
        out += ["| symbol | version | library | class |", "|---|---|---|---|"]
        for b in sorted(problems, key=lambda b: (b.provider or "", display(b.symbol.name))):
            bound = b.status == "bound"
            out.append(f"| `{esc(display(b.symbol.name))}` | "
                       f"{(b.provided_version if bound else b.symbol.version) or '-'} | "
                       f"{b.provider} | {b.stability.value}{'' if bound else ' (not found)'} |")
        out.append("")
        libs = {b.provider for b in problems}
        for lib in c.libraries:
            if lib.key in libs:
                found = "" if lib.path else " (not found: by its name)"
                out.append(f"- **{lib.key}** is {lib.stability.value}{found}: "
                           + "; ".join(esc(e.detail) for e in lib.evidence[:2]))
        out.append("")
    elif c.missing_libraries:
        out += ["No unstable or private imports found, but libraries were not found: "
                + ", ".join(f"`{n}`" for n in c.missing_libraries) + ".", ""]
    else:
        out += ["No unstable or private imports.", ""]
    copies = c.copies
    if copies:
        out += [(f"Copied data objects ({len(copies)}; copy relocations: the program holds "
                "its own copy, its size fixed at link time):"), "",
                "| object | version | library | bytes |", "|---|---|---|---|"]
        for b in sorted(copies, key=lambda b: (b.provider or "", b.symbol.name)):
            out.append(f"| `{b.symbol.name}` | {b.symbol.version or '-'} | {b.provider} | "
                       f"{copy_size_text(b)} |")
        out.append("")
        out += [f"- **Warning:** {esc(copy_warning(b))}" for b in copies
                if b.copy is not None and b.copy.size_differs]
        if out[-1] != "":
            out.append("")
    if c.declared:
        out += [esc(declared_text(c, 1)) + ".", ""]
    missing = [b for b in c.unresolved if not b.weak]
    if missing:
        out += [f"Unresolved ({len(missing)}):", ""]
        out += [f"- `{esc(display(b.symbol.name))}`"
                + (f"@{b.symbol.version}" if b.symbol.version else "")
                + f": {esc(b.reason or '')}" for b in missing[:50]]
        out.append("")
    return out


def missing_quote(audit: Audit) -> list[str]:
    """The one "libraries not found" line with the remedy (abiguard.missing), quoted."""
    line = missing_line(audit.consumers)
    return [f"> **Warning:** {esc(line)}", ""] if line else []


def render_plan_markdown(plan: Plan, *, select: Sequence[str] = (), **_: Any) -> str:
    out = ["# Migration plan: ABI-unstable symbols", ""]
    out += missing_quote(plan.audit)
    consumers = {c.display_name: c for c in plan.audit.consumers}
    for cp in plan.plans:
        c = consumers.get(cp.consumer)
        if select and (c is None or not matches(c, select)):
            continue
        items = [i for s in cp.steps for i in s.items]
        libs = sorted({i.library for i in items})
        out += [f"## `{cp.consumer}`", ""]
        if cp.package:
            out += [f"Package: {cp.package}", ""]
        if not items:
            c = next((c for c in plan.audit.consumers if c.display_name == cp.consumer), None)
            if c is not None and c.missing_libraries:
                out += ["No unstable or private imports found, but libraries were not found: "
                        + ", ".join(f"`{n}`" for n in c.missing_libraries) + ".", ""]
            else:
                out += ["No unstable or private imports: nothing to do.", ""]
            continue
        out += [(f"**Summary.** `{cp.consumer}` imports {len(items)} symbol(s) from "
                 f"ABI-unstable/private libraries ({', '.join(libs)}). In order from easy to "
                 "hard:"), ""]
        for i, step in enumerate(cp.steps, 1):
            out.append(f"{i}. {step.title}: " + ", ".join(f"`{display(it.symbol.name)}`"
                                                          for it in step.items))
        out.append("")
        for i, step in enumerate(cp.steps, 1):
            out += [f"### {i}. {step.title}", ""]
            if step.rationale:
                out += [" ".join(step.rationale.split()), ""]
            out += ["| symbol | version | remedy | call sites | verification |",
                    "|---|---|---|---|---|"]
            for it in step.items:
                repl = ", ".join(f"`{display(v.symbol)}`" for v in it.verifications)
                sites = (str(len(it.call_sites)) if it.call_sites else
                         ", ".join(it.known_call_sites) or "-")
                ver = "; ".join(f"{v.status}: {esc(v.detail)}" for v in it.verifications)
                out.append(f"| `{esc(display(it.symbol.name))}` | {it.symbol.version or '-'} | "
                           f"{it.kind}"
                           f"{' -> ' + repl if repl else ''} | {esc(sites)} | {ver or '-'} |")
            out.append("")
            for it in step.items:
                out.append(f"- **`{esc(display(it.symbol.name))}`**: {esc(it.rationale)}")
                for ref in it.references:
                    out.append(f"  - {ref}")
            out.append("")
    if plan.audit.errors:
        out += ["## Input errors", ""] + [f"- `{e.path}`: {esc(e.message)}"
                                          for e in plan.audit.errors] + [""]
    out += [f"_Knowledge: {', '.join(plan.knowledge) or 'none'}. Generated by abiguard._", ""]
    return "\n".join(out)


def summary_section(s: Summary) -> list[str]:
    """The answer for a scan of many consumers: libraries, top consumers, totals."""
    out = [(f"{s.consumers} consumer(s): {s.problem_consumers} import unstable/private "
            f"symbols ({s.problem_imports} import(s) of {s.problem_symbols} symbol(s)), "
            f"{s.unknown_consumers} import from libraries of unknown stability, "
            f"{s.unresolved_consumers} have unresolved imports; {s.errors} input error(s)."),
           ""]
    if s.libraries:
        out += ["## Libraries with unstable, private or unknown-stability imports", "",
                "| library | verdict | consumers | symbols | evidence |",
                "|---|---|--:|--:|---|"]
        for lu in s.libraries:
            out.append(f"| `{lu.library}` | {lu.stability.value} | {len(lu.consumers)} | "
                       f"{len(lu.symbols)} | {esc(lu.evidence) or '-'} |")
        out.append("")
    if s.ranked:
        top = s.ranked[:TOP_CONSUMERS]
        out += [f"## Consumers importing the most of them (top {len(top)} of {len(s.ranked)})",
                "", "| consumer | unstable | private | unknown | libraries |",
                "|---|--:|--:|--:|---|"]
        for cu in top:
            out.append(f"| `{cu.name}` | {cu.unstable} | {cu.private} | {cu.unknown} | "
                       f"{esc(', '.join(cu.libraries))} |")
        out.append("")
    if s.unresolved:
        out += [(f"## Unresolved imports ({s.unresolved_imports} in "
                 f"{s.unresolved_consumers} consumer(s))"), ""]
        out += [f"- {u.imports} in {len(u.consumers)} consumer(s): {esc(u.reason)}"
                for u in s.unresolved]
        out.append("")
    return out


def render_audit_markdown(obj: Audit, *, verbose: int = 0, select: Sequence[str] = (),
                          **_: Any) -> str:
    out = ["# abiguard scan", ""]
    summary_first, full = detailed(obj, verbose, select)
    if summary_first:
        out += summary_section(summarise(obj))
        out += missing_quote(obj)
        if not verbose:
            out += ["_Per-file detail: `-v`, or `--consumer GLOB` for some of them._", ""]
    else:
        n = len(obj.findings)
        n_presumed = sum(len(c.presumed) for c in obj.consumers)
        presumed = f" (+{n_presumed} from libraries not found)" if n_presumed else ""
        out += [(f"{len(obj.consumers)} consumer(s), {n} unstable/private import(s)"
                 f"{presumed}, {len(obj.errors)} input error(s)."), ""]
        out += missing_quote(obj)
        if select:
            out += [f"{len(full)} of {len(obj.consumers)} consumer(s) shown (--consumer).", ""]
    for c in full:
        out += consumer_section(c)
    if obj.errors:
        out += ["## Input errors", ""] + [f"- `{e.path}`: {esc(e.message)}" for e in obj.errors]
        out.append("")
    return "\n".join(out)


__all__ = ["consumer_section", "esc", "missing_quote", "render_audit_markdown",
           "render_plan_markdown", "summary_section"]
