"""Assemble the proposal: groups and functions, the stable library's additions, the patches.

:func:`build` takes what the command gathered (plans, census, headers, the consumer's source
tree) and returns a :class:`~abiguard.propose.result.Proposal`; :func:`write` puts its files
into the output directory. Nothing here prints.
"""

from __future__ import annotations

import fnmatch
import os
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import __version__
from ..errors import UsageError
from ..headers import Param
from ..model import CallSite, InputError, Library
from ..remedies import Knowledge, Remedy, VersionMacro
from . import emit
from .demand import NEEDS_API, find_library
from .derive import (
    Headers,
    StableConventions,
    derive,
    handle_of_file,
    name_prefix,
    stable_conventions,
)
from .patches import (
    Retired,
    Tree,
    apply_edits,
    handle_variables,
    retire,
    rewrite_call,
    site_removed,
    verify,
)
from .result import (
    ConsumerPatch,
    GroupPart,
    LibraryAdditions,
    Proposal,
    ProposalGroup,
    ProposedFunction,
    SiteChange,
    StaysUnstable,
    SymbolDemand,
)
from .unifdef import Bound

NEW_ENTRY_POINTS = "new-entry-points"
KIND_WORDS = {"retire": "retire the call", "replace": "replace with the existing "
              "stable call", "keep": "needed only while other unstable calls remain",
              "unknown": "no remedy known", "available": "the stable entry point exists",
              "new-entry-point": "new entry point", "redesign": "needs a design"}


@dataclass
class Request:
    """What the command gathered for :func:`build`."""

    symbols: list[SymbolDemand]
    consumers: list[str]
    knowledge: Knowledge
    headers: Headers | None = None
    libraries: list[Library] = field(default_factory=list)
    """Scanned libraries (with version nodes) to find the stable libraries in."""
    find_library: Callable[[str], Library | None] | None = None
    """Another way to find a stable library by soname glob (census store, --stable-library)."""
    source_root: str | None = None
    sites: dict[str, list[CallSite]] = field(default_factory=dict)
    """All source references of every symbol (with wrappers), for the patches."""
    min_version: str | None = None
    version_macro: str | None = None
    handle: str | None = None
    check_sources: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    census: str | None = None
    census_total: int | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Groups and functions
# --------------------------------------------------------------------------------------------


def _group_key(s: SymbolDemand) -> str:
    if s.group:
        return s.group
    return NEW_ENTRY_POINTS if s.kind == "new-entry-point" else f"redesign-{s.symbol}"


def _stable_library(req: Request, pattern: str) -> Library | None:
    lib = find_library(req.libraries, pattern)
    if lib is None and req.find_library is not None:
        lib = req.find_library(pattern)
    return lib


def _library_name(req: Request, pattern: str) -> str:
    lib = _stable_library(req, pattern)
    return (lib.soname or lib.name) if lib is not None else pattern


def _functions_for(req: Request, s: SymbolDemand, remedy: Remedy, group: str,
                   convs: dict[str, StableConventions | None],
                   unstable: dict[str, Param | None]) -> list[ProposedFunction]:
    out = []
    for repl in remedy.replacement_for(s.symbol):
        if not repl.proposed:
            continue
        library = _library_name(req, repl.library)
        if req.headers is None:
            out.append(ProposedFunction(repl.symbol, library, s.symbol, group, remedy.part,
                                        "no-declaration", "no headers given (--headers): "
                                        "no prototype derived", summary=repl.summary or "",
                                        decide=repl.decide))
            continue
        prefix = name_prefix(repl.symbol)
        if prefix not in convs:
            convs[prefix] = stable_conventions(req.headers, prefix)
        old = req.headers.prototypes.get(s.symbol)
        if old is not None and old.file not in unstable:
            h = handle_of_file(req.headers, old.file)
            unstable[old.file] = _named(h.param) if h is not None else None
        out.append(derive(s.symbol, repl, old, req.headers, convs[prefix],
                          unstable.get(old.file) if old is not None else None,
                          library=library, group=group, part=remedy.part))
    return out


def _named(p: Param) -> Param:
    return p if p.name else Param(p.type, "handle", p.canon)


def build_groups(req: Request) -> tuple[list[ProposalGroup], list[ProposedFunction],
                                        dict[str, StableConventions | None],
                                        dict[str, Param | None]]:
    convs: dict[str, StableConventions | None] = {}
    unstable: dict[str, Param | None] = {}
    by_key: dict[str, list[SymbolDemand]] = {}
    for s in req.symbols:
        if s.kind in NEEDS_API:
            by_key.setdefault(_group_key(s), []).append(s)
    keep = [s for s in req.symbols if s.kind == "keep"]
    # functions in the order the knowledge lists them (the design's order)
    order = {r.symbol: (i, j) for i, remedy in enumerate(req.knowledge.remedies)
             for j, r in enumerate(remedy.replacements)}
    groups: list[ProposalGroup] = []
    functions: list[ProposedFunction] = []
    keys = sorted(by_key, key=lambda k: (k != NEW_ENTRY_POINTS,
                                         req.knowledge.groups[k].kind == "redesign"
                                         if k in req.knowledge.groups else True, k))
    for key in keys:
        members = by_key[key]
        g = req.knowledge.groups.get(key)
        others = [s for s in req.symbols if s.group == key and s.kind not in NEEDS_API]
        funcs: list[ProposedFunction] = []
        for s in members:
            remedy = req.knowledge.lookup(s.symbol, s.library)
            if remedy is not None:
                funcs += _functions_for(req, s, remedy, key, convs, unstable)
        funcs.sort(key=lambda f: order.get(f.name, (len(order), 0)))
        stays = [StaysUnstable(s.symbol, f"no new function: the remedy is {s.kind} "
                                         f"({KIND_WORDS.get(s.kind, s.kind)})") for s in others]
        covered = {f.replaces for f in funcs if f.status == "proposed"}
        for s in members:
            if s.symbol in covered:
                continue
            why = [f.detail for f in funcs if f.replaces == s.symbol and f.detail]
            stays.append(StaysUnstable(s.symbol, "; ".join(why) or
                                       "no function proposed in the knowledge base"))
        stays += [StaysUnstable(s.symbol, "goes away with the last unstable call")
                  for s in keep]
        parts = []
        for p in (g.parts if g else ()):
            parts.append(GroupPart(p.id, p.title, p.rationale,
                                   tuple(s.symbol for s in members if s.part == p.id),
                                   tuple(f.name for f in funcs if f.part == p.id)))
        changed = sorted({fn for s in members for fn in s.functions})
        if g is not None:
            title, kind, rationale, refs = g.title, g.kind, g.rationale, g.references
        elif key == NEW_ENTRY_POINTS:
            title, kind, rationale, refs = "New stable entry points", "new-entry-point", (
                "Unstable calls whose stable replacement is a new function of a stable "
                "library, one for one."), ()
        else:
            title, kind, rationale, refs = f"{members[0].symbol}: a new design", "redesign", \
                members[0].rationale, ()
        groups.append(ProposalGroup(key, title, kind, " ".join(rationale.split()),
                                    tuple(refs), tuple(members + others), tuple(funcs),
                                    tuple(parts), tuple(changed), tuple(stays)))
        functions += funcs
    return groups, functions, convs, unstable


# --------------------------------------------------------------------------------------------
# The stable libraries' additions
# --------------------------------------------------------------------------------------------


def _stem(library: str) -> str:
    base = library.split(".so")[0]
    return re.sub(r"[^A-Za-z0-9_.-]", "", base) or "library"


def build_additions(req: Request, groups: list[ProposalGroup],
                    convs: dict[str, StableConventions | None],
                    unstable: dict[str, Param | None]) -> list[LibraryAdditions]:
    proposed = [f for g in groups for f in g.functions if f.status == "proposed"]
    out = []
    for library in dict.fromkeys(f.library for f in proposed):
        funcs = [f for f in proposed if f.library == library]
        lib = _stable_library(req, library)
        node, previous, how = emit.next_node(lib.version_defs if lib is not None else None,
                                             library)
        conv = convs.get(name_prefix(funcs[0].name))
        assert conv is not None  # a proposed function had conventions
        sections = []
        for g in groups:
            parts = list(g.parts) + [GroupPart("", "")]
            known = {p.id for p in g.parts}
            for p in parts:
                title = g.title + (f": {p.title}" if p.title else "")
                sections.append((title, [f for f in funcs if f.group == g.id and
                                         (f.part == p.id if p.id else f.part not in known)]))
        funcs = [f for _, fs in sections for f in fs]
        stem = _stem(library)
        header_file = f"{stem}-additions.h"
        old_files = []
        for f in funcs:
            if f.old_location:
                old_files.append(f.old_location.rsplit(":", 1)[0])
        old_files = list(dict.fromkeys(old_files))
        handle_param = next((unstable[o] for o in old_files if unstable.get(o)), None)
        opener = None
        if handle_param is not None and req.headers is not None:
            h = handle_of_file(req.headers, old_files[0])
            opener = h.opener if h is not None else None
        names = [f.name for f in funcs]
        replaced = {f.replaces for f in funcs}
        unstable_libs = " or ".join(sorted({s.library for s in req.symbols
                                            if s.symbol in replaced})) or "the unstable library"
        source = req.headers.label if req.headers else "the headers given"
        out.append(LibraryAdditions(
            library=library, header_include=conv.header, node=node, previous_node=previous,
            node_source=how, functions=tuple(names), header_file=header_file,
            header_text=emit.header_fragment(library, conv.header, node, previous, sections,
                                             source, header_file),
            version_script_file=f"{stem}-additions.map",
            version_script_text=emit.version_script(library, node, previous, how, names),
            skeleton_file=f"{stem}-forward.c",
            skeleton_text=emit.skeleton(library, node, header_file, old_files, funcs,
                                        conv.handle.param, handle_param, opener, unstable_libs),
            handle=conv.handle.param.declaration(),
            unstable_handle=handle_param.declaration() if handle_param is not None else ""))
    return out


# --------------------------------------------------------------------------------------------
# Consumer patches
# --------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def _macros_for(req: Request) -> list[VersionMacro]:
    known = list(req.knowledge.version_macros)
    if req.version_macro:
        name, _, scale = req.version_macro.partition("=")
        match = [m for m in known if m.name == name]
        if scale:
            try:
                numbers = tuple(int(x) for x in scale.split(","))
            except ValueError:
                raise UsageError(f"--version-macro {req.version_macro!r}: expected "
                                 "NAME[=SCALE,SCALE,…], e.g. "
                                 "CONFIG_XEN_CTRL_INTERFACE_VERSION=10000,100,1") from None
            return [VersionMacro(name, "*", numbers)]
        return match or [VersionMacro(name, "*")]
    libs = {s.library for s in req.symbols}
    return [m for m in known if any(fnmatch.fnmatchcase(lib, m.library) for lib in libs)]


def _site_change(s: CallSite, reason: str = "") -> SiteChange:
    return SiteChange(s.symbol, s.file, s.line, s.function, s.via, s.condition, reason)


def _retire_patch(req: Request, tree: Tree, number: int) -> tuple[ConsumerPatch | None,
                                                                   list[str]]:
    notes: list[str] = []
    macros = _macros_for(req)
    if not macros:
        libs = ", ".join(sorted({s.library for s in req.symbols})) or "the libraries"
        return None, [(f"--min-version {req.min_version}: no version macro is known for {libs} "
                      "(give --version-macro NAME)")]
    retired_all: dict[str, bytes] = {}
    removed_lines: dict[str, frozenset[int]] = {}
    for m in macros:
        try:
            bound = Bound(m.name, m.value(req.min_version or ""))
        except ValueError as exc:
            raise UsageError(f"--min-version {req.min_version}: {exc}") from None
        r = retire(tree, bound)
        for rel in r.unbalanced:
            notes.append(f"{rel}: #if/#endif do not match: not retired")
        for rel, why in r.refused:
            notes.append(f"{rel}: left alone: {why} (the sources do not know {m.name} values "
                         f"from {bound.minimum} up: choose a lower --min-version)")
        if r.largest is not None and bound.minimum > r.largest:
            notes.append(f"the sources compare {m.name} with at most {r.largest}: "
                         f"--min-version {req.min_version} ({bound.minimum}) assumes values "
                         "they may never set (check how the build sets the macro)")
        retired_all.update(r.edits)
        removed_lines.update(r.removed_lines)
    if not retired_all:
        return None, notes + [(f"--min-version {req.min_version}: no branch of "
                              f"{', '.join(m.name for m in macros)} is decided in the sources")]
    retired = Retired(retired_all, removed_lines)
    removed, remaining = [], []
    targets = {s.symbol for s in req.symbols}
    names = " ".join(m.name for m in macros)
    for symbol in sorted(targets):
        sites = req.sites.get(symbol, [])
        gone = [s for s in sites if site_removed(s, retired)]
        removed += [_site_change(s, f"in a branch for {names} below {req.min_version}")
                    for s in gone]
        kind = next((d.kind for d in req.symbols if d.symbol == symbol), "")
        if gone or kind == "retire":
            for s in sites:
                if s in gone:
                    continue
                cond = s.condition or ""
                why = (f"under {cond}: still compiled for some versions from "
                       f"{req.min_version} up" if any(m.name in cond for m in macros)
                       else f"not under a {names} condition")
                if s.via:
                    why += f" (a use of {s.via})"
                remaining.append(_site_change(s, why))
    for symbol in sorted({c.symbol for c in remaining}):
        d = next((x for x in req.symbols if x.symbol == symbol), None)
        if d is None or d.kind != "retire":
            continue
        left = sum(1 for c in remaining if c.symbol == symbol)
        said = re.search(r"Remedy: (.+?\.)(?:\s|$)", d.rationale)
        notes.append(f"{symbol}: {left} reference(s) stay after retiring the branches below "
                     f"{req.min_version}: they are not in a version branch"
                     + (f"; the knowledge's remedy is a code change: {said.group(1)}"
                        if said else ""))
    lib = macros[0].library.split(".so")[0] if macros[0].library != "*" else "the library"
    title = f"Retire compatibility code for {lib} before {req.min_version}"
    name = f"patches/{number:04d}-{_slug(f'retire compat below {lib} {req.min_version}')}.patch"
    bounds = ", ".join(f"{m.name} >= {m.value(req.min_version or '')}" for m in macros)
    desc = (f"Removes the preprocessor branches compiled only when building against {lib} "
            f"older than {req.min_version} (from now on {bounds}), as unifdef would; "
            "conditions that still depend on the version stay.")
    diff, after = tree.change(name, retired.edits)
    symbols = tuple(sorted({c.symbol for c in removed}))
    return ConsumerPatch(name, "retire", title, desc, tuple(sorted(retired.edits)), diff,
                         symbols, tuple(removed), tuple(remaining), after), notes


def _replace_patches(req: Request, tree: Tree, start: int,
                     convs: dict[str, StableConventions | None]
                     ) -> tuple[list[ConsumerPatch], list[str]]:
    out: list[ConsumerPatch] = []
    notes: list[str] = []
    handles: dict[str, list[str]] = {}
    for s in req.symbols:
        if s.kind != "replace":
            continue
        remedy = req.knowledge.lookup(s.symbol, s.library)
        if remedy is None:
            continue
        repl = next((r for r in remedy.replacement_for(s.symbol) if not r.proposed), None)
        if repl is None:
            continue
        if repl.arguments is None:
            notes.append(f"{s.symbol} -> {repl.symbol}: the knowledge has no argument mapping "
                         "('arguments'): no patch")
            continue
        old = req.headers.prototypes.get(s.symbol) if req.headers else None
        new = req.headers.prototypes.get(repl.symbol) if req.headers else None
        if old is None or new is None:
            missing = s.symbol if old is None else repl.symbol
            notes.append(f"{s.symbol} -> {repl.symbol}: {missing} is not declared in the "
                         "headers given: the mapping cannot be checked, no patch")
            continue
        refs = [int(a[1:]) for a in repl.arguments if re.fullmatch(r"\$\d+", a)]
        if len(repl.arguments) != len(new.params) or any(i >= len(old.params) for i in refs):
            notes.append(f"{s.symbol} -> {repl.symbol}: the mapping {list(repl.arguments)} "
                         f"does not fit {old.name} ({len(old.params)} parameters) and "
                         f"{new.name} ({len(new.params)}) as declared in {new.file}: no patch")
            continue
        handle = req.handle
        if handle is None and "$handle" in repl.arguments:
            prefix = name_prefix(repl.symbol)
            if prefix not in convs:
                convs[prefix] = stable_conventions(req.headers, prefix)  # type: ignore[arg-type]
            conv = convs[prefix]
            if conv is None:
                notes.append(f"{s.symbol}: the stable library's handle type is unknown: no "
                             "patch (give --handle EXPR)")
                continue
            type_name = conv.handle.param.type.replace("*", "").strip()
            if type_name not in handles:
                handles[type_name] = handle_variables(req.source_root or ".", type_name)
            found = handles[type_name]
            if len(found) != 1:
                notes.append(f"{s.symbol}: {len(found)} file-scope {type_name} * variables in "
                             f"the sources ({', '.join(found) or 'none'}): no patch (give "
                             "--handle EXPR)")
                continue
            handle = found[0]
        sites = req.sites.get(s.symbol, [])
        calls = [x for x in sites if x.method == "source" and x.kind == "call" and
                 x.via is None]
        edits: dict[str, list[tuple[int, int, bytes]]] = {}
        changed, remaining = [], []
        for site in calls:
            e = rewrite_call(tree.read(site.file), site, repl.symbol, repl.arguments,
                             len(old.params), handle)
            if e.ok:
                edits.setdefault(site.file, []).extend(e.edits)
                changed.append(_site_change(site, f"now {repl.symbol}"))
            else:
                remaining.append(_site_change(site, e.detail))
        remaining += [_site_change(x, "not a direct call (a use through a wrapper, a macro "
                                      "or the address)") for x in sites if x not in calls]
        if not edits:
            if calls or sites:
                notes.append(f"{s.symbol}: no call could be rewritten")
            continue
        number = start + len(out)
        name = f"patches/{number:04d}-{_slug(f'replace {s.symbol} with {repl.symbol}')}.patch"
        files = {rel: apply_edits(tree.read(rel), e) for rel, e in edits.items()}
        diff, after = tree.change(name, files)
        since = f" (exported since {repl.since_release or repl.since})" \
            if repl.since or repl.since_release else ""
        desc = (f"Calls {repl.symbol}{since} instead of the ABI-unstable {s.symbol}, with the "
                f"argument mapping of the remedies knowledge: {s.symbol}"
                f"({', '.join(p.name or '?' for p in old.params)}) -> {repl.symbol}("
                + ", ".join((handle or a) if a == "$handle" else
                            (old.params[int(a[1:])].name or a) if re.fullmatch(r"\$\d+", a)
                            else a for a in repl.arguments) + "). Only the call is "
                "rewritten; what the remedy says beyond it is left to the maintainer. "
                + s.rationale)
        out.append(ConsumerPatch(name, "replace", f"Replace {s.symbol} with {repl.symbol}",
                                 desc, tuple(sorted(files)), diff, (s.symbol,),
                                 tuple(changed), tuple(remaining), after))
    return out, notes


def build_patches(req: Request, convs: dict[str, StableConventions | None]
                  ) -> tuple[list[ConsumerPatch], list[str], list[InputError]]:
    if req.source_root is None:
        return [], [], []
    tree = Tree(req.source_root)
    patches: list[ConsumerPatch] = []
    notes: list[str] = []
    if req.min_version:
        p, n = _retire_patch(req, tree, 1)
        notes += n
        if p is not None:
            patches.append(p)
    more, n = _replace_patches(req, tree, len(patches) + 1, convs)
    patches += more
    notes += n
    errors: list[InputError] = []
    if patches:
        series = [(p.file, p.diff, p.files) for p in patches]
        own = verify(series, req.source_root)
        patches = [replace(p, verified=(f"applies in order to {req.source_root} (GNU patch -p1 "
                                        "on a copy of the files)") if own[p.file].ok
                           else own[p.file].message) for p in patches]
        for p in patches:
            if not own[p.file].ok and not own[p.file].message.startswith("not checked"):
                errors.append(InputError(p.file, f"does not apply to {req.source_root}: "
                                                 f"{own[p.file].message}"))
        for other in req.check_sources:
            result = verify(series, other)
            for p in patches:
                if not result[p.file].ok:
                    errors.append(InputError(other, f"{p.file} does not apply: "
                                                    f"{result[p.file].message}"))
    return patches, notes, errors


# --------------------------------------------------------------------------------------------
# The whole proposal, and writing it
# --------------------------------------------------------------------------------------------


def build(req: Request) -> Proposal:
    groups, functions, convs, unstable = build_groups(req)
    additions = build_additions(req, groups, convs, unstable)
    patches, patch_notes, errors = build_patches(req, convs)
    not_declared = sorted({f.replaces for f in functions if f.status == "no-declaration"})
    nothing = None
    if not groups:
        kinds: dict[str, int] = {}
        for s in req.symbols:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
        what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
        nothing = (f"nothing to propose: none of the {len(req.symbols)} unstable symbol(s) of "
                   f"{len(req.consumers)} consumer(s) needs a new stable entry point or a "
                   f"redesign (remedies: {what})")
    return Proposal(
        consumers=tuple(req.consumers), inputs=tuple(req.inputs), census=req.census,
        census_consumers=req.census_total,
        headers=req.headers.label if req.headers else None,
        source_root=os.path.abspath(req.source_root) if req.source_root else None,
        min_version=req.min_version, groups=tuple(groups), additions=tuple(additions),
        patches=tuple(patches), not_declared=tuple(not_declared), nothing=nothing,
        notes=tuple(req.notes + patch_notes), errors=tuple(errors),
        knowledge=req.knowledge.origins, tool_version=__version__)


def write(proposal: Proposal, out_dir: str, markdown: str) -> Proposal:
    """Write the files; returns the proposal with ``written`` and ``output_dir`` set."""
    root = Path(out_dir)
    files: dict[str, str] = {"proposal.md": markdown}
    for a in proposal.additions:
        files[a.header_file] = a.header_text
        files[a.version_script_file] = a.version_script_text
        files[a.skeleton_file] = a.skeleton_text
    for p in proposal.patches:
        header = (f"Subject: [PATCH] {p.title}\n\n{_wrap(p.description)}\n\n"
                  f"Generated by abiguard propose.\n---\n")
        files[p.file] = header + p.diff
    try:
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        raise UsageError(f"--output-dir {out_dir}: cannot write: {exc.strerror}") from None
    return replace(proposal, written=tuple(files), output_dir=str(root))


def _wrap(text: str, width: int = 72) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


__all__ = ["NEW_ENTRY_POINTS", "Request", "build", "build_additions", "build_groups",
           "build_patches", "write"]
