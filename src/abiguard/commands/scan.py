"""abiguard scan INPUT… — which unstable/private symbols each program imports."""

from __future__ import annotations

import argparse
from typing import Any

from ..jsonform import Ahead
from ..render import render
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("scan", help=help_text, description=(
        "Read the consumers, resolve every imported symbol to the library that provides it "
        "as the dynamic linker would, and classify each as stable, unstable or private "
        "with the evidence. Exit: 0 ok, 1 a --fail-on rule matched, 2 usage/input error."))
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=options.INPUT_HELP)
    options.add(p, "scan")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fail_on = options.fail_on(args.fail_on, options.SCAN_FAIL_ON)  # usage errors first
    ahead = Ahead() if args.format == "json" else None  # (the JSON written while resolving)
    audit = _common.run_scan(args, ahead)
    more: dict[str, Any] = {"ahead": ahead} if ahead is not None else {}
    _common.emit(args, render(audit, args.format, verbose=args.verbose,
                              color=_common.color(args), select=args.consumer, **more))
    return _common.exit_code(args, audit, fail_on)
