"""abiguard report RESULT -o report.html — one self-contained HTML file.

RESULT is a census store (SQLite) or a scan/plan JSON result. The page has a summary, the
consumer × unstable-symbol heatmap, the "stabilise these first" ranking, the libraries, the
co-use groups, a drill-down per consumer (with its migration plan for a plan result) and
the failures; charts are inline SVG and nothing is loaded from the network when it is viewed.
"""

from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from . import _common


def register(sub, help_text: str) -> None:
    p = sub.add_parser("report", help=help_text, description=(
        "Render a census store (abiguard census --store FILE) or a scan/plan JSON result "
        "(abiguard scan|plan -f json) as one self-contained HTML file: summary, heatmap of "
        "the consumer × unstable-symbol matrix, ranking, co-use groups, per-consumer "
        "drill-down. Exit: 0 ok, 2 usage or input error."))
    p.add_argument("input", metavar="RESULT", help="census store (.sqlite) or scan/plan JSON")
    p.add_argument("--title", help="page title")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out consumers whose name matches GLOB (repeatable)")
    p.add_argument("--library", action="append", default=[], metavar="GLOB",
                   help="only the symbols of libraries matching GLOB (repeatable)")
    p.add_argument("--threshold", type=float, default=0.5, metavar="J",
                   help="co-use groups: Jaccard similarity of consumer sets (default 0.5)")
    p.add_argument("--group-method", default="average", choices=("average", "components"),
                   help="co-use grouping: average linkage or connected components (default: "
                        "average)")
    _common.add_output_options(p, ("html", "json"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..census.aggregate import CensusData, aggregate, read_result
    from ..census.store import Store, is_store
    from ..render.html import render_report

    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be in (0, 1]")
    if not os.path.exists(args.input):
        raise UsageError(f"{args.input}: no such file")
    result = None
    if is_store(args.input):
        with Store(args.input, create=False) as store:
            data = CensusData.from_store(store)
    else:
        result = read_result(args.input)
        data = CensusData.from_result(result, args.input)
    data = data.filtered(args.exclude, args.library)
    agg = aggregate(data, threshold=args.threshold, method=args.group_method)
    if args.format == "json":
        text = agg.to_json()
    else:
        text = render_report(agg, result, title=args.title)
    _common.emit(args, text)
    return 0
