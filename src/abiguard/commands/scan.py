"""abiguard scan INPUT… — which unstable/private symbols each program imports."""

from __future__ import annotations

import argparse

from ..checks import failing, unchecked
from ..missing import missing_line
from ..model import Audit
from ..render import render
from . import _common, options


def register(sub: argparse._SubParsersAction, help_text: str) -> None:
    p = sub.add_parser("scan", help=help_text, description=(
        "Read the consumers, resolve every imported symbol to the library that provides it "
        "as the dynamic linker would, and classify each as stable, unstable or private "
        "with the evidence. Exit: 0 ok, 1 a --fail-on rule matched, 2 usage/input error."))
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=options.INPUT_HELP)
    options.add(p, "scan")
    p.set_defaults(run=run)


def exit_code(args: argparse.Namespace, audit: Audit, fail_on: list[str]) -> int:
    """0, or 1 when a --fail-on rule rejects an import, or 2 on input errors -- and when
    ``--fail-on unstable|private`` cannot be checked: imports from libraries that were not
    found could not be classified (the "libraries not found" line says which)."""
    if audit.errors:
        for e in audit.errors:
            _common.error_line(e)
        return 2
    bad = failing(audit, fail_on)
    missing = unchecked(audit, fail_on, bad)
    if missing is not None:
        _common.error_line(f"--fail-on {','.join(sorted(fail_on))} cannot be checked, "
                           f"{missing.unclassified} import(s) not classified: {missing.line()}")
        return 2
    if fail_on:
        line = missing_line(audit.consumers)
        if line:
            _common.note(args, line)
    if bad:
        _common.note(args, f"--fail-on: {len(bad)} import(s) rejected")
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    fail_on = options.fail_on(args.fail_on, options.SCAN_FAIL_ON)  # usage errors first
    audit = _common.run_scan(args)
    _common.emit(args, render(audit, args.format, verbose=args.verbose,
                              color=_common.color(args), select=args.consumer))
    return exit_code(args, audit, fail_on)
