"""Fetching and unpacking for census tasks: a local .deb for each package (abiguard.debian.apt's
one download path and cache, keyed by name, version, architecture and SHA-256), the library
packages a consumer is resolved against (its closure) and their unpacked roots, shared by the
workers of a machine."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..debian.apt import Apt, AptConfig, AptError, library_closure
from ..errors import InputFileError
from ..sources import FetchError, PackageRef, package_kind, root_ref
from ..sources.deb import control
from .config import Config
from .worker import STATE


def apt_client(config: Config) -> Apt:
    """This worker's apt client of the run's configuration (remembers its answers)."""
    key = (config.apt, config.cache)
    with STATE.lock:
        hit = STATE.apt_clients.get(key)
        if hit is None:
            hit = STATE.apt_clients[key] = Apt(config.apt or AptConfig.machine(),
                                               Path(config.cache) if config.cache else None)
    return hit


def fetch_deb(ref: PackageRef, config: Config) -> str:
    """A local .deb for ref: its path, or abiguard.debian.apt's (cache or download)."""
    got = fetch_debs([ref], config)[ref.name]
    if isinstance(got, FetchError):
        raise got
    return got


def fetch_debs(refs: list[PackageRef], config: Config) -> dict[str, str | FetchError]:
    """Local .debs for refs: their paths, else the one download path of
    abiguard.debian.apt (the cache, checked against the index's SHA-256, or one
    ``apt-get download`` for all the missing ones into a private directory, checked, then
    renamed into the cache, so concurrent workers never see a partial file). Returns
    name -> path, or the FetchError of that package."""
    out: dict[str, str | FetchError] = {r.name: r.path for r in refs if r.path}
    todo = [r for r in refs if not r.path]
    if todo:
        for name, got in apt_client(config).download(todo, fetch=config.fetch).items():
            out[name] = FetchError(str(got)) if isinstance(got, AptError) else str(got)
    return out


def lib_key(ref: PackageRef) -> str:
    """The directory name of an unpacked library package."""
    raw = f"{ref.name}_{ref.version}_{ref.arch}_{ref.sha256 or ref.path or ''}"
    return raw.replace("/", "_").replace(":", "%3a")[:200]


def lib_dirs(config: Config) -> list[str]:
    """Where unpacked library packages are: the persistent cache, and the run's."""
    return [x for x in (config.libroots or "", os.path.join(STATE.workdir(config), "libs"))
            if x]


def is_unpacked(ref: PackageRef, config: Config) -> bool:
    """Whether a library package needs no download: it is a lasting root, or unpacked."""
    if package_kind(ref.kind).lasting(ref) is not None:
        return True
    return any(os.path.isdir(os.path.join(x, lib_key(ref))) for x in lib_dirs(config))


def library_root(ref: PackageRef, config: Config) -> str:
    """An unpacked library package (ELF files and ld.so.conf only), shared by the workers of
    a run: unpacked into a private directory, then renamed into place atomically."""
    kind = package_kind(ref.kind)
    lasting = kind.lasting(ref)
    if lasting is not None:
        return lasting
    if config.libroots and ref.sha256:  # content-addressed: safe to keep across runs
        libs = config.libroots
    else:
        libs = os.path.join(STATE.workdir(config), "libs")
    dest = os.path.join(libs, lib_key(ref))
    if os.path.isdir(dest):
        return dest
    os.makedirs(libs, exist_ok=True)

    def fetch(r: PackageRef) -> str:
        return fetch_deb(r, config)

    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=libs)
    try:
        kind.unpack(ref, None, fetch, tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not os.path.isdir(dest):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------------------------
# Dependencies of local packages (the set first, then apt)
# --------------------------------------------------------------------------------------------


def set_ref(name: str, config: Config) -> PackageRef | None:
    """A package of the run's package set by name, with its relations."""
    path = config.packages.get(name)
    if path is None:
        return None
    if os.path.isdir(path):
        return root_ref(path)
    try:
        info = control(path)
    except InputFileError:
        return None
    return PackageRef(info.package, info.version, info.architecture, None, 0, path,
                      depends=info.depends, pre_depends=info.pre_depends)


def local_closure(depends: str, pre_depends: str, self_name: str, config: Config
                  ) -> tuple[PackageRef, ...]:
    """The library packages (lib*) a local package depends on, recursively (the one closure
    of abiguard.debian.apt): from the package set when it has them, else apt's candidates
    (when downloads are allowed)."""
    apt = apt_client(config)

    def lookup(names: list[str]) -> dict[str, PackageRef | None]:
        out = {n: set_ref(n, config) for n in names}
        todo = [n for n, r in out.items() if r is None]
        if todo and config.fetch:
            try:
                found = apt.candidates(todo)
            except AptError:
                found = {}
            for n in todo:
                rec = found.get(n)
                out[n] = PackageRef.from_record(rec) if rec is not None else None
        return out

    me = PackageRef(self_name, depends=depends, pre_depends=pre_depends)
    return tuple(library_closure([me], lookup, exclude=[self_name], arch=apt.arch))


__all__ = ["apt_client", "fetch_deb", "fetch_debs", "is_unpacked", "lib_dirs", "lib_key",
           "library_root", "local_closure", "set_ref"]
