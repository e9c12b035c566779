"""SARIF 2.1.0 for source call sites (``abiguard where --format sarif``).

One rule per remedy kind (replace, retire, new-entry-point, redesign, keep, unknown), one
result per source call site at its exact location (``uri`` relative to the source root, given
as the ``SRCROOT`` base, ``startLine``/``startColumn`` in Unicode code points), the remedy as
the message. Code scanning services (GitHub, GitLab) show them as annotations on the lines
that reference an ABI-unstable symbol.

Only sites found in sources are results: object-file and binary sites have no source line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..model import CallSite

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


def message_for(site: CallSite, remedy: Any | None) -> str:
    """The result message: the symbol, how it is referenced, the remedy."""
    kind = getattr(remedy, "kind", None) or "unknown"
    library = getattr(remedy, "library", None)
    subject = f"{site.symbol}" + (f" ({library})" if library else "")
    how = {"call": "called", "address": "address taken", "macro": "used in a macro body",
           "reference": "referenced"}.get(site.kind, site.kind)
    if site.via:
        how += f" through {site.via}"
    text = f"{subject} is ABI-unstable ({how}). Remedy: {kind}"
    repl = tuple(getattr(remedy, "replacements", ()) or ())
    if repl:
        text += " with " + ", ".join(str(_replacement_text(r)) for r in repl)
    rationale = getattr(remedy, "rationale", "") or ""
    text += "." if not rationale else f". {rationale.strip()}"
    if site.condition:
        text += f" (under #if {site.condition})"
    return text


def _replacement_text(r: Any) -> str:
    if isinstance(r, str):
        return r
    lib = getattr(r, "library", None)
    return f"{r.symbol} ({lib})" if lib else str(r.symbol)


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/-._~")


def _fingerprint(site: CallSite) -> str:
    key = "\0".join([site.symbol, site.file, site.function or "", site.via or "", site.kind])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif_log(
    callsites: Iterable[CallSite],
    remedy_for: Callable[[str], Any | None],
    source_root: str | None = None,
    tool_version: str = "",
) -> dict[str, Any]:
    """The SARIF log as a dict. ``remedy_for(symbol)`` gives an object with kind/library/
    rationale/replacements (or None: rule "unknown")."""
    rules = [_rule(*r) for r in RULES]
    index = {r[0]: i for i, r in enumerate(RULES)}
    levels = {r[0]: r[4] for r in RULES}
    results = []
    for s in callsites:
        if s.method != "source" or s.line is None:
            continue
        remedy = remedy_for(s.symbol)
        kind = getattr(remedy, "kind", None) or "unknown"
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
        if getattr(remedy, "library", None):
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


def render(obj: Any, **_: Any) -> str:
    """SARIF text for a where result (anything with ``callsites``, ``source_root`` and
    ``remedy(symbol)`` or ``remedies``), or for a plain list of CallSites."""
    if isinstance(obj, (list, tuple)):
        callsites, root, version, lookup = obj, None, "", (lambda _s: None)
    else:
        callsites = obj.callsites
        root = getattr(obj, "source_root", None)
        version = getattr(obj, "tool_version", "") or ""
        if hasattr(obj, "remedy"):
            lookup = obj.remedy
        else:
            table = {r.symbol: r for r in getattr(obj, "remedies", ()) or ()}
            lookup = table.get
    return json.dumps(sarif_log(callsites, lookup, root, version), indent=2) + "\n"


__all__ = ["RULES", "RULE_IDS", "SARIF_VERSION", "message_for", "render", "sarif_log"]
