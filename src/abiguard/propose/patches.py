"""Consumer patches where the knowledge makes the change mechanical.

* **retire**: the consumer's compatibility code below a minimum library version, removed
  from every source file that tests the library's version macro (:mod:`.unifdef`);
* **replace**: a call of an unstable function whose stable replacement exists, rewritten with
  the argument mapping of the remedies knowledge (``arguments = ["$handle", "$1", "$2"]``):
  the call is found with tree-sitter at the site ``where`` reported, its arguments are taken
  from the syntax tree, ``$handle`` is the consumer's own handle of the stable library (the
  one file-scope variable of that type in its sources, or ``--handle``).

Patches are unified diffs (``patch -p1`` in the source root), one per change, computed as a
series: a patch that touches a file an earlier one touched is made against the earlier
result. :func:`verify` applies the series with GNU ``patch`` to a copy of the files.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import cparse
from ..callsites.conditions import directives, line_conditions
from ..callsites.source import iter_source_files, mentions, names_regex, parse
from ..model import CallSite
from .unifdef import Bound, unifdef

# --------------------------------------------------------------------------------------------
# Files and diffs
# --------------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only (``str.splitlines`` would split at form feeds too)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def unified_diff(rel: str, old: bytes, new: bytes, context: int = 3) -> str:
    """``diff -u`` of one file, with ``a/``/``b/`` prefixes (for ``patch -p1``)."""
    a = _lines(old.decode("utf-8", "surrogateescape"))
    b = _lines(new.decode("utf-8", "surrogateescape"))
    out = []
    for line in difflib.unified_diff(a, b, f"a/{rel}", f"b/{rel}", n=context):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


class Tree:
    """The consumer's source tree with the series' changes so far (in memory)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.changed: dict[str, bytes] = {}
        self.touched_by: dict[str, list[str]] = {}

    def read(self, rel: str) -> bytes:
        if rel in self.changed:
            return self.changed[rel]
        return (self.root / rel).read_bytes()

    def change(self, patch: str, edits: dict[str, bytes]) -> tuple[str, tuple[str, ...]]:
        """Record new contents; return the diff and the earlier patches it applies after."""
        diffs = []
        after: list[str] = []
        for rel in sorted(edits):
            diffs.append(unified_diff(rel, self.read(rel), edits[rel]))
            after += self.touched_by.get(rel, [])
            self.touched_by.setdefault(rel, []).append(patch)
            self.changed[rel] = edits[rel]
        return "".join(diffs), tuple(dict.fromkeys(after))


# --------------------------------------------------------------------------------------------
# Retire: unifdef over the tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retired:
    edits: dict[str, bytes]
    removed_lines: dict[str, frozenset[int]]
    """File -> 0-based lines of the original that are gone."""
    unbalanced: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    """(file, why) for files left alone: retiring would make an ``#error`` unconditional."""
    largest: int | None = None
    """The largest literal the sources compare the macro with."""


def _errors(src: bytes) -> list[tuple[str, bool]]:
    """(text, conditional) of each ``#error`` directive (include guards do not count)."""
    terms = line_conditions(src)
    return [(arg, bool(terms[first])) for first, _, name, arg in directives(src)
            if name == "error"]


def new_unconditional_errors(old: bytes, new: bytes) -> list[str]:
    """The ``#error`` directives that were conditional in ``old`` and are not in ``new``."""
    before = _errors(old)
    out = []
    for text, conditional in _errors(new):
        if not conditional and (text, True) in before and (text, False) not in before:
            out.append(text)
    return out


def retire(tree: Tree, bound: Bound) -> Retired:
    """Every source file testing the macro, with the branches ``bound`` decides retired."""
    rx = names_regex([bound.name])
    edits: dict[str, bytes] = {}
    removed: dict[str, frozenset[int]] = {}
    unbalanced = []
    refused = []
    largest: int | None = None
    compared = re.compile(rb"\b" + re.escape(bound.name.encode()) +
                          rb"\s*(?:[<>]=?|[!=]=)\s*(\d+)|(\d+)\s*(?:[<>]=?|[!=]=)\s*" +
                          re.escape(bound.name.encode()) + rb"\b")
    for path in iter_source_files(tree.root):
        rel = path.relative_to(tree.root).as_posix() if path != tree.root else path.name
        try:
            src = tree.read(rel)
        except OSError:
            continue
        if rx is None or not mentions(rx, src):
            continue
        for first, _, name, arg in directives(src):
            if name in ("if", "elif"):
                for m in compared.finditer(arg.encode()):
                    value = int(m.group(1) or m.group(2))
                    largest = value if largest is None else max(largest, value)
        result = unifdef(src, bound)
        if not result.balanced:
            unbalanced.append(rel)
            continue
        if result.text != src:
            errors = new_unconditional_errors(src, result.text)
            if errors:
                refused.append((rel, (f"retiring would make '#error {errors[0]}' "
                                     "unconditional")))
                continue
            edits[rel] = result.text
            removed[rel] = result.removed
    return Retired(edits, removed, tuple(unbalanced), tuple(refused), largest)


def site_removed(site: CallSite, retired: Retired) -> bool:
    lines = retired.removed_lines.get(site.file)
    return lines is not None and bool(lines) and site.line is not None \
        and (site.line - 1) in lines


# --------------------------------------------------------------------------------------------
# Replace: rewrite a call with the argument mapping
# --------------------------------------------------------------------------------------------

_REF = re.compile(r"\$(?:(handle)|(\d+))$")


def _offset(src: bytes, line: int, column: int) -> int:
    starts = [0] + [m.end() for m in re.finditer(rb"\n", src)]
    start = starts[line - 1]
    end = starts[line] if line < len(starts) else len(src)
    text = src[start:end].decode("utf-8", "surrogateescape")
    return start + len(text[:column - 1].encode("utf-8", "surrogateescape"))


@dataclass(frozen=True, slots=True)
class CallEdit:
    site: CallSite
    ok: bool
    detail: str
    edits: tuple[tuple[int, int, bytes], ...] = ()


def rewrite_call(src: bytes, site: CallSite, new_name: str, arguments: tuple[str, ...],
                 old_arity: int, handle: str | None) -> CallEdit:
    """The edits turning the call at ``site`` into a call of ``new_name``."""
    if site.line is None or site.column is None:
        return CallEdit(site, False, "no line/column")
    tree = parse(src)
    start = _offset(src, site.line, site.column)
    node = tree.root_node.descendant_for_byte_range(start, start + len(site.symbol))
    call = node.parent if node is not None else None
    if node is None or call is None or call.type != "call_expression" or \
            call.child_by_field_name("function") != node:
        return CallEdit(site, False, f"{site.file}:{site.line}: not a plain call of "
                                     f"{site.symbol}")
    args_node = call.child_by_field_name("arguments")
    if args_node is None:
        return CallEdit(site, False, f"{site.file}:{site.line}: a call without arguments "
                                     f"node")
    args = [c for c in args_node.named_children if c.type != "comment"]
    if len(args) != old_arity:
        return CallEdit(site, False, f"{site.file}:{site.line}: {len(args)} argument(s), the "
                                     f"declaration has {old_arity}")
    texts = [src[a.start_byte:a.end_byte] for a in args]
    new: list[bytes] = []
    for a in arguments:
        m = _REF.match(a)
        if m is None:
            new.append(a.encode())
        elif m.group(1):
            if handle is None:
                return CallEdit(site, False, "no handle of the stable library")
            new.append(handle.encode())
        else:
            new.append(texts[int(m.group(2))])
    edits = [(node.start_byte, node.end_byte, new_name.encode())]
    if len(new) == len(args):
        edits += [(a.start_byte, a.end_byte, t) for a, t in zip(args, new)
                  if src[a.start_byte:a.end_byte] != t]
    else:
        edits.append((args_node.start_byte, args_node.end_byte,
                      b"(" + b", ".join(new) + b")"))
    return CallEdit(site, True, "", tuple(edits))


def apply_edits(src: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
        src = src[:start] + text + src[end:]
    return src


def handle_variables(root: str | os.PathLike[str], type_name: str) -> list[str]:
    """Names of the file-scope variables declared ``TYPE *name`` in the sources."""
    rx = names_regex([type_name])
    names: set[str] = set()
    base = Path(root)
    for path in iter_source_files(base):
        try:
            src = path.read_bytes()
        except OSError:
            continue
        if rx is None or not mentions(rx, src):
            continue
        for item in cparse.file_scope(parse(src).root_node):
            if item.type != "declaration" or \
                    cparse.text(item.child_by_field_name("type")) != type_name:
                continue
            for decl in item.children_by_field_name("declarator"):
                d = decl.child_by_field_name("declarator") if decl.type == "init_declarator" \
                    else decl
                if d is not None and d.type == "pointer_declarator":
                    inner = d.child_by_field_name("declarator")
                    if inner is not None and inner.type == "identifier":
                        names.add(cparse.text(inner))
    return sorted(names)


# --------------------------------------------------------------------------------------------
# Verification with GNU patch
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    ok: bool
    message: str
    """Empty when it applied; else what patch said, e.g. ``hw/x.c: Hunk #1 FAILED at 12``."""


def _failure(output: str) -> str:
    current = "?"
    problems = []
    for line in output.splitlines():
        m = re.match(r"(?:checking|patching) file (.+)$", line)
        if m:
            current = m.group(1).strip()
            continue
        m = re.match(r"Hunk #(\d+) FAILED at (\d+)", line)
        if m:
            problems.append(f"{current}: hunk #{m.group(1)} FAILED at line {m.group(2)}")
            continue
        if "can't find file to patch" in line or "No file to patch" in line:
            problems.append(f"{current}: no such file to patch")
        if "Reversed (or previously applied) patch detected" in line:
            problems.append(f"{current}: already applied (reversed patch detected)")
    return "; ".join(dict.fromkeys(problems)) or (output.strip().splitlines() or ["failed"])[-1]


def verify(series: list[tuple[str, str, tuple[str, ...]]], root: str | os.PathLike[str]
           ) -> dict[str, Applied]:
    """Apply ``(name, diff, files)`` in order with ``patch -p1`` to a copy of the touched files
    of ``root``; per patch whether it applied."""
    out: dict[str, Applied] = {}
    if shutil.which("patch") is None:
        return {name: Applied(False, "not checked: GNU patch is not installed")
                for name, _, _ in series}
    with tempfile.TemporaryDirectory(prefix="abiguard-propose-") as tmp:
        for _, _, files in series:
            for rel in files:
                src, dst = Path(root) / rel, Path(tmp) / rel
                if src.is_file() and not dst.exists():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
        for name, diff, _ in series:
            proc = subprocess.run(["patch", "-p1", "--batch", "--forward", ("--no-backup-if-"
                                   "mismatch"), "-r", "-", "-d", tmp],
                                  input=diff.encode("utf-8", "surrogateescape"),
                                  capture_output=True, check=False)
            text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
            out[name] = Applied(proc.returncode == 0, "" if proc.returncode == 0
                                else _failure(text))
    return out


__all__ = ["Applied", "CallEdit", "Retired", "Tree", "apply_edits", "handle_variables",
           "retire", "rewrite_call", "site_removed", "unified_diff", "verify"]
