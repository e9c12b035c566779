"""Policy files: the TOML schema version 1 that ``--policy FILE`` takes (docs/policy.md), the
same structure in JSON (the generated history data ships as JSON: it parses 15x faster), and
the built-in files in ``abiguard/data/policies/``.

A file has ``[[library]]`` and ``[[symbol]]`` rules (declarations) and ``[[history]]`` entries
(what ``abiguard history`` writes: a library family's sonames and upstream versions in several
Debian suites, and the verdict read from them). Errors name the file and the entry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from ..errors import DataFileError
from ..fastnew import maker
from ..limits import TomlTable, toml_loads
from ..model import Evidence, Stability

if TYPE_CHECKING:
    from .releases import Release

SCHEMA = 1
_STABILITIES = {s.value for s in Stability}
_TOP = {"schema", "name", "description", "library", "symbol", "history", "suites", "generated"}
_HISTORY = {"family", "stability", "verdict", "reason", "match", "releases", "references"}
_RELEASE = {"suite", "package", "version", "upstream", "sonames", "derived"}


@dataclass(frozen=True, slots=True)
class Rule:
    """A ``[[library]]`` or ``[[symbol]]`` rule: a declaration."""

    match: str
    stability: Stability
    reason: str
    origin: str
    library: str = "*"
    version: str | None = None
    references: tuple[str, ...] = ()

    def evidence(self, what: str) -> Evidence:
        refs = f" [{'; '.join(self.references)}]" if self.references else ""
        node = f" in version {self.version!r}" if self.version else ""
        return Evidence("policy", f"{what} matches {self.match!r}{node}: {self.reason}{refs}",
                        self.stability, self.origin)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A ``[[history]]`` entry: a library family across Debian suites, and the verdict."""

    family: str
    stability: Stability
    verdict: str
    """stable | release-locked | undecided (the history's own words)."""
    reason: str
    match: tuple[str, ...]
    """Sonames (or globs of them) the entry speaks for."""
    raw_releases: tuple[TomlTable | str, ...]
    """The ``releases`` tables as read (checked when the file was loaded; not kept for the
    built-in data, whose file a test checks: a scan never needs them)."""
    origin: str
    references: tuple[str, ...] = ()

    @property
    def releases(self) -> tuple[Release, ...]:
        where = f"[[history]] {self.family}"
        return tuple(_release(r, f"{where} releases #{j + 1}", self.origin)
                     for j, r in enumerate(self.raw_releases))

    @property
    def suites(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.split(" ")[0] if isinstance(r, str)
                                   else str(r.get("suite", "")) for r in self.raw_releases))


_make_history_entry = maker(HistoryEntry)
_STABILITY = {s.value: s for s in Stability}


def _trusted_entry(t: Any, origin: str) -> HistoryEntry:
    """An entry of a built-in file (generated, checked by the tests) without checking each
    key, and without its releases: a scan never reads them (the file has them)."""
    return _make_history_entry(t["family"], _STABILITY[t["stability"]], t["verdict"],
                               t["reason"], tuple(t["match"]), (), origin, ())


class GeneratedHistory(Sequence[HistoryEntry]):
    """The ``[[history]]`` entries of a built-in JSON file as ``abiguard history`` writes it
    (:func:`abiguard.policy.archive.to_json`: one family per line, its ``match`` right before
    its ``releases``), each made from its line when first asked for: a scan looks a few
    hundred of the thousands of families up, and the index of them all needs only their
    sonames (:attr:`matches`), read for all at once. The entries are those of the file parsed
    whole (a test holds the built-in file to that)."""

    def __init__(self, lines: Sequence[str], matches: list[list[str]], origin: str) -> None:
        self._lines = lines
        """Each entry's line (with the comma that ends all but the last)."""
        self.matches = matches
        """Each entry's ``match``, in order."""
        self.origin = origin
        self._made: list[HistoryEntry | None] = [None] * len(lines)

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, i: int) -> HistoryEntry: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[HistoryEntry]: ...

    def __getitem__(self, i: int | slice) -> HistoryEntry | Sequence[HistoryEntry]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        entry = self._made[i]
        if entry is None:
            line = self._lines[i]
            entry = self._made[i] = _trusted_entry(json.loads(line.removesuffix(",")),
                                                   self.origin)
        return entry


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One policy file, read and checked: its rules and its history."""

    name: str
    origin: str
    libraries: tuple[Rule, ...]
    symbols: tuple[Rule, ...]
    description: str = ""
    history: Sequence[HistoryEntry] = ()
    """A tuple, or for a built-in generated history its :class:`GeneratedHistory`."""
    suites: tuple[str, ...] = ()


def _check_keys(table: TomlTable, allowed: set[str], required: set[str], where: str,
                origin: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise DataFileError(origin, f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                                    f"(allowed: {', '.join(sorted(allowed))})")
    missing = required - set(table)
    if missing:
        raise DataFileError(origin, f"{where}: missing key(s) {', '.join(sorted(missing))}")


def _str(table: TomlTable, key: str, where: str, origin: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise DataFileError(origin, f"{where}: '{key}' must be a string")
    return value


def _strs(table: TomlTable, key: str, where: str, origin: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise DataFileError(origin, f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _stability(table: TomlTable, where: str, origin: str) -> Stability:
    value = _str(table, "stability", where, origin)
    if value not in _STABILITIES:
        raise DataFileError(origin, f"{where}: stability {value!r} is not one of "
                                    f"{', '.join(sorted(_STABILITIES))}")
    return Stability(value)


def _tables(data: TomlTable, kind: str, origin: str) -> list[tuple[str, TomlTable]]:
    entries = data.get(kind, [])
    if not isinstance(entries, list):
        raise DataFileError(origin, f"'{kind}' must be an array of tables ([[{kind}]])")
    out = []
    for i, t in enumerate(entries):
        where = f"[[{kind}]] #{i + 1}"
        if not isinstance(t, dict):
            raise DataFileError(origin, f"{where}: must be a table")
        out.append((where, t))
    return out


def _rules(data: TomlTable, kind: str, origin: str) -> tuple[Rule, ...]:
    out = []
    for where, t in _tables(data, kind, origin):
        allowed = {"match", "stability", "reason", "references"}
        if kind == "symbol":
            allowed |= {"library", "version"}
        _check_keys(t, allowed, {"match", "stability", "reason"}, where, origin)
        version = t.get("version")
        if version is not None and not isinstance(version, str):
            raise DataFileError(origin, f"{where}: 'version' must be a string")
        out.append(Rule(match=_str(t, "match", where, origin),
                        stability=_stability(t, where, origin),
                        reason=_str(t, "reason", where, origin), origin=origin,
                        library=_str(t, "library", where, origin, "*"), version=version,
                        references=_strs(t, "references", where, origin)))
    return tuple(out)


_RELEASE_REQUIRED = frozenset({"suite", "package", "version"})
_HISTORY_REQUIRED = frozenset({"family", "stability", "reason", "match"})


def _all_str(items: object) -> bool:
    return type(items) is list and all(type(x) is str for x in items)


def _release_ok(r: object) -> bool:
    """The common case checked in one expression (a generated file has thousands)."""
    return (type(r) is dict and r.keys() <= _RELEASE and _RELEASE_REQUIRED <= r.keys()
            and type(r["suite"]) is str and type(r["package"]) is str
            and type(r["version"]) is str and type(r.get("upstream", "")) is str
            and _all_str(r.get("sonames", [])) and type(r.get("derived", False)) is bool)


def _release_from_line(text: str, w: str, origin: str) -> Release:
    from .releases import Release  # (a scan never reads the releases: see HistoryEntry)

    parts = text.split(" ")
    if len(parts) not in (5, 6) or (len(parts) == 6 and parts[5] != "derived") or \
            not all(parts):
        raise DataFileError(origin, f"{w}: {text!r} is not 'SUITE PACKAGE VERSION UPSTREAM "
                                    "SONAMES [derived]'")
    sonames = () if parts[4] == "-" else tuple(parts[4].split(","))
    return Release(parts[0], parts[1], parts[2], "" if parts[3] == "-" else parts[3],
                   sonames, len(parts) == 6)


def _release(r: TomlTable | str, w: str, origin: str) -> Release:
    if isinstance(r, str):
        return _release_from_line(r, w, origin)
    if not _release_ok(r):  # say what is wrong
        if not isinstance(r, dict):
            raise DataFileError(origin, f"{w}: must be a table")
        _check_keys(r, _RELEASE, set(_RELEASE_REQUIRED), w, origin)
        for k in ("suite", "package", "version", "upstream"):
            _str(r, k, w, origin, "")
        _strs(r, "sonames", w, origin)
        raise DataFileError(origin, f"{w}: 'derived' must be true or false")
    from .releases import Release  # (as above)

    return Release(r["suite"], r["package"], r["version"], r.get("upstream", ""),
                   tuple(r.get("sonames", ())), r.get("derived", False))


def _trusted_history(data: TomlTable, origin: str) -> tuple[HistoryEntry, ...] | None:
    """The entries of a built-in file, generated by ``abiguard history`` and checked by the
    tests, built without checking each key (None: something is off; check it all). Their
    releases are left out: a scan never reads them, and thousands of small tables kept alive
    cost every garbage collection of a scan more than reading them (the file has them)."""
    try:
        return tuple([_trusted_entry(t, origin) for t in data.get("history", ())])
    except (KeyError, TypeError, ValueError):
        return None


def _history(data: TomlTable, origin: str) -> tuple[HistoryEntry, ...]:
    if origin.startswith("built-in:"):
        trusted = _trusted_history(data, origin)
        if trusted is not None:
            return trusted
    out = []
    for where, t in _tables(data, "history", origin):
        if not (t.keys() <= _HISTORY and _HISTORY_REQUIRED <= t.keys()
                and type(t["family"]) is str and type(t["reason"]) is str
                and type(t.get("verdict", "")) is str and _all_str(t["match"])
                and _all_str(t.get("references", []))):
            _check_keys(t, _HISTORY, set(_HISTORY_REQUIRED), where, origin)
            for k in ("family", "reason", "verdict"):
                _str(t, k, where, origin, "")
            _strs(t, "match", where, origin)
            _strs(t, "references", where, origin)
        stability = t["stability"]
        if stability not in _STABILITIES:
            _stability(t, where, origin)
        if not t["match"]:
            raise DataFileError(origin, f"{where}: 'match' must name at least one soname")
        items = t.get("releases", [])
        if type(items) is not list:
            raise DataFileError(origin, f"{where}: 'releases' must be a list of tables")
        if not origin.startswith("built-in:"):
            for j, r in enumerate(items):
                _release(r, f"{where} releases #{j + 1}", origin)
        out.append(HistoryEntry(
            family=t["family"], stability=Stability(stability),
            verdict=str(t.get("verdict", stability)), reason=t["reason"], match=tuple(t["match"]),
            raw_releases=tuple(items), origin=origin,
            references=tuple(t.get("references", ()))))
    return tuple(out)


def policy_from_data(data: Any, origin: str,
                     history: Sequence[HistoryEntry] | None = None) -> PolicyFile:
    """Validate the parsed form (TOML or JSON) of one policy file (``history``: its entries,
    read apart; else those of ``data``)."""
    if not isinstance(data, dict):
        raise DataFileError(origin, "must be a table of keys (schema, library, symbol, ...)")
    _check_keys(data, _TOP, {"schema"}, "top level", origin)
    if data["schema"] != SCHEMA or isinstance(data["schema"], bool):
        raise DataFileError(origin, f"schema {data['schema']!r} is not supported (expected 1)")
    if "name" in data:
        name = str(data["name"])
    else:  # (pathlib only then: every scan reads the built-in files, each with its name)
        from pathlib import PurePath

        name = PurePath(origin).stem
    return PolicyFile(name=name, origin=origin,
                      libraries=_rules(data, "library", origin),
                      symbols=_rules(data, "symbol", origin),
                      description=str(data.get("description", "")),
                      history=_history(data, origin) if history is None else history,
                      suites=_strs(data, "suites", "top level", origin))


def parse_policy(text: str, origin: str) -> PolicyFile:
    """Parse and validate one policy file (TOML; JSON when ``origin`` ends in .json)."""
    if origin.startswith("built-in:") and origin.endswith(".json"):
        generated = _generated(text, origin)
        if generated is not None:
            return generated
    if origin.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataFileError(origin, f"not valid JSON: {exc}") from None
        except RecursionError:
            raise DataFileError(origin, "not valid JSON: nested too deeply") from None
    else:
        data = toml_loads(text, origin)
    return policy_from_data(data, origin)


_MATCH, _RELEASES = ',"match":[', '],"releases":['


def generated_parts(text: str) -> tuple[TomlTable, list[str], list[list[str]]] | None:
    """A history file of :func:`abiguard.policy.archive.to_json`'s layout in parts: its
    top-level data (``history`` empty), each entry's line (with the comma that ends all but
    the last), each entry's ``match`` (None: another layout, or not valid). In valid JSON,
    ``,"match":[`` and ``],"releases":[`` are keys and the ends of values, never text inside
    a string (whose quotes are escaped) and ``"family":`` is a key, so each line's sonames lie
    between the two, and a line holds one entry."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[-1] or lines[-2] != "]}" or \
            not lines[0].endswith(',"history":['):
        return None
    entries = lines[1:-2]
    if text.count('"family":') != len(entries) or text.count("},\n") != len(entries) - 1 or \
            not entries[-1].endswith("}"):  # (one entry a line, each line but the last: "},")
        return None
    matches: list[str] = []
    add = matches.append
    find = str.find
    for line in entries:
        i = find(line, _MATCH)
        j = find(line, _RELEASES, i)
        if i < 0 or j < 0 or not line.startswith('{"family":'):
            return None
        add(line[i + len(_MATCH) - 1:j + 1])
    try:
        data = json.loads(lines[0] + "]}")
        names = json.loads("[" + ",".join(matches) + "]")
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("history") != []:
        return None
    return data, entries, names


def _generated(text: str, origin: str) -> PolicyFile | None:
    """A built-in history file of :func:`generated_parts`'s layout, its entries a
    :class:`GeneratedHistory` (None: another layout, or not valid: parsed whole)."""
    parts = generated_parts(text)
    if parts is None:
        return None
    data, entries, names = parts
    return policy_from_data(data, origin, GeneratedHistory(entries, names, origin))


def load_policy_file(path: str) -> PolicyFile:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise DataFileError(path, f"cannot read policy file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataFileError(path, "policy file is not UTF-8 text") from None
    return parse_policy(text, path)


BUILTIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "data", "policies")
"""abiguard/data/policies: the package's own files, read from where the package is (not
through importlib.resources, whose import costs every scan 6 ms)."""
