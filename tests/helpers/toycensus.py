"""The toy distribution's census (helpers.debbuild.toy_archive): run it, read a store back,
and what it must find. The fixtures ``toy`` and ``reference`` (tests/conftest.py) build the
distribution and a clean reference run with these."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from abiguard.census.aggregate import CensusData
from abiguard.census.store import Store
from abiguard.cli import main

from .debbuild import TOY_EXPECTED

ALL_TOY = {"libtoy4.17", "libstab1", "toy-emu", "toy-virt", "toy-utils", "toy-kexec",
           "toy-clean", "toy-doc"}


def census(*args: str | Path) -> int:
    return main(["census", "-q", "--no-fetch", *map(str, args)])


def store_rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return list(db.execute("SELECT name, version, arch, sha256, status, error_kind, error, "
                               "audit FROM package ORDER BY name, version, arch, sha256"))
    finally:
        db.close()


def matrix(path: Path) -> dict[str, set[str]]:
    with Store(str(path), create=False) as st:
        data = CensusData.from_store(st)
    out: dict[str, set[str]] = {c.name: set() for c in data.consumers if c.status == "ok"}
    for cell in data.cells:
        out[cell.consumer].add(cell.symbol)
    return out


def expected_matrix() -> dict[str, set[str]]:
    return {n: set(TOY_EXPECTED.get(n, ())) for n in ALL_TOY}
