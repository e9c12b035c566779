"""The census task: scan one consumer package into a :class:`~abiguard.census.store.Result`.

``run_task(ref, config)`` never raises for a bad package (the failure is the result); both
engines run exactly this function. Per package the work is streamed: the package's kind
(abiguard.sources: a .deb, fetched through abiguard.debian.apt's one download path, or an
unpacked root) opens it and unpacks it into a private directory -> it is resolved against its
library packages (unpacked once per run, :mod:`.fetch`) -> classified -> its Audit stored as
compressed JSON -> the directory is discarded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from dataclasses import replace
from typing import Any

from ..errors import InputFileError
from ..jsonform import to_json
from ..pipeline import ScanOptions, scan_targets
from ..sources import (
    REGISTRY,
    Collected,
    Context,
    FetchError,
    Key,
    PackageRef,
    Unreadable,
    load_plugins,
    package_kind,
    scan_tree,
)
from .config import Config, TaskTimeout
from .fetch import fetch_deb, fetch_debs, is_unpacked, library_root, local_closure
from .store import FailureKind, FindingRow, PackageStatus, Result, compress_json
from .watchdog import Watchdog, fault_hooks
from .worker import STATE


def identify(ref: PackageRef) -> Key:
    """The store key of a package, reading the local file if needed (never raises: an
    unreadable input still gets a key, from its file name)."""
    if ref.key is not None and ref.path is None:
        return ref.key
    try:
        kind = package_kind(ref.kind)
    except ValueError:
        return (ref.name, ref.version, ref.arch, "")
    return kind.identify(ref)


def origin_of(ref: PackageRef) -> str:
    if ref.path:
        return ref.path
    return f"apt:{ref.name}={ref.version}"


def local_fields(ref: PackageRef) -> dict[str, Any]:
    """The file-table fields of a local input (path, mtime, signature)."""
    if not ref.path:
        return {}
    try:
        stamp = package_kind(ref.kind).stamp(ref)
    except ValueError:
        return {}
    if stamp is None:
        return {}
    return {"local_path": ref.path, "local_mtime_ns": stamp.mtime_ns,
            "local_signature": stamp.signature}


def failure(ref: PackageRef, kind: FailureKind, message: str, *, key: Key | None = None,
            seconds: float = 0.0, worker: str | None = None) -> Result:
    name, version, arch, sha = key or identify(ref)
    return Result(name, version, arch, sha, "failed", size=ref.size, origin=origin_of(ref),
                  error_kind=kind, error=message, seconds=seconds, worker=worker,
                  **local_fields(ref))


def run_task(ref: PackageRef, config: Config) -> Result:
    """Scan one consumer package. Never raises for a bad package: failures are results."""
    c0 = time.thread_time()
    result = _run_task(ref, config)
    return replace(result, cpu=time.thread_time() - c0)


def _run_task(ref: PackageRef, config: Config) -> Result:
    t0 = time.perf_counter()
    try:
        with Watchdog(config.timeout if config.watchdog else None):
            fault_hooks(ref, config)
            load_plugins(config.plugins)
            return scan_package(ref, config, t0)
    except TaskTimeout:
        return failure(ref, "timeout", f"took longer than {config.timeout:g} s (--timeout)",
                       seconds=time.perf_counter() - t0, worker=STATE.host)
    except FetchError as exc:
        return failure(ref, "fetch", str(exc), seconds=time.perf_counter() - t0,
                       worker=STATE.host)
    except Unreadable as exc:
        return failure(ref, "error", exc.message, key=exc.key,
                       seconds=time.perf_counter() - t0, worker=STATE.host)
    except InputFileError as exc:
        return failure(ref, "error", str(exc), seconds=time.perf_counter() - t0,
                       worker=STATE.host)
    except Exception as exc:  # noqa: BLE001 — any bug in one package is that package's failure
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
        return failure(ref, "internal", f"internal error: {type(exc).__name__}: {exc}{where}",
                       seconds=time.perf_counter() - t0, worker=STATE.host)


def scan_package(ref: PackageRef, config: Config, t0: float) -> Result:
    """Open, unpack, resolve and classify one package (raises for a failure)."""
    kind = package_kind(ref.kind)
    origin = origin_of(ref)
    local = local_fields(ref)

    def fetch(r: PackageRef) -> str:
        return fetch_deb(r, config)

    opened = kind.open(ref, fetch)
    key = opened.key
    # library dependencies: known up front (apt index) or looked up in the set / apt
    deps = ref.deps if ref.deps else local_closure(opened.depends, opened.pre_depends, key[0],
                                                   config)
    installed = STATE.installed_versions(config)
    used = [d for d in deps if installed.get(d.name) != d.version or d.path]

    out = Collected()
    lasting = kind.lasting(ref)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="abiguard-pkg-", dir=STATE.scratch(config)))
    os.chmod(tmp, 0o700)
    try:
        if lasting is not None:
            root = lasting
        else:
            kind.unpack(ref, opened, fetch, tmp)
            root = tmp
        notes: list[str] = []
        overlays = [root]
        indexes = [STATE.root_index(root, config, cache=lasting is not None)]
        missing = [d for d in used if not is_unpacked(d, config)]
        if len(missing) > 1:
            fetch_debs(missing, config)  # one apt-get call for all of them
        for d in used:
            try:
                lib = library_root(d, config)
            except FetchError as exc:  # retried next run, rather than a result without it
                raise FetchError(f"library package {d}: {exc}") from None
            except InputFileError as exc:
                notes.append(f"library package {d} not used: {exc}")
                continue
            overlays.append(lib)
            indexes.append(STATE.root_index(lib, config))
        out.overlays = overlays
        scan_tree(root, origin, Context(out, REGISTRY), root=root, package=opened.label)
        if not out.targets and not out.errors:
            notes.append(f"{opened.label}: no ELF files in the package")
        if used:
            notes.append("resolved against library packages: "
                         + ", ".join(f"{d.name} {d.version}" for d in used))
        out.notes = notes
        options = ScanOptions(sysroot=config.sysroot, policies=list(config.policies))
        resolver = STATE.resolver(STATE.layers(config, overlays, indexes), config)
        try:
            audit = scan_targets(out, options, [origin], resolver)
            text = to_json(audit, indent=None)
        finally:
            if lasting is None:
                STATE.forget(tmp + os.sep)
    finally:
        out.cleanup()  # .deb files found inside the package, unpacked
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for c in audit.consumers:
        for b in c.findings:
            rows.append(FindingRow(c.display_name, b.symbol.name,
                                   b.provided_version or b.symbol.version, b.provider or "?",
                                   b.stability.value, 1.0))
    unresolved = sum(1 for c in audit.consumers for b in c.bindings
                     if b.status == "unresolved" and not b.weak)
    status: PackageStatus = "ok"
    error_kind: FailureKind | None = None
    error: str | None = None
    if audit.errors and not audit.consumers:
        status, error_kind = "failed", "error"
        error = "; ".join(str(e) for e in audit.errors[:5])
    return Result(*key, status, size=opened.size or ref.size, origin=origin,
                  error_kind=error_kind, error=error, audit=compress_json(text),
                  objects=len(audit.consumers), findings=tuple(rows), unresolved=unresolved,
                  seconds=time.perf_counter() - t0, worker=STATE.host, **local)


__all__ = ["failure", "identify", "local_fields", "origin_of", "run_task", "scan_package"]
