"""Stability classification of libraries and symbols, always with the evidence.

Evidence comes from the binaries themselves (soname, symbol-version scheme) and from policy
files (TOML, see docs/policy.md). Precedence, highest first:

1. a policy ``[[symbol]]`` rule matching the symbol (and its library/version node);
2. a version node named ``*PRIVATE*`` (e.g. GLIBC_PRIVATE) -> private;
3. a policy ``[[library]]`` rule matching the library's soname;
4. evidence read from the library: a release-named soname and version node -> unstable,
   interface-numbered nodes or a plain soname major -> stable; otherwise unknown.

User policy files given with ``--policy`` are consulted before the built-in ones; within a
file the first matching rule wins.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import DataFileError
from .limits import toml_loads
from .model import ElfObject, Evidence, Stability

_STABILITIES = {s.value for s in Stability}


@dataclass(frozen=True, slots=True)
class Rule:
    match: str
    stability: Stability
    reason: str
    origin: str
    library: str = "*"
    version: str | None = None
    references: tuple[str, ...] = ()

    def evidence(self, what: str) -> Evidence:
        refs = f" [{'; '.join(self.references)}]" if self.references else ""
        return Evidence("policy", f"{what} matches {self.match!r}: {self.reason}{refs}",
                        self.stability, self.origin)


@dataclass(frozen=True, slots=True)
class PolicyFile:
    name: str
    origin: str
    libraries: tuple[Rule, ...]
    symbols: tuple[Rule, ...]
    description: str = ""


def _check_keys(table: dict, allowed: set[str], required: set[str], where: str,
                origin: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise DataFileError(origin, f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                                    f"(allowed: {', '.join(sorted(allowed))})")
    missing = required - set(table)
    if missing:
        raise DataFileError(origin, f"{where}: missing key(s) {', '.join(sorted(missing))}")


def _str(table: dict, key: str, where: str, origin: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise DataFileError(origin, f"{where}: '{key}' must be a string")
    return value


def _refs(table: dict, where: str, origin: str) -> tuple[str, ...]:
    refs = table.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise DataFileError(origin, f"{where}: 'references' must be a list of strings")
    return tuple(refs)


def _stability(table: dict, where: str, origin: str) -> Stability:
    value = _str(table, "stability", where, origin)
    if value not in _STABILITIES:
        raise DataFileError(origin, f"{where}: stability {value!r} is not one of "
                                    f"{', '.join(sorted(_STABILITIES))}")
    return Stability(value)


def parse_policy(text: str, origin: str) -> PolicyFile:
    """Parse and validate one policy file; errors name the file and the entry."""
    data = toml_loads(text, origin)
    _check_keys(data, {"schema", "name", "description", "library", "symbol"}, {"schema"},
                "top level", origin)
    if data["schema"] != 1:
        raise DataFileError(origin, f"schema {data['schema']!r} is not supported (expected 1)")
    libs, syms = [], []
    for kind, out in (("library", libs), ("symbol", syms)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise DataFileError(origin, f"'{kind}' must be an array of tables ([[{kind}]])")
        for i, t in enumerate(entries):
            where = f"[[{kind}]] #{i + 1}"
            if not isinstance(t, dict):
                raise DataFileError(origin, f"{where}: must be a table")
            allowed = {"match", "stability", "reason", "references"}
            if kind == "symbol":
                allowed |= {"library", "version"}
            _check_keys(t, allowed, {"match", "stability", "reason"}, where, origin)
            version = t.get("version")
            if version is not None and not isinstance(version, str):
                raise DataFileError(origin, f"{where}: 'version' must be a string")
            out.append(Rule(
                match=_str(t, "match", where, origin),
                stability=_stability(t, where, origin),
                reason=_str(t, "reason", where, origin),
                origin=origin,
                library=_str(t, "library", where, origin, "*"),
                version=version,
                references=_refs(t, where, origin),
            ))
    return PolicyFile(name=str(data.get("name", Path(origin).stem)), origin=origin,
                      libraries=tuple(libs), symbols=tuple(syms),
                      description=str(data.get("description", "")))


def load_policy_file(path: str) -> PolicyFile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(path, f"cannot read policy file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataFileError(path, "policy file is not UTF-8 text") from None
    return parse_policy(text, path)


def builtin_policies() -> list[PolicyFile]:
    out = []
    folder = resources.files("abiguard") / "data" / "policies"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append(parse_policy(entry.read_text(encoding="utf-8"),
                                    f"built-in:{entry.name}"))
    return out


# --------------------------------------------------------------------------------------------
# Evidence from the binaries
# --------------------------------------------------------------------------------------------

_SONAME_VERSION = re.compile(r"\.so\.(\d+(?:\.\d+)*)$")
_NODE_RELEASE = re.compile(r"(\d+(?:\.\d+)+)$")


def soname_release(soname: str) -> tuple[str, ...]:
    m = _SONAME_VERSION.search(soname)
    return tuple(m.group(1).split(".")) if m else ()


def library_evidence(lib: ElfObject | None, soname: str) -> list[Evidence]:
    """What the library itself says about its ABI promise."""
    ev: list[Evidence] = []
    release = soname_release(soname)
    nodes = [d.name for d in lib.version_defs if not d.is_base] if lib else []
    release_nodes = []
    if len(release) >= 2:
        for node in nodes:
            m = _NODE_RELEASE.search(node)
            if m and tuple(m.group(1).split("."))[: len(release)] == release:
                release_nodes.append(node)
    if release_nodes:
        ev.append(Evidence(
            "version-node",
            f"version node {release_nodes[0]} names the release {'.'.join(release)} that is "
            f"also in the soname {soname}: the ABI is tied to each release",
            Stability.UNSTABLE))
    if len(release) >= 2:
        ev.append(Evidence(
            "soname",
            f"soname {soname} carries a release number ({'.'.join(release)}), not a plain "
            "ABI major: every release is a new ABI",
            Stability.UNSTABLE))
    elif len(release) == 1 and not release_nodes:
        if len(nodes) >= 2:
            ev.append(Evidence(
                "version-node",
                f"{len(nodes)} interface-numbered version nodes ({nodes[0]} .. {nodes[-1]}) "
                "accumulate old interfaces: the ABI is kept across releases",
                Stability.STABLE))
        elif len(nodes) == 1:
            ev.append(Evidence(
                "version-node",
                f"version node {nodes[0]} with a plain soname major: interfaces are versioned",
                Stability.STABLE))
        ev.append(Evidence(
            "soname",
            f"soname {soname} has a plain ABI major ({release[0]}): by convention the ABI "
            "only breaks with a soname bump",
            Stability.STABLE))
    return ev


def _decide(evidence: list[Evidence]) -> Stability:
    stabilities = {e.stability for e in evidence}
    for s in (Stability.UNSTABLE, Stability.PRIVATE, Stability.STABLE):
        if s in stabilities:
            return s
    return Stability.UNKNOWN


class Policy:
    """The policy files in force, and the classification of libraries and symbols."""

    def __init__(self, files: list[PolicyFile]) -> None:
        self.files = files
        self._lib_cache: dict[tuple[str | None, ...], tuple[Stability, tuple[Evidence, ...]]] = {}
        self._sym_rules: dict[str | None, tuple[Rule, ...]] = {}

    @classmethod
    def load(cls, user_files: list[str] | tuple[str, ...] = (), builtin: bool = True) -> Policy:
        files = [load_policy_file(p) for p in user_files]
        if builtin:
            files += builtin_policies()
        return cls(files)

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(f.origin for f in self.files)

    def classify_library(self, key: str, lib: ElfObject | None
                         ) -> tuple[Stability, tuple[Evidence, ...]]:
        """Classify a library by its soname (or needed name) and its own evidence."""
        # Keyed on the file, not id(lib): ids are reused once an object is freed.
        cache_key = (key, lib.path, lib.member) if lib is not None else (key,)
        hit = self._lib_cache.get(cache_key)
        if hit is not None:
            return hit
        names = {key}
        if lib is not None and lib.soname:
            names.add(lib.soname)
        found = library_evidence(lib, lib.soname if lib and lib.soname else key)
        for f in self.files:
            for rule in f.libraries:
                if any(fnmatch.fnmatchcase(n, rule.match) for n in names):
                    ev = rule.evidence(f"library {key}")
                    result = (rule.stability, (ev, *found))
                    self._lib_cache[cache_key] = result
                    return result
        if lib is None and not found:
            result = (Stability.UNKNOWN, (Evidence("default", "library not found: nothing to "
                                                   "read its ABI promise from"),))
        elif not found:
            result = (Stability.UNKNOWN, (Evidence(
                "default", "no soname version, no symbol versions and no policy rule"),))
        else:
            result = (_decide(found), tuple(found))
        self._lib_cache[cache_key] = result
        return result

    def classify_symbol(self, name: str, version: str | None, library_key: str | None,
                        library: tuple[Stability, tuple[Evidence, ...]]
                        ) -> tuple[Stability, tuple[Evidence, ...]]:
        """Classify one bound symbol given its library's classification."""
        rules = self._sym_rules.get(library_key)
        if rules is None:  # the symbol rules for this library, in order (most have none)
            rules = self._sym_rules[library_key] = tuple(
                rule for f in self.files for rule in f.symbols
                if library_key is None or fnmatch.fnmatchcase(library_key, rule.library))
        for rule in rules:
            if not fnmatch.fnmatchcase(name, rule.match):
                continue
            if rule.version is not None and not fnmatch.fnmatchcase(version or "", rule.version):
                continue
            return rule.stability, (rule.evidence(f"symbol {name}"),)
        if version and "PRIVATE" in version.upper():
            return Stability.PRIVATE, (Evidence(
                "private-node", f"version node {version} marks an internal interface",
                Stability.PRIVATE),)
        return library
