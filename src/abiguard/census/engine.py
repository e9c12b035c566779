"""Census execution: one task function, two engines.

``run_task(ref, config)`` scans one consumer package and returns a :class:`Result`; it never
raises for a bad package (the failure is the result). Both engines run exactly this function:

* :class:`LocalEngine` — a pool of worker processes of our own (``-j N``). The coordinator
  hands each worker one package at a time, so it always knows which package a worker is on:
  a worker that dies (segfault, OOM kill, ``os._exit``) is recorded as a ``crash`` failure of
  that package and replaced; a package over ``--timeout`` gets its worker killed and a
  ``timeout`` failure. Ctrl-C stops everything; what was finished is already stored.
* :class:`DaskEngine` — a Dask distributed cluster (``--scheduler tcp://HOST:PORT``, or a
  ``distributed.Client``/``LocalCluster`` given by a program). Packages are submitted through a
  bounded window (2× the cluster's threads), so the coordinator's memory does not grow with the
  number of packages; a timeout is enforced inside the task (a worker thread cannot be
  killed); a package whose workers keep dying ends as ``KilledWorker`` -> ``crash``.

Per package the work is streamed: fetch the .deb (abiguard.debian.apt: the shared cache,
keyed by name, version, architecture and SHA-256 and checked against it, else apt-get
download under the run's apt configuration, checked, atomically renamed into place) -> unpack its ELF files
into a private temporary directory -> resolve against its library dependencies -> classify ->
discard the directory. Library packages are unpacked once per run into a directory shared by
the workers of one machine (atomic rename, so concurrent workers never see half a library)
and parsed ELF files are cached per worker process, so a library used by a thousand consumers
is read once per worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

from ..debian.apt import (
    Apt,
    AptConfig,
    AptError,
    installed_versions,
    library_closure,
    sha256_file,
)
from ..debian.deb import read_deb_control, unpack_deb
from ..errors import InputFileError
from ..model import to_json
from ..resolve import (
    IndexedLayers,
    Layers,
    Resolver,
    ResolverCache,
    RootIndex,
    SysrootMemo,
    index_root,
)
from .sources import PackageRef, set_index
from .store import FindingRow, Result, compress_json

# Test hooks (read by the coordinator, passed to the workers in the Config):
#   ABIGUARD_CENSUS_CRASH=NAME[:MARKER]  the task of package NAME calls os._exit(1) — only
#                                        while MARKER does not exist (it creates it first), so
#                                        "crash the first time" is NAME:/tmp/marker
#   ABIGUARD_CENSUS_SLEEP=SECONDS        every task sleeps first (kill/timeout tests)
CRASH_ENV = "ABIGUARD_CENSUS_CRASH"
SLEEP_ENV = "ABIGUARD_CENSUS_SLEEP"


class TaskTimeout(Exception):
    """Raised inside a task that ran over its time."""


class FetchError(Exception):
    """A package could not be downloaded."""


@dataclass(frozen=True)
class Config:
    """Everything a task needs besides its package (the same for every task of a run)."""

    sysroot: str = "/"
    policies: tuple[str, ...] = ()
    timeout: float | None = None
    fetch: bool = True
    """May download packages (consumers and library dependencies) with apt-get."""
    cache: str | None = None
    """Where downloaded .debs are kept (default on each worker: abiguard's cache_dir())."""
    apt: AptConfig | None = None
    """The apt configuration packages are downloaded (and dependencies looked up) with;
    None: the worker's machine configuration."""
    workdir: str | None = None
    """A run-scoped directory shared by the workers of this machine; made per worker if
    missing (e.g. on a remote Dask worker)."""
    packages: dict[str, str] = field(default_factory=dict)
    """The package set: name -> .deb path or root directory (dependency lookup)."""
    watchdog: bool = False
    """Enforce the timeout inside the task (Dask); the local pool kills the worker instead."""
    crash: str | None = None
    sleep: float = 0.0
    elf_cache_limit: int = 20000
    libroots: str | None = None
    """A persistent directory of unpacked library packages (ELF files only), keyed by their
    SHA-256, shared by runs (``cache_dir()/libroots``); None: unpacked once per run."""
    scratch: str | None = None
    """A run-scoped directory where each package is unpacked for its scan (new_scratch():
    on /dev/shm when there is one); missing -> the work directory."""

    @classmethod
    def from_env(cls, **kwargs) -> Config:
        sleep = os.environ.get(SLEEP_ENV)
        return cls(crash=os.environ.get(CRASH_ENV) or None,
                   sleep=float(sleep) if sleep else 0.0, **kwargs)


# --------------------------------------------------------------------------------------------
# Worker-process state (module globals: one copy per worker process, shared by its threads)
# --------------------------------------------------------------------------------------------


class _WorkerState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.private_dir: str | None = None
        self.policies: dict = {}
        self.installed: dict[str, str] | None = None
        self.controls: dict[str, object] = {}
        self.apt_clients: dict[tuple[AptConfig | None, str | None], Apt] = {}
        self.sys_cache: SysrootMemo = {}
        self.indexes: dict[str, RootIndex] = {}
        self.canon = None
        self.resolver_cache = ResolverCache()
        """Parsed ELF files and the bindings made from them, shared by the tasks of this
        worker (what a task unpacked is purged after it)."""

    def root_index(self, root: str, config: Config, cache: bool = True):
        """The file index of an unpacked package (cached for library roots)."""
        hit = self.indexes.get(root, False) if cache else False
        if hit is False:
            if self.canon is None:
                self.canon = Layers(config.sysroot).canonical
            hit = index_root(root, self.canon)
            if cache:
                with self.lock:
                    if len(self.indexes) > 20000:
                        self.indexes.clear()
                    self.indexes[root] = hit
        return hit

    def scratch(self, config: Config) -> str:
        """Where a package is unpacked for its scan: the run's scratch directory (on a RAM
        file system: thousands of directories are made and removed per package), else the
        work directory."""
        if config.scratch and os.path.isdir(config.scratch):
            return config.scratch
        return self.workdir(config)

    def workdir(self, config: Config) -> str:
        with self.lock:
            base = config.workdir if config.workdir and os.path.isdir(config.workdir) else None
            if base is None:
                if self.private_dir is None or not os.path.isdir(self.private_dir):
                    # named after this process: removed at exit, or by a later run's
                    # _prune_stale when the process was killed
                    self.private_dir = _run_dir(None)
                    import atexit

                    atexit.register(shutil.rmtree, self.private_dir, True)
                base = self.private_dir
            return base

    def policy(self, config: Config):
        """The policy, loaded once per worker and shared by its tasks: each library is
        classified once (the classifications of a task's own files are purged after it)."""
        from ..policy import Policy

        with self.lock:
            p = self.policies.get(config.policies)
            if p is None:
                p = self.policies[config.policies] = Policy.load(list(config.policies))
        return p

    def installed_versions(self, config: Config) -> dict[str, str]:
        if config.sysroot != "/":
            return {}  # the host's dpkg database says nothing about another sysroot
        with self.lock:
            if self.installed is None:
                self.installed = installed_versions()
            return self.installed

    @property
    def host(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"


_STATE = _WorkerState()


# --------------------------------------------------------------------------------------------
# Identity: the store key of a local input
# --------------------------------------------------------------------------------------------


def tree_hash(root: str) -> str:
    """Content hash of an unpacked root: every path, link target and file content."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames
                                         if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                h.update(f"L {rel}\0{os.readlink(p)}\n".encode())
            elif os.path.isfile(p):
                h.update(f"F {rel}\0".encode())
                try:
                    with open(p, "rb") as fh:
                        while chunk := fh.read(1 << 20):
                            h.update(chunk)
                except OSError:
                    h.update(b"<unreadable>")
                h.update(b"\n")
    return "tree:" + h.hexdigest()


def _control(path: str):
    with _STATE.lock:
        hit = _STATE.controls.get(path)
    if hit is None:
        try:
            hit = read_deb_control(path)
        except InputFileError as exc:
            hit = exc
        with _STATE.lock:
            if len(_STATE.controls) > 5000:
                _STATE.controls.clear()
            _STATE.controls[path] = hit
    if isinstance(hit, InputFileError):
        raise hit
    return hit


def identify(ref: PackageRef) -> tuple[str, str, str, str]:
    """The store key of a package, reading the local file if needed (never raises: an
    unreadable input still gets a key, from its file name)."""
    if ref.key is not None and ref.path is None:
        return ref.key
    if ref.kind == "root":
        try:
            sha = tree_hash(ref.path or "")
        except OSError:
            sha = ""
        return (ref.name, ref.version, ref.arch, sha)
    try:
        sha = sha256_file(ref.path or "")
    except OSError:
        sha = ""
    try:
        info = _control(ref.path or "")
        return (info.package, info.version, info.architecture, sha)
    except InputFileError:
        return (ref.name, ref.version, ref.arch, sha)


def failure(ref: PackageRef, kind: str, message: str, *, key=None, seconds: float = 0.0,
            worker: str | None = None) -> Result:
    name, version, arch, sha = key or identify(ref)
    return Result(name, version, arch, sha, "failed", size=ref.size, origin=origin_of(ref),
                  error_kind=kind, error=message, seconds=seconds, worker=worker,
                  **_local(ref))


def origin_of(ref: PackageRef) -> str:
    if ref.path:
        return ref.path
    return f"apt:{ref.name}={ref.version}"


def _local(ref: PackageRef) -> dict:
    """The file-table fields of a local input (path, mtime, signature)."""
    if not ref.path:
        return {}
    try:
        st = os.stat(ref.path)
    except OSError:
        return {}
    if ref.kind == "root":
        from .sources import tree_signature

        return {"local_path": ref.path, "local_mtime_ns": 0,
                "local_signature": tree_signature(ref.path)}
    return {"local_path": ref.path, "local_mtime_ns": st.st_mtime_ns}


# --------------------------------------------------------------------------------------------
# Fetching and unpacking
# --------------------------------------------------------------------------------------------


def _apt(config: Config) -> Apt:
    """This worker's apt client of the run's configuration (remembers its answers)."""
    key = (config.apt, config.cache)
    with _STATE.lock:
        hit = _STATE.apt_clients.get(key)
        if hit is None:
            hit = _STATE.apt_clients[key] = Apt(config.apt or AptConfig.machine(),
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
        for name, got in _apt(config).download(todo, fetch=config.fetch).items():
            out[name] = FetchError(str(got)) if isinstance(got, AptError) else str(got)
    return out


def _lib_key(ref: PackageRef) -> str:
    raw = f"{ref.name}_{ref.version}_{ref.arch}_{ref.sha256 or ref.path or ''}"
    return raw.replace("/", "_").replace(":", "%3a")[:200]


def library_root(ref: PackageRef, config: Config) -> str:
    """An unpacked library package (ELF files and ld.so.conf only), shared by the workers of
    a run: unpacked into a private directory, then renamed into place atomically."""
    if ref.kind == "root" and ref.path:
        return ref.path
    if config.libroots and ref.sha256:  # content-addressed: safe to keep across runs
        libs = config.libroots
    else:
        libs = os.path.join(_STATE.workdir(config), "libs")
    dest = os.path.join(libs, _lib_key(ref))
    if os.path.isdir(dest):
        return dest
    os.makedirs(libs, exist_ok=True)
    deb = fetch_deb(ref, config)
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=libs)
    try:
        unpack_deb(deb, tmp)
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


def _set_ref(name: str, config: Config) -> PackageRef | None:
    path = config.packages.get(name)
    if path is None:
        return None
    if os.path.isdir(path):
        from .sources import root_ref

        return root_ref(path)
    try:
        info = _control(path)
    except InputFileError:
        return None
    return PackageRef(info.package, info.version, info.architecture, None, 0, path,
                      depends=info.depends, pre_depends=info.pre_depends)


def local_closure(depends: str, pre_depends: str, self_name: str, config: Config
                  ) -> tuple[PackageRef, ...]:
    """The library packages (lib*) a local package depends on, recursively (the one closure
    of abiguard.debian.apt): from the package set when it has them, else apt's candidates
    (when downloads are allowed)."""
    apt = _apt(config)

    def lookup(names: list[str]) -> dict[str, PackageRef | None]:
        out = {n: _set_ref(n, config) for n in names}
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


# --------------------------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------------------------


class _Watchdog:
    """Raise TaskTimeout in the running task after ``seconds`` (signal in a main thread, an
    asynchronous exception in any other thread, e.g. a Dask worker's)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.active = False
        self.main = threading.current_thread() is threading.main_thread()
        self.tid = threading.get_ident()
        self.old = None

    def _fire(self) -> None:
        with self.lock:
            if self.active:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.tid),
                                                           ctypes.py_object(TaskTimeout))

    def _alarm(self, *_: object) -> None:
        raise TaskTimeout()

    def __enter__(self) -> Self:
        if not self.seconds:
            return self
        self.active = True
        if self.main:
            self.old = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        else:
            self.timer = threading.Timer(self.seconds, self._fire)
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.seconds:
            return
        with self.lock:
            self.active = False
        if self.main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old or signal.SIG_DFL)
        elif self.timer is not None:
            self.timer.cancel()
            # a pending asynchronous exception that did not fire yet must not leak out
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.tid), None)


def _hooks(ref: PackageRef, config: Config) -> None:
    if config.sleep:  # in slices: an asynchronous exception (the watchdog) lands between them
        end = time.monotonic() + config.sleep
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
    if config.crash:
        name, _, marker = config.crash.partition(":")
        if name == ref.name and not (marker and os.path.exists(marker)):
            if marker:
                Path(marker).write_text("crashed\n")
            os._exit(1)


def run_task(ref: PackageRef, config: Config) -> Result:
    """Scan one consumer package. Never raises for a bad package: failures are results."""
    c0 = time.thread_time()
    result = _run_task(ref, config)
    return replace(result, cpu=time.thread_time() - c0)


def _run_task(ref: PackageRef, config: Config) -> Result:
    t0 = time.perf_counter()
    try:
        with _Watchdog(config.timeout if config.watchdog else None):
            _hooks(ref, config)
            return _scan_package(ref, config, t0)
    except TaskTimeout:
        return failure(ref, "timeout", f"took longer than {config.timeout:g} s (--timeout)",
                       seconds=time.perf_counter() - t0, worker=_STATE.host)
    except FetchError as exc:
        return failure(ref, "fetch", str(exc), seconds=time.perf_counter() - t0,
                       worker=_STATE.host)
    except InputFileError as exc:
        return failure(ref, "error", str(exc), seconds=time.perf_counter() - t0,
                       worker=_STATE.host)
    except Exception as exc:  # noqa: BLE001 — any bug in one package is that package's failure
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
        return failure(ref, "internal", f"internal error: {type(exc).__name__}: {exc}{where}",
                       seconds=time.perf_counter() - t0, worker=_STATE.host)


def _scan_package(ref: PackageRef, config: Config, t0: float) -> Result:
    from .. import inputs
    from ..pipeline import ScanOptions, scan_targets

    origin = origin_of(ref)
    local = _local(ref)
    if ref.kind == "root":
        key = identify(ref)
        depends, pre_depends = ref.depends, ref.pre_depends
        package = f"{ref.name} {ref.version} {ref.arch}".strip()
        size = 0
    else:
        deb = fetch_deb(ref, config)
        # a download (or cache hit) of abiguard.debian.apt is checked against the index
        sha = ref.sha256 if ref.sha256 and not ref.path else sha256_file(deb)
        if ref.sha256 and sha != ref.sha256:
            raise FetchError(f"{deb}: SHA-256 {sha[:12]}… does not match the index "
                             f"({ref.sha256[:12]}…)")
        if ref.sha256 and ref.version:  # the index describes exactly this content
            key = (ref.name, ref.version, ref.arch, sha)
            depends, pre_depends = ref.depends, ref.pre_depends
            package = f"{ref.name} {ref.version} {ref.arch}"
        else:
            try:
                info = _control(deb)
            except InputFileError as exc:
                return failure(ref, "error", exc.message if exc.path == deb else str(exc),
                               key=(ref.name, ref.version, ref.arch, sha),
                               seconds=time.perf_counter() - t0, worker=_STATE.host)
            key = (info.package, info.version, info.architecture, sha)
            depends, pre_depends = info.depends, info.pre_depends
            package = str(info)
        size = os.path.getsize(deb)

    # library dependencies: known up front (apt index) or looked up in the set / apt
    deps = ref.deps if ref.deps else local_closure(depends, pre_depends, key[0], config)
    installed = _STATE.installed_versions(config)
    used = [d for d in deps if installed.get(d.name) != d.version or d.path]

    out = inputs.Collected()
    work = _STATE.workdir(config)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="abiguard-pkg-", dir=_STATE.scratch(config)))
    os.chmod(tmp, 0o700)
    try:
        if ref.kind == "root":
            root = ref.path or ""
        else:
            unpack_deb(deb, tmp)
            root = tmp
        notes: list[str] = []
        overlays = [root]
        indexes = [_STATE.root_index(root, config, cache=ref.kind == "root")]
        missing = [d for d in used if d.kind != "root" and not any(
            os.path.isdir(os.path.join(x, _lib_key(d)))
            for x in (config.libroots or "", os.path.join(work, "libs")) if x)]
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
            indexes.append(_STATE.root_index(lib, config))
        out.overlays = overlays
        inputs._scan_dir(root, origin, out, root=root, package=package)
        if not out.targets and not out.errors:
            notes.append(f"{package}: no ELF files in the package")
        if used:
            notes.append("resolved against library packages: "
                         + ", ".join(f"{d.name} {d.version}" for d in used))
        out.notes = notes
        options = ScanOptions(sysroot=config.sysroot, policies=list(config.policies))
        layers = IndexedLayers(config.sysroot, list(overlays), indexes=indexes,
                               sys_cache=_STATE.sys_cache)
        # share parsed libraries and the bindings made from them across the tasks of this
        # worker (keyed by real path; at most elf_cache_limit files)
        cache = _STATE.resolver_cache
        cache.max_files = config.elf_cache_limit
        policy = _STATE.policy(config)
        resolver = Resolver(layers, policy, cache=cache)
        try:
            audit = scan_targets(out, options, [origin], resolver)
            text = to_json(audit, indent=None)
        finally:
            if ref.kind != "root":
                cache.purge(tmp + os.sep)
                policy.purge(tmp + os.sep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for c in audit.consumers:
        for b in c.findings:
            rows.append(FindingRow(c.display_name, b.symbol.name,
                                   b.provided_version or b.symbol.version, b.provider or "?",
                                   b.stability.value, 1.0))
    unresolved = sum(1 for c in audit.consumers for b in c.bindings
                     if b.status == "unresolved" and not b.weak)
    status = "ok"
    error_kind = error = None
    if audit.errors and not audit.consumers:
        status, error_kind = "failed", "error"
        error = "; ".join(str(e) for e in audit.errors[:5])
    return Result(*key, status, size=size or ref.size, origin=origin, error_kind=error_kind,
                  error=error, audit=compress_json(text),
                  objects=len(audit.consumers), findings=tuple(rows), unresolved=unresolved,
                  seconds=time.perf_counter() - t0, worker=_STATE.host, **local)


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------

Progress = Callable[[PackageRef, Result], None]


def _worker_main(conn, config: Config) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's business
    try:
        while True:
            try:
                ref = conn.recv()
            except (EOFError, OSError):
                return
            if ref is None:
                return
            conn.send(run_task(ref, config))
    finally:  # multiprocessing ends workers with os._exit: atexit handlers do not run
        if _STATE.private_dir:
            shutil.rmtree(_STATE.private_dir, ignore_errors=True)


class _Worker:
    def __init__(self, ctx, config: Config) -> None:
        parent, child = ctx.Pipe()
        self.conn = parent
        self.proc = ctx.Process(target=_worker_main, args=(child, config), daemon=True)
        self.proc.start()
        child.close()
        self.ref: PackageRef | None = None
        self.started = 0.0

    def give(self, ref: PackageRef) -> None:
        self.ref = ref
        self.started = time.monotonic()
        self.conn.send(ref)

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class LocalEngine:
    """A local pool of worker processes (forkserver: workers never inherit the
    coordinator's threads, locks or open store)."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    def describe(self) -> str:
        return f"local pool, {self.jobs} worker process(es)"

    def run(self, refs: Iterable[PackageRef], config: Config) -> Iterator[Result]:
        import multiprocessing as mp
        from multiprocessing.connection import wait

        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["abiguard.census.engine", "abiguard.pipeline",
                                    "abiguard.inputs", "debian.debfile"])
        todo = iter(refs)
        workers: list[_Worker] = []
        try:
            for _ in range(self.jobs):
                w = _Worker(ctx, config)
                workers.append(w)
                ref = next(todo, None)
                if ref is not None:
                    w.give(ref)
            while True:
                busy = [w for w in workers if w.ref is not None]
                if not busy:
                    return
                timeout = None
                if config.timeout:
                    now = time.monotonic()
                    timeout = max(0.0, min(w.started + config.timeout - now for w in busy))
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                                 timeout))
                for i, w in enumerate(workers):
                    if w.ref is None:
                        continue
                    result = None
                    replace_worker = False
                    if w.conn in ready or w.proc.sentinel in ready:
                        try:
                            if w.conn.poll():
                                result = w.conn.recv()
                        except (EOFError, OSError):
                            result = None
                        if result is None:
                            w.proc.join(1)
                            code = w.proc.exitcode
                            how = (f"killed by signal {-code}" if code is not None and code < 0
                                   else f"exit status {code}")
                            result = failure(w.ref, "crash", f"worker process died ({how})",
                                             seconds=time.monotonic() - w.started)
                            replace_worker = True
                    elif config.timeout and time.monotonic() - w.started > config.timeout:
                        result = failure(w.ref, "timeout",
                                         f"took longer than {config.timeout:g} s (--timeout)",
                                         seconds=time.monotonic() - w.started)
                        replace_worker = True
                    if result is None:
                        continue
                    w.ref = None
                    if replace_worker:
                        w.kill()
                        w = workers[i] = _Worker(ctx, config)
                    yield result
                    ref = next(todo, None)
                    if ref is not None:
                        w.give(ref)
        finally:
            for w in workers:
                if w.ref is None and w.proc.is_alive():
                    try:
                        w.conn.send(None)
                    except OSError:
                        pass
            deadline = time.monotonic() + 2
            for w in workers:
                if w.ref is not None:
                    w.kill()
                else:
                    w.proc.join(max(0.0, deadline - time.monotonic()))
                    if w.proc.is_alive():
                        w.kill()


class DaskEngine:
    """A Dask distributed cluster: a scheduler address or a Client/cluster object."""

    name = "dask"

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler

    def describe(self) -> str:
        return f"dask cluster {getattr(self.scheduler, 'scheduler_address', self.scheduler)}"

    def _client(self):
        try:
            from distributed import Client
        except ImportError:
            from ..errors import UsageError

            raise UsageError("--scheduler needs Dask: pip install 'abiguard[census]'") from None
        if isinstance(self.scheduler, Client):
            return self.scheduler, False
        if hasattr(self.scheduler, "scheduler_address"):  # a LocalCluster or similar
            return Client(self.scheduler, set_as_default=False), True
        try:
            return Client(self.scheduler, timeout="20s", set_as_default=False), True
        except OSError as exc:
            from ..errors import UsageError

            raise UsageError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None

    def run(self, refs: Iterable[PackageRef], config: Config) -> Iterator[Result]:
        from distributed import as_completed

        client, own = self._client()
        config = replace(config, watchdog=True)
        futures: dict[str, tuple] = {}
        try:
            nthreads = sum(client.nthreads().values()) or 1
            window = max(2, 2 * nthreads)
            cfg = client.scatter(config, broadcast=True, hash=False)
            todo = iter(refs)

            def submit():
                ref = next(todo, None)
                if ref is None:
                    return None
                fut = client.submit(run_task, ref, cfg, pure=False,
                                    key=f"census-{ref.name}-{os.urandom(6).hex()}")
                futures[fut.key] = (fut, ref, time.monotonic())
                return fut

            first = [f for f in (submit() for _ in range(window)) if f is not None]
            if not first:
                return
            ac = as_completed(first, loop=client.loop)
            for fut in ac:
                _, ref, started = futures.pop(fut.key)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 — KilledWorker, CancelledError, …
                    kind = "crash" if type(exc).__name__ == "KilledWorker" else "error"
                    result = failure(ref, kind, f"{type(exc).__name__}: {exc}",
                                     seconds=time.monotonic() - started)
                fut.release()
                yield result
                nxt = submit()
                if nxt is not None:
                    ac.add(nxt)
        finally:
            for fut, _, _ in futures.values():
                fut.cancel()
            if own:
                client.close()


def make_engine(jobs: int | None = None, scheduler=None):
    return DaskEngine(scheduler) if scheduler else LocalEngine(jobs)


def run_census(refs: list[PackageRef], store, engine, config: Config, *,
               retry_failed: bool = False, rescan: bool = False,
               arguments: list[str] | None = None,
               progress: Callable[[int, int, Result | None, int], None] | None = None
               ) -> dict[str, int | float]:
    """Skip the packages already stored, run the rest on the engine, store each result as it
    arrives. Returns counts: planned, skipped, done, failed, bytes, seconds."""
    from .sources import tree_signature

    todo: list[PackageRef] = []
    skipped = 0
    seen: set[tuple] = set()
    for ref in refs:
        key = ref.key  # known from an index (the worker checks the file against it)
        if key is None and ref.path:
            try:
                st = os.stat(ref.path)
            except OSError:
                st = None
            if st is not None:
                if ref.kind == "root":
                    key = store.file_key(ref.path, 0, 0, tree_signature(ref.path))
                else:
                    key = store.file_key(ref.path, st.st_size, st.st_mtime_ns)
        if key is not None:
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            if not rescan and store.done(key, retry_failed):
                skipped += 1
                continue
        todo.append(ref)
    total_bytes = sum(r.size for r in todo)
    run_id = store.begin_run(engine.name, arguments or [], len(todo), skipped)
    counts = {"planned": len(todo), "skipped": skipped, "done": 0, "failed": 0, "bytes": 0,
              "seconds": 0.0, "total_bytes": total_bytes, "worker_cpu": 0.0,
              "coordinator_cpu": 0.0}
    t0 = time.perf_counter()
    c0 = time.process_time()
    status = "interrupted"
    if progress:
        progress(0, len(todo), None, 0)
    try:
        for result in engine.run(todo, config):
            try:
                store.add(result, run_id)
            except sqlite3.Error as exc:  # e.g. the disk is full: stop cleanly, keep the rest
                from ..errors import UsageError

                with contextlib.suppress(sqlite3.Error):
                    store.db.execute("ROLLBACK")
                raise UsageError(f"{store.path}: cannot store results ({exc}); the run stops, "
                                 "what was stored is kept: run again to resume") from None
            counts["done"] += 1
            counts["bytes"] += result.size
            counts["worker_cpu"] += result.cpu
            if result.status != "ok":
                counts["failed"] += 1
            if progress:
                progress(counts["done"], len(todo), result, counts["bytes"])
        status = "finished"
    finally:
        counts["seconds"] = time.perf_counter() - t0
        counts["coordinator_cpu"] = time.process_time() - c0
        with contextlib.suppress(sqlite3.Error):
            store.end_run(run_id, status, counts["done"], counts["failed"], counts["bytes"])
    return counts


_RUN_PREFIX = "abiguard-census-"


def _prune_stale(parent: str) -> None:
    """Remove the run directories of census runs whose coordinator is gone (kill -9)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(_RUN_PREFIX):
            continue
        pid = name[len(_RUN_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        except OSError:
            pass


def _run_dir(parent: str | None) -> str:
    parent = parent or tempfile.gettempdir()
    _prune_stale(parent)
    d = tempfile.mkdtemp(prefix=f"{_RUN_PREFIX}{os.getpid()}-", dir=parent)
    os.chmod(d, 0o700)
    return d


def new_scratch(min_free: int = 2 << 30) -> str | None:
    """A run-scoped directory on a RAM file system (/dev/shm) for unpacking packages, or None
    when there is none with ``min_free`` bytes free. The coordinator removes it at the end
    (and a later run removes those of runs that were killed)."""
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        if not os.access(shm, os.W_OK) or st.f_bavail * st.f_frsize < min_free:
            return None
        return _run_dir(shm)
    except OSError:
        return None


def new_workdir() -> str:
    """A run-scoped directory for the local workers (libraries unpacked for this run only,
    packages when there is no RAM scratch); removed by the coordinator at the end."""
    return _run_dir(None)


__all__ = [
    "Config",
    "DaskEngine",
    "LocalEngine",
    "TaskTimeout",
    "fetch_deb",
    "identify",
    "make_engine",
    "new_workdir",
    "run_census",
    "run_task",
    "set_index",
]
