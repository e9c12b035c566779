"""The ``directory`` kind: an existing directory.

Scanned: every ELF file and ar archive below it (symlinks followed, each real file once),
known by its own path; a .deb found in it is an input of its own. In a census: the .deb files
below it, or, when it has none, a tree of unpacked package roots. In ``impact``: the shared
libraries below it; as headers, an include directory.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .base import Context, Source
from .deb import find_debs
from .tree import scan_tree

if TYPE_CHECKING:  # (the census's and impact's faces: loaded when made)
    from .faces import CensusPart, LibraryTree


class DirectorySource(Source):
    """A directory of files."""

    kind = "directory"

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> DirectorySource | None:
        return cls(spec) if os.path.isdir(spec) else None

    def collect(self, ctx: Context) -> None:
        out = ctx.out
        before = out.found, len(out.errors)
        scan_tree(self.spec, self.spec, ctx)
        if (out.found, len(out.errors)) == before:
            out.notes.append(f"{self.spec}: no ELF files found")

    def census(self) -> CensusPart:
        from .faces import CensusPart

        found = find_debs(self.spec)
        return CensusPart(debs=tuple(found)) if found else CensusPart(roots=(self.spec,))

    def library_tree(self, ctx: Context) -> LibraryTree:
        from .faces import LibraryTree

        return LibraryTree(self.spec, self.spec)

    def header_path(self, ctx: Context) -> tuple[str, str]:
        return self.spec, self.spec


__all__ = ["DirectorySource"]
