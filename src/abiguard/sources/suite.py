"""The ``suite`` kind: a package of another Debian suite, ``NAME/SUITE`` (``NAME=VERSION/SUITE``,
``apt:NAME/SUITE``), e.g. ``qemu-system-xen/trixie`` on a bookworm machine.

Resolved and downloaded like the ``apt`` kind, under a configuration derived from this
machine's apt sources (:mod:`abiguard.debian.suites`: the suite's newest version, counting its
-updates and -security). Its ``suite`` puts it in a scan of its own: it is resolved against its
suite's library packages, never against this machine's or another suite's. An existing path
wins (``dir/sub`` stays a path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..debian.names import split_spec
from ..errors import UsageError
from .apt import AptSource

if TYPE_CHECKING:
    from .faces import CensusPart


class SuitePackage(AptSource):
    """A package name with its suite."""

    kind = "suite"

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> SuitePackage | None:
        name, own = split_spec(spec)
        return cls(spec, own, name=name) if own is not None else None

    def census(self) -> CensusPart:
        raise UsageError(f"{self.spec}: a census takes the packages of one suite: give "
                         f"{self.name} with --suite {self.suite}")


__all__ = ["SuitePackage"]
