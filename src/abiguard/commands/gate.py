"""abiguard gate --baseline FILE INPUT… — a ratchet for CI.

Fails (exit 1) when a consumer uses an unstable/private library symbol that the baseline does
not list; symbols that are no longer used pass (the baseline can shrink: run with
``--update-baseline``). ``--update-baseline`` rewrites the file, only shrinking it unless
``--allow-growth``; a missing baseline is created from the current result. INPUT: what ``scan``
takes, or saved JSON results. Output: text, json, markdown, sarif (one error-level result per
new symbol, located at the consumer file). See docs/gate.md.

Exit: 0 pass; 1 new unstable/private symbols; 2 usage/input errors, a missing baseline
(without --update-baseline) or a malformed one, no consumer scanned, a baseline key that
matches no scanned consumer, or a consumer with libraries that were not found (unless
``--allow-unresolved``). On exit 2 the baseline is never written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model import Audit
from . import _common
from .scan import add_scan_options, scan_options

FORMATS = ("text", "json", "markdown", "sarif")


def register(sub, help_text: str) -> None:
    p = sub.add_parser("gate", help=help_text, description=(
        "Compare the unstable/private imports of the inputs with a baseline file and fail "
        "(exit 1) on any that the baseline does not list. Symbols no longer used pass; "
        "--update-baseline then shrinks the file. INPUT: as for scan, or saved JSON "
        "results. Exit: 0 pass, 1 new symbols, 2 usage/input/baseline errors."))
    p.add_argument("--baseline", required=True, metavar="FILE",
                   help="the baseline TOML file (docs/gate.md)")
    p.add_argument("--update-baseline", action="store_true",
                   help="rewrite the baseline: drop what is no longer used (create it when "
                        "missing)")
    p.add_argument("--allow-growth", action="store_true",
                   help="with --update-baseline: also add the new symbols (accepting them)")
    p.add_argument("--allow-unresolved", action="store_true",
                   help="check consumers whose libraries were not found too (by default an "
                        "error, exit 2): their unresolved imports count with the class of "
                        "the missing library's name, and a baseline symbol they still import "
                        "is not gone")
    add_scan_options(p)
    _common.add_output_options(p, FORMATS)
    p.set_defaults(run=run)


def load_inputs(args: argparse.Namespace) -> Audit:
    """Saved results are read back; everything else is scanned (NAME/SUITE fetched from that
    Debian suite); the audits are merged."""
    from ..pipeline import merge_audits, with_missing_line
    from .diff import is_json_result, load_or_scan, load_result

    saved = [s for s in args.inputs if is_json_result(s)]
    rest = [s for s in args.inputs if not is_json_result(s)]
    audits = [load_result(s) for s in saved]
    if rest:
        audits.append(load_or_scan(rest, scan_options(args)))
    audit = merge_audits(audits)
    # (a saved result of an older abiguard has no "libraries not found" note: made here)
    return replace(audit, inputs=tuple(args.inputs),
                   notes=with_missing_line(audit.notes, audit.consumers))


def run(args: argparse.Namespace) -> int:
    from ..compare import (
        Baseline,
        baseline_from_audit,
        baseline_text,
        consumer_key,
        gate,
        load_baseline,
        updated_baseline,
    )
    from ..render import render

    if args.allow_growth and not args.update_baseline:
        raise UsageError("--allow-growth needs --update-baseline")
    path = args.baseline
    exists = os.path.exists(path)
    baseline = load_baseline(path) if exists or not args.update_baseline else Baseline()
    audit = load_inputs(args)
    if audit.errors:
        for e in audit.errors:
            _common.error_line(e)
        return 2
    refusal = refuse(audit, args)
    if refusal:
        _common.error_line(refusal)
        return 2
    base_dir = os.path.dirname(os.path.abspath(path))
    result = gate(audit, baseline, path, base_dir)
    if result.unchecked:
        keys = ", ".join(repr(k) for k in result.unchecked)
        scanned = ", ".join(consumer_key(c, base_dir) for c in audit.consumers[:3]) + \
            (", …" if len(audit.consumers) > 3 else "")
        _common.error_line(f"{path}: baseline key(s) {keys} match no scanned consumer "
                           f"(scanned: {scanned}); scan them too or remove the key(s) "
                           "(keys: docs/gate.md)")
        return 2
    if args.update_baseline:
        if not exists:
            new_baseline = baseline_from_audit(audit, base_dir)
            action = "created"
        else:
            new_baseline = updated_baseline(baseline, result, args.allow_growth)
            action = ("grown" if args.allow_growth and result.new else
                      "shrunk" if result.removed else "unchanged")
        text = baseline_text(new_baseline)
        old_text = Path(path).read_text(encoding="utf-8") if exists else None
        if text != old_text:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        elif action != "unchanged":
            action = "unchanged"
        accepted = not exists or args.allow_growth
        result = replace(result, update=action, passed=result.passed or accepted)
    color = _common.use_color() and not args.output
    if args.format == "sarif":
        text_out = sarif_text(result)
    else:
        text_out = render(result, args.format, verbose=args.verbose, color=color)
    _common.emit(args, text_out)
    # The verdict on stderr too when stdout is not the text report (CI logs show it).
    if args.format != "text" or args.output:
        if not result.passed:
            for e in result.new:
                sys.stderr.write(f"abiguard: gate: {e.message(path)}\n")
        if result.update:
            _common.note(args, update_message(result, path))
        elif result.removed:
            _common.note(args, f"baseline can shrink: {len(result.removed)} symbol(s) no "
                               "longer used; run with --update-baseline")
    return 0 if result.passed else 1


def refuse(audit: Audit, args: argparse.Namespace) -> str | None:
    """Why the gate cannot give a verdict (exit 2, the baseline untouched), or None: no
    consumer at all (a wrong build path must not pass), or consumers whose libraries were
    not found (what they import from them was not checked) unless --allow-unresolved."""
    from ..missing import missing_libraries

    if not audit.consumers:
        why = "; ".join(audit.notes) or "no ELF file in the inputs"
        return (f"gate: no consumer to check in {', '.join(audit.inputs)} ({why}): "
                "a gate over nothing does not pass")
    missing = missing_libraries(audit.consumers)
    if missing is not None and not args.allow_unresolved:
        return f"gate: {missing.line()} (or check anyway with --allow-unresolved)"
    return None


def update_message(result, path: str) -> str:
    return {
        "created": f"created baseline {path}",
        "shrunk": f"baseline {path} shrunk by {len(result.removed)} symbol(s)",
        "grown": f"baseline {path} updated: +{len(result.new)} symbol(s) accepted"
                 + (f", -{len(result.removed)}" if result.removed else ""),
        "unchanged": f"baseline {path} unchanged",
    }[result.update] + ("" if result.passed else
                        f"; {len(result.new)} new symbol(s) not added (--allow-growth adds "
                        "them)")


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render_gate_text(con, result, verbose: int = 0) -> None:
    from rich.text import Text

    from ..demangle import display
    from ..render.table import paragraph, print_lines

    def say(label: str, style: str, message: str) -> None:
        lines = paragraph(f"{label} {message}", con.width, 0, 2)
        first = Text(label, style)
        first.append(lines[0][len(label):])
        print_lines(con, [first] + [Text(line) for line in lines[1:]])

    failed_new = result.new and not (result.update in ("created", "grown"))
    for e in result.new:
        if result.update == "created" and not verbose:
            break  # all of them: the summary says how many (-v lists them)
        if failed_new:
            say("FAIL", "bold red", e.message(result.baseline))
        else:
            say("accepted", "yellow", f"{e.consumer}: {display(e.symbol)} from {e.library} "
                                      f"(family {e.family})")
    for e in result.removed:
        say("gone", "green", f"{e.consumer}: {display(e.symbol)} (family {e.family}) is no "
                             "longer used")
    if verbose:
        for k in result.unchecked:
            print_lines(con, [Text(line, "dim") for line in paragraph(
                f"not checked: baseline key {k!r} matches no scanned consumer", con.width)])
    from ..missing import is_missing_line
    from .diff import warn

    for n in result.notes:
        if is_missing_line(n):
            warn(con, n)
    verdict, style = (("gate passed", "bold green") if result.passed else
                      ("gate failed", "bold red"))
    say(verdict + ":", style, f"{len(result.consumers)} consumer(s), {len(result.new)} new, "
                              f"{len(result.removed)} gone, {result.kept} in the baseline "
                              f"({result.baseline})")
    if result.update:
        print_lines(con, paragraph(update_message(result, result.baseline), con.width))
    elif result.removed:
        con.print("baseline can shrink: run with --update-baseline")
    if not result.passed and result.update is None:
        print_lines(con, paragraph("remove the new uses, or accept them with "
                                   "--update-baseline --allow-growth (and review the "
                                   "baseline change)", con.width))


def render_gate_markdown(result) -> str:
    out = ["# abiguard gate", ""]
    verdict = "passed" if result.passed else "**failed**"
    out += [(f"Gate {verdict}: {len(result.consumers)} consumer(s), {len(result.new)} new, "
             f"{len(result.removed)} gone, {result.kept} in the baseline "
             f"`{result.baseline}`."), ""]
    from ..missing import is_missing_line

    out += [f"> **Warning:** {n}\n" for n in result.notes if is_missing_line(n)]
    if result.new:
        out += ["| consumer | new symbol | library | class |", "|---|---|---|---|"]
        for e in result.new:
            out.append(f"| `{e.consumer}` | `{e.symbol}` | {e.library} | "
                       f"{e.stability.value if e.stability else '-'} |")
        out.append("")
    if result.removed:
        out += ["No longer used (the baseline can shrink: `--update-baseline`): "
                + ", ".join(f"`{e.symbol}`" for e in result.removed), ""]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# SARIF
# --------------------------------------------------------------------------------------------

SARIF_RULES = (
    ("new-unstable-symbol", "NewUnstableSymbol",
     "New use of an ABI-unstable library symbol",
     ("The program imports a symbol of an ABI-unstable library that the baseline does not "
      "list: it will break when the library is upgraded. Remove the use, or accept it with "
      "abiguard gate --update-baseline --allow-growth.")),
    ("new-private-symbol", "NewPrivateSymbol",
     "New use of a private library symbol",
     ("The program imports a library-internal (private) symbol that the baseline does not "
      "list. Remove the use, or accept it with abiguard gate --update-baseline "
      "--allow-growth.")),
)


def _artifact(path: str) -> dict[str, Any]:
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    from urllib.parse import quote

    return {"uri": quote(path.replace(os.sep, "/"), safe="/-._~"), "uriBaseId": "SRCROOT"}


def sarif_log(result) -> dict[str, Any]:
    from ..render.sarif import SARIF_SCHEMA, SARIF_VERSION

    rules = [{"id": r[0], "name": r[1], "shortDescription": {"text": r[2]},
              "fullDescription": {"text": r[3]}, "help": {"text": r[3]},
              "defaultConfiguration": {"level": "error"},
              "properties": {"tags": ["abi", "abi-stability"]}} for r in SARIF_RULES]
    results = []
    if not result.passed or result.update is None:
        for e in result.new:
            private = e.stability is not None and e.stability.value == "private"
            rule = 1 if private else 0
            key = f"{e.key}\0{e.family}\0{e.symbol}"
            results.append({
                "ruleId": SARIF_RULES[rule][0],
                "ruleIndex": rule,
                "level": "error",
                "message": {"text": e.message(result.baseline)},
                # The consumer is a binary: no line. GitHub code scanning needs
                # region.startLine to show a result (its SARIF rule GH1003): line 1.
                "locations": [{"physicalLocation": {"artifactLocation": _artifact(e.consumer),
                                                    "region": {"startLine": 1}}}],
                "partialFingerprints": {
                    "abiguardGate/v1": hashlib.sha256(key.encode()).hexdigest()[:32]},
                "properties": {"symbol": e.symbol, "library": e.library, "family": e.family,
                               "versionNode": e.version, "baselineKey": e.key},
            })
    driver: dict[str, Any] = {"name": "abiguard", "rules": rules}
    if result.tool_version:
        driver["version"] = result.tool_version
        driver["semanticVersion"] = result.tool_version
    run: dict[str, Any] = {"tool": {"driver": driver}, "results": results,
                           "invocations": [{"executionSuccessful": True}]}
    if any(not os.path.isabs(e.consumer) for e in result.new):
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": Path.cwd().as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def sarif_text(result) -> str:
    return json.dumps(sarif_log(result), indent=2) + "\n"
