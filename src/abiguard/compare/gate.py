"""The gate: an audit against its baseline (:mod:`abiguard.compare.baseline`).

:func:`gate` compares an audit's unstable/private imports with the baseline;
:func:`updated_baseline` computes the rewritten file; :func:`check` is the whole of
``abiguard gate``: the refusals (nothing scanned, libraries not found, a key that matches no
consumer), the comparison and the ratchet's update of the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .. import __version__
from ..errors import AbiguardError, UsageError
from ..missing import missing_libraries
from ..model import SCHEMA_VERSION, Audit, InputError, Stability
from .baseline import (
    Baseline,
    baseline_from_audit,
    baseline_key_for,
    baseline_text,
    consumer_key,
    consumer_symbols,
    load_baseline,
)
from .match import node_of


@dataclass(frozen=True, slots=True)
class GateEntry:
    consumer: str
    """The consumer's path."""
    key: str
    """The baseline key it is listed (or would be listed) under."""
    symbol: str
    family: str
    library: str | None = None
    """The providing soname (None for a removed entry)."""
    version: str | None = None
    stability: Stability | None = None


@dataclass(frozen=True, slots=True)
class GateResult:
    """abiguard gate: JSON ``kind: "gate"``."""

    baseline: str
    passed: bool
    new: tuple[GateEntry, ...] = ()
    """Unstable/private symbols not in the baseline: they fail the gate."""
    removed: tuple[GateEntry, ...] = ()
    """Baseline entries no longer used: the baseline can shrink."""
    kept: int = 0
    consumers: tuple[str, ...] = ()
    """The consumers checked."""
    unchecked: tuple[str, ...] = ()
    """Baseline keys that matched no scanned consumer."""
    update: str | None = None
    """What --update-baseline did: created | shrunk | grown | unchanged (None: not asked)."""
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "gate"


def gate(audit: Audit, baseline: Baseline, baseline_path: str,
         base_dir: str | None = None) -> GateResult:
    """Compare the audit's unstable/private imports with the baseline. Keys are matched
    with :func:`baseline_key_for` relative to ``base_dir`` (default: the baseline file's
    directory). A baseline symbol a consumer still imports, unresolved, is not gone."""
    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(baseline_path))
    new: list[GateEntry] = []
    removed: list[GateEntry] = []
    kept = 0
    keys: dict[int, str | None] = {}
    for i, c in enumerate(audit.consumers):
        key = keys[i] = baseline_key_for(c, baseline.consumers, base_dir)
        allowed = baseline.symbols(key) if key else set()
        current = consumer_symbols(c)
        for (fam, sym), b in sorted(current.items()):
            if (fam, sym) in allowed:
                kept += 1
            else:
                new.append(GateEntry(c.display_name, key or consumer_key(c, base_dir), sym,
                                     fam, b.provider, node_of(b), b.stability))
    used_keys = {k for k in keys.values() if k is not None}
    for key in sorted(used_keys):
        consumers = [c for i, c in enumerate(audit.consumers) if keys[i] == key]
        present = set().union(*(consumer_symbols(c) for c in consumers))
        unresolved = {b.symbol.name for c in consumers for b in c.bindings
                      if b.status == "unresolved"}
        for fam, sym in sorted(baseline.symbols(key) - present):
            if sym not in unresolved:
                removed.append(GateEntry(consumers[0].display_name, key, sym, fam))
    unchecked = tuple(sorted(set(baseline.consumers) - used_keys))
    return GateResult(baseline=baseline_path, passed=not new, new=tuple(new),
                      removed=tuple(removed), kept=kept,
                      consumers=tuple(c.display_name for c in audit.consumers),
                      unchecked=unchecked, errors=audit.errors, notes=audit.notes,
                      tool_version=__version__)


def updated_baseline(baseline: Baseline, result: GateResult, allow_growth: bool) -> Baseline:
    """The baseline after --update-baseline: removed entries dropped; new ones added only
    with ``allow_growth``; keys of consumers that were not scanned kept as they are."""
    data: dict[str, dict[str, set[str]]] = {
        k: {f: set(s) for f, s in v.items()} for k, v in baseline.consumers.items()}
    for e in result.removed:
        data.get(e.key, {}).get(e.family, set()).discard(e.symbol)
    if allow_growth:
        for e in result.new:
            data.setdefault(e.key, {}).setdefault(e.family, set()).add(e.symbol)
    clean = {k: {f: tuple(sorted(s)) for f, s in v.items() if s} for k, v in data.items()}
    # A consumer key left without symbols stays (an empty table): it still says "none allowed".
    return Baseline(clean, baseline.schema)


# --------------------------------------------------------------------------------------------
# abiguard gate, whole
# --------------------------------------------------------------------------------------------


class GateRefusal(AbiguardError):
    """The gate cannot give a verdict (exit 2; the baseline is left as it is)."""


def open_baseline(path: str, update: bool) -> tuple[Baseline, bool]:
    """(the baseline, whether the file exists). A missing file is an error unless it is to
    be created (``update``)."""
    exists = os.path.exists(path)
    return (load_baseline(path) if exists or not update else Baseline()), exists


def refusal(audit: Audit, allow_unresolved: bool) -> str | None:
    """Why the gate cannot give a verdict (exit 2, the baseline untouched), or None: no
    consumer at all (a wrong build path must not pass), or consumers whose libraries were
    not found (what they import from them was not checked) unless ``allow_unresolved``."""
    if not audit.consumers:
        why = "; ".join(audit.notes) or "no ELF file in the inputs"
        return (f"gate: no consumer to check in {', '.join(audit.inputs)} ({why}): "
                "a gate over nothing does not pass")
    missing = missing_libraries(audit.consumers)
    if missing is not None and not allow_unresolved:
        return f"gate: {missing.line()} (or check anyway with --allow-unresolved)"
    return None


def check(audit: Audit, path: str, baseline: Baseline, *, exists: bool, update: bool = False,
          allow_growth: bool = False, allow_unresolved: bool = False) -> GateResult:
    """``abiguard gate``: the audit against the baseline file ``path``; with ``update`` the
    file is rewritten (only shrinking it unless ``allow_growth``; created when it did not
    exist). Raises :class:`GateRefusal` when no verdict can be given (then nothing is
    written)."""
    why = refusal(audit, allow_unresolved)
    if why:
        raise GateRefusal(why)
    base_dir = os.path.dirname(os.path.abspath(path))
    result = gate(audit, baseline, path, base_dir)
    if result.unchecked:
        keys = ", ".join(repr(k) for k in result.unchecked)
        scanned = ", ".join(consumer_key(c, base_dir) for c in audit.consumers[:3]) + \
            (", …" if len(audit.consumers) > 3 else "")
        raise GateRefusal(f"{path}: baseline key(s) {keys} match no scanned consumer "
                          f"(scanned: {scanned}); scan them too or remove the key(s) "
                          "(keys: docs/gate.md)")
    if not update:
        return result
    if not exists:
        new_baseline = baseline_from_audit(audit, base_dir)
        action = "created"
    else:
        new_baseline = updated_baseline(baseline, result, allow_growth)
        action = ("grown" if allow_growth and result.new else
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
    accepted = not exists or allow_growth
    return replace(result, update=action, passed=result.passed or accepted)


__all__ = ["GateEntry", "GateRefusal", "GateResult", "check", "gate", "open_baseline",
           "refusal", "updated_baseline"]
