"""What a file's dynamic relocations look up, read on first use (the resolver's question)."""

from __future__ import annotations

from array import array
from itertools import compress, repeat
from operator import eq
from typing import NamedTuple

from ..errors import ElfError
from ..model import REF_COPY, REF_OTHER, REF_PLT
from .constants import Buffer, RelocRules, uarray
from .tables import ElfTables


class DynamicRelocations(NamedTuple):
    """Where a file's dynamic relocation tables are; they are read on first use, each time
    (what the resolver asks of a consumer, once, while it binds it), from the file again
    (checked to be the file that was read: same size and modification time) or from the
    bytes it was read from, located and checked by ElfTables.dynamic_relocation_tables. Reading
    every file's tables when it is read would cost every file (libraries too) and keep
    them in memory. Only the r_info column (symbol index and type) is then taken out, with
    bulk slicing and no Python work per entry."""

    path: str
    member: str | None
    data: Buffer | None
    """The bytes the file was read from when given (None: read from ``path``)."""
    stamp: tuple[int, int | None]
    """(size, modification time) of the file when it was read."""
    tags: dict[int, int]
    nsyms: int
    rules: RelocRules
    is64: bool
    big: bool
    esz: int
    where: str
    ahead: list[list[bytes]]
    """The tables copied out when the file was read, for their first use only ([]: none;
    a consumer read right before it is bound: read_elf(..., ahead=True)); taken out by
    that use, so that they are not kept."""

    def chunks(self) -> list[bytes]:
        ahead = self.ahead
        if ahead:
            return ahead.pop()
        f = ElfTables(self.path, self.data, member=self.member)
        try:
            if self.data is None and (f.size, f.mtime_ns) != self.stamp:
                raise f.error("changed while it was being scanned (size or modification time)")
            return f.dynamic_relocation_tables(self.tags, self.rules)
        finally:
            f.close()

    def columns(self) -> list[tuple[array[int], array[int]]]:
        """(symbol indices, types) of each table, taken out of the r_info column with bulk
        slicing (no Python work per entry)."""
        out = []
        esz, big = self.esz, self.big
        w = esz // 4
        for raw in self.chunks():
            if self.is64:  # r_info: the type in its low half, the symbol in its high half
                words = uarray("I", raw, big)
                lo, hi = (words[3::w], words[2::w]) if big else (words[2::w], words[3::w])
                out.append((hi, lo))
            else:  # r_info: the type in its low byte, the symbol in the 3 bytes above
                n = len(raw) // esz
                col = raw[4::esz], raw[5::esz], raw[6::esz], raw[7::esz]
                sym = bytearray(4 * n)
                types = array("I")
                if big:
                    sym[1::4], sym[2::4], sym[3::4] = col[0], col[1], col[2]
                    types.extend(col[3])
                else:
                    sym[0::4], sym[1::4], sym[2::4] = col[1], col[2], col[3]
                    types.extend(col[0])
                out.append((uarray("I", sym, big), types))
        return out

    def looked_up(self, columns: list[tuple[array[int], array[int]]] | None = None
                  ) -> tuple[set[int], set[int]]:
        """(the symbol indices any relocation looks up, those of the copy relocations): one
        C-level pass over each table's columns (and one more for the copy relocations of an
        executable). An index past the symbol table is an ElfError naming the file."""
        never, copy, _plt, _rela = self.rules
        looked: set[int] = set()
        copies: set[int] = set()
        top = 0
        for syms, types in self.columns() if columns is None else columns:
            if not syms:
                continue
            top = max(top, max(syms))
            present = set(types)
            if present & never:
                # (rare: e.g. relative relocations DT_RELACOUNT does not count) a symbol
                # named only by such relocations is not looked up
                looked.update(compress(syms, map(_not_in, repeat(never), types)))
            else:
                looked.update(syms)
            if copy in present:
                copies.update(compress(syms, map(eq, types, repeat(copy))))
        if top >= max(self.nsyms, 1):
            raise ElfError(self.where, f"a dynamic relocation refers to symbol {top}, past the "
                                       f"{self.nsyms} symbols of the dynamic symbol table")
        looked.discard(0)
        copies.discard(0)
        return looked, copies

    def classes(self, columns: list[tuple[array[int], array[int]]] | None = None
                ) -> tuple[set[int], set[int], set[int]]:
        """The symbol indices the relocations look up, by class: (PLT class, copy, other);
        one pass per relocation type present."""
        never, copy, plt, _rela = self.rules
        by: dict[int, set[int]] = {REF_PLT: set(), REF_COPY: set(), REF_OTHER: set()}
        for syms, types in self.columns() if columns is None else columns:
            present = set(types)
            kinds = {t: REF_COPY if t == copy else REF_PLT if t in plt else REF_OTHER
                     for t in present - never}
            if len(kinds) == len(present) and len(set(kinds.values())) == 1:
                by[next(iter(kinds.values()))].update(syms)  # one class (DT_JMPREL)
                continue
            for t, bit in kinds.items():
                by[bit].update(compress(syms, map(eq, types, repeat(t))))
        for x in by.values():
            x.discard(0)
        return by[REF_PLT], by[REF_COPY], by[REF_OTHER]


def _not_in(group: frozenset[int], t: int) -> bool:
    return t not in group
