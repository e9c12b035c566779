"""The fuzz targets: what one input is run through, and what it may raise.

Each target's ``run(data)`` returns ``"ok"`` (parsed) or ``"rejected"`` (the module's own
error type: :class:`~abiguard.errors.ElfError`, :class:`~abiguard.errors.InputFileError`,
:class:`~abiguard.errors.DataFileError` or :class:`~abiguard.model.SchemaError`). Anything
else escaping ``run`` is a bug, and so is an :class:`InvariantError` (a check made on the
way: nothing unpacked outside its directory, temporary directories removed, a written
baseline or result reads back equal).

``Campaign(target)`` holds the seeds and makes inputs: ``make_input(rng)`` (a mutated seed)
and ``mutate(rng, data)`` (a mutation of any input, for atheris' custom mutator).
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import stat
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import mutators as mu
from . import seeds as sd


class InvariantError(AssertionError):
    """A property every input must keep was broken (an escape, a leak, a bad round trip)."""


# Limits the .deb target runs under (small, so that bombs are found in milliseconds).
DEB_LIMITS = {"max_unpacked_bytes": 4 << 20, "max_control_bytes": 1 << 20,
              "max_tar_members": 2000, "max_tar_header_bytes": 64 << 10,
              "max_archive_members": 1000}
BOMB_SIZE = 6 << 20
# Limits the ELF target runs under: compressed sections and DWARF (bombs found quickly).
ELF_LIMITS = {"max_section_bytes": 16 << 20, "max_dwarf_values": 2_000_000}


@functools.cache
def scratch() -> Path:
    """A private scratch directory of this process (on /dev/shm when there is one), inside
    the supervisor's (``ABIGUARD_FUZZ_SCRATCH``) when run by ``fuzz.run``: libFuzzer ends a
    worker without Python's exit handlers, and a hung worker is killed; the supervisor
    removes its directory at the end."""
    base = os.environ.get("ABIGUARD_FUZZ_SCRATCH")
    if not (base and os.path.isdir(base)):
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    d = Path(tempfile.mkdtemp(prefix="abiguard-fuzz-", dir=base))
    import atexit

    atexit.register(shutil.rmtree, d, True)
    return d


def _write(name: str, data: bytes) -> str:
    p = scratch() / name
    p.write_bytes(data)
    return str(p)


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


def run_elf(data: bytes) -> str:
    from abiguard import limits

    with limits.override(**ELF_LIMITS):
        return _run_elf(data)


def _run_elf(data: bytes) -> str:
    from abiguard.elf import ElfFile, read_elf
    from abiguard.errors import ElfError

    outcome = "ok"
    if zlib.crc32(data) % 8 == 0:  # sometimes through the file (mmap) path of read_elf
        try:
            read_elf(_write("in.elf", data))
        except ElfError:
            outcome = "rejected"
    try:
        f = ElfFile("fuzz.elf", data)
    except ElfError:
        return "rejected"
    def view() -> None:  # the dynamic view, every symbol of it touched (tables may be lazy)
        obj = f.dynamic_view()
        seen = [(s.name, s.version, s.version_file, s.binding, s.type)
                for s in (*obj.imports, *obj.exports)]
        assert len(seen) == len(obj.imports) + len(obj.exports)
        for tab in (obj.imports, obj.exports):
            if hasattr(tab, "names"):
                tab.names()
            if hasattr(tab, "lookup") and len(tab):
                tab.lookup(tab[0].name)
        rel = getattr(obj, "relocations", None)  # read on first use: may raise ElfError
        if rel is not None:
            assert len(rel.import_refs()) == len(obj.imports)
            assert list(rel.lookups()[1]) == list(rel.export_refs())
            assert [m != 0 for m in rel.import_refs()] == list(rel.imports_looked_up())
            assert all(0 <= k < len(obj.exports) for k in rel.export_refs())
            for tab in (obj.imports, obj.exports):
                if len(tab):
                    rel.referencing(tab[0].name)

    def contents() -> None:  # every section, decompressed when compressed
        for sec in f.sections:
            f.section_contents(sec)

    def relocations() -> None:  # all relocation sections, then those of the first one
        every = list(f.relocations())
        first = [s for s in f.sections if s.type in (4, 9)][:1]
        assert [r for r in every if first and r.section_index == first[0].index] == \
            list(f.relocations(first))

    def ranges() -> None:  # DWARF subprogram ranges (call-site attribution)
        for lo, hi, name in f.subprogram_ranges():
            assert 0 < lo < hi and name

    with f:
        steps: list[Callable[[], object]] = [
            view, lambda: f.segments, lambda: f.sections, f.symtab_symbols,
            f.dynsym_symbols, relocations, f.dynamic_entries, contents, f.build_id,
            f.debuglink, ranges,
        ]
        for step in steps:
            try:
                step()
            except ElfError:
                outcome = "rejected"
    return outcome


def run_ar(data: bytes) -> str:
    from abiguard.elf import iter_archive_members, read_archive
    from abiguard.errors import ElfError

    outcome = "ok"
    try:
        read_archive(_write("in.a", data))
    except ElfError:
        outcome = "rejected"
    for thin in (False, True):  # (thin: members named relative to the scratch directory)
        try:
            for _name, _body in iter_archive_members(data, str(scratch() / "fuzz.a"),
                                                     thin=thin):
                pass
        except ElfError:
            outcome = "rejected"
    return outcome


def _check_contained(base: Path, root: Path) -> None:
    """Nothing outside root; no device/fifo inside; every symlink resolves inside root."""
    for level, child in ((base, "a"), (base / "a", "b"), (base / "a" / "b", "root")):
        extra = sorted(set(os.listdir(level)) - {child})
        if extra:
            raise InvariantError(f"unpacking created {extra} outside the package root "
                                 f"(in {level.relative_to(base.parent)})")
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
                raise InvariantError(f"unpacking created a device or fifo: {name}")
            if st.st_mode & (stat.S_ISUID | stat.S_ISGID) and not stat.S_ISDIR(st.st_mode):
                raise InvariantError(f"unpacking created a set-id file: {name}")
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(p)
                if target != real_root and not target.startswith(real_root + os.sep):
                    raise InvariantError(f"symlink {os.path.relpath(p, root)} -> "
                                         f"{os.readlink(p)} resolves outside the package root")


def _members(tar) -> list[tuple[str, int, int, str]]:
    return [(m.name.rstrip("/"), m.type if isinstance(m.type, int) else m.type[0], m.size,
             m.linkname) for m in tar]


def _tar_differential(path: str) -> None:
    """Where abiguard's tar reader and Python's tarfile both read a whole data.tar, they see
    the same members (names, types, sizes, link targets); where one refuses, nothing is
    compared (the reader is stricter on purpose: a damaged header anywhere is an error), nor
    are archives with pax global headers (dpkg writes none)."""
    import io
    import tarfile

    from abiguard.debian.deb import Deb
    from abiguard.tarstream import TarStream, decompressed

    cap = DEB_LIMITS["max_unpacked_bytes"]
    try:
        with Deb(path) as deb:
            name, member = deb.member("data.tar")
            raw = b"".join(decompressed(member, name, cap, "max_unpacked_bytes", cap))
        stream = TarStream(iter([raw[i:i + 4096] for i in range(0, len(raw), 4096)]),
                           max_member=cap, limit_name="max_unpacked_bytes")
        ours = _members(stream)
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            theirs = _members(tar)
    except Exception:  # noqa: BLE001 - either reader refusing ends the comparison
        return
    if stream.global_headers:
        return  # tarfile lets the globals of an earlier 'x' shadow a later 'g': not compared
    if ours != theirs:
        diff = next((a, b) for a, b in zip(ours + [None] * len(theirs),
                                           theirs + [None] * len(ours)) if a != b)
        raise InvariantError(f"tar reader and tarfile disagree: {diff[0]} vs {diff[1]}")


def run_deb(data: bytes) -> str:
    from abiguard import limits
    from abiguard.debian.deb import read_deb_control, unpack_deb
    from abiguard.errors import InputFileError
    from abiguard.inputs import collect, walk

    path = _write("in.deb", data)
    base = scratch() / "case"
    if base.exists():
        shutil.rmtree(base)
    root = base / "a" / "b" / "root"
    root.mkdir(parents=True)
    outcome = "ok"
    with limits.override(**DEB_LIMITS):
        try:
            read_deb_control(path)
        except InputFileError:
            outcome = "rejected"
        try:
            unpack_deb(path, str(root))
        except InputFileError:
            outcome = "rejected"
        _check_contained(base, root)
        _tar_differential(path)
        for _ in walk(str(root)):
            pass
        if zlib.crc32(data) % 4 == 0:  # the whole input stage: unpack, walk, read ELF files
            tmp = scratch() / "tmp"
            tmp.mkdir(exist_ok=True)
            old = tempfile.tempdir
            tempfile.tempdir = str(tmp)
            try:
                with collect([path]) as c:
                    if c.errors:
                        outcome = "rejected"
            finally:
                tempfile.tempdir = old
            left = os.listdir(tmp)
            if left:
                shutil.rmtree(tmp, ignore_errors=True)
                raise InvariantError(f"temporary directories left behind: {left}")
    return outcome


def _text_file(name: str, data: bytes) -> str:
    return _write(name, data)


def run_policy(data: bytes) -> str:
    from abiguard.errors import DataFileError
    from abiguard.policy import Policy, load_policy_file

    try:
        pf = load_policy_file(_text_file("policy.toml", data))
    except DataFileError:
        return "rejected"
    pol = Policy([pf])
    for lib in ("libxenctrl.so.4.17", "libfoo.so.1", "x"):
        lc = pol.classify_library(lib, None)
        for sym, ver in (("xc_interface_open", "VERS_4.17.0"), ("foo_a", None),
                         ("f", "GLIBC_PRIVATE")):
            pol.classify_symbol(sym, ver, lib, lc)
    return "ok"


def run_remedies(data: bytes) -> str:
    from abiguard.errors import DataFileError
    from abiguard.remedies import load_knowledge

    try:
        k = load_knowledge([_text_file("remedies.toml", data)], builtin=False)
    except DataFileError:
        return "rejected"
    for sym, lib in (("xc_domain_shutdown", "libxenctrl.so.4.17"), ("foo_a", "libfoo.so.1"),
                     ("foo_b2", None)):
        k.lookup(sym, lib)
    return "ok"


@functools.cache
def _sample_audit():
    from abiguard.jsonform import audit_from_json

    path = sd.ensure_built() / "data" / "scan.json"
    return audit_from_json(path.read_text(), str(path))


def run_baseline(data: bytes) -> str:
    from abiguard.compare import (
        baseline_text,
        gate,
        load_baseline,
        parse_baseline,
        updated_baseline,
    )
    from abiguard.errors import DataFileError

    try:
        b = load_baseline(_text_file("baseline.toml", data))
    except DataFileError:
        return "rejected"
    result = gate(_sample_audit(), b, "baseline.toml")
    updated_baseline(b, result, True)
    text = baseline_text(b)
    try:
        again = parse_baseline(text, "written")
    except DataFileError as exc:
        raise InvariantError(f"a baseline written by baseline_text does not read back: {exc}"
                             ) from None
    def meaning(consumers: dict) -> dict:  # an empty family allows nothing: not written
        return {k: {f: s for f, s in fams.items() if s} for k, fams in consumers.items()}

    if meaning(again.consumers) != meaning(b.consumers):
        raise InvariantError("a baseline written by baseline_text reads back different")
    return "ok"


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the commands report it as "cannot read"


def run_audit(data: bytes) -> str:
    from abiguard.compare import baseline_from_audit, diff_audits, gate
    from abiguard.jsonform import audit_from_json, to_json
    from abiguard.model import SchemaError

    text = _decode(data)
    if text is None:
        return "rejected"
    try:
        audit = audit_from_json(text, "fuzz.json")
    except SchemaError:
        return "rejected"
    again = audit_from_json(to_json(audit), "written")
    if again != audit:
        raise InvariantError("an audit written with to_json reads back different")
    diff_audits(audit, audit)
    gate(audit, baseline_from_audit(audit), "baseline.toml")
    return "ok"


def run_plan(data: bytes) -> str:
    from abiguard.errors import InputFileError
    from abiguard.jsonform import from_dict, to_json
    from abiguard.model import Plan, SchemaError
    from abiguard.results import read_result

    outcome = "ok"
    try:
        result = read_result(_write("plan.json", data))
    except InputFileError:
        outcome = "rejected"
    else:
        if isinstance(result, Plan):
            again = from_dict(Plan, json.loads(to_json(result)), "written")
            if again != result:
                raise InvariantError("a plan written with to_json reads back different")
    text = _decode(data)
    if text is not None:
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            return "rejected"
        try:
            from_dict(Plan, raw, "fuzz.json")
        except SchemaError:
            outcome = "rejected"
    return outcome


# --------------------------------------------------------------------------------------------
# Targets and campaigns
# --------------------------------------------------------------------------------------------

POLICY_KEYS = ["schema", "name", "description", "library", "symbol", "match", "stability",
               "reason", "references", "version"]
REMEDY_KEYS = ["schema", "name", "description", "library", "group", "remedy", "id", "title",
               "kind", "rationale", "references", "symbols", "difficulty", "call_sites",
               "replacement", "symbol", "since", "since_release", "proposed"]
JSON_KEYS = ["schema", "kind", "consumers", "errors", "inputs", "notes", "policies", "audit",
             "plans", "knowledge", "bindings", "libraries", "symbol", "status", "stability",
             "evidence", "path", "steps", "items", "tier", "verifications", "call_sites"]


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    run: Callable[[bytes], str]
    seeds: Callable[[int], list[sd.Seed]]
    allowed: str
    """The error type(s) the target may raise (for the report)."""


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("elf", "ELF reader: dynamic view, versions, .symtab/.dynsym, relocations, "
           "segments/sections, compressed sections, notes, DWARF ranges (bytes and mmap "
           "paths)", run_elf,
           lambda m: sd.elf_seeds(max_size=m), "ElfError"),
    Target("ar", "ar archives: read_archive (ELF members parsed), iter_archive_members "
           "(thin too)",
           run_ar, lambda m: sd.ar_seeds(max_size=m), "ElfError"),
    Target("deb", ".deb: read_deb_control, unpack_deb into a temp dir (containment checked), "
           "walk, collect", run_deb, lambda m: sd.deb_seeds(max_size=m), "InputFileError"),
    Target("policy", "policy TOML: load_policy_file + classification", run_policy,
           lambda m: sd.policy_seeds(), "DataFileError"),
    Target("remedies", "remedies TOML: load_knowledge + lookup", run_remedies,
           lambda m: sd.remedies_seeds(), "DataFileError"),
    Target("baseline", "gate baseline TOML: load_baseline, gate, write/read round trip",
           run_baseline, lambda m: sd.baseline_seeds(), "DataFileError"),
    Target("audit", "stored scan JSON: audit_from_json, round trip, diff, gate", run_audit,
           lambda m: sd.audit_seeds(), "SchemaError"),
    Target("plan", "stored plan JSON: read_result (report/census), from_dict(Plan), round trip",
           run_plan, lambda m: sd.plan_seeds(), "InputFileError/SchemaError"),
]}


class Campaign:
    """The seeds of one target and the mutator that makes inputs from them."""

    def __init__(self, target: str, max_seed_size: int = 32 << 20) -> None:
        self.target = TARGETS[target]
        self.seeds = self.target.seeds(max_seed_size)
        if not self.seeds:
            raise RuntimeError(f"no seeds for target {target}")
        # Small seeds are picked more often than big ones (input speed), none never.
        sizes = [max(len(s.data), 256) for s in self.seeds]
        self.weights = [1 / (n ** 0.5) for n in sizes]
        self._shapes: dict[tuple[str, int, int], object] = {}
        self._datas = [s.data for s in self.seeds]

    def _shape(self, data: bytes, kind: str) -> object:
        key = (kind, len(data), hash(data))
        hit = self._shapes.get(key)
        if hit is None:
            hit = mu.elf_shape(data) if kind == "elf" else mu.deb_shape(data)
            if len(self._shapes) > 256:
                self._shapes.clear()
            self._shapes[key] = hit
        return hit

    def _elf(self, r: random.Random) -> Callable[[bytes], bytes]:
        return lambda body: mu.mutate_elf(r, body, self._shape(body, "elf"))  # type: ignore

    def mutate(self, r: random.Random, data: bytes) -> bytes:
        name = self.target.name
        if name == "elf":
            return mu.mutate_elf(r, data, self._shape(data, "elf"),  # type: ignore[arg-type]
                                 others=self._datas if r.random() < 0.05 else ())
        if name == "ar":
            return mu.mutate_ar(r, data, self._elf(r))
        if name == "deb":
            return mu.mutate_deb(r, data, self._shape(data, "deb"),  # type: ignore[arg-type]
                                 self._elf(r), bomb_size=BOMB_SIZE)
        if name == "policy":
            return mu.mutate_toml(r, data, POLICY_KEYS)
        if name in ("remedies",):
            return mu.mutate_toml(r, data, REMEDY_KEYS)
        if name == "baseline":
            return mu.mutate_toml(r, data, ["schema", "consumers", "libxenctrl.so", "x"])
        return mu.mutate_json(r, data, JSON_KEYS)

    def make_input(self, r: random.Random) -> bytes:
        seed = r.choices(self._datas, self.weights)[0]
        data = self.mutate(r, seed)
        if r.random() < 0.25 and self.target.name not in ("deb", "elf"):
            data = self.mutate(r, data)  # stacked mutations
        return data
