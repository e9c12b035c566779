"""The symbols of abiguard's vocabulary (:mod:`abiguard.model`): a symbol reference
(:class:`SymbolRef`), an ELF symbol (:class:`ElfSymbol`), and the symbol tables of an ELF file
(:class:`SymbolTable`: made at once, or lazily from a :class:`SymbolSource`, the ELF reader's
view of .dynsym, with the keys the resolver binds by). :mod:`abiguard.model` names them too;
import them from either."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, overload


@dataclass(frozen=True, slots=True)
class SymbolRef:
    """A symbol name with the version node it is bound to (None: unversioned)."""

    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name


@dataclass(frozen=True, slots=True)
class ElfSymbol:
    """One symbol of a dynamic symbol table (or of .symtab for relocatable objects)."""

    name: str
    version: str | None = None
    """Version node: for an import the vna_name of .gnu.version_r, for a definition the
    vd_name of .gnu.version_d. None when the object has no version information for it
    (index 0 or 1: local/global base)."""
    hidden: bool = False
    """The version index has the hidden bit (0x8000): ``name@VER`` rather than ``name@@VER``."""
    binding: str = "GLOBAL"
    """LOCAL, GLOBAL, WEAK, GNU_UNIQUE or a number for other values."""
    type: str = "NOTYPE"
    """NOTYPE, OBJECT, FUNC, SECTION, FILE, COMMON, TLS, GNU_IFUNC or a number."""
    visibility: str = "DEFAULT"
    """DEFAULT, INTERNAL, HIDDEN or PROTECTED."""
    defined: bool = False
    value: int = 0
    size: int = 0
    version_file: str | None = None
    """For a versioned import: the library (vn_file) the version was required from."""
    version_index: int = 0
    """Raw .gnu.version index without the hidden bit (0: local, 1: global/base)."""


class SymbolSource(Protocol):
    """What a lazy :class:`SymbolTable` reads its symbols from (``abiguard.elf`` provides
    one per symbol table: the raw records, already validated). ``kind`` selects the view:
    0 for the imports, 1 for the exports of the same table."""

    def count(self, kind: int) -> int: ...
    def symbol(self, kind: int, i: int) -> ElfSymbol: ...
    def symbols(self, kind: int) -> tuple[ElfSymbol, ...]: ...
    def names(self, kind: int) -> list[str]: ...
    def keys(self, kind: int) -> tuple[list[SymbolKey], set[int]]: ...


SymbolKey = tuple[str, str | None, bool, str, str]
"""A symbol as a lookup and its binding read it: (name, version, hidden, binding, type)."""


REF_PLT = 1
"""A relocation of glibc's ELF_RTYPE_CLASS_PLT looks the symbol up (JUMP_SLOT, TLS): an
undefined symbol with a value (an executable's canonical PLT entry) does not satisfy it."""
REF_COPY = 2
"""A copy relocation (R_X86_64_COPY, ...): looked up skipping the executable."""
REF_OTHER = 4
"""Any other relocation that looks the symbol up (GLOB_DAT, R_X86_64_64, ...)."""


class RelocationRefs(Protocol):
    """Which dynamic symbols the dynamic relocations of a file make ld.so look up
    (``ElfObject.relocations``; :mod:`abiguard.elf` computes it from DT_RELA/DT_REL and
    DT_JMPREL on first use). Each symbol gets a mask of ``REF_PLT | REF_COPY | REF_OTHER``:
    0 when no relocation looks it up (relocations that never look a symbol up, like
    R_X86_64_RELATIVE, and those against STB_LOCAL symbols do not count)."""

    def import_refs(self) -> Sequence[int]:
        """The mask of each import, in the order of ``ElfObject.imports``."""
        ...

    def imports_looked_up(self) -> Sequence[bool]:
        """Whether a relocation looks each import up (``import_refs()`` != 0, cheaper)."""
        ...

    def lookups(self) -> tuple[Sequence[bool], Mapping[int, int]]:
        """``(imports_looked_up(), export_refs())`` from one reading of the relocations
        (what the resolver asks, once per consumer)."""
        ...

    def export_refs(self, every: bool = False) -> Mapping[int, int]:
        """Position in ``ElfObject.exports`` -> mask, for the exports a relocation looks up
        that ld.so may bind to another file: the symbol of a copy relocation (in an
        executable), a GNU unique definition, and a definition ld.so's lookup does not take
        (not a global or weak code or data symbol). A file's other references to its own
        definitions find them first in the scope (ld.so loads the file first): left out,
        unless ``every``."""
        ...

    def referencing(self, name: str) -> Sequence[tuple[ElfSymbol, int]]:
        """The symbols called ``name`` (imports or exports) that a relocation looks up,
        with their masks."""
        ...


class SymbolTable(Sequence[ElfSymbol]):
    """An immutable sequence of :class:`ElfSymbol` (what ``ElfObject.imports``/``exports`` are).

    ``SymbolTable(symbols)`` holds given symbols. The tables :func:`abiguard.elf.read_elf`
    returns are lazy: the file's tables were validated when it was read, but an ElfSymbol is
    built only when it is accessed (then kept), and names are decoded only when asked for,
    so that reading a file costs almost nothing per symbol.

    Besides the sequence protocol: :meth:`names` (all names, in table order) and
    :meth:`lookup` (the symbols of one name, through an index built on first use: what the
    resolver binds with). A table equals another table or a tuple with the same symbols in
    the same order, hashes like that tuple, and ``+`` concatenates into a tuple.
    """

    __slots__ = ("_hash", "_index", "_kind", "_one", "_src", "_syms")

    _syms: tuple[ElfSymbol, ...] | None
    _src: SymbolSource | None
    _kind: int
    _one: dict[int, ElfSymbol] | None
    _index: dict[str, Any] | None
    _hash: int | None

    def __init__(self, symbols: Iterable[ElfSymbol] = ()) -> None:
        self._syms = tuple(symbols)
        self._src = None
        self._kind = 0
        self._one = None
        self._index = None
        self._hash = None

    @classmethod
    def lazy(cls, source: SymbolSource, kind: int) -> SymbolTable:
        """A table whose symbols come from ``source`` on demand (view ``kind``)."""
        t = object.__new__(cls)
        t._syms = None
        t._src = source
        t._kind = kind
        t._one = None
        t._index = None
        t._hash = None
        return t

    def _all(self) -> tuple[ElfSymbol, ...]:
        syms = self._syms
        if syms is None:
            assert self._src is not None
            syms = self._src.symbols(self._kind)
            one = self._one
            if one:  # keep the symbols already handed out: one object per symbol
                syms = tuple(one.get(i, s) for i, s in enumerate(syms))
            self._syms = syms
            self._one = None
        return syms

    def __len__(self) -> int:
        syms = self._syms
        if syms is None:
            assert self._src is not None
            return self._src.count(self._kind)
        return len(syms)

    @overload
    def __getitem__(self, i: int) -> ElfSymbol: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[ElfSymbol, ...]: ...

    def __getitem__(self, i: int | slice) -> ElfSymbol | tuple[ElfSymbol, ...]:
        syms = self._syms
        if syms is not None:
            return syms[i]
        if isinstance(i, slice):
            return self._all()[i]
        src = self._src
        assert src is not None
        n = src.count(self._kind)
        k = i.__index__()
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("symbol table index out of range")
        one = self._one
        if one is None:
            one = self._one = {}
        sym = one.get(k)
        if sym is None:
            sym = one[k] = src.symbol(self._kind, k)
        return sym

    def __iter__(self) -> Iterator[ElfSymbol]:
        return iter(self._all())

    def __reversed__(self) -> Iterator[ElfSymbol]:
        return reversed(self._all())

    def __contains__(self, item: object) -> bool:
        return item in self._all()

    def names(self) -> list[str]:
        """The names of the symbols, in table order (a new list; decoded, not cached)."""
        syms = self._syms
        if syms is None:
            assert self._src is not None
            return self._src.names(self._kind)
        return [s.name for s in syms]

    def keys(self) -> tuple[list[SymbolKey], set[int]]:
        """Each symbol's :data:`SymbolKey`, in table order, and the positions of those with
        a nonzero value -- without building the symbols (a new list and set)."""
        syms = self._syms
        if syms is None:
            assert self._src is not None
            return self._src.keys(self._kind)
        return ([(s.name, s.version, s.hidden, s.binding, s.type) for s in syms],
                {i for i, s in enumerate(syms) if s.value})

    def lookup(self, name: str) -> tuple[ElfSymbol, ...]:
        """The symbols called ``name``, in table order (``()`` when there is none)."""
        index = self._index
        if index is None:
            index = self._build_index()
        hit = index.get(name)
        if hit is None or hit.__class__ is tuple:
            return hit or ()
        # First lookup of the name: positions -> symbols, kept in the index.
        at = (hit,) if hit.__class__ is int else hit
        every = self._syms
        if every is not None:
            syms = tuple(map(every.__getitem__, at))
        else:  # (the positions come from the table: no bounds to check)
            src = self._src
            assert src is not None
            one = self._one
            if one is None:
                one = self._one = {}
            out = []
            for p in at:
                sym = one.get(p)
                if sym is None:
                    sym = one[p] = src.symbol(self._kind, p)
                out.append(sym)
            syms = tuple(out)
        index[name] = syms
        return syms

    def name_index(self) -> Mapping[str, Any]:
        """A mapping whose keys are the names in the table: ``name in t.name_index()`` is
        ``bool(t.lookup(name))`` at the cost of a dict probe (its values are internal)."""
        index = self._index
        return index if index is not None else self._build_index()

    def _build_index(self) -> dict[str, Any]:
        # name -> position (unique name), [positions] (repeated name) or, once looked up,
        # the tuple of symbols.
        names = self.names()
        index: dict[str, Any] = dict(zip(names, range(len(names))))
        if len(index) != len(names):
            index.clear()
            for pos, n in enumerate(names):
                prev = index.get(n)
                if prev is None:
                    index[n] = pos
                elif prev.__class__ is int:
                    index[n] = [prev, pos]
                else:
                    prev.append(pos)
        self._index = index
        return index

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if isinstance(other, SymbolTable):
            return len(self) == len(other) and self._all() == other._all()
        if isinstance(other, tuple):
            return self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = self._hash = hash(self._all())
        return h

    def __add__(self, other: object) -> tuple[ElfSymbol, ...]:
        if isinstance(other, (SymbolTable, tuple)):
            return self._all() + tuple(other)
        return NotImplemented

    def __radd__(self, other: object) -> tuple[ElfSymbol, ...]:
        if isinstance(other, tuple):
            return other + self._all()
        return NotImplemented

    def __repr__(self) -> str:
        return f"SymbolTable({self._all()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SymbolTable, (self._all(),))


NO_SYMBOLS = SymbolTable()


__all__ = ["NO_SYMBOLS", "REF_COPY", "REF_OTHER", "REF_PLT", "ElfSymbol", "RelocationRefs",
           "SymbolKey", "SymbolRef", "SymbolSource", "SymbolTable"]
