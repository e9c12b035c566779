"""The ``apt`` kind: a package name -- ``NAME`` (apt's candidate), ``NAME=VERSION`` (exactly
that version), ``apt:NAME`` (a name even where a file of that name exists) -- under this
machine's apt configuration, or under the suite given for names without one (``--suite``).

An existing path wins over a package name. Every name of a scan is resolved and downloaded
at once (:meth:`AptSource.prepare`: one apt call; abiguard.debian.apt's one download path and
cache by SHA-256), then each .deb is collected as the ``deb`` kind would, its objects'
origin ``apt:NAME`` (``apt:NAME/SUITE``). With ``--with-deps``, :func:`fetch_library_packages`
adds the library packages the scanned packages depend on (one closure, apt's candidates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..debian.names import is_package_name
from ..notify import Notify
from .base import Context, Source
from .deb import add_deb, library_tree_of, package_label, unpack_headers

if TYPE_CHECKING:  # (apt itself when a name is fetched: a scan of files never loads it)
    from pathlib import Path

    from ..debian.apt import Apt, AptError
    from ..debian.deb import DebInfo
    from .faces import CensusPart, LibraryTree, Relations


class AptSource(Source):
    """A package name, resolved and downloaded with apt."""

    kind = "apt"
    phase = 1
    batch = "apt"

    def __init__(self, spec: str, suite: str | None = None, *, name: str,
                 named: bool = True) -> None:
        super().__init__(spec, suite, named=named)
        self.name = name
        """``NAME`` or ``NAME=VERSION`` (no ``apt:``, no ``/SUITE``)."""
        self.deb: str | None = None
        self.sha256: str | None = None
        self.error: AptError | None = None
        self.duplicate = False
        self.info: DebInfo | None = None

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> AptSource | None:
        if spec.startswith("apt:") or is_package_name(spec):
            return cls(spec, suite, name=spec.removeprefix("apt:"))
        return None

    @classmethod
    def prepare(cls, batch: Sequence[Source], ctx: Context) -> None:
        sources = [s for s in batch if isinstance(s, AptSource)]
        apt, derived = ctx.apt()
        names = list(dict.fromkeys(s.name for s in sources))
        from .fetched import fetch_names  # (apt's answers: with the first name fetched)

        got = fetch_names(apt, names, ctx.notify)
        if got.failed_download and derived is not None and (derived.lists_age() or 0) > 60:
            derived.update(force=True)  # the archive moved on since its lists were fetched
            got = fetch_names(apt, names, ctx.notify)
        ctx.out.errors += got.errors
        seen: set[str] = set()
        for s in sources:
            s.error = got.failures.get(s.name)
            deb = got.debs.get(s.name)
            s.deb = str(deb) if deb is not None else None
            s.sha256 = got.sha256.get(s.name)
            s.duplicate = s.name in seen
            seen.add(s.name)
        if got.debs:
            ctx.notify("unpack", f"unpacking {len(got.debs)} package(s)")

    @property
    def origin(self) -> str:
        return f"apt:{self.name}" + (f"/{self.suite}" if self.suite else "")

    def collect(self, ctx: Context) -> None:
        if self.deb is not None and not self.duplicate:
            self.info = add_deb(self.deb, ctx, origin=self.origin, sha256=self.sha256)

    def related(self) -> Sequence[Relations]:
        from .faces import Relations

        return (Relations.of(self.info),) if self.info is not None and self.named else ()

    def census(self) -> CensusPart:
        from .faces import CensusPart

        return CensusPart(names=(self.name,))

    def _deb(self) -> str:
        from ..debian.apt import AptError

        if self.error is not None:
            raise self.error
        if self.deb is None:
            raise AptError(self.name, "not downloaded")
        return self.deb

    def library_tree(self, ctx: Context) -> LibraryTree:
        return library_tree_of(self._deb(), ctx)

    def header_path(self, ctx: Context) -> tuple[str, str]:
        deb = self._deb()
        return unpack_headers(deb, ctx), package_label(deb)


def fetch_library_packages(related: Iterable[Relations], ctx: Context) -> None:
    """``--with-deps``: the library packages the given packages depend on (the one closure
    of abiguard.debian.apt, apt's candidates of the context's suite), unpacked as overlays;
    those this machine has at exactly that version are left to the sysroot."""
    from ..debian.apt import AptError, installed_versions

    packages = list(related)
    apt, derived = ctx.apt()
    installed = installed_versions()
    got, shas = _library_debs(apt, packages, installed, ctx.notify)
    if (any(isinstance(d, AptError) for d in got.values()) and derived is not None
            and (derived.lists_age() or 0) > 60):
        derived.update(force=True)  # the archive moved on since its lists were fetched
        got, shas = _library_debs(apt, packages, installed, ctx.notify)
    debs: dict[str, Path] = {}
    for name, deb in got.items():
        if isinstance(deb, AptError):
            ctx.error("--with-deps", str(deb))
        else:
            debs[name] = deb
    if debs:
        ctx.notify("unpack", f"unpacking {len(debs)} library package(s) for resolution")
    for name, deb in debs.items():
        add_deb(str(deb), ctx, consumers=False, sha256=shas.get(name))
    if debs:
        where = f" from {ctx.suite}" if ctx.suite else ""
        ctx.out.notes.append(f"library packages fetched{where} for resolution: "
                             + ", ".join(sorted(debs)))


def _library_debs(apt: Apt, packages: list[Relations], installed: dict[str, str],
                  notify: Notify) -> tuple[dict[str, Path | AptError], dict[str, str | None]]:
    """(name -> .deb or error, name -> the SHA-256 of apt's record)."""
    deps = [d for d in apt.closure(packages, exclude=[p.name for p in packages])
            if installed.get(d.name) != d.version]  # else this machine has exactly it
    return apt.download(deps, notify=notify), {d.name: d.sha256 for d in deps}


__all__ = ["AptSource", "fetch_library_packages"]
