"""abiguard gate --baseline FILE INPUT… — a ratchet for CI.

Fails (exit 1) when a consumer uses an unstable/private library symbol that the baseline does
not list; symbols that are no longer used pass (the baseline can shrink: run with
``--update-baseline``). ``--update-baseline`` rewrites the file, only shrinking it unless
``--allow-growth``; a missing baseline is created from the current result. INPUT: what ``scan``
takes, or saved JSON results. Output: text, json, markdown, sarif (one error-level result per
new symbol, located at the consumer file). The gate itself is :mod:`abiguard.compare.gate`;
see docs/gate.md.

Exit: 0 pass; 1 new unstable/private symbols; 2 usage/input errors, a missing baseline
(without --update-baseline) or a malformed one, no consumer scanned, a baseline key that
matches no scanned consumer, or a consumer with libraries that were not found (unless
``--allow-unresolved``). On exit 2 the baseline is never written.
"""

from __future__ import annotations

import argparse
import sys

from ..compare.gate import check, open_baseline
from ..errors import UsageError
from ..render import render
from ..render.text.gate import entry_message, update_message
from ..results import load_inputs
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("gate", help=help_text, description=(
        "Compare the unstable/private imports of the inputs with a baseline file and fail "
        "(exit 1) on any that the baseline does not list. Symbols no longer used pass; "
        "--update-baseline then shrinks the file. INPUT: as for scan, or saved JSON "
        "results. Exit: 0 pass, 1 new symbols, 2 usage/input/baseline errors."))
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=options.INPUT_HELP + "; or a saved JSON result")
    options.add(p, "gate")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.allow_growth and not args.update_baseline:
        raise UsageError("--allow-growth needs --update-baseline")
    path = args.baseline
    baseline, exists = open_baseline(path, args.update_baseline)
    audit = load_inputs(args.inputs, _common.scan_options(args))
    if audit.errors:
        for err in audit.errors:
            _common.error_line(err)
        return 2
    result = check(audit, path, baseline, exists=exists, update=args.update_baseline,
                   allow_growth=args.allow_growth, allow_unresolved=args.allow_unresolved)
    _common.emit(args, render(result, args.format, verbose=args.verbose,
                              color=_common.color(args)))
    # The verdict on stderr too when stdout is not the text report (CI logs show it).
    if args.format != "text" or args.output:
        if not result.passed:
            for e in result.new:
                sys.stderr.write(f"abiguard: gate: {entry_message(e, path)}\n")
        if result.update:
            _common.note(args, update_message(result, path))
        elif result.removed:
            _common.note(args, f"baseline can shrink: {len(result.removed)} symbol(s) no "
                               "longer used; run with --update-baseline")
    return 0 if result.passed else 1
