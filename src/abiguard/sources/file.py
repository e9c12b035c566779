"""The ``file`` kind: an existing regular file that is not a .deb -- an ELF object (program,
shared library, relocatable object) or an ar archive of objects (a static library).

Scanned as it is, known by its own path; anything else is an input error naming the file.
In ``impact`` it is one shared library (its directory is searched for the consumers).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .base import Context, Source
from .tree import elf_targets

if TYPE_CHECKING:  # (the census's and impact's faces: loaded when made)
    from .faces import CensusPart, LibraryTree


class FileSource(Source):
    """An ELF file or ar archive."""

    kind = "file"

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> FileSource | None:
        return cls(spec) if os.path.isfile(spec) else None

    def collect(self, ctx: Context) -> None:
        elf_targets(self.spec, self.spec, self.spec, None, ctx.out)

    def census(self) -> CensusPart:
        from .faces import CensusPart

        # a census input file is taken for a package: the task reports what it is not
        return CensusPart(debs=(self.spec,))

    def library_tree(self, ctx: Context) -> LibraryTree:
        from .faces import LibraryTree

        return LibraryTree(self.spec, os.path.dirname(self.spec) or ".", only=self.spec,
                           lib_dirs=(os.path.dirname(os.path.abspath(self.spec)),),
                           empty="not a shared library")

    def header_path(self, ctx: Context) -> tuple[str, str]:
        return self.spec, self.spec


__all__ = ["FileSource"]
