"""SARIF 2.1.0: the source call sites of ``abiguard where`` and the new symbols of ``abiguard
gate`` (``--format sarif``).

**where**: one rule per remedy kind (replace, retire, new-entry-point, redesign, keep, unknown), one
result per source call site at its exact location (``uri`` relative to the source root, given
as the ``SRCROOT`` base, ``startLine``/``startColumn`` in Unicode code points), the remedy as
the message. Code scanning services (GitHub, GitLab) show them as annotations on the lines
that reference an ABI-unstable symbol.

Only sites found in sources are results: object-file and binary sites have no source line.

**gate**: one error-level result per new unstable/private symbol, located at the consumer file
(line 1: a binary has no line; GitHub code scanning needs one), with a fingerprint of its
baseline key, family and symbol.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..model import CallSite
from .dispatch import dispatch
from .text.gate import entry_message

if TYPE_CHECKING:
    from ..callsites.result import SymbolRemedy, WhereResult
    from ..compare.gate import GateResult

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

RULES: tuple[tuple[str, str, str, str, str], ...] = (
    # id, name, short description, full description, level
    ("replace", "ReplaceWithStableApi",
     "ABI-unstable symbol with a stable replacement",
     ("The program references a symbol of an ABI-unstable library for which a stable library "
     "offers a replacement: call the replacement instead."), "warning"),
    ("retire", "RetireCompatibilityCode",
     "ABI-unstable symbol used by compatibility code that can be retired",
     ("The reference sits in compatibility code for old library versions; removing that code "
     "removes the dependency."), "warning"),
    ("new-entry-point", "NeedsNewStableEntryPoint",
     "ABI-unstable symbol that needs a new stable entry point",
     ("No stable library offers this yet; the function could be provided as-is by a stable "
     "library (a new entry point)."), "warning"),
    ("redesign", "NeedsStableApiDesign",
     "ABI-unstable symbol that needs a new stable API",
     ("No stable equivalent exists and a simple re-export is not enough: a stable interface has "
     "to be designed."), "warning"),
    ("keep", "GoesAwayWithOtherChanges",
     "ABI-unstable symbol that goes away with other changes",
     ("The symbol is kept for now (e.g. it disappears together with calls handled by other "
     "remedies)."), "note"),
    ("unknown", "NoKnownRemedy",
     "ABI-unstable symbol with no known remedy",
     "The knowledge base has no remedy for this symbol; add one with --remedies FILE.",
     "warning"),
)
RULE_IDS = tuple(r[0] for r in RULES)


def _rule(rule_id: str, name: str, short: str, full: str, level: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": level},
        "help": {"text": full},
        "properties": {"tags": ["abi", "abi-stability", rule_id]},
    }


def message_for(site: CallSite, remedy: SymbolRemedy | None) -> str:
    """The result message: the symbol, how it is referenced, the remedy."""
    kind = remedy.kind if remedy is not None else "unknown"
    library = remedy.library if remedy is not None else None
    subject = f"{site.symbol}" + (f" ({library})" if library else "")
    how = {"call": "called", "address": "address taken", "macro": "used in a macro body",
           "reference": "referenced"}.get(site.kind, site.kind)
    if site.via:
        how += f" through {site.via}"
    text = f"{subject} is ABI-unstable ({how}). Remedy: {kind}"
    repl = remedy.replacements if remedy is not None else ()
    if repl:
        text += " with " + ", ".join(repl)
    rationale = (remedy.rationale if remedy is not None else "") or ""
    text += "." if not rationale else f". {rationale.strip()}"
    if site.condition:
        text += f" (under #if {site.condition})"
    return text


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/-._~")


def _fingerprint(site: CallSite) -> str:
    key = "\0".join([site.symbol, site.file, site.function or "", site.via or "", site.kind])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif_log(
    callsites: Iterable[CallSite],
    remedy_for: Callable[[str], SymbolRemedy | None],
    source_root: str | None = None,
    tool_version: str = "",
) -> dict[str, Any]:
    """The SARIF log as a dict. ``remedy_for(symbol)`` gives the symbol's remedy (None: rule
    "unknown")."""
    rules = [_rule(*r) for r in RULES]
    index = {r[0]: i for i, r in enumerate(RULES)}
    levels = {r[0]: r[4] for r in RULES}
    results = []
    for s in callsites:
        if s.method != "source" or s.line is None:
            continue
        remedy = remedy_for(s.symbol)
        kind = (remedy.kind if remedy is not None else None) or "unknown"
        if kind not in index:
            kind = "unknown"
        region: dict[str, Any] = {"startLine": int(s.line)}
        if s.column:
            region["startColumn"] = int(s.column)
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(s.file), "uriBaseId": "SRCROOT"},
                "region": region,
            }
        }
        if s.function:
            location["logicalLocations"] = [{"name": s.function, "kind": "function"}]
        props: dict[str, Any] = {"symbol": s.symbol, "referenceKind": s.kind}
        for key in ("function", "via", "condition", "compiled"):
            value = getattr(s, key)
            if value is not None:
                props[key] = value
        if remedy is not None and remedy.library:
            props["library"] = remedy.library
        results.append({
            "ruleId": kind,
            "ruleIndex": index[kind],
            "level": levels[kind],
            "message": {"text": message_for(s, remedy)},
            "locations": [location],
            "partialFingerprints": {"abiguardSite/v1": _fingerprint(s)},
            "properties": props,
        })
    driver: dict[str, Any] = {
        "name": "abiguard",
        "fullName": "abiguard: ABI-unstable library symbols in C programs",
        "rules": rules,
    }
    if tool_version:
        driver["version"] = tool_version
        driver["semanticVersion"] = tool_version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if source_root:
        run["originalUriBaseIds"] = {
            "SRCROOT": {"uri": Path(source_root).resolve().as_uri().rstrip("/") + "/"}
        }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def where_sarif(result: WhereResult, **_: Any) -> str:
    """The SARIF log of a where result's source call sites."""
    log = sarif_log(result.callsites, result.remedy, result.source_root,
                    result.tool_version or "")
    return json.dumps(log, indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# gate
# --------------------------------------------------------------------------------------------

GATE_RULES = (
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
    return {"uri": quote(path.replace(os.sep, "/"), safe="/-._~"), "uriBaseId": "SRCROOT"}


def gate_log(result: GateResult) -> dict[str, Any]:
    """The SARIF log of a gate result as a dict."""
    rules = [{"id": r[0], "name": r[1], "shortDescription": {"text": r[2]},
              "fullDescription": {"text": r[3]}, "help": {"text": r[3]},
              "defaultConfiguration": {"level": "error"},
              "properties": {"tags": ["abi", "abi-stability"]}} for r in GATE_RULES]
    results = []
    if not result.passed or result.update is None:
        for e in result.new:
            private = e.stability is not None and e.stability.value == "private"
            rule = 1 if private else 0
            key = f"{e.key}\0{e.family}\0{e.symbol}"
            results.append({
                "ruleId": GATE_RULES[rule][0],
                "ruleIndex": rule,
                "level": "error",
                "message": {"text": entry_message(e, result.baseline)},
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


def gate_sarif(result: GateResult, **_: Any) -> str:
    return json.dumps(gate_log(result), indent=2) + "\n"


RENDERERS: dict[str, str] = {
    "abiguard.callsites.result.WhereResult": "abiguard.render.sarif:where_sarif",
    "abiguard.compare.gate.GateResult": "abiguard.render.sarif:gate_sarif",
}


def render(obj: Any, **options: Any) -> str:
    return dispatch(RENDERERS, "sarif", obj, **options)


__all__ = ["GATE_RULES", "RULES", "RULE_IDS", "SARIF_VERSION", "gate_log", "message_for",
           "render", "sarif_log"]
