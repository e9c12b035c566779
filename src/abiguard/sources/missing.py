"""The last kind, taking what no other kind recognised: a path that does not exist, or one
that is not a regular file or directory (a fifo, a device). Every command reports it as an
input error naming it; nothing is dropped silently."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import UsageError
from .base import Context, Source

if TYPE_CHECKING:
    from .faces import CensusPart, LibraryTree


class MissingSource(Source):
    """An input that is neither a package name nor a file or directory."""

    kind = "missing"

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> MissingSource:
        return cls(spec)

    def collect(self, ctx: Context) -> None:
        ctx.error(self.spec, "not a regular file" if os.path.exists(self.spec)
                  else "no such file or directory")

    def census(self) -> CensusPart:
        raise UsageError(f"{self.spec}: no such file, directory or package name")

    def library_tree(self, ctx: Context) -> LibraryTree:
        raise UsageError(f"{self.spec}: no such file, directory or package")

    def header_path(self, ctx: Context) -> tuple[str, str]:
        if os.path.exists(self.spec):
            return self.spec, self.spec
        raise UsageError(f"{self.spec}: no such header file, directory or package")


__all__ = ["MissingSource"]
