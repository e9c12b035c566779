"""The gate's baseline: the ratchet file (TOML, docs/gate.md) and how its keys name consumers.

:class:`Baseline` is what the file holds; :func:`baseline_text` writes it (sorted, one symbol
per line, no version nodes), :func:`parse_baseline`/:func:`load_baseline` read it (a
DataFileError names the file and the place), :func:`consumer_key` and
:func:`baseline_key_for` say which key a consumer is listed under.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataFileError
from ..limits import toml_loads
from ..model import Audit, Binding, Consumer
from ..soname import family

BASELINE_SCHEMA = 1
_BASELINE_HEADER = """\
# abiguard baseline: the ABI-unstable/private library symbols these programs may use.
# The gate fails when a program uses one that is not listed here (a ratchet: the list may
# only shrink). Keys: consumer (installed path of a package's file, path relative to this
# file's directory, or a name) -> library family (soname without its release) -> sorted
# symbols. Written by `abiguard gate --update-baseline`; see docs/gate.md.
"""


@dataclass(frozen=True, slots=True)
class Baseline:
    consumers: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """consumer key -> library family -> sorted symbol names."""
    schema: int = BASELINE_SCHEMA

    def symbols(self, key: str) -> set[tuple[str, str]]:
        """(family, symbol) pairs of one consumer key."""
        return {(fam, s) for fam, syms in self.consumers.get(key, {}).items() for s in syms}

    @property
    def count(self) -> int:
        return sum(len(s) for libs in self.consumers.values() for s in libs.values())


def _toml_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return _toml_str(key)


def _toml_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def baseline_text(b: Baseline) -> str:
    """The TOML form: sorted, one symbol per line, no version nodes (an upgrade of the
    library does not change it)."""
    lines = [_BASELINE_HEADER, f"schema = {b.schema}", ""]
    for key in sorted(b.consumers):
        libs = b.consumers[key]
        lines.append(f"[consumers.{_toml_str(key)}]")
        for fam in sorted(libs):
            syms = sorted(set(libs[fam]))
            if not syms:
                continue
            lines.append(f"{_toml_key(fam)} = [")
            lines += [f"  {_toml_str(s)}," for s in syms]
            lines.append("]")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def parse_baseline(text: str, origin: str) -> Baseline:
    """Read a baseline; a DataFileError names the file and what is wrong."""
    data = toml_loads(text, origin, "invalid TOML")
    unknown = sorted(set(data) - {"schema", "consumers"})
    if unknown:
        raise DataFileError(origin, f"unknown key(s) {', '.join(unknown)} (expected schema, "
                                    "consumers)")
    if "schema" not in data:
        raise DataFileError(origin, "missing 'schema = 1'")
    schema = data["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise DataFileError(origin, f"schema: expected an integer, got {_tname(schema)}")
    if schema != BASELINE_SCHEMA:
        raise DataFileError(origin, f"schema version {schema} is not supported (this abiguard "
                                    f"reads {BASELINE_SCHEMA})")
    consumers = data.get("consumers", {})
    if not isinstance(consumers, dict):
        raise DataFileError(origin, f"consumers: expected a table, got {_tname(consumers)}")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, libs in consumers.items():
        where = f"consumers.{_toml_str(key)}"
        if not key:
            raise DataFileError(origin, f"{where}: empty consumer key")
        if not isinstance(libs, dict):
            raise DataFileError(origin, f"{where}: expected a table of library families, got "
                                        f"{_tname(libs)}")
        fams: dict[str, tuple[str, ...]] = {}
        for fam, syms in libs.items():
            w = f"{where}.{_toml_key(fam)}"
            if not isinstance(syms, list):
                raise DataFileError(origin, f"{w}: expected a list of symbol names, got "
                                            f"{_tname(syms)}")
            for i, s in enumerate(syms):
                if not isinstance(s, str) or not s:
                    raise DataFileError(origin, f"{w}[{i}]: expected a symbol name (string), "
                                                f"got {_tname(s)}")
                if "@" in s:
                    raise DataFileError(origin, f"{w}[{i}]: {s!r}: no version nodes in a "
                                                "baseline (write the bare symbol name)")
            fams[fam] = tuple(sorted(set(syms)))
        out[key] = fams
    return Baseline(out, schema)


def _tname(v: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def load_baseline(path: str) -> Baseline:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataFileError(path, "no such baseline file (create it with --update-baseline)"
                            ) from None
    except OSError as exc:
        raise DataFileError(path, exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, f"invalid TOML: not UTF-8 (byte {exc.start})") from None
    return parse_baseline(text, path)


def consumer_symbols(c: Consumer) -> dict[tuple[str, str], Binding]:
    """(family, symbol) -> binding of a consumer's unstable/private imports: the bound ones
    and those classified from the name of a library that was not found
    (``Binding.is_presumed_problem``; the gate refuses such consumers unless
    ``--allow-unresolved``)."""
    out: dict[tuple[str, str], Binding] = {}
    for b in (*c.findings, *c.presumed):
        out.setdefault((family(b.provider), b.symbol.name), b)
    return out


def consumer_key(c: Consumer, base_dir: str) -> str:
    """The baseline key a consumer is written under.

    A file of a package (.deb, apt name): its installed path (``/usr/libexec/…``). Any other
    file: its path relative to the baseline file's directory ``base_dir``, normalised
    (``./build/prog``, ``build//prog`` and ``/abs/repo/build/prog`` are all ``build/prog``
    for a baseline in ``/abs/repo``), or its absolute path when it lies outside that
    directory. Saved results name files relative to the directory they were scanned in:
    they are taken relative to the current directory. An archive member adds ``(member)``.
    """
    member = f"({c.member})" if c.member else ""
    if c.package:
        return c.path + member
    path = os.path.abspath(c.path)
    rel = os.path.relpath(path, os.path.abspath(base_dir))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/") + member
    return rel.replace(os.sep, "/") + member


def _consumer_paths(c: Consumer, base_dir: str) -> set[str]:
    """Every path form a baseline key may name the consumer by."""
    member = f"({c.member})" if c.member else ""
    forms = {consumer_key(c, base_dir), c.display_name}
    if not c.package:
        forms.add(os.path.abspath(c.path) + member)
        try:  # (a saved result may name anything: a NUL byte is no path)
            forms.add(os.path.realpath(c.path) + member)
        except (ValueError, OSError):
            pass
    return {f.replace(os.sep, "/") for f in forms}


def _key_paths(key: str, base_dir: str) -> set[str]:
    """A baseline key as paths: itself, normalised, and (relative) joined to base_dir. A
    key written by an older abiguard as the path given on the command line
    (``./build/prog``) so still names the file."""
    forms = {key}
    member = ""
    m = re.fullmatch(r"(.+)(\([^()/]+\))", key)
    if m:
        key, member = m.group(1), m.group(2)
    if "/" in key:
        norm = posixpath.normpath(key)
        forms.add(norm + member)
        if not norm.startswith("/"):
            forms.add(posixpath.normpath(posixpath.join(
                os.path.abspath(base_dir).replace(os.sep, "/"), norm)) + member)
    return forms


def baseline_key_for(c: Consumer, keys: Iterable[str], base_dir: str = ".") -> str | None:
    """The baseline key naming a consumer: its path in any form (see :func:`consumer_key`),
    else its file name, else its soname."""
    keys = list(keys)
    paths = _consumer_paths(c, base_dir)
    for k in keys:
        if _key_paths(k, base_dir) & paths:
            return k
    base = os.path.basename(c.path) + (f"({c.member})" if c.member else "")
    for k in keys:
        if k == base:
            return k
    for k in keys:
        if c.soname and k == c.soname:
            return k
    return None


def baseline_from_audit(audit: Audit, base_dir: str = ".") -> Baseline:
    """A new baseline of the audit's unstable/private imports, keyed by
    :func:`consumer_key` relative to ``base_dir`` (the baseline file's directory)."""
    out: dict[str, dict[str, set[str]]] = {}
    for c in audit.consumers:
        for fam, sym in consumer_symbols(c):
            out.setdefault(consumer_key(c, base_dir), {}).setdefault(fam, set()).add(sym)
    return Baseline({k: {f: tuple(sorted(s)) for f, s in v.items()} for k, v in out.items()})


__all__ = ["BASELINE_SCHEMA", "Baseline", "baseline_from_audit", "baseline_key_for",
           "baseline_text", "consumer_key", "consumer_symbols", "load_baseline",
           "parse_baseline"]
