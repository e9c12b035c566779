"""abiguard plan INPUT… — the scan plus remedies, ordered easy to hard, verified."""

from __future__ import annotations

import argparse

from . import _common
from .scan import add_scan_options, exit_code, parse_fail_on, scan_options


def register(sub, help_text: str) -> None:
    p = sub.add_parser("plan", help=help_text, description=(
        "Scan the inputs, then give the migration plan for every unstable/private symbol: "
        "replacement that exists (verified in the stable library's exports), compat code to "
        "retire, new stable entry point needed, API redesign needed; ordered easy to hard."))
    add_scan_options(p)
    p.add_argument("--remedies", action="append", default=[], metavar="FILE",
                   help="remedies TOML file, consulted before the built-in knowledge "
                        "(repeatable; see docs/remedies.md)")
    p.add_argument("--fail-on", action="append", default=[], metavar="WHAT",
                   help="exit 1 when an import is unstable, private or unresolved")
    g = p.add_argument_group("call sites per step (see abiguard where)")
    g.add_argument("--source", metavar="DIR",
                   help="C sources of the consumer: add every reference to each symbol")
    g.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="with --source: a macro value deciding #if branches (repeatable)")
    g.add_argument("--objects", nargs="+", default=[], metavar="FILE",
                   help="object files / archives of the consumer: add their references")
    g.add_argument("--binary-sites", action="store_true",
                   help="disassemble the scanned binaries (x86-64/AArch64) for call sites")
    _common.add_output_options(p, ("text", "json", "markdown"), select=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    parse_fail_on(args.fail_on)
    from ..pipeline import plan_paths

    progress = None
    if _common.show_progress(args):
        from ..render.progress import Progress

        progress = Progress("resolving")
    try:
        plan = plan_paths(args.inputs, scan_options(args), remedies=args.remedies,
                          call_sites=call_site_provider(args), progress=progress,
                          notify=_common.PhaseLines(args))
    finally:
        if progress is not None:
            progress.close()
    from ..render import render

    _common.emit(args, render(plan, args.format, verbose=args.verbose,
                              color=_common.use_color() and not args.output,
                              select=args.consumer))
    return exit_code(args, plan.audit)


def call_site_provider(args: argparse.Namespace):
    """The call sites the user asked for, per scanned target, or None."""
    if not (args.source or args.objects or args.binary_sites):
        return None
    from ..errors import ElfError
    from ..model import CallSite

    def provide(target, symbols: set[str]) -> list[CallSite]:
        sites: list[CallSite] = []
        if args.source:
            from ..callsites.cpp_expr import build_macros
            from ..callsites.source import scan_sources

            macros = build_macros(args.defines) if args.defines else None
            sites += scan_sources(args.source, symbols, macros).callsites
        if args.objects:
            from ..callsites.objects import find_object_references

            found, errors = find_object_references(args.objects, symbols)
            sites += found
            for e in errors:
                _common.error_line(e)
        if args.binary_sites and target.elf.member is None:
            from ..callsites.binary import find_binary_callsites

            try:
                sites += find_binary_callsites(target.elf.path, symbols)
            except ElfError as exc:
                _common.note(args, f"no binary call sites: {exc}")
        return sites

    return provide
