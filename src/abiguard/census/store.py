"""The census results store: one SQLite file (WAL), one row per package.

A package is keyed by (name, version, architecture, SHA-256 of the .deb). Each result is
written in its own transaction as soon as it arrives, so a run killed at any moment (Ctrl-C,
a crashed worker, kill -9, power loss) leaves every finished package stored exactly once and
nothing half-written; the next run skips what is stored and does the rest.

Tables (``PRAGMA user_version`` = STORE_VERSION):

``package``  one row per key: status ``ok`` or ``failed`` (with ``error_kind`` and ``error``),
             the Audit JSON (``jsonform.to_json(audit, indent=None)``: schema 2,
             zstd-compressed in ``audit``; stores of earlier versions hold schema 1, some
             zlib-compressed: both still read), counts, timings and the worker that did it. A failure is replaced when a later run
             succeeds; it is never dropped silently.
``finding``  the unstable/private imports of every ``ok`` package (package, ELF object,
             symbol, version node, library, stability): what the aggregates read, so they
             never have to decompress the audits.
``file``     local inputs (a .deb path or an unpacked root) -> their key, by size and mtime,
             so a re-run over a directory does not hash every file again.
``run``      one row per census run (arguments, engine, counts).
``meta``     key/value (creation time, tool version; ``internal``: the packages a
             ``--source`` census found built from the source it asked about, as JSON
             {package: source}, shown apart from the consumers).

Failure kinds: ``error`` (the input is bad: a corrupt .deb, an unreadable file; deterministic,
so not retried unless ``--retry-failed``), ``crash`` (the worker process died), ``timeout``,
``fetch`` (download failed), ``internal`` (a bug in abiguard: an unexpected exception) — the
last four are retried by the next run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Self

import zstandard

from .. import __version__
from ..errors import UsageError
from ..jsonform import audit_from_json
from ..model import Audit

STORE_VERSION = 1
PackageStatus = Literal["ok", "failed"]
"""A stored package's status (the ``package`` table's CHECK)."""
FailureKind = Literal["error", "crash", "timeout", "fetch", "internal"]
"""Why a package failed (the module's docstring)."""
TRANSIENT = ("crash", "timeout", "fetch", "internal", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS package (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    arch TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    origin TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error_kind TEXT,
    error TEXT,
    audit BLOB,
    objects INTEGER NOT NULL DEFAULT 0,
    findings INTEGER NOT NULL DEFAULT 0,
    unresolved INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    worker TEXT,
    run_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 1,
    finished REAL NOT NULL,
    UNIQUE (name, version, arch, sha256)
);
CREATE INDEX IF NOT EXISTS package_name ON package (name);
CREATE TABLE IF NOT EXISTS finding (
    package_id INTEGER NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    symbol TEXT NOT NULL,
    version TEXT,
    library TEXT NOT NULL,
    stability TEXT NOT NULL,
    weight REAL NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS finding_package ON finding (package_id);
CREATE INDEX IF NOT EXISTS finding_symbol ON finding (symbol, library);
CREATE TABLE IF NOT EXISTS file (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    signature TEXT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    arch TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    engine TEXT,
    arguments TEXT,
    planned INTEGER,
    done INTEGER DEFAULT 0,
    failed INTEGER DEFAULT 0,
    skipped INTEGER DEFAULT 0,
    bytes INTEGER DEFAULT 0,
    status TEXT
);
"""


@dataclass(frozen=True, slots=True)
class FindingRow:
    object: str
    symbol: str
    version: str | None
    library: str
    stability: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Result:
    """What a census task returns for one package (and what the store keeps)."""

    name: str
    version: str
    arch: str
    sha256: str
    status: PackageStatus
    size: int = 0
    origin: str | None = None
    error_kind: FailureKind | None = None
    error: str | None = None
    audit: bytes | None = None
    """zstd-compressed Audit JSON (:func:`compress_json`)."""
    objects: int = 0
    findings: tuple[FindingRow, ...] = ()
    unresolved: int = 0
    seconds: float = 0.0
    worker: str | None = None
    cpu: float = 0.0
    """CPU seconds of the task's thread (not stored; for measurements)."""
    local_path: str | None = None
    """For local inputs: the path, size and mtime/signature recorded in the file table."""
    local_mtime_ns: int = 0
    local_signature: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.name, self.version, self.arch, self.sha256)


@dataclass(frozen=True, slots=True)
class StoredPackage:
    id: int
    name: str
    version: str
    arch: str
    sha256: str
    size: int
    origin: str | None
    status: PackageStatus
    error_kind: FailureKind | None
    error: str | None
    objects: int
    findings: int
    unresolved: int
    seconds: float | None
    worker: str | None
    attempts: int
    finished: float


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def compress_json(text: str) -> bytes:
    """zstd level 3: a quarter of zlib level 1's size in a fifth of its time (Audit JSON)."""
    return zstandard.ZstdCompressor(level=3).compress(text.encode("utf-8"))


def decompress_json(blob: bytes | None) -> str | None:
    """The text of :func:`compress_json` (or of zlib: stores written before zstd)."""
    if blob is None:
        return None
    if blob[:4] == _ZSTD_MAGIC:
        return zstandard.ZstdDecompressor().decompressobj().decompress(blob).decode("utf-8")
    return zlib.decompress(blob).decode("utf-8")


class Store:
    """The SQLite results store. Only the coordinating process writes to it."""

    def __init__(self, path: str, *, create: bool = True) -> None:
        self.path = path
        if not create and not os.path.exists(path):
            raise UsageError(f"{path}: no such census store")
        try:
            if os.path.exists(path):
                with open(path, "rb") as fh:
                    head = fh.read(16)
                if head and head != b"SQLite format 3\x00":
                    raise UsageError(f"{path}: not a census store (not an SQLite file)")
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "package" not in tables:
                raise UsageError(f"{path}: an SQLite file but not a census store")
            if version not in (0, STORE_VERSION):
                raise UsageError(f"{path}: store version {version} is not supported (this "
                                 f"abiguard reads {STORE_VERSION})")
            self.db.executescript(_SCHEMA)
            if version == 0:
                self.db.execute(f"PRAGMA user_version={STORE_VERSION}")
                with self.tx():
                    self.db.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)",
                                    (str(time.time()),))
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES ('tool_version', ?)",
                                    (__version__,))
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{path}: not a usable census store ({exc})") from None

    # -- plumbing ------------------------------------------------------------------------------

    def tx(self) -> _Tx:
        return _Tx(self.db)

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError:
            pass
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def begin_run(self, engine: str, arguments: list[str], planned: int, skipped: int) -> int:
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO run (started, engine, arguments, planned, skipped, status) "
                "VALUES (?, ?, ?, ?, ?, 'running')",
                (time.time(), engine, json.dumps(arguments), planned, skipped))
        return _rowid(cur)

    def end_run(self, run_id: int, status: str, done: int, failed: int, nbytes: int) -> None:
        with self.tx():
            self.db.execute("UPDATE run SET finished=?, status=?, done=?, failed=?, bytes=? "
                            "WHERE id=?", (time.time(), status, done, failed, nbytes, run_id))

    def add(self, r: Result, run_id: int | None = None) -> None:
        """Store one package result atomically (replacing an earlier failure of the key)."""
        with self.tx():
            row = self.db.execute(
                "SELECT id, status, attempts FROM package WHERE name=? AND version=? AND "
                "arch=? AND sha256=?", r.key).fetchone()
            values = (r.size, r.origin, r.status, r.error_kind, r.error, r.audit, r.objects,
                      len(r.findings), r.unresolved, r.seconds, r.worker, run_id, time.time())
            if row is None:
                cur = self.db.execute(
                    "INSERT INTO package (name, version, arch, sha256, size, origin, status, "
                    "error_kind, error, audit, objects, findings, unresolved, seconds, worker, "
                    "run_id, finished) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*r.key, *values))
                pid = _rowid(cur)
            else:
                pid = row[0]
                if row[1] == "ok" and r.status != "ok":
                    return  # never replace a result with a failure
                self.db.execute(
                    "UPDATE package SET size=?, origin=?, status=?, error_kind=?, error=?, "
                    "audit=?, objects=?, findings=?, unresolved=?, seconds=?, worker=?, "
                    "run_id=?, finished=?, attempts=attempts+1 WHERE id=?", (*values, pid))
                self.db.execute("DELETE FROM finding WHERE package_id=?", (pid,))
            if r.findings:
                self.db.executemany(
                    "INSERT INTO finding VALUES (?,?,?,?,?,?,?)",
                    [(pid, f.object, f.symbol, f.version, f.library, f.stability, f.weight)
                     for f in r.findings])
            if r.local_path is not None:
                self.db.execute("INSERT OR REPLACE INTO file VALUES (?,?,?,?,?,?,?,?)",
                                (r.local_path, r.size, r.local_mtime_ns, r.local_signature,
                                 *r.key))

    # -- reading -------------------------------------------------------------------------------

    def status(self, key: tuple[str, str, str, str]) -> tuple[str, str | None] | None:
        row = self.db.execute("SELECT status, error_kind FROM package WHERE name=? AND "
                              "version=? AND arch=? AND sha256=?", key).fetchone()
        return (row[0], row[1]) if row else None

    def done(self, key: tuple[str, str, str, str], retry_failed: bool = False) -> bool:
        """Whether a run can skip this key: stored ok, or a failure that would repeat."""
        st = self.status(key)
        if st is None:
            return False
        if st[0] == "ok":
            return True
        return not retry_failed and st[1] not in TRANSIENT

    def file_key(self, path: str, size: int, mtime_ns: int, signature: str | None = None
                 ) -> tuple[str, str, str, str] | None:
        row = self.db.execute("SELECT size, mtime_ns, signature, name, version, arch, sha256 "
                              "FROM file WHERE path=?", (path,)).fetchone()
        if row is None or row[0] != size or row[1] != mtime_ns or row[2] != signature:
            return None
        return (row[3], row[4], row[5], row[6])

    def _pkg(self, row: Any) -> StoredPackage:
        return StoredPackage(*row)

    _COLS = ("id, name, version, arch, sha256, size, origin, status, error_kind, error, "
             "objects, findings, unresolved, seconds, worker, attempts, finished")

    def packages(self, status: str | None = None) -> list[StoredPackage]:
        q = f"SELECT {self._COLS} FROM package"
        args: tuple[str, ...] = ()
        if status:
            q += " WHERE status=?"
            args = (status,)
        return [self._pkg(r) for r in self.db.execute(q + " ORDER BY name, version, arch",
                                                      args)]

    def failures(self) -> list[StoredPackage]:
        return self.packages("failed")

    def latest(self) -> list[StoredPackage]:
        """One package per name: the newest ok result (else the newest failure)."""
        best: dict[str, StoredPackage] = {}
        for p in self.packages():
            cur = best.get(p.name)
            if cur is None or (p.status == "ok", p.finished) > (cur.status == "ok",
                                                                cur.finished):
                best[p.name] = p
        return [best[n] for n in sorted(best)]

    def findings(self, package_ids: Iterable[int] | None = None
                 ) -> Iterator[tuple[int, FindingRow]]:
        if package_ids is None:
            rows = self.db.execute("SELECT package_id, object, symbol, version, library, "
                                   "stability, weight FROM finding ORDER BY rowid")
            for r in rows:
                yield r[0], FindingRow(*r[1:])
            return
        ids = list(package_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            q = ("SELECT package_id, object, symbol, version, library, stability, weight FROM "
                 f"finding WHERE package_id IN ({','.join('?' * len(chunk))}) ORDER BY rowid")
            for r in self.db.execute(q, chunk):
                yield r[0], FindingRow(*r[1:])

    def audit_json(self, package_id: int) -> str | None:
        row = self.db.execute("SELECT audit FROM package WHERE id=?", (package_id,)).fetchone()
        return decompress_json(row[0]) if row else None

    def audit(self, package_id: int) -> Audit | None:
        text = self.audit_json(package_id)
        return audit_from_json(text, f"{self.path}#{package_id}") if text else None

    def runs(self) -> list[dict[str, Any]]:
        cols = ("id", "started", "finished", "engine", "arguments", "planned", "done", "failed",
                "skipped", "bytes", "status")
        return [dict(zip(cols, r)) for r in self.db.execute(
            f"SELECT {', '.join(cols)} FROM run ORDER BY id")]

    def internal(self) -> dict[str, str]:
        """Package name -> the source package it is internal to (``census --source``)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='internal'").fetchone()
        try:
            data = json.loads(row[0]) if row else {}
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def mark_internal(self, names: dict[str, str]) -> None:
        """Record packages as internal to a source package (merged with earlier marks)."""
        merged = {**self.internal(), **names}
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('internal', ?)",
                            (json.dumps(merged, sort_keys=True),))

    def own_libraries(self) -> dict[str, list[str]]:
        """Source package -> the sonames of the shared libraries built from it (``census
        --source-package``; :mod:`abiguard.census.ownlibs`)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='own_libraries'").fetchone()
        try:
            data = json.loads(row[0]) if row else {}
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): [str(x) for x in v] for k, v in data.items() if isinstance(v, list)}

    def mark_own_libraries(self, source: str, sonames: Iterable[str]) -> None:
        """Record the sonames of the libraries built from a source package."""
        merged = {**self.own_libraries(), source: sorted(set(sonames))}
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('own_libraries', ?)",
                            (json.dumps(merged, sort_keys=True),))

    def counts(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT COUNT(*), SUM(status='ok'), SUM(status='failed'), "
            "SUM(status='ok' AND findings>0), COALESCE(SUM(size),0) FROM package").fetchone()
        return {"packages": row[0] or 0, "ok": row[1] or 0, "failed": row[2] or 0,
                "with_findings": row[3] or 0, "bytes": row[4] or 0}


class _Tx:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


def _rowid(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT made."""
    rowid = cur.lastrowid
    if rowid is None:
        raise sqlite3.DatabaseError("an INSERT made no row")
    return rowid


def is_store(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
