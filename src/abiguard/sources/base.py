"""The input-source protocol: what every kind of input (a file, a directory, a .deb, an apt
package name, ...) gives the commands that read inputs.

A :class:`Source` is one input the user named, recognised by its kind (the registry,
:mod:`abiguard.sources.registry`, asks the kinds in order). It then answers, for

* ``scan``/``plan``/``where``/``diff``...: :meth:`Source.collect` -- the ELF objects to scan
  (*targets*), the unpacked package roots the resolver looks into (*overlays*), notes and
  input errors, into the :class:`Collected` of its :class:`Context`; and
  :meth:`Source.related`, the packages whose library dependencies ``--with-deps`` fetches;
* ``census``: :meth:`Source.census` -- the packages it stands for (:class:`CensusPart`);
* ``impact``: :meth:`Source.library_tree` (where its shared libraries are) and
  :meth:`Source.header_path` (where its C headers are).

A kind that needs a step for all its inputs at once (apt: one resolution and one download for
every name) does it in :meth:`Source.prepare`; kinds of a later ``phase`` are collected after
the earlier ones (package names after local files, as apt's downloads come last).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from ..errors import UsageError
from ..model import ElfObject, InputError
from ..notify import Notify, silent

if TYPE_CHECKING:  # (apt and .debs only for package inputs: a scan of files loads neither;
    # nor the census's and impact's faces of a source)
    from ..debian.apt import Apt
    from ..debian.suites import Derived
    from .faces import CensusPart, LibraryTree, Relations


@dataclass(frozen=True, slots=True)
class Target:
    """One ELF object to scan."""

    elf: ElfObject
    installed: str
    """The path it has (or would have) once installed; what the report shows."""
    origin: str
    """What the user named: a file, a directory, a .deb or apt:NAME."""
    package: str | None = None
    """'name version arch' for objects from a package."""


@dataclass(frozen=True, slots=True)
class Pending:
    """An ELF file found but not read yet (:attr:`Collected.defer`): read by whichever
    process of a scan resolves it (abiguard.pipeline), giving the :class:`Target` or the
    input error that reading it when found would have given, at the same place."""

    path: str
    installed: str
    origin: str
    package: str | None
    at: int
    """Its place among the targets: how many were found before it."""
    error_at: int
    """Its place among the errors: how many there were when it was found."""

    def target(self, elf: ElfObject) -> Target:
        return Target(elf, self.installed, self.origin, self.package)

    def error(self, message: str) -> InputError:
        """The input error of a file that cannot be read (:func:`unreadable`)."""
        return unreadable(self.path, self.installed, self.package, message)


def unreadable(path: str, installed: str, package: str | None, message: str) -> InputError:
    """The input error of an ELF file found that cannot be read: named by its installed path
    when it comes from a package, else by its path."""
    return InputError(installed if package else path, message)


@dataclass
class Collected:
    """What the inputs of one scan gave: targets, overlays, errors, notes; and the private
    temporary directories they were unpacked into (removed by :meth:`cleanup`)."""

    targets: list[Target] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _tmp: list[str] = field(default_factory=list)
    defer: bool = False
    """ELF files are not read when found but listed in :attr:`pending` (for a scan that
    reads them where it resolves them: abiguard.pipeline.scan_targets)."""
    pending: list[Pending] = field(default_factory=list)
    found: int = 0
    """ELF objects found so far, read or not, readable or not (files with the ELF magic,
    and the members of ar archives): what "no ELF files" notes count."""

    def tempdir(self, prefix: str = "abiguard-") -> str:
        """A new private (0700) temporary directory, removed by :meth:`cleanup`."""
        import tempfile  # (with the first package unpacked: a scan of files needs none)

        d = tempfile.mkdtemp(prefix=prefix)
        self._tmp.append(d)
        os.chmod(d, 0o700)
        return d

    def cleanup(self) -> None:
        if self._tmp:
            import shutil  # (as tempfile)

            for d in self._tmp:
                shutil.rmtree(d, ignore_errors=True)
            self._tmp.clear()

    def __enter__(self) -> Collected:  # noqa: PYI034 - final class
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class Recogniser(Protocol):
    """What a context needs of the registry: a spec's source."""

    def recognise(self, spec: str, suite: str | None = None) -> Source: ...


class Context:
    """What the sources of one group of inputs share: where their results go, the Debian
    suite of their package names (None: this machine's apt configuration), the apt client of
    that suite (made when first asked), the phase messages, and the registry (for inputs
    found inside other inputs: a .deb in a directory)."""

    def __init__(self, out: Collected, registry: Recogniser, *, suite: str | None = None,
                 notify: Notify = silent) -> None:
        self.out = out
        self.registry = registry
        self.suite = suite
        self.notify = notify
        self._apt: tuple[Apt, Derived | None] | None = None

    def apt(self) -> tuple[Apt, Derived | None]:
        """The apt client of the suite, and its derived configuration (None: the machine's)."""
        if self._apt is None:
            from ..debian.suites import apt_for

            self._apt = apt_for(self.suite)
        return self._apt

    def tempdir(self, prefix: str = "abiguard-") -> str:
        """A private temporary directory, removed with the collected results."""
        return self.out.tempdir(prefix)

    def error(self, path: str, message: str) -> None:
        self.out.errors.append(InputError(path, message))


class Source(ABC):
    """One input of one kind. Subclasses set ``kind`` and implement :meth:`recognise` and
    :meth:`collect`; the census and impact faces are optional (a kind without them is
    refused there with a one-line error)."""

    kind: ClassVar[str]
    """Its name in the registry."""
    phase: ClassVar[int] = 0
    """Collected after the sources of lower phases (0: local inputs, in the order named;
    1: package names, resolved and downloaded together)."""
    batch: ClassVar[str | None] = None
    """Kinds with the same batch name share one :meth:`prepare` call (None: the kind's own)."""

    def __init__(self, spec: str, suite: str | None = None, *, named: bool = True) -> None:
        self.spec = spec
        """What the user named (or the path found inside another input)."""
        self.suite = suite
        """The Debian suite its package names are resolved in (None: this machine's apt
        configuration). Sources of different suites are scanned apart."""
        self.named = named
        """False for an input found inside another one (a .deb in a directory)."""

    @classmethod
    @abstractmethod
    def recognise(cls, spec: str, suite: str | None) -> Source | None:
        """This kind's source for ``spec``, or None when the spec is not of this kind.
        ``suite`` is the suite given for package names without one (``--suite``)."""

    @classmethod
    def prepare(cls, batch: Sequence[Source], ctx: Context) -> None:
        """A step for every source of the batch at once, before any is collected."""

    @abstractmethod
    def collect(self, ctx: Context) -> None:
        """Add its targets, overlays, notes and errors to ``ctx.out``."""

    def related(self) -> Sequence[Relations]:
        """The packages it brought whose library dependencies ``--with-deps`` fetches
        (known after :meth:`collect`)."""
        return ()

    def census(self) -> CensusPart:
        """What it stands for in a census."""
        raise UsageError(f"{self.spec}: a census does not take {self.kind} inputs")

    def library_tree(self, ctx: Context) -> LibraryTree:
        """Where its shared libraries are, as a library set of ``impact``."""
        raise UsageError(f"{self.spec}: not a library set ({self.kind})")

    def header_path(self, ctx: Context) -> tuple[str, str]:
        """(a header file or include directory, its label) of a headers input."""
        raise UsageError(f"{self.spec}: no such header file, directory or package")

    @property
    def batch_name(self) -> str:
        return self.batch or self.kind

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec!r} suite={self.suite!r}>"


__all__ = ["Collected", "Context", "Pending", "Recogniser", "Source", "Target", "unreadable"]
