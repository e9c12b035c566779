"""abiguard report RESULT -o report.html — one self-contained HTML file.

RESULT is a census store (SQLite) or a scan/plan JSON result. The page has a summary, the
consumer × unstable-symbol heatmap, the "stabilise these first" ranking, the libraries, the
co-use groups, a drill-down per consumer (with its migration plan for a plan result) and
the failures; charts are inline SVG and nothing is loaded from the network when it is viewed.
"""

from __future__ import annotations

import argparse

from ..census.overview import report
from ..errors import UsageError
from ..render import render
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("report", help=help_text, description=(
        "Render a census store (abiguard census --store FILE) or a scan/plan JSON result "
        "(abiguard scan|plan -f json) as one self-contained HTML file: summary, heatmap of "
        "the consumer × unstable-symbol matrix, ranking, co-use groups, per-consumer "
        "drill-down. Exit: 0 ok, 2 usage or input error."))
    p.add_argument("input", metavar="RESULT", help="census store (.sqlite) or scan/plan JSON")
    options.add(p, "report")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be in (0, 1]")
    page = report(args.input, exclude=args.exclude, libraries=args.library,
                  threshold=args.threshold, method=args.group_method,
                  include_internal=args.include_internal, all_libraries=args.all_libraries)
    _common.emit(args, render(page, args.format, title=args.title))
    return 0
