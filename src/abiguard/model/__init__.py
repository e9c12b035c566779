"""The vocabulary every stage of abiguard speaks.

All stages (ELF reader, resolver, policy, remedies, call sites, comparison, census) exchange
these frozen dataclasses; renderers only read them. :mod:`abiguard.jsonform` gives the
documented, versioned JSON form (``to_json``, ``audit_from_json``, ...; docs/schema.md) that
``diff``, ``gate`` and ``census`` read back. Adding an optional field keeps
``SCHEMA_VERSION``; renaming or removing one, or changing what an omitted field means, bumps
it (and the reader keeps reading the older forms).

Every name is had from here (``from abiguard.model import Audit, Plan``); they are defined in
:mod:`.core` (a scan's: the ELF view, bindings, consumers, :class:`Audit`), in
:mod:`abiguard.symbols` (the symbols and lazy symbol tables of an ELF file) and in
:mod:`.plan` (call sites and the migration plan), which is loaded with the first of its names
asked for: a scan never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import (
    REF_COPY,
    REF_OTHER,
    REF_PLT,
    SCHEMA_VERSION,
    Audit,
    Binding,
    BindingStatus,
    Consumer,
    CopyRelocation,
    ElfObject,
    ElfSymbol,
    Evidence,
    EvidenceSource,
    InputError,
    Library,
    RelocationRefs,
    SchemaError,
    Stability,
    SymbolKey,
    SymbolRef,
    SymbolSource,
    SymbolTable,
    VersionDef,
    VersionNeed,
    field,
    to_dict,
)

if TYPE_CHECKING:
    from .plan import (
        REMEDY_KINDS,
        Attribution,
        CallSite,
        CallSiteKind,
        CallSiteMethod,
        ConsumerPlan,
        Plan,
        PlanItem,
        PlanStep,
        RemedyKind,
        Verification,
        VerificationStatus,
    )

_PLAN = frozenset({"REMEDY_KINDS", "Attribution", "CallSite", "CallSiteKind", "CallSiteMethod",
                   "ConsumerPlan", "Plan", "PlanItem", "PlanStep", "RemedyKind", "Verification",
                   "VerificationStatus"})
"""The names of :mod:`.plan`, loaded with the first one asked for."""


def __getattr__(name: str) -> Any:
    if name in _PLAN:
        from . import plan

        value = getattr(plan, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REF_COPY",
    "REF_OTHER",
    "REF_PLT",
    "REMEDY_KINDS",
    "SCHEMA_VERSION",
    "Attribution",
    "Audit",
    "Binding",
    "BindingStatus",
    "CallSite",
    "CallSiteKind",
    "CallSiteMethod",
    "Consumer",
    "ConsumerPlan",
    "CopyRelocation",
    "ElfObject",
    "ElfSymbol",
    "Evidence",
    "EvidenceSource",
    "InputError",
    "Library",
    "Plan",
    "PlanItem",
    "PlanStep",
    "RelocationRefs",
    "RemedyKind",
    "SchemaError",
    "Stability",
    "SymbolKey",
    "SymbolRef",
    "SymbolSource",
    "SymbolTable",
    "Verification",
    "VerificationStatus",
    "VersionDef",
    "VersionNeed",
    "field",
    "to_dict",
]
