"""abiguard plan INPUT… — the scan plus remedies, ordered easy to hard, verified."""

from __future__ import annotations

import argparse

from ..callsites.cpp_expr import build_macros
from ..callsites.where import PlanSites, plan_sites, source_root
from ..pipeline import plan_paths
from ..render import render
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("plan", help=help_text, description=(
        "Scan the inputs, then give the migration plan for every unstable/private symbol: "
        "replacement that exists (verified in the stable library's exports), compat code to "
        "retire, new stable entry point needed, API redesign needed; ordered easy to hard. "
        "With --source/--source-package, --objects or --binary-sites each step lists where "
        "its symbols are used (as abiguard where finds them). Exit: 0 ok, 1 a --fail-on "
        "rule matched, 2 usage/input error."))
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=options.INPUT_HELP)
    options.add(p, "plan")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fail_on = options.fail_on(args.fail_on, options.SCAN_FAIL_ON)  # usage errors first
    conditions = bool(args.define or args.undefine or args.config_header)
    macros = build_macros(args.define, args.undefine, args.config_header) if conditions \
        else None
    root = source_root(args.source, args.source_package, args.cache_dir,
                       lambda m: _common.note(args, m))
    sites = plan_sites(PlanSites(root, macros, tuple(args.objects), args.binary_sites),
                       error=_common.error_line, note=lambda m: _common.note(args, m))
    progress = _common.progress_bar(args)
    try:
        plan = plan_paths(args.inputs, _common.scan_options(args), remedies=args.remedies,
                          call_sites=sites, progress=progress,
                          notify=_common.PhaseLines(args))
    finally:
        if progress is not None:
            progress.close()
    _common.emit(args, render(plan, args.format, verbose=args.verbose,
                              color=_common.color(args), select=args.consumer))
    return _common.exit_code(args, plan.audit, fail_on)
