"""abiguard diff OLD NEW — how the unstable/private imports changed between two versions.

OLD and NEW are each a saved result (``abiguard scan --format json``; plan/where results work
too) or one scan input: an ELF file, a directory, a .deb, an apt package name (``NAME``,
``NAME=VERSION``, ``NAME/SUITE`` for another Debian suite such as ``qemu-system-xen/trixie``).
``--trend A B C …`` counts them over several versions instead (table, Markdown, JSON, SVG).
Copied data objects (copy relocations) whose size changed are reported too (``resized``: an
ABI break). The comparison is :mod:`abiguard.compare`; see docs/diff.md. Exit: 0; 1 with
``--fail-on added,resized`` when an unstable/private symbol was added or a copied object
resized; 2 usage or input errors.
"""

from __future__ import annotations

import argparse

from ..compare.diff import (
    FAIL_ON,
    DiffResult,
    audit_label,
    diff_audits,
    failing,
    knowledge_replacements,
)
from ..compare.trend import TrendResult, trend
from ..errors import UsageError
from ..model import Audit
from ..render import render
from ..render.text.diff import fail_note
from ..results import load_or_scan
from . import _common, options


def register(sub: _common.Subparsers, help_text: str) -> None:
    p = sub.add_parser("diff", help=help_text, description=(
        "Compare the unstable/private imports of two versions, consumer by consumer: added, "
        "removed, moved to another library (or replaced by the stable replacement), unchanged "
        "(a version-node rename such as VERS_4.17.0 -> libxenctrl_4.20.0 counts as "
        "unchanged); and copied data objects (copy relocations) whose size changed (resized: "
        "breaking). OLD/NEW: saved JSON results or scan inputs. With --trend: the count per "
        "version of any number of inputs. Exit: 0; 1 when --fail-on names a change the diff "
        "shows; 2 usage/input errors."))
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="OLD NEW (or, with --trend, every version in order): a saved result "
                        "(.json), ELF file, directory, .deb, or apt package name "
                        "(NAME, NAME=VERSION, NAME/SUITE)")
    options.add(p, "diff")
    p.set_defaults(run=run)


def _check(args: argparse.Namespace) -> None:
    if args.trend:
        if len(args.inputs) < 2:
            raise UsageError("--trend needs at least two inputs")
    elif len(args.inputs) != 2:
        raise UsageError(f"diff takes OLD and NEW (got {len(args.inputs)} inputs; "
                         "use --trend for more)")
    if args.format == "svg" and not args.trend:
        raise UsageError("--format svg is for --trend")
    if args.chart and not args.trend:
        raise UsageError("--chart is for --trend")
    if args.label and len(args.label) != len(args.inputs):
        raise UsageError(f"--label given {len(args.label)} times for {len(args.inputs)} inputs")


def _audits(args: argparse.Namespace) -> list[Audit]:
    options_ = _common.scan_options(args)
    if args.trend:
        return [load_or_scan([spec], options_) for spec in args.inputs]
    return [load_or_scan([args.inputs[0]], options_, suite=args.old_suite,
                         providers=args.old_provider),
            load_or_scan([args.inputs[1]], options_, suite=args.new_suite,
                         providers=args.new_provider)]


def run(args: argparse.Namespace) -> int:
    _check(args)
    fail_on = options.fail_on(args.fail_on, FAIL_ON)
    audits = _audits(args)
    labels = args.label or [audit_label(a, spec) for a, spec in zip(audits, args.inputs)]
    if args.trend:
        if len(set(labels)) != len(labels):
            labels = [f"{lab} ({spec})" for lab, spec in zip(labels, args.inputs)]
        result: TrendResult | DiffResult = trend(audits, labels)
        if args.chart:
            _write(args.chart, render(result, "svg"))
            _common.note(args, f"wrote {args.chart}")
        _common.emit(args, render(result, args.format, verbose=args.verbose,
                                  color=_common.color(args)))
        failed: dict[str, int] = {}
    else:
        diff = diff_audits(audits[0], audits[1], old_label=labels[0], new_label=labels[1],
                           replacements=knowledge_replacements(args.remedies),
                           only_problems=not args.all)
        _common.emit(args, render(diff, args.format, verbose=args.verbose,
                                  color=_common.color(args)))
        failed = failing(diff, fail_on)
        result = diff
    for e in result.errors:
        _common.error_line(e)
    if result.errors:
        return 2
    if failed:
        _common.note(args, fail_note(failed))
        return 1
    return 0


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
