"""What ``abiguard propose`` produces: frozen records with a JSON form (``model.to_dict``).

A :class:`Proposal` holds everything that goes into the output directory (proposal.md, the
stable library's additions, the consumer patches) as data, so that ``--format json`` and the
files say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..model import SCHEMA_VERSION, CallSite, InputError, RemedyKind

DemandKind = RemedyKind | Literal["available"]
"""A symbol's remedy kind, or ``available``: its new entry point exists already."""
ProposedStatus = Literal["proposed", "no-declaration", "no-stable-header", "exists",
                         "bad-mapping"]


@dataclass(frozen=True, slots=True)
class SymbolDemand:
    """One unstable symbol the consumers use, with what is known about its use."""

    symbol: str
    library: str
    """The unstable library (soname) it comes from."""
    kind: DemandKind
    """The remedy kind from the knowledge base (unknown when there is none; available: a new
    entry point the stable library already has)."""
    group: str | None = None
    part: str | None = None
    consumers: tuple[str, ...] = ()
    """The consumers (packages, or ELF files when not from a package) that import it."""
    census_consumers: int | None = None
    """How many packages of the census store import it (None without a census)."""
    call_sites: tuple[CallSite, ...] = ()
    """Its references in the consumer's sources (with --source), else none."""
    functions: tuple[str, ...] = ()
    """``file:function`` of the consumer code that uses it (sources, else the knowledge)."""
    functions_from: Literal["source", "knowledge", "none"] = "none"
    rationale: str = ""
    status: str = ""
    """What the plan says: the step title (e.g. "Needs a new stable entry point")."""


@dataclass(frozen=True, slots=True)
class ProposedFunction:
    """One function proposed for a stable library."""

    name: str
    library: str
    """The stable library (soname when it was scanned, else the knowledge's glob)."""
    replaces: str
    """The unstable symbol it stands for."""
    group: str
    part: str | None = None
    status: ProposedStatus = "proposed"
    """proposed | no-declaration (the headers do not declare ``replaces``) | no-stable-header
    (no header gives the stable library's handle type) | exists (the stable headers or
    library already have it) | bad-mapping (the knowledge's argument mapping does not fit the
    declaration)."""
    detail: str = ""
    prototype: str | None = None
    """The C declaration (without ``;``)."""
    old_prototype: str | None = None
    old_location: str | None = None
    """``header:line`` of the unstable declaration."""
    arguments: tuple[str, ...] = ()
    """The mapping used: the new function's arguments from the old call's ($handle, $N)."""
    forward: str | None = None
    """The call the forwarding skeleton makes, e.g. ``xc_physdev_map_pirq(xch, domid, …)``."""
    summary: str = ""
    doc: str = ""
    """The doc comment that goes above the prototype (text of the comment, with ``/**``)."""
    decide: tuple[str, ...] = ()
    """What a maintainer must decide (from the knowledge and from the derivation)."""


@dataclass(frozen=True, slots=True)
class GroupPart:
    id: str
    title: str
    rationale: str = ""
    symbols: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StaysUnstable:
    symbol: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProposalGroup:
    """A section of the RFC: the ungrouped new entry points, or one knowledge group."""

    id: str
    title: str
    kind: str
    """new-entry-point | redesign."""
    rationale: str = ""
    references: tuple[str, ...] = ()
    symbols: tuple[SymbolDemand, ...] = ()
    functions: tuple[ProposedFunction, ...] = ()
    parts: tuple[GroupPart, ...] = ()
    changed_functions: tuple[str, ...] = ()
    """``file:function`` of the consumer code that changes when the group is adopted."""
    stays_unstable: tuple[StaysUnstable, ...] = ()


@dataclass(frozen=True, slots=True)
class LibraryAdditions:
    """The files proposed for one stable library."""

    library: str
    """Its soname (or glob when it was not scanned)."""
    header_include: str | None
    """The public header the additions belong in (e.g. ``xendevicemodel.h``)."""
    node: str
    """The new version node, e.g. ``VERS_1.5``."""
    previous_node: str | None
    """The library's newest node it inherits from (``VERS_1.4``); None when unknown."""
    node_source: str
    """How the node was computed (the scanned library and its nodes)."""
    functions: tuple[str, ...] = ()
    header_file: str = ""
    header_text: str = ""
    version_script_file: str = ""
    version_script_text: str = ""
    skeleton_file: str = ""
    skeleton_text: str = ""
    handle: str = ""
    """The stable handle parameter, e.g. ``xendevicemodel_handle *dmod``."""
    unstable_handle: str = ""


@dataclass(frozen=True, slots=True)
class SiteChange:
    """A reference to a symbol that a patch removes or leaves."""

    symbol: str
    file: str
    line: int | None
    function: str | None
    via: str | None = None
    condition: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ConsumerPatch:
    """One patch of the consumer, a unified diff against its source tree (``-p1``)."""

    file: str
    """File name in the output directory (``patches/0001-….patch``)."""
    kind: str
    """retire | replace."""
    title: str
    description: str
    files: tuple[str, ...] = ()
    diff: str = ""
    symbols: tuple[str, ...] = ()
    removed: tuple[SiteChange, ...] = ()
    remaining: tuple[SiteChange, ...] = ()
    applies_after: tuple[str, ...] = ()
    """Earlier patches of the series that touch the same files (apply those first)."""
    verified: str = ""
    """How it was checked (``patch`` on a copy of the files), or why it was not."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """The result of ``abiguard propose`` (JSON ``kind: "propose"``)."""

    consumers: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    census: str | None = None
    census_consumers: int | None = None
    headers: str | None = None
    """What the prototypes were read from (packages/directories)."""
    source_root: str | None = None
    min_version: str | None = None
    groups: tuple[ProposalGroup, ...] = ()
    additions: tuple[LibraryAdditions, ...] = ()
    patches: tuple[ConsumerPatch, ...] = ()
    not_declared: tuple[str, ...] = ()
    """Unstable symbols the headers do not declare (their functions are not derived)."""
    nothing: str | None = None
    """Why there is nothing to propose (None when there is something)."""
    written: tuple[str, ...] = ()
    """Files written, relative to the output directory."""
    output_dir: str | None = None
    notes: tuple[str, ...] = ()
    errors: tuple[InputError, ...] = ()
    knowledge: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "propose"
