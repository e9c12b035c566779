"""abiguard scan INPUT… — which unstable/private symbols each program imports."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..model import Audit
from . import _common

FAIL_ON = ("unstable", "private", "unresolved")


def add_scan_options(parser: argparse.ArgumentParser) -> None:
    """Inputs and resolution options shared by scan, plan and gate."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="ELF file, ar archive, directory, .deb file, or apt package name "
                             "(apt:NAME forces a package name; NAME=VERSION picks a version; "
                             "NAME/SUITE another Debian suite)")
    add_resolution_options(parser)


def add_resolution_options(parser: argparse.ArgumentParser, title: str = "resolution",
                           sides: tuple[str, ...] = ()) -> None:
    """How inputs are fetched and their libraries found (every command that scans).

    ``sides`` (diff: old, new) add ``--SIDE-provider`` and ``--SIDE-suite``."""
    g = parser.add_argument_group(title)
    g.add_argument("--suite", metavar="SUITE",
                   help="fetch package names from this Debian suite (e.g. trixie), with that "
                        "suite's libraries; NAME/SUITE picks it per input")
    g.add_argument("--with-deps", action="store_true",
                   help="also fetch (apt-get download) the library packages that package "
                        "inputs depend on and are not installed here")
    g.add_argument("--provider", action="append", default=[], metavar="DEB",
                   help="a .deb whose libraries are used for resolution only (repeatable)")
    for side in sides:
        g.add_argument(f"--{side}-provider", action="append", default=[], metavar="DEB",
                       help=f"like --provider, for the {side.upper()} side only")
        g.add_argument(f"--{side}-suite", metavar="SUITE",
                       help=f"Debian suite for the package names of the {side.upper()} side")
    g.add_argument("--sysroot", default="/", metavar="DIR",
                   help="root file system the libraries are searched in (default: /)")
    g.add_argument("--lib-path", action="append", default=[], metavar="DIR",
                   help="extra library directory, searched after RUNPATH and before "
                        "ld.so.conf (repeatable)")
    g.add_argument("--ld-library-path", default="", metavar="DIRS",
                   help="colon-separated directories, as LD_LIBRARY_PATH would give")
    g.add_argument("--needed", action="append", default=[], metavar="SONAME",
                   help="for .o/.a inputs (no DT_NEEDED): libraries to resolve against, like "
                        "-l on a link line (repeatable)")
    g.add_argument("--policy", action="append", default=[], metavar="FILE",
                   help="stability policy TOML file, consulted before the built-in ones "
                        "(repeatable; see docs/policy.md)")


def scan_options(args: argparse.Namespace):
    from ..pipeline import ScanOptions

    return ScanOptions(sysroot=args.sysroot, lib_paths=args.lib_path,
                       ld_library_path=[p for p in args.ld_library_path.split(":") if p],
                       policies=args.policy, with_deps=args.with_deps,
                       provider_debs=args.provider, needed=args.needed,
                       suite=args.suite)


def run_scan(args: argparse.Namespace) -> Audit:
    """Scan the inputs, with a progress bar on a terminal."""
    from ..pipeline import scan_paths

    progress = None
    if _common.show_progress(args):
        from ..render.progress import Progress

        progress = Progress("resolving")
    try:
        audit = scan_paths(args.inputs, scan_options(args), progress=progress,
                           notify=_common.PhaseLines(args))
    finally:
        if progress is not None:
            progress.close()
    return audit


def parse_fail_on(values: list[str]) -> set[str]:
    out: set[str] = set()
    for v in values:
        for item in v.split(","):
            item = item.strip()
            if item not in FAIL_ON:
                raise UsageError(f"--fail-on {item!r}: expected one of {', '.join(FAIL_ON)}")
            out.add(item)
    return out


def failing(audit: Audit, fail_on: set[str]) -> list[str]:
    """One line per consumer/symbol that a --fail-on rule rejects. An unresolved import
    from a library that was not found counts with the class the policy gives that library's
    name (``Binding.is_presumed_problem``)."""
    lines = []
    for c in audit.consumers:
        for b in c.bindings:
            if b.status == "bound" and b.stability.value in fail_on:
                lines.append(f"{c.display_name}: {b.symbol} from {b.provider} is "
                             f"{b.stability.value}")
            elif b.is_presumed_problem and b.stability.value in fail_on:
                lines.append(f"{c.display_name}: {b.symbol} from {b.provider} (not found) is "
                             f"{b.stability.value} by the library's name")
            elif b.status == "unresolved" and not b.weak and "unresolved" in fail_on:
                lines.append(f"{c.display_name}: {b.symbol} is unresolved ({b.reason})")
    return lines


def exit_code(args: argparse.Namespace, audit: Audit) -> int:
    """0, or 1 when a --fail-on rule rejects an import, or 2 on input errors -- and when
    ``--fail-on unstable|private`` cannot be checked: imports from libraries that were not
    found could not be classified (the "libraries not found" line says which)."""
    from ..missing import missing_libraries

    if audit.errors:
        for e in audit.errors:
            _common.error_line(e)
        return 2
    fail_on = parse_fail_on(args.fail_on)
    bad = failing(audit, fail_on)
    missing = missing_libraries(audit.consumers) if fail_on else None
    if missing is not None and not bad and missing.unclassified and \
            fail_on & {"unstable", "private"}:
        _common.error_line(f"--fail-on {','.join(sorted(fail_on))} cannot be checked, "
                           f"{missing.unclassified} import(s) not classified: {missing.line()}")
        return 2
    if missing is not None:
        _common.note(args, missing.line())
    if bad:
        _common.note(args, f"--fail-on: {len(bad)} import(s) rejected")
        return 1
    return 0


def register(sub, help_text: str) -> None:
    p = sub.add_parser("scan", help=help_text, description=(
        "Read the consumers, resolve every imported symbol to the library that provides it "
        "as the dynamic linker would, and classify each as stable, unstable or private "
        "with the evidence. Exit: 0 ok, 1 a --fail-on rule matched, 2 usage/input error."))
    add_scan_options(p)
    p.add_argument("--fail-on", action="append", default=[], metavar="WHAT",
                   help="exit 1 when an import is unstable, private or unresolved "
                        "(comma-separated or repeated)")
    _common.add_output_options(p, ("text", "json", "markdown"), select=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    parse_fail_on(args.fail_on)  # usage errors before any work
    audit = run_scan(args)
    from ..render import render

    _common.emit(args, render(audit, args.format, verbose=args.verbose,
                              color=_common.use_color() and not args.output,
                              select=args.consumer))
    return exit_code(args, audit)
