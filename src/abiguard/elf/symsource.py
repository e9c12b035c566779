"""The lazy symbol tables of :class:`~abiguard.model.ElfObject` (imports and exports).

The symbol tables are validated when the file is read (counts, offsets, every st_name against
the string table, every version index), in C-level bulk operations, and copied out of the
mapping; ``ElfObject.imports``/``exports`` are lazy :class:`~abiguard.model.SymbolTable`
views over those copies (see :class:`SymbolSource`): the import/export split is computed on
first use (bulk byte operations), names are decoded and ElfSymbol objects built only when
asked for (a whole table at ~0.5 us a symbol, see ``_SymBuilder``). Nothing done at access
time can fail: corrupt input raises at ``read_elf`` time.
"""

from __future__ import annotations

import dataclasses
import gc
from array import array
from collections.abc import Iterator
from itertools import compress, count, repeat
from operator import itemgetter

from ..fastnew import maker
from ..model import ElfSymbol, SymbolKey, SymbolTable
from .constants import BIND8, BINDTYPE8, TYPE8, VIS8, Layout, uarray
from .dynrelocs import DynamicRelocations
from .loading import fix_name

_frm = int.from_bytes
_ITEM0, _ITEM1, _ITEM2 = itemgetter(0), itemgetter(1), itemgetter(2)


# ElfSymbol is a frozen slotted dataclass: its __init__ goes through object.__setattr__ for
# each of its 11 fields (~1-2 us a symbol), which would make building every import of every
# consumer (what the resolver's bind does) cost more than reading the files. Symbols are
# filled in as a layout-identical plain slotted object (plain slot stores are cheap) that is
# then given the ElfSymbol class: the result is a genuine ElfSymbol (same eq, hash, repr,
# frozenness). Verified at import time; the ordinary constructor is used if the model ever
# changes shape. Only symbols that are asked for are built (see SymbolSource).
_SYM_FIELDS = ("name", "version", "hidden", "binding", "type", "visibility", "defined", "value",
               "size", "version_file", "version_index")


class _SymBuilder:
    __slots__ = _SYM_FIELDS
    name: str
    version: str | None
    hidden: bool
    binding: str
    type: str
    visibility: str
    defined: bool
    value: int
    size: int
    version_file: str | None
    version_index: int


def _check_fast_symbols() -> bool:
    try:
        if tuple(f.name for f in dataclasses.fields(ElfSymbol)) != _SYM_FIELDS:
            return False
        if getattr(ElfSymbol, "__slots__", None) != _SYM_FIELDS:
            return False
        values = ("n", "V", True, "WEAK", "FUNC", "PROTECTED", True, 1, 2, "f", 3)
        o = object.__new__(_SymBuilder)
        for k, v in zip(_SYM_FIELDS, values):
            setattr(o, k, v)
        o.__class__ = ElfSymbol  # type: ignore[assignment]
        built: object = o
        return built == ElfSymbol(*values) and hash(built) == hash(ElfSymbol(*values))
    except Exception:  # noqa: BLE001 - any failure just disables the fast path
        return False


_FAST_SYMBOLS = _check_fast_symbols()
_new_symbol = maker(ElfSymbol)  # (one symbol at a time: every field, in order)


# Per-byte tables for the import/export split (bytes.translate): st_info -> 1 when the
# binding is not STB_LOCAL; st_other -> 4 when the visibility is DEFAULT or PROTECTED; any
# nonzero byte -> 2 (st_shndx != SHN_UNDEF). code = those bits or-ed: an import has bit 1 and
# not bit 2 (any visibility), an export all three.
_T_NONLOCAL = bytes(int(i >= 16) for i in range(256))
_T_VISIBLE4 = bytes(4 if (i & 3) in (0, 3) else 0 for i in range(256))
_T_NONZERO2 = bytes(2 if i else 0 for i in range(256))
# st_info of a definition ld.so's lookup always takes (glibc check_match, do_lookup_x): a
# global or weak symbol of a code or data type (NOTYPE, OBJECT, FUNC, COMMON, TLS, IFUNC).
_T_SELF = bytes(int(i >> 4 in (1, 2) and i & 15 in (0, 1, 2, 5, 6, 10)) for i in range(256))
_T_IMPORT = bytes(int(i & 3 == 1) for i in range(256))
_T_EXPORT = bytes(int(i & 7 == 7) for i in range(256))
_VersionInfo = tuple[str | None, str | None, bool, int]  # version, file, hidden, index

# st_other -> 1 for hidden or internal visibility (ld.so binds such a reference locally).
_T_HIDDEN1 = bytes(int(i & 3 in (1, 2)) for i in range(256))


class SymbolSource:
    """The symbols of one validated .dynsym/.symtab (null symbol excluded), as copies of the
    raw records, the names' string table and the .gnu.version entries.

    It serves the two lazy :class:`SymbolTable` views of ``ElfObject`` (kind 0: imports,
    i.e. undefined non-local symbols; kind 1: exports, i.e. defined non-local symbols of
    default or protected visibility). Everything that can be wrong with the input was
    checked by ``ElfFile._symbol_source``; nothing here raises, whatever the input bytes.
    """

    __slots__ = ("classes", "layout", "names_at", "positions", "raw", "refnames", "relocs",
                 "split", "text", "text_ascii", "verdefs", "verneeds", "versions", "versyms")

    def __init__(self, raw: bytes, layout: Layout, names_at: array[int], text: str,
                 text_ascii: bool, versyms: array[int] | None, verdefs: dict[int, str],
                 verneeds: dict[int, tuple[str, str]]) -> None:
        # Where the dynamic relocation tables are (read on first use); None: not known.
        self.relocs: DynamicRelocations | None = None
        self.classes: tuple[set[int], set[int], set[int]] | None = None
        self.refnames: dict[str, list[int]] | None = None
        self.raw = raw
        self.layout = layout
        self.names_at = names_at
        self.text = text
        self.text_ascii = text_ascii
        self.versyms = versyms
        self.verdefs = verdefs
        self.verneeds = verneeds
        # Computed on first use, each published by one assignment (tables of a parsed file
        # may be shared by threads: a census worker's cache).
        self.split: tuple[tuple[bytes, bytes], tuple[int, int]] | None = None
        self.positions: list[list[int] | None] = [None, None]
        self.versions: tuple[dict[int, _VersionInfo], dict[int, _VersionInfo]] | None = None

    def _split(self) -> tuple[tuple[bytes, bytes], tuple[int, int]]:
        """Selectors (one byte per record: 1 for the imports, and the same for the exports,
        computed with bulk byte operations) and the number of imports and exports."""
        raw = self.raw
        esz = self.layout.sym.size
        n = len(raw) // esz
        at = 4 if self.layout.is64 else 12  # st_info, then st_other and the 2 st_shndx bytes
        frm = int.from_bytes
        nonlocal_ = frm(raw[at::esz].translate(_T_NONLOCAL), "little")
        shndx = frm(raw[at + 2::esz], "little") | frm(raw[at + 3::esz], "little")
        defined = frm(shndx.to_bytes(n, "little").translate(_T_NONZERO2), "little")
        visible = frm(raw[at + 1::esz].translate(_T_VISIBLE4), "little")
        code = (nonlocal_ | defined | visible).to_bytes(n, "little")
        isel, esel = code.translate(_T_IMPORT), code.translate(_T_EXPORT)
        split = self.split = ((isel, esel), (isel.count(1), esel.count(1)))
        return split

    def _versions(self) -> tuple[dict[int, _VersionInfo], dict[int, _VersionInfo]]:
        """Raw .gnu.version value -> (version, version file, hidden, index), for undefined
        and for defined symbols (a defined symbol may carry a verneed index: copy
        relocations in executables). Every index was checked to be 0, 1 or known."""
        und: dict[int, _VersionInfo] = {}
        dfn: dict[int, _VersionInfo] = {}
        if self.versyms is None:
            und[0] = dfn[0] = (None, None, False, 0)
        else:
            vd, vn = self.verdefs, self.verneeds
            for vx in set(self.versyms):
                v = vx & 0x7FFF
                hidden = vx > 0x7FFF
                if v > 1:
                    need = vn.get(v)
                    defn = (vd[v], None) if v in vd else None
                    u = need or defn or (None, None)
                    d = defn or need or (None, None)
                    und[vx] = (u[0], u[1], hidden, v)
                    dfn[vx] = (d[0], d[1], hidden, v)
                else:
                    und[vx] = dfn[vx] = (None, None, hidden, v)
        versions = self.versions = (und, dfn)
        return versions

    def count(self, kind: int) -> int:
        return (self.split or self._split())[1][kind]

    def _positions(self, kind: int) -> list[int]:
        """The record numbers of the symbols of a view, in order."""
        positions = self.positions[kind]
        if positions is None:
            sel = (self.split or self._split())[0][kind]
            positions = self.positions[kind] = list(compress(range(len(sel)), sel))
        return positions

    # ---- what the dynamic relocations look up (model.RelocationRefs) ------------------------

    # (Nothing computed from the relocations is kept for the file's views: the resolver
    # asks once per consumer, and big sets kept alive make Python's GC slower for everyone.)

    @staticmethod
    def _mask(classes: tuple[set[int], set[int], set[int]], k: int) -> int:
        plt, copy, other = classes
        return (k in plt) | (k in copy) << 1 | (k in other) << 2

    def _hidden(self, kind: int) -> list[int]:
        """Positions (in the view) of the symbols of hidden or internal visibility: ld.so
        binds a reference to them locally, without a lookup (RESOLVE_MAP)."""
        sel = (self.split or self._split())[0][kind]
        esz = self.layout.sym.size
        at = (5 if self.layout.is64 else 13)
        hid = _frm(self.raw[at::esz].translate(_T_HIDDEN1), "little") & _frm(sel, "little")
        if not hid:
            return []
        flags = hid.to_bytes(len(sel), "little")
        return [sel.count(1, 0, r) for r in compress(range(len(flags)), flags)]

    def _imports_looked(self, looked: set[int]) -> list[bool]:
        isel = (self.split or self._split())[0][0]
        out = list(map(looked.__contains__, compress(range(1, len(isel) + 1), isel)))
        for i in self._hidden(0):
            out[i] = False
        return out

    def _export_refs(self, looked: set[int], copies: set[int], every: bool,
                     columns: list[tuple[array[int], array[int]]]) -> dict[int, int]:
        esel = (self.split or self._split())[0][1]
        n = len(esel)
        if every:
            records = sorted(k - 1 for k in looked if esel[k - 1])
        else:
            # a copy relocation's symbol, or a definition ld.so's lookup does not take for
            # granted (not a global or weak code or data symbol: GNU unique, ...)
            raw = self.raw
            esz = self.layout.sym.size
            at = 4 if self.layout.is64 else 12
            odd = _frm(esel, "little") & ~_frm(raw[at::esz].translate(_T_SELF), "little")
            special = compress(range(n), odd.to_bytes(n, "little")) if odd > 0 else ()
            records = sorted({k - 1 for k in copies if esel[k - 1]}
                             | {r for r in special if r + 1 in looked})
        if not records:
            return {}
        assert self.relocs is not None
        classes = self.relocs.classes(columns)
        return {esel.count(1, 0, r): self._mask(classes, r + 1) for r in records}

    def lookups(self) -> tuple[list[bool], dict[int, int]]:
        assert self.relocs is not None
        columns = self.relocs.columns()
        looked, copies = self.relocs.looked_up(columns)
        return (self._imports_looked(looked),
                self._export_refs(looked, copies, False, columns))

    def imports_looked_up(self) -> list[bool]:
        assert self.relocs is not None
        return self._imports_looked(self.relocs.looked_up()[0])

    def import_refs(self) -> list[int]:
        assert self.relocs is not None
        columns = self.relocs.columns()
        looked = self._imports_looked(self.relocs.looked_up(columns)[0])
        classes = self.relocs.classes(columns)
        isel = (self.split or self._split())[0][0]
        mask = self._mask
        return [mask(classes, k) if hit else 0
                for k, hit in zip(compress(range(1, len(isel) + 1), isel), looked)]

    def export_refs(self, every: bool = False) -> dict[int, int]:
        """The exports whose lookups ld.so may bind elsewhere than the file itself (see
        model.RelocationRefs.export_refs); ``every``: all the exports a relocation looks
        up."""
        assert self.relocs is not None
        columns = self.relocs.columns()
        looked, copies = self.relocs.looked_up(columns)
        return self._export_refs(looked, copies, every, columns)

    def referencing(self, name: str) -> list[tuple[ElfSymbol, int]]:
        names = self.refnames
        if names is None:  # (kept: asked for many names, of few libraries)
            assert self.relocs is not None
            columns = self.relocs.columns()
            looked, _copies = self.relocs.looked_up(columns)
            self.classes = self.relocs.classes(columns)
            names = {}
            text = self.text
            for k in looked:
                off = self.names_at[k - 1]
                n = text[off:text.find("\0", off)]
                if not self.text_ascii and not n.isascii():
                    n = fix_name(n)
                names.setdefault(n, []).append(k - 1)
            self.refnames = names
        classes = self.classes
        assert classes is not None
        out = []
        isel, esel = (self.split or self._split())[0]
        for record in names.get(name, ()):
            kind = 0 if isel[record] else 1 if esel[record] else -1
            if kind >= 0:
                sym = self.symbol(kind, (isel if kind == 0 else esel).count(1, 0, record))
                if sym.visibility not in ("HIDDEN", "INTERNAL"):
                    out.append((sym, self._mask(classes, record + 1)))
        return out

    def symbol(self, kind: int, i: int) -> ElfSymbol:
        positions = self.positions[kind]
        if positions is None:
            positions = self._positions(kind)
        k = positions[i]
        sym = self.layout.sym
        rec = sym.unpack_from(self.raw, k * sym.size)
        if self.layout.is64:
            st_name, info, other, _shndx, value, size = rec
        else:
            st_name, value, size, info, other, _shndx = rec
        text = self.text
        name = text[st_name:text.find("\0", st_name)]
        if not self.text_ascii and not name.isascii():
            name = fix_name(name)
        vx = self.versyms[k] if self.versyms is not None else 0
        version, vfile, hidden, vindex = (self.versions or self._versions())[kind][vx]
        return _new_symbol(name, version, hidden, BIND8[info], TYPE8[info], VIS8[other],
                           kind == 1, value, size, vfile, vindex)

    def names(self, kind: int) -> list[str]:
        offs = list(compress(self.names_at, (self.split or self._split())[0][kind]))
        text = self.text
        names = list(map(text.__getitem__, map(slice, offs, map(text.find, repeat("\0"),
                                                                   offs))))
        if not self.text_ascii:
            fix = fix_name
            names = [n if n.isascii() else fix(n) for n in names]
        return names

    def keys(self, kind: int) -> tuple[list[SymbolKey], set[int]]:
        """model.SymbolTable.keys: (name, version, hidden, binding, type) of each symbol of
        the view and the positions of those with a nonzero st_value, in C-level bulk
        operations (no symbol built)."""
        # (by record number: the view's symbols may be few among many, an import view of a
        # library)
        at = self.positions[kind] or self._positions(kind)
        lay = self.layout
        esz = lay.sym.size
        raw = self.raw
        text = self.text
        offs = list(map(self.names_at.__getitem__, at))
        names = list(map(text.__getitem__, map(slice, offs, map(text.find, repeat("\0"),
                                                                   offs))))
        if not self.text_ascii:
            names = [n if n.isascii() else fix_name(n) for n in names]
        vinfo = (self.versions or self._versions())[kind]
        if self.versyms is not None:
            vv = list(map(vinfo.__getitem__, map(self.versyms.__getitem__, at)))
        else:
            vv = [vinfo[0]] * len(at)
        info = raw[4 if lay.is64 else 12::esz]
        bt = list(map(BINDTYPE8.__getitem__, map(info.__getitem__, at)))
        keys = list(zip(names, map(_ITEM0, vv), map(_ITEM2, vv), map(_ITEM0, bt),
                        map(_ITEM1, bt)))
        # st_value: the second 8-byte word of an Elf64_Sym, the second 4-byte one of Elf32
        words = uarray("Q" if lay.is64 else "I", raw, lay.big)[1::3 if lay.is64 else 4]
        return keys, set(compress(count(), map(words.__getitem__, at)))

    def symbols(self, kind: int) -> tuple[ElfSymbol, ...]:
        sel = (self.split or self._split())[0][kind]
        recs: Iterator[tuple[int, ...]] = compress(self.layout.sym.iter_unpack(self.raw), sel)
        if not self.layout.is64:
            recs = ((n, i, o, x, v, z) for n, v, z, i, o, x in recs)
        vxs = compress(self.versyms, sel) if self.versyms is not None else repeat(0)
        vinfo = (self.versions or self._versions())[kind]
        defined = kind == 1
        text = self.text
        find = text.find
        nonascii = not self.text_ascii
        fix = fix_name
        BT, VIS = BINDTYPE8, VIS8
        new = object.__new__
        B = _SymBuilder
        ES: type = ElfSymbol if _FAST_SYMBOLS else _SymBuilder
        out: list[_SymBuilder] = []  # ElfSymbols once their class is switched
        append = out.append
        gc_was_enabled = gc.isenabled()
        gc.disable()  # many new acyclic objects: don't let the GC rescan the heap meanwhile
        try:
            for (st_name, info, other, _shndx, value, size), vx in zip(recs, vxs):
                o = new(B)
                o.version, o.version_file, o.hidden, o.version_index = vinfo[vx]
                name = text[st_name:find("\0", st_name)]
                if nonascii and not name.isascii():
                    name = fix(name)
                o.name = name
                o.binding, o.type = BT[info]
                o.visibility = VIS[other]
                o.defined = defined
                o.value = value
                o.size = size
                o.__class__ = ES
                append(o)
        finally:
            if gc_was_enabled:
                gc.enable()
        if not _FAST_SYMBOLS:
            return tuple(ElfSymbol(*(getattr(o, k) for k in _SYM_FIELDS)) for o in out)
        return tuple(out)  # type: ignore[arg-type]  # (they are ElfSymbols now)


NO_SYMBOLS = SymbolTable()

