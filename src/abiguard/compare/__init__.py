"""Comparing results: types and logic only (the renderers are in :mod:`abiguard.render`).

* :mod:`.match`: which consumer of one result is which of the other, and the imports every
  comparison counts;
* :mod:`.diff`: the diff of two audits (added, removed, moved, unchanged);
* :mod:`.trend`: the count per consumer over several versions;
* :mod:`.baseline` and :mod:`.gate`: the ratchet file and the gate against it;
* :mod:`.impact` and :mod:`.libsets`: what a library upgrade does to each consumer, and the
  library sets and headers it is computed from.

Library families (the soname without its release) come from :mod:`abiguard.soname`.
"""

from __future__ import annotations

from ..soname import family
from .baseline import (
    BASELINE_SCHEMA,
    Baseline,
    baseline_from_audit,
    baseline_key_for,
    baseline_text,
    consumer_key,
    consumer_symbols,
    load_baseline,
    parse_baseline,
)
from .diff import (
    CHANGES,
    ConsumerDiff,
    DiffResult,
    ReplacementLookup,
    SymbolDelta,
    audit_label,
    diff_audits,
    diff_consumers,
    knowledge_replacements,
)
from .gate import GateEntry, GateRefusal, GateResult, check, gate, updated_baseline
from .impact import (
    VERDICTS,
    ConsumerImpact,
    ImpactResult,
    ImpactSymbol,
    LibraryChange,
    LibraryInfo,
    LibrarySet,
    consumer_impact,
    impact,
)
from .match import bound_bindings, match_consumers, node_of, problem_bindings
from .trend import TrendResult, TrendRow, trend

__all__ = [
    "BASELINE_SCHEMA",
    "CHANGES",
    "VERDICTS",
    "Baseline",
    "ConsumerDiff",
    "ConsumerImpact",
    "DiffResult",
    "GateEntry",
    "GateRefusal",
    "GateResult",
    "ImpactResult",
    "ImpactSymbol",
    "LibraryChange",
    "LibraryInfo",
    "LibrarySet",
    "ReplacementLookup",
    "SymbolDelta",
    "TrendResult",
    "TrendRow",
    "audit_label",
    "baseline_from_audit",
    "baseline_key_for",
    "baseline_text",
    "bound_bindings",
    "check",
    "consumer_impact",
    "consumer_key",
    "consumer_symbols",
    "diff_audits",
    "diff_consumers",
    "family",
    "gate",
    "impact",
    "knowledge_replacements",
    "load_baseline",
    "match_consumers",
    "node_of",
    "parse_baseline",
    "problem_bindings",
    "trend",
    "updated_baseline",
]
