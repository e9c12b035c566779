"""Symbol version tables: .gnu.version_d (definitions) and .gnu.version_r (requirements)."""

from __future__ import annotations

from .. import limits
from ..model import VersionDef, VersionNeed
from .constants import VER_FLG_WEAK
from .loading import StrTab
from .tables import ElfTables


class ElfVersions(ElfTables):
    """An :class:`ElfTables` that reads version definition and requirement chains."""

    __slots__ = ()

    def _verdefs(self, off: int, size: int, count: int | None,
                 strtab: StrTab) -> list[VersionDef]:
        lay = self.layout
        data = self.data
        unpack, unpack_aux = lay.verdef.unpack_from, lay.verdaux.unpack_from
        esz, asz = lay.verdef.size, lay.verdaux.size
        lookup = strtab.get
        end = off + size
        what = ".gnu.version_d"
        limit = size // esz
        if count is not None and count > limit:
            raise self.error(f"corrupt {what}: {count} entries do not fit in {size} bytes")
        # Entries may share auxiliary entries: cap what the whole chain makes us read.
        budget = cap = self._lim.max_version_entries
        out: list[VersionDef] = []
        seen: set[int] = set()
        pos = off
        k = 0
        while True:
            if pos + esz > end:
                raise self.error(f"truncated: {what} entry {k} at {pos:#x} runs past the end "
                                 f"of the table")
            vd_version, flags, ndx, cnt, _hash, aux, nxt = unpack(data, pos)
            if vd_version != 1:
                raise self.error(f"corrupt {what}: entry {k} has version {vd_version} "
                                 f"(expected 1)")
            if cnt == 0:
                raise self.error(f"corrupt {what}: entry {k} has no name (vd_cnt 0)")
            if aux < esz:
                raise self.error(f"corrupt {what}: entry {k} has vd_aux {aux}, overlapping "
                                 f"the entry")
            if ndx in seen:
                raise self.error(f"corrupt {what}: version index {ndx} defined twice")
            seen.add(ndx)
            budget -= cnt + 1
            if budget < 0:
                raise self.error(limits.message(f"more than {cap} entries in {what}",
                                                "max_version_entries", cap))
            names: list[str] = []
            apos = pos + aux
            for j in range(cnt):
                if apos + asz > end:
                    raise self.error(f"truncated: {what} entry {k} auxiliary {j} runs past the "
                                     f"end of the table")
                name, anext = unpack_aux(data, apos)
                names.append(lookup(name))
                if j + 1 < cnt:
                    if anext < asz:
                        raise self.error(f"corrupt {what}: entry {k} auxiliary chain ends or "
                                         f"loops after {j + 1} of {cnt} entries")
                    apos += anext
            out.append(VersionDef(ndx, names[0], flags, tuple(names[1:])))
            k += 1
            if k == count:
                break
            if nxt == 0:
                if count is None:
                    break
                raise self.error(f"corrupt {what}: chain ends after {k} of {count} entries")
            if nxt < esz:
                raise self.error(f"corrupt {what}: entry {k - 1} has vd_next {nxt}, "
                                 f"overlapping the entry (loop)")
            if k >= limit:
                raise self.error(f"corrupt {what}: chain longer than the table")
            pos += nxt
        return out

    def _verneeds(self, off: int, size: int, count: int | None,
                  strtab: StrTab) -> tuple[list[VersionNeed], dict[int, tuple[str, str]]]:
        lay = self.layout
        data = self.data
        unpack, unpack_aux = lay.verneed.unpack_from, lay.vernaux.unpack_from
        esz, asz = lay.verneed.size, lay.vernaux.size
        lookup = strtab.get
        end = off + size
        what = ".gnu.version_r"
        limit = size // esz
        if count is not None and count > limit:
            raise self.error(f"corrupt {what}: {count} entries do not fit in {size} bytes")
        budget = cap = self._lim.max_version_entries
        out: list[VersionNeed] = []
        index: dict[int, tuple[str, str]] = {}
        pos = off
        k = 0
        while True:
            if pos + esz > end:
                raise self.error(f"truncated: {what} entry {k} at {pos:#x} runs past the end "
                                 f"of the table")
            vn_version, cnt, file_off, aux, nxt = unpack(data, pos)
            if vn_version != 1:
                raise self.error(f"corrupt {what}: entry {k} has version {vn_version} "
                                 f"(expected 1)")
            fname = lookup(file_off)
            budget -= cnt + 1
            if budget < 0:
                raise self.error(limits.message(f"more than {cap} entries in {what}",
                                                "max_version_entries", cap))
            versions: list[str] = []
            weak: list[str] = []
            if cnt:
                if aux < esz:
                    raise self.error(f"corrupt {what}: entry {k} has vn_aux {aux}, overlapping "
                                     f"the entry")
                apos = pos + aux
                for j in range(cnt):
                    if apos + asz > end:
                        raise self.error(f"truncated: {what} entry {k} auxiliary {j} runs past "
                                         f"the end of the table")
                    _hash, vflags, other, name_off, anext = unpack_aux(data, apos)
                    vname = lookup(name_off)
                    versions.append(vname)
                    if vflags & VER_FLG_WEAK:
                        weak.append(vname)
                    if other in index:
                        raise self.error(f"corrupt {what}: version index {other} used twice")
                    index[other] = (vname, fname)
                    if j + 1 < cnt:
                        if anext < asz:
                            raise self.error(f"corrupt {what}: entry {k} auxiliary chain ends "
                                             f"or loops after {j + 1} of {cnt} entries")
                        apos += anext
            out.append(VersionNeed(fname, tuple(versions), tuple(weak)))
            k += 1
            if k == count:
                break
            if nxt == 0:
                if count is None:
                    break
                raise self.error(f"corrupt {what}: chain ends after {k} of {count} entries")
            if nxt < esz:
                raise self.error(f"corrupt {what}: entry {k - 1} has vn_next {nxt}, "
                                 f"overlapping the entry (loop)")
            if k >= limit:
                raise self.error(f"corrupt {what}: chain longer than the table")
            pos += nxt
        return out, index
