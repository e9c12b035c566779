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
    _common.add_output_options(p, ("text", "json", "markdown"))
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
                          progress=progress)
    finally:
        if progress is not None:
            progress.close()
    from ..render import render

    _common.emit(args, render(plan, args.format, verbose=args.verbose,
                              color=_common.use_color() and not args.output))
    return exit_code(args, plan.audit)
