"""The built-in policy files (``abiguard/data/policies``) as every scan reads them: from their
compiled form, :data:`COMPILED`, made by scripts/compile-policies.py and held to the files by
tests/policy/test_builtin.py.

* A TOML file's data as tomllib reads it, in JSON: read in a tenth of the time, and a scan
  does not import tomllib.
* A history of :func:`abiguard.policy.files.generated_parts`'s layout (the 2 MB
  ``debian-history.json``): its top-level data, each family's ``match`` and where each
  family's line starts in the file. The file is read as bytes and a family's line decoded
  when it is looked up, as :class:`~abiguard.policy.files.GeneratedHistory` does with the
  lines of the file parsed (splitting and checking its lines took ~10 ms of every scan).

A file's compiled form is taken only for the bytes it was made from (their size and CRC-32);
a file changed since, or missing from it, is parsed as it is: the policy is the same either
way.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Sequence
from typing import Any, overload

from ..limits import toml_loads
from .files import (
    BUILTIN_DIR,
    GeneratedHistory,
    PolicyFile,
    generated_parts,
    parse_policy,
    policy_from_data,
)

COMPILED = os.path.join(os.path.dirname(BUILTIN_DIR), "compiled-policies.json")
"""The compiled form of the built-in files, by file name (see the module's docstring)."""


class Lines(Sequence[str]):
    """The lines of a file in memory, each decoded when asked for: line ``i`` is
    ``raw[starts[i]:starts[i + 1] - 1]`` (without its newline)."""

    def __init__(self, raw: bytes, starts: list[int]) -> None:
        self._raw = raw
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._raw[self._starts[i]:self._starts[i + 1] - 1].decode("utf-8")


def _read(path: str) -> tuple[bytes, str]:
    """A file's bytes, and its text as a text-mode read gives it (universal newlines)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    with open(path, encoding="utf-8") as fh:
        return raw, fh.read()


def _compile(name: str, raw: bytes, text: str) -> dict[str, Any] | None:
    """The compiled form of one built-in file (None: none, it is parsed as it is)."""
    entry: dict[str, Any] = {"size": len(raw), "crc32": zlib.crc32(raw)}
    if name.endswith(".toml"):
        entry["data"] = toml_loads(text, f"built-in:{name}")
        return entry
    parts = generated_parts(text) if name.endswith(".json") and b"\r" not in raw else None
    if parts is None:
        return None
    head, entries, matches = parts
    lines = raw.split(b"\n")
    starts, at = [], len(lines[0]) + 1
    for line in lines[1:-1]:  # (each entry's line, then the closing "]}" line)
        starts.append(at)
        at += len(line) + 1
    if len(starts) != len(entries) + 1 or \
            Lines(raw, starts)[:] != entries:  # (as the text's lines)
        return None
    entry.update(head=head, starts=starts, matches=matches)
    return entry


def compiled_policies(directory: str = BUILTIN_DIR) -> str:
    """The text of :data:`COMPILED` for the files of ``directory``: one line per file, and a
    history's ``match`` of each family on a line of its own."""
    out = []
    for name in sorted(os.listdir(directory)):
        entry = _compile(name, *_read(os.path.join(directory, name)))
        if entry is None:
            continue
        matches = entry.pop("matches", None)
        text = json.dumps(entry, separators=(",", ":"))
        if matches is not None:
            text = text[:-1] + ',"matches":[\n' + ",\n".join(
                json.dumps(m, separators=(",", ":")) for m in matches) + "]}"
        out.append(json.dumps(name) + ":" + text)
    note = ("abiguard's built-in policy files (data/policies) compiled: "
            "abiguard.policy.builtin; written by scripts/compile-policies.py, do not edit")
    return '{"note":' + json.dumps(note) + ',"files":{\n' + ",\n".join(out) + "}}\n"


def _compiled() -> dict[str, Any]:
    """The entries of :data:`COMPILED` by file name ({}: none, or not readable)."""
    try:
        with open(COMPILED, encoding="utf-8") as fh:
            files = json.load(fh).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _from_compiled(entry: object, raw: bytes, origin: str) -> PolicyFile | None:
    """The policy file of ``raw`` from its compiled form (None: it was made from other
    bytes, or is not of a known form)."""
    if not isinstance(entry, dict) or entry.get("size") != len(raw) or \
            entry.get("crc32") != zlib.crc32(raw):
        return None
    data = entry.get("data")
    if isinstance(data, dict):
        return policy_from_data(data, origin)
    head, starts, matches = entry.get("head"), entry.get("starts"), entry.get("matches")
    if isinstance(head, dict) and isinstance(starts, list) and isinstance(matches, list) \
            and len(starts) == len(matches) + 1:
        return policy_from_data(head, origin,
                                GeneratedHistory(Lines(raw, starts), matches, origin))
    return None


def builtin_policies() -> list[PolicyFile]:
    """The policy files shipped in abiguard/data/policies (.toml and .json), by name, each
    from its compiled form when it was made from the file as it is."""
    out = []
    compiled = _compiled()
    for name in sorted(os.listdir(BUILTIN_DIR)):
        if name.endswith((".toml", ".json")):
            path = os.path.join(BUILTIN_DIR, name)
            origin = f"built-in:{name}"
            with open(path, "rb") as fh:
                raw = fh.read()
            policy = _from_compiled(compiled.get(name), raw, origin)
            if policy is None:
                with open(path, encoding="utf-8") as fh:
                    policy = parse_policy(fh.read(), origin)
            out.append(policy)
    return out


__all__ = ["COMPILED", "Lines", "builtin_policies", "compiled_policies"]
