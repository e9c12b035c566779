"""Limits on what a hostile input can make abiguard do.

Every count, size and depth that an input file controls is capped, so that a corrupt or
malicious ELF file, ar archive, .deb package or directory gives an input error naming the
file (``abiguard: error: FILE: limit exceeded: ...``) and never a hang or an out-of-memory.
The defaults are far above what real files need (Debian's largest packages and binaries
stay well below them) and each one can be changed:

* ``abiguard --limit NAME=VALUE COMMAND ...`` (repeatable; :func:`override`), or
* the environment variable ``ABIGUARD_LIMIT_<NAME>`` (e.g. ``ABIGUARD_LIMIT_MAX_UNPACKED_BYTES=2G``),
  which also reaches the census worker processes.

Sizes take the suffixes K, M, G (powers of 1024). ``docs/reliability.md`` lists them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import DataFileError, InputFileError, UsageError

ENV_PREFIX = "ABIGUARD_LIMIT_"


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits in force (frozen: change them with :func:`override`, ``--limit`` or the
    environment)."""

    # ---- ELF reader (per file or archive member) ---------------------------------------------
    max_elf_sections: int = 1_000_000
    """Section headers (extended numbering allows 2**32)."""
    max_elf_symbols: int = 10_000_000
    """Entries of one symbol table (.dynsym, .symtab), and of all the symbol tables that
    relocation sections link to together."""
    max_elf_relocations: int = 20_000_000
    """Relocation entries of all SHT_REL/SHT_RELA sections of a file together (overlapping
    sections would otherwise multiply them)."""
    max_version_entries: int = 65_535
    """Version definitions or requirements of a file, auxiliary entries included."""
    max_archive_members: int = 1_000_000
    """Members of an ar archive (static libraries, the outer layer of a .deb)."""
    max_section_bytes: int = 2 << 30
    """Decompressed bytes of one compressed ELF section (SHF_COMPRESSED, .zdebug_*)."""
    max_dwarf_values: int = 100_000_000
    """DWARF values one file makes the reader decode (entries, attribute values, range list
    entries, name references): hostile abbreviations or shared range lists would otherwise
    multiply the work."""
    # ---- .deb packages -----------------------------------------------------------------------
    max_unpacked_bytes: int = 8 << 30
    """Decompressed bytes of a .deb's data.tar.* (decompression bombs)."""
    max_tar_members: int = 200_000
    """Entries of a .deb's data.tar.*."""
    max_control_bytes: int = 16 << 20
    """Decompressed bytes of a .deb's control.tar.* that are read to find its control file."""
    max_tar_header_bytes: int = 1 << 20
    """A single pax extended header or GNU long name/link in a tar (read into memory)."""
    # ---- resolution --------------------------------------------------------------------------
    max_load_order: int = 4096
    """Objects in one consumer's load order (DT_NEEDED closure)."""
    max_ld_so_conf_files: int = 256
    """ld.so.conf files read through ``include`` lines."""
    # ---- data files (policy, remedies, baseline TOML) ----------------------------------------
    max_toml_key_parts: int = 64
    """Parts of one dotted TOML key (``a.b.c``): Python's tomllib takes quadratic time in it."""


DEFAULTS = Limits()

_INT = re.compile(r"^\s*(\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

_FIELDS = {f.name: f for f in dataclasses.fields(Limits)}
_current = Limits()
_env_seen: tuple[object, ...] | None = None


def names() -> list[str]:
    return list(_FIELDS)


def parse_value(name: str, text: str) -> int:
    """A limit value: a non-negative integer with an optional K/M/G/T suffix."""
    m = _INT.match(text)
    if not m:
        raise UsageError(f"limit {name}: {text!r} is not a number (e.g. 1000, 64M, 8G)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _key(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    if key not in _FIELDS:
        raise UsageError(f"unknown limit {name!r} (known: {', '.join(_FIELDS)})")
    return key


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, int]:
    """``NAME=VALUE`` strings (``--limit``) as a dict; UsageError for bad ones."""
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--limit {item!r}: expected NAME=VALUE")
        key = _key(name)
        out[key] = parse_value(key, value)
    return out


def _from_env() -> dict[str, int]:
    out: dict[str, int] = {}
    for key in _FIELDS:
        text = os.environ.get(ENV_PREFIX + key.upper())
        if text is not None and text.strip():
            out[key] = parse_value(key, text)
    return out


_ENV_NAMES = tuple(ENV_PREFIX + name.upper() for name in _FIELDS)
_ENV_KEYS = tuple(os.fsencode(n) for n in _ENV_NAMES) if os.name == "posix" else _ENV_NAMES


def _env_snapshot() -> tuple[object, ...]:
    # os.environ decodes every variable when iterated (~70 us); the raw mapping behind it
    # answers a dozen lookups in well under a microsecond (the ELF reader asks per file).
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict):
        return tuple(map(data.get, _ENV_KEYS))
    return tuple(map(os.environ.get, _ENV_NAMES))


def current() -> Limits:
    """The limits in force: defaults, then ``ABIGUARD_LIMIT_*`` variables (``--limit`` and
    :func:`override` set them); the environment is re-read when it changed."""
    global _current, _env_seen
    env = _env_snapshot()
    if env != _env_seen:
        _env_seen = env
        try:
            values = _from_env()
        except UsageError:
            values = {}  # a bad variable is reported by configure() (the CLI calls it)
        _current = dataclasses.replace(Limits(), **values)
    return _current


def check_environment() -> Limits:
    """The limits in force; a UsageError for a malformed ``ABIGUARD_LIMIT_*`` variable."""
    _from_env()
    return current()


@contextlib.contextmanager
def override(**values: int) -> Iterator[Limits]:
    """Change limits for the duration of a block (``--limit``, tests, fuzzing). They are put
    in the environment, so that worker processes started meanwhile inherit them."""
    keys = {_key(k): ENV_PREFIX + _key(k).upper() for k in values}
    for key, value in values.items():
        if int(value) < 0:
            raise UsageError(f"limit {_key(key)}: must not be negative")
    saved = {env: os.environ.get(env) for env in keys.values()}
    try:
        for key, value in values.items():
            os.environ[keys[_key(key)]] = str(int(value))
        yield current()
    finally:
        for env, old in saved.items():
            if old is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = old


# A TOML token that matters for counting the parts of dotted keys outside strings/comments.
_TOML_TOKEN = re.compile(r'"""|\'\'\'|["\'#\n=,{}\[\].]')
_TOML_BASIC = re.compile(r'(?:[^"\\\n]|\\.)*"')
_TOML_ML_BASIC = re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL)


def toml_key_parts(text: str) -> int:
    """The most parts of a dotted key (or table header) in a TOML text, strings and comments
    skipped (a cheap scan, done before tomllib parses the text)."""
    pos, run, best, n = 0, 0, 0, len(text)
    search = _TOML_TOKEN.search
    while (m := search(text, pos)) is not None:
        tok = m.group()
        pos = m.end()
        if tok == ".":
            run += 1
            best = max(best, run)
        elif tok in ("\n", "=", ",", "{", "}", "[", "]"):
            run = 0
        elif tok == "#":
            end = text.find("\n", pos)
            pos = n if end < 0 else end
        elif tok == '"':
            s = _TOML_BASIC.match(text, pos)
            pos = s.end() if s else n
        elif tok == "'":
            end = text.find("'", pos)
            pos = n if end < 0 else end + 1
        elif tok == '"""':
            s = _TOML_ML_BASIC.match(text, pos)
            pos = s.end() if s else n
        else:  # '''
            end = text.find("'''", pos)
            pos = n if end < 0 else end + 3
    return best + 1


TomlTable = dict[str, Any]
"""A table of a data file as tomllib (or json) returns it: its values are checked, key by key,
by the module that reads the file."""


def toml_loads(text: str, origin: str, what: str = "not valid TOML") -> TomlTable:
    """``tomllib.loads`` for data files, with its failure modes on hostile text turned into a
    DataFileError naming the file: deep nesting (RecursionError) and dotted keys long enough
    to take tomllib quadratic time (limit ``max_toml_key_parts``)."""
    import tomllib  # (with the first data file read: not on every start-up, as --help)

    lim = current().max_toml_key_parts
    parts = toml_key_parts(text)
    if parts > lim:
        raise DataFileError(origin, message(f"a dotted key of {parts} parts",
                                            "max_toml_key_parts", lim))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(origin, f"{what}: {exc}") from None
    except RecursionError:
        raise DataFileError(origin, f"{what}: arrays or tables nested too deeply") from None


def message(what: str, name: str, limit: int) -> str:
    """The text of a limit error: what went over, the limit and how to raise it."""
    return f"limit exceeded: {what} (limit {name} = {limit}; raise it with --limit {name}=N)"


def exceeded(path: str, what: str, name: str, limit: int) -> InputFileError:
    """The input error for a limit: one line naming the file."""
    return InputFileError(path, message(what, name, limit))


__all__ = ["DEFAULTS", "ENV_PREFIX", "Limits", "check_environment", "current", "exceeded", "message", "names", "override",
           "parse_assignments", "parse_value",
           "toml_key_parts", "toml_loads"]
