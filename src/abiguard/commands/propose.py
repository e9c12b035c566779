"""abiguard propose INPUT… --headers H --output-dir DIR — draft the stable-API proposal.

From a plan (``abiguard plan`` JSON), a scan JSON, a census store, or the inputs ``plan``
takes (package names, .debs, binaries): the symbols that need a new stable entry point or a
redesign, grouped as the remedies knowledge groups them, with prototypes derived from the
unstable and stable libraries' headers (``--headers``, as ``impact --headers-from`` takes
them: a directory, a header, a .deb or an apt package such as libxen-dev), written into
``--output-dir``: proposal.md (the RFC), the stable library's header fragment, version-script
node and forwarding skeleton, and — with ``--source``/``--source-package`` — consumer patches
(compatibility code below ``--min-version`` retired; calls whose stable replacement exists
rewritten). See docs/propose.md.

Exit: 0 (also for "nothing to propose"); 2 usage or input errors, or a patch that does not
apply to a ``--check-source`` tree.
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack

from ..errors import InputFileError, UsageError
from . import _common

FORMATS = ("text", "json")


def register(sub, help_text: str) -> None:
    p = sub.add_parser("propose", help=help_text, description=(
        "Draft the stable-API proposal for the unstable symbols that need a new entry point "
        "or a redesign: proposal.md (an RFC), a header fragment, a version-script node and a "
        "forwarding skeleton for the stable library, and consumer patches. Inputs: plan/scan "
        "JSON results, census stores, or what 'abiguard plan' scans. Exit: 0 ok (also when "
        "there is nothing to propose), 2 usage/input error or a patch that does not apply."))
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a plan or scan JSON result, a census store, or what plan scans: ELF "
                        "file, directory, .deb, apt package name")
    p.add_argument("--output-dir", "-d", required=True, metavar="DIR",
                   help="directory the proposal, the library additions and the patches are "
                        "written to")
    h = p.add_argument_group("headers and libraries")
    h.add_argument("--headers", action="append", default=[], metavar="HEADERS",
                   help="headers of the unstable and the stable library: directory, .h file, "
                        ".deb or apt package (e.g. libxen-dev); repeatable, comma-separated")
    h.add_argument("--headers-suite", metavar="SUITE",
                   help="Debian suite of the package names in --headers")
    h.add_argument("--stable-library", action="append", default=[], metavar="FILE",
                   help="the stable library itself (ELF), when the inputs do not load it: its "
                        "version nodes give the new node")
    s = p.add_argument_group("consumer patches")
    s.add_argument("--source", metavar="DIR", help="the consumer's source tree")
    s.add_argument("--source-package", metavar="NAME",
                   help="the Debian source package (apt-get source, as 'where' fetches it)")
    s.add_argument("--cache-dir", metavar="DIR",
                   help="cache for --source-package (default: $XDG_CACHE_HOME/abiguard)")
    s.add_argument("--min-version", metavar="VERSION",
                   help="retire the compatibility code for library versions below this one, "
                        "e.g. 4.6")
    s.add_argument("--version-macro", metavar="NAME[=SCALES]",
                   help="the consumer's macro holding the library version (default: from the "
                        "remedies knowledge), e.g. CONFIG_XEN_CTRL_INTERFACE_VERSION=10000,100,1")
    s.add_argument("--handle", metavar="EXPR",
                   help="the consumer's handle of the stable library, for rewritten calls "
                        "(default: its one file-scope variable of the handle type)")
    s.add_argument("--check-source", action="append", default=[], metavar="DIR",
                   help="also check that the patches apply to this tree (repeatable)")
    from .scan import add_resolution_options

    add_resolution_options(p, "scanning inputs (as plan)")
    p.add_argument("--remedies", action="append", default=[], metavar="FILE",
                   help="remedies TOML file, consulted before the built-in knowledge")
    _common.add_output_options(p, FORMATS)
    p.set_defaults(run=run)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _plans(args: argparse.Namespace, knowledge, scan_inputs: list[str], results: list[str]):
    from ..census.aggregate import read_result
    from ..model import Plan
    from ..pipeline import plan_paths
    from ..remedies import plan_consumer
    from .scan import scan_options

    plans = []
    for path in results:
        try:
            obj = read_result(path)
        except InputFileError as exc:
            raise UsageError(str(exc)) from None
        if not isinstance(obj, Plan):
            obj = Plan(audit=obj, plans=tuple(plan_consumer(c, knowledge, lambda _p: None)
                                              for c in obj.consumers),
                       knowledge=knowledge.origins)
        plans.append(obj)
    if scan_inputs:
        progress = None
        if _common.show_progress(args):
            from ..render.progress import Progress

            progress = Progress("resolving")
        try:
            plans.append(plan_paths(scan_inputs, scan_options(args), remedies=args.remedies,
                                    progress=progress))
        finally:
            if progress is not None:
                progress.close()
    return plans


class _CensusLibraries:
    """Find a stable library (with its version nodes) in a census store's stored scans."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.cache: dict[str, object] = {}

    def __call__(self, pattern: str):
        if pattern in self.cache:
            return self.cache[pattern]
        from ..census.store import Store
        from ..propose.demand import find_library

        found = None
        for path in self.paths:
            with Store(path, create=False) as store:
                for pkg in store.latest():
                    if pkg.status != "ok" or not pkg.findings:
                        continue
                    audit = store.audit(pkg.id)
                    if audit is None:
                        continue
                    for c in audit.consumers:
                        found = find_library(c.libraries, pattern)
                        if found is not None:
                            break
                    if found is not None:
                        break
            if found is not None:
                break
        self.cache[pattern] = found
        return found


def _stable_libraries(files: list[str]):
    from ..elf import read_elf
    from ..errors import ElfError
    from ..model import Library

    out = []
    for path in files:
        try:
            elf = read_elf(path)
        except (OSError, ElfError) as exc:
            raise UsageError(f"--stable-library {path}: {getattr(exc, 'message', exc)}"
                             ) from None
        out.append(Library(os.path.basename(path), path, elf.soname, "direct",
                           version_defs=tuple(d.name for d in elf.version_defs
                                              if not d.is_base)))
    return out


def _source_root(args: argparse.Namespace) -> str | None:
    if args.source and args.source_package:
        raise UsageError("give either --source or --source-package, not both")
    if args.source:
        if not os.path.isdir(args.source):
            raise UsageError(f"--source {args.source}: not a directory")
        return args.source
    if args.source_package:
        from ..debian.srcpkg import fetch_source_package

        return str(fetch_source_package(args.source_package, args.cache_dir,
                                        log=lambda m: _common.note(args, m)))
    return None


def _headers(sets, args: argparse.Namespace):
    from ..headers import parse_headers
    from ..propose.derive import Headers
    specs = [v.strip() for value in args.headers for v in value.split(",") if v.strip()]
    if not specs:
        return None
    try:
        paths, label = sets.header_paths(specs, args.headers_suite)
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    roots = tuple(p if os.path.isdir(p) else os.path.dirname(p) or "." for p in paths)
    return Headers(parse_headers(paths), roots, label)


# --------------------------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from ..census.store import is_store
    from ..remedies import load_knowledge
    from .diff import is_json_result

    if args.min_version and not (args.source or args.source_package):
        raise UsageError("--min-version needs the consumer's sources (--source or "
                         "--source-package)")
    if args.check_source and not (args.source or args.source_package):
        raise UsageError("--check-source needs --source or --source-package")
    for d in args.check_source:
        if not os.path.isdir(d):
            raise UsageError(f"--check-source {d}: not a directory")
    knowledge = load_knowledge(args.remedies)
    stores = [i for i in args.inputs if os.path.isfile(i) and is_store(i)]
    results = [i for i in args.inputs if i not in stores and is_json_result(i)]
    scan_inputs = [i for i in args.inputs if i not in stores and i not in results]
    from ..census.aggregate import CensusData
    from ..census.store import Store
    from ..propose import build as builder
    from ..propose.demand import Demands, finish, from_census, from_plans
    from ..propose.markdown import render_markdown
    from .impact import Sets

    sets = Sets()
    with ExitStack() as stack:
        stack.callback(sets.close)
        headers = _headers(sets, args)
        root = _source_root(args)
        plans = _plans(args, knowledge, scan_inputs, results)
        demands = from_plans(plans, Demands())
        census_total = None
        for path in stores:
            with Store(path, create=False) as store:
                from_census(CensusData.from_store(store), demands)
            census_total = (census_total or 0) + (demands.census_total or 0)
        sites = _source_sites(args, root, sorted(demands.symbols))
        symbols = finish(demands, knowledge, sites)
        request = builder.Request(
            symbols=symbols, consumers=list(demands.consumers), knowledge=knowledge,
            headers=headers, libraries=demands.libraries + _stable_libraries(
                args.stable_library),
            find_library=_CensusLibraries(stores) if stores else None,
            source_root=root, sites=sites, min_version=args.min_version,
            version_macro=args.version_macro, handle=args.handle,
            check_sources=list(args.check_source), inputs=list(args.inputs),
            census=", ".join(stores) or None, census_total=census_total,
            notes=[n for plan in plans for n in plan.audit.notes])
        proposal = builder.build(request)
        if proposal.groups or proposal.patches:
            proposal = builder.write(proposal, args.output_dir, render_markdown(proposal))
    errors = [e for plan in plans for e in plan.audit.errors]
    _output(args, proposal)
    for e in list(errors) + list(proposal.errors):
        _common.error_line(e)
    return 2 if errors or proposal.errors else 0


def _source_sites(args: argparse.Namespace, root: str | None, symbols: list[str]):
    if root is None or not symbols:
        return {}
    from ..callsites.source import scan_sources

    progress = (lambda m: _common.note(args, m)) if _common.show_progress(args) else None
    scan = scan_sources(root, symbols, progress=progress)
    out: dict[str, list] = {}
    for site in scan.callsites:
        out.setdefault(site.symbol, []).append(site)
    return out


def _output(args: argparse.Namespace, proposal) -> None:
    if args.format == "json":
        from ..model import to_json

        _common.emit(args, to_json(proposal))
        return
    _common.emit(args, render_summary(proposal, args.verbose))


def render_summary(p, verbose: int = 0) -> str:
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
