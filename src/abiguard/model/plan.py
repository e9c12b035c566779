"""The vocabulary beyond a scan: where a symbol is used (:class:`CallSite`: ``where``,
``link``, ``propose``) and the migration plan (:class:`Plan`: ``plan``), named by
:mod:`abiguard.model` too. A scan never loads them (a module of its own: its six dataclasses
are ~5 ms of a scan's start-up, Python 3.11 compiling each one's methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ..symbols import SymbolRef
from .core import SCHEMA_VERSION, Audit, Evidence, Stability

# The words of the state fields of the call sites and the plan (as those of the scan's in
# abiguard.model.core).
CallSiteMethod = Literal["source", "object", "binary", "link"]
CallSiteKind = Literal["call", "address", "macro", "reference", "jump", "got-load",
                       "undefined-reference"]
Attribution = Literal["symtab", "dwarf", "nearest-export", "none"]
RemedyKind = Literal["replace", "retire", "new-entry-point", "redesign", "keep", "unknown"]
VerificationStatus = Literal["already-used", "available", "available-newer", "missing",
                             "not-scanned"]


# --------------------------------------------------------------------------------------------
# Where a symbol is used
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallSite:
    """One place that references a symbol: in C source, an object file, a binary or a link."""

    symbol: str
    method: CallSiteMethod
    """source | object | binary | link: how it was found."""
    file: str
    """Source file, object file (``lib.a(member.o)``) or binary path."""
    kind: CallSiteKind = "call"
    """call | address | macro | reference | jump | got-load | undefined-reference."""
    line: int | None = None
    column: int | None = None
    function: str | None = None
    """Enclosing function (from the source, .symtab, DWARF or the nearest exported symbol)."""
    address: int | None = None
    condition: str | None = None
    """Preprocessor condition the reference sits under, e.g. ``CONFIG_XEN_CTRL_INTERFACE_VERSION < 40600``."""
    compiled: bool | None = None
    """False when given -D/config values put it in a branch that is not compiled; None: unknown."""
    via: str | None = None
    """Wrapper macro or inline function the reference is attributed through."""
    attribution: Attribution | None = None
    """How ``function`` was found for binaries: symtab | dwarf | nearest-export | none."""


# --------------------------------------------------------------------------------------------
# The migration plan
# --------------------------------------------------------------------------------------------

REMEDY_KINDS: tuple[RemedyKind, ...] = get_args(RemedyKind)


@dataclass(frozen=True, slots=True)
class Verification:
    """What the scanned libraries say about one replacement (or proposed entry point)."""

    symbol: str
    library: str
    """The library (glob from the knowledge base, or the soname found)."""
    status: VerificationStatus
    """already-used | available | available-newer | missing | not-scanned."""
    version: str | None = None
    """The version node that defines it in the scanned library."""
    library_path: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One unstable/private symbol of a consumer with its remedy."""

    symbol: SymbolRef
    library: str
    kind: RemedyKind
    """replace | retire | new-entry-point | redesign | keep | unknown."""
    tier: int
    """Position in the easy-to-hard order (see abiguard.remedies.TIERS)."""
    step: str
    """Title of the step it belongs to."""
    difficulty: int = 5
    group: str | None = None
    rationale: str = ""
    references: tuple[str, ...] = ()
    verifications: tuple[Verification, ...] = ()
    known_call_sites: tuple[str, ...] = ()
    call_sites: tuple[CallSite, ...] = ()
    stability: Stability = Stability.UNSTABLE
    evidence: tuple[Evidence, ...] = ()
    origin: str | None = None
    """The remedies file the remedy came from."""


@dataclass(frozen=True, slots=True)
class PlanStep:
    tier: int
    title: str
    kind: RemedyKind
    group: str | None = None
    rationale: str = ""
    references: tuple[str, ...] = ()
    items: tuple[PlanItem, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsumerPlan:
    consumer: str
    package: str | None = None
    steps: tuple[PlanStep, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """abiguard plan: the scan plus remedies, easy to hard."""

    audit: Audit
    plans: tuple[ConsumerPlan, ...] = ()
    knowledge: tuple[str, ...] = ()
    schema: int = SCHEMA_VERSION
    kind: str = "plan"


__all__ = [
    "REMEDY_KINDS",
    "Attribution",
    "CallSite",
    "CallSiteKind",
    "CallSiteMethod",
    "ConsumerPlan",
    "Plan",
    "PlanItem",
    "PlanStep",
    "RemedyKind",
    "Verification",
    "VerificationStatus",
]
