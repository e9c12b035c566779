"""The vocabulary of a scan (named by :mod:`abiguard.model`, with the call sites and the plan
of :mod:`abiguard.model.plan`): the ELF view, the resolution and classification of imports,
and the scan's result, :class:`Audit`.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Literal

from ..symbols import (
    NO_SYMBOLS,
    REF_COPY,
    REF_OTHER,
    REF_PLT,
    ElfSymbol,
    RelocationRefs,
    SymbolKey,
    SymbolRef,
    SymbolSource,
    SymbolTable,
)

SCHEMA_VERSION = 2

# The words of the model's state fields, defined once: producers and renderers use these
# aliases, so that mypy catches a misspelled status. (The JSON form writes them as they are.)
BindingStatus = Literal["bound", "unresolved", "declared"]
EvidenceSource = Literal["policy", "history", "location", "naming", "version-node", "soname",
                         "private-node", "not-found", "unresolved", "default"]


class Stability(enum.StrEnum):
    """How far a consumer can rely on a library or symbol across releases."""

    STABLE = "stable"
    UNSTABLE = "unstable"
    PRIVATE = "private"
    UNKNOWN = "unknown"

    @property
    def is_problem(self) -> bool:
        return self in (Stability.UNSTABLE, Stability.PRIVATE)


# --------------------------------------------------------------------------------------------
# ELF view
# --------------------------------------------------------------------------------------------


# The symbols (SymbolRef, ElfSymbol) and the lazy symbol tables of an ELF file live in
# abiguard.symbols; they are part of this vocabulary and are named here too.

@dataclass(frozen=True, slots=True)
class VersionDef:
    """An entry of .gnu.version_d."""

    index: int
    name: str
    flags: int = 0
    """VER_FLG_BASE = 1 (the entry naming the object itself), VER_FLG_WEAK = 2."""
    parents: tuple[str, ...] = ()

    @property
    def is_base(self) -> bool:
        return bool(self.flags & 1)


@dataclass(frozen=True, slots=True)
class VersionNeed:
    """An entry of .gnu.version_r: the versions required from one library."""

    file: str
    versions: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    """Those of ``versions`` marked VER_FLG_WEAK."""


@dataclass(frozen=True, slots=True)
class ElfObject:
    """The dynamic-linking view of one ELF file (or one member of an ar archive)."""

    path: str
    elf_class: int
    """32 or 64."""
    endian: str
    """'little' or 'big'."""
    machine: str
    """Short architecture name (x86_64, i386, aarch64, arm, ppc64, s390x, ...)."""
    kind: str
    """EXEC, DYN, REL or CORE (e_type)."""
    machine_id: int = 0
    osabi: int = 0
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    interpreter: str | None = None
    flags_1: int = 0
    """DT_FLAGS_1 (DF_1_NODEFLIB = 0x800 matters to the resolver)."""
    imports: SymbolTable = NO_SYMBOLS
    """Undefined non-local symbols (the object's imports). Any sequence of ElfSymbol may be
    given; it is kept as a :class:`SymbolTable`."""
    exports: SymbolTable = NO_SYMBOLS
    """Defined non-local symbols with default/protected visibility (a SymbolTable, as
    ``imports``; ``exports.lookup(name)`` is what the resolver binds with)."""
    version_defs: tuple[VersionDef, ...] = ()
    version_needs: tuple[VersionNeed, ...] = ()
    size: int = 0
    member: str | None = None
    """For a member of an ar archive: its name (path is then the archive)."""
    stripped: bool = False
    """No .symtab section."""
    relocations: RelocationRefs | None = field(default=None, compare=False, repr=False)
    """What the dynamic relocations look up (None: not known -- relocatable objects, and
    machines whose relocation types abiguard does not know: every import then counts as
    looked up, and there are no copy relocations)."""

    def __post_init__(self) -> None:
        for name in ("imports", "exports"):
            table = getattr(self, name)
            if not isinstance(table, SymbolTable):
                object.__setattr__(self, name, SymbolTable(table))

    @property
    def display_name(self) -> str:
        return f"{self.path}({self.member})" if self.member else self.path

    @property
    def is_shared_library(self) -> bool:
        return self.kind == "DYN" and self.interpreter is None


# --------------------------------------------------------------------------------------------
# Resolution and classification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why something was classified the way it was."""

    source: EvidenceSource
    """policy | history | location | naming | version-node | soname | private-node |
    not-found | unresolved | default (docs/policy.md)."""
    detail: str
    stability: Stability = Stability.UNKNOWN
    origin: str | None = None
    """The policy file (or 'built-in:<name>') a policy rule came from."""


@dataclass(frozen=True, slots=True)
class Library:
    """A library in a consumer's load order."""

    name: str
    """The DT_NEEDED string that brought it in."""
    path: str | None
    """Where the resolver found it; None when not found."""
    soname: str | None = None
    found_via: str = "not found"
    """RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.conf, default, lib-path, direct or 'not found'."""
    needed_by: str = ""
    depth: int = 1
    """1 for a direct dependency of the consumer, 2+ for indirect ones."""
    stability: Stability = Stability.UNKNOWN
    evidence: tuple[Evidence, ...] = ()
    version_defs: tuple[str, ...] = ()
    """Names of the version nodes the library defines (base excluded)."""

    @property
    def key(self) -> str:
        return self.soname or self.name


@dataclass(frozen=True, slots=True)
class CopyRelocation:
    """A data object an executable uses through a copy relocation: the program reserved
    ``program_size`` bytes for it in its own .bss at link time and ld.so copies the library's
    object there at start-up (at most ``program_size`` bytes)."""

    program_size: int
    """st_size of the executable's own definition (what the program was linked with)."""
    library_size: int
    """st_size of the definition in the library it binds to now."""

    @property
    def size_differs(self) -> bool:
        """ld.so warns ("Symbol `x' has different size in shared object, consider
        re-linking"): a larger object is cut, a smaller one read past its end."""
        return self.program_size != self.library_size


@dataclass(frozen=True, slots=True)
class Binding:
    """One imported symbol of a consumer and what it binds to."""

    symbol: SymbolRef
    type: str = "NOTYPE"
    weak: bool = False
    status: BindingStatus = "bound"
    """bound | unresolved | declared (an import no relocation uses: ld.so never looks it up,
    so it is neither bound nor unresolved, and never a finding; also an executable's import
    whose only relocations bind to its own canonical PLT entry)."""
    provider: str | None = None
    """Key (soname or needed name) of the providing library. For an unresolved import: the
    library it was required from when that library was not found (named by the import's
    version requirement, or the one library of the load order it can come from), else None."""
    provider_path: str | None = None
    provided_version: str | None = None
    """The version node of the definition it binds to."""
    reason: str | None = None
    """Why it is unresolved (library not found, symbol missing, version missing) or only
    declared; for a bound symbol the consumer defines itself (a GNU unique symbol), why ld.so
    binds it to another library."""
    stability: Stability = Stability.UNKNOWN
    evidence: tuple[Evidence, ...] = ()
    copy: CopyRelocation | None = None
    """Set for a copy relocation: the consumer (an executable) defines the symbol in its own
    .bss and ld.so copies the library's object there; both sizes."""

    @property
    def is_problem(self) -> bool:
        return self.status == "bound" and self.stability.is_problem

    @property
    def is_presumed_problem(self) -> bool:
        """Unresolved, from a library that was not found and that the policy or its name
        classifies unstable/private: not a binding ld.so made, but it counts for --fail-on
        and the gate like one."""
        return self.status == "unresolved" and self.stability.is_problem


@dataclass(frozen=True, slots=True)
class Consumer:
    """One scanned ELF object with its resolved imports."""

    path: str
    kind: str
    machine: str
    elf_class: int = 64
    soname: str | None = None
    origin: str | None = None
    """Where it came from: a .deb file, an apt package name, a directory, the command line."""
    package: str | None = None
    needed: tuple[str, ...] = ()
    libraries: tuple[Library, ...] = ()
    bindings: tuple[Binding, ...] = ()
    member: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.path}({self.member})" if self.member else self.path

    @property
    def findings(self) -> tuple[Binding, ...]:
        """Bound imports that are unstable or private, in name order."""
        return tuple(sorted((b for b in self.bindings if b.is_problem),
                            key=lambda b: (b.provider or "", b.symbol.name)))

    @property
    def unresolved(self) -> tuple[Binding, ...]:
        return tuple(b for b in self.bindings if b.status == "unresolved")

    @property
    def copies(self) -> tuple[Binding, ...]:
        """Bound copy relocations (data objects whose size is baked into the program)."""
        return tuple(b for b in self.bindings if b.copy is not None and b.status == "bound")

    @property
    def declared(self) -> tuple[Binding, ...]:
        """Imports no relocation uses (ld.so never looks them up)."""
        return tuple(b for b in self.bindings if b.status == "declared")

    @property
    def presumed(self) -> tuple[Binding, ...]:
        """Unresolved imports classified unstable/private from their missing library (see
        :attr:`Binding.is_presumed_problem`), in name order."""
        return tuple(sorted((b for b in self.bindings if b.is_presumed_problem),
                            key=lambda b: (b.provider or "", b.symbol.name)))

    @property
    def missing_libraries(self) -> tuple[str, ...]:
        """The needed names of the libraries of the load order that were not found."""
        return tuple(lib.name for lib in self.libraries if lib.path is None)

    def library(self, key: str) -> Library | None:
        for lib in self.libraries:
            if lib.key == key:
                return lib
        return None


@dataclass(frozen=True, slots=True)
class InputError:
    """An input that could not be read: reported, never dropped."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class Audit:
    """The result of one scan: what every command builds on."""

    consumers: tuple[Consumer, ...] = ()
    errors: tuple[InputError, ...] = ()
    inputs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Things worth knowing that are not errors (e.g. a package with no ELF files)."""
    policies: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "scan"

    @property
    def findings(self) -> list[tuple[Consumer, Binding]]:
        return [(c, b) for c in self.consumers for b in c.findings]


# --------------------------------------------------------------------------------------------
# JSON form
# --------------------------------------------------------------------------------------------


def to_dict(obj: Any) -> Any:
    """Turn model objects into plain JSON-able values, every field (declaration order)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (tuple, list)):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


class SchemaError(ValueError):
    """Stored JSON that does not match the model."""


__all__ = [
    "REF_COPY",
    "REF_OTHER",
    "REF_PLT",
    "SCHEMA_VERSION",
    "Audit",
    "Binding",
    "BindingStatus",
    "Consumer",
    "CopyRelocation",
    "ElfObject",
    "ElfSymbol",
    "Evidence",
    "EvidenceSource",
    "InputError",
    "Library",
    "RelocationRefs",
    "SchemaError",
    "Stability",
    "SymbolKey",
    "SymbolRef",
    "SymbolSource",
    "SymbolTable",
    "VersionDef",
    "VersionNeed",
    "field",
    "to_dict",
]
