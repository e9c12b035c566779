"""Function declarations of C headers, and how a prototype changed between two versions.

``parse_headers([dir_or_file, …])`` reads every ``*.h`` with tree-sitter-c (no preprocessor:
declarations under every ``#if`` branch are seen; the first one of a name wins and keeps its
condition) and returns name -> :class:`Prototype` for

* function declarations (``int xc_f(xc_interface *xch, uint32_t domid);``),
* inline function definitions in headers (``kind = "inline"``),
* function-like and object-like macros (``kind = "macro"``: a function replaced by a macro
  of the same name stays source compatible).

``compare(old, new)`` says what changed: ``same``; ``compatible`` (only parameter names
changed, e.g. ``int bus`` -> ``int segbus``); ``changed`` (return type, a parameter's type,
parameters added or removed, variadic); ``gone`` (no longer declared); ``unknown`` (no old
declaration to compare with). Types are compared as written after normalising spaces and the
spelling of integer types (``unsigned`` = ``unsigned int``, ``long int`` = ``long``); a typedef
whose definition changed, or a struct whose layout changed, is *not* seen: that needs the DWARF
of both builds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from . import cparse
from .cparse import function_declarator, text
from .errors import UsageError

if TYPE_CHECKING:
    from tree_sitter import Node

# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    type: str
    """The type as written, spaces normalised (``const char *``, ``int (*)(void *)``)."""
    name: str | None = None
    canon: str = ""
    """Canonical spelling used for comparison."""

    def declaration(self) -> str:
        """The parameter as C declares it: ``int *pirq``, ``int (*cb)(void *)``."""
        return _with_name(self)


@dataclass(frozen=True, slots=True)
class Prototype:
    name: str
    returns: str = ""
    params: tuple[Param, ...] = ()
    variadic: bool = False
    kind: str = "declaration"
    """declaration | inline | macro."""
    file: str = ""
    line: int = 0
    condition: str | None = None
    """The innermost ``#if``/``#ifdef`` it sits under."""
    returns_canon: str = ""

    @property
    def signature(self) -> str:
        """Canonical form without parameter names."""
        if self.kind == "macro":
            return f"#define {self.name}({', '.join(p.name or '' for p in self.params)})"
        ps = [p.canon for p in self.params] + (["..."] if self.variadic else [])
        return f"{self.returns_canon} {self.name}({','.join(ps) or 'void'})"

    def __str__(self) -> str:
        if self.kind == "macro":
            return f"#define {self.name}" + (
                f"({', '.join(p.name or '' for p in self.params)})" if self.params else "")
        ps = [_with_name(p) for p in self.params]
        if self.variadic:
            ps.append("...")
        ret = self.returns
        sep = "" if ret.endswith("*") else " "
        return f"{ret}{sep}{self.name}({', '.join(ps) or 'void'})"


def _with_name(p: Param) -> str:
    if not p.name:
        return p.type
    if "(*)" in p.type:
        return p.type.replace("(*)", f"(*{p.name})", 1)
    if p.type.endswith("]"):
        i = p.type.index("[")
        return f"{p.type[:i]}{'' if p.type[:i].endswith('*') else ' '}{p.name}{p.type[i:]}"
    return f"{p.type}{'' if p.type.endswith('*') else ' '}{p.name}"


ProtoStatus = Literal["same", "compatible", "changed", "gone", "unknown"]


@dataclass(frozen=True, slots=True)
class ProtoChange:
    status: ProtoStatus
    """same | compatible | changed | gone | unknown."""
    changes: tuple[str, ...] = ()
    old: str | None = None
    new: str | None = None
    old_location: str | None = None
    new_location: str | None = None


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_SKIP = {"attribute_specifier", "storage_class_specifier", "comment", "ms_declspec_modifier",
         "attribute_declaration", "gnu_asm_expression", "ms_call_modifier"}
_INT_WORDS = {"signed", "unsigned", "short", "long", "int", "char"}
_QUALS = {"const", "volatile", "restrict", "__restrict", "__restrict__", "_Atomic"}


def _tokens(node: Node, skip_ids: set[int]) -> list[str]:
    """Leaf tokens of a node, without attributes, storage classes and the named identifier."""
    if node.type in _SKIP or node.id in skip_ids:
        return []
    if node.child_count == 0:
        leaf = text(node)
        return [leaf] if leaf.strip() else []
    out: list[str] = []
    for c in node.children:
        out += _tokens(c, skip_ids)
    return out


def _canon_ints(words: list[str]) -> list[str]:
    """``unsigned`` -> ``unsigned int``; ``long int`` -> ``long``; qualifiers first, sorted."""
    quals = sorted(w for w in words if w in _QUALS)
    ints = [w for w in words if w in _INT_WORDS]
    rest = [w for w in words if w not in _QUALS and w not in _INT_WORDS]
    if ints and not rest:
        sign = "unsigned" if "unsigned" in ints else ("signed" if "signed" in ints and
                                                      "char" in ints else "")
        longs = ints.count("long")
        size = "char" if "char" in ints else "short" if "short" in ints else \
            "long long" if longs >= 2 else "long" if longs == 1 else "int"
        return quals + ([sign] if sign else []) + [size]
    return quals + rest + ints


def canon_type(tokens: list[str]) -> str:
    """Canonical text of a type from its tokens (no spaces around punctuation)."""
    head: list[str] = []
    i = 0
    while i < len(tokens) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tokens[i]):
        head.append(tokens[i])
        i += 1
    words = _canon_ints(head) + tokens[i:]
    text = " ".join(words)
    return re.sub(r"\s*([*()\[\],])\s*", r"\1", text)


def display_type(tokens: list[str]) -> str:
    out = ""
    prev = ""
    for t in tokens:
        if not out:
            out = t
        elif t in (")", "]", ",", "["):
            out += t
        elif t == "*":
            out += "*" if prev in ("(", "*") else " *"
        elif prev in ("(", "[", "*"):
            out += t
        elif t == "(":
            out += " ("
        else:
            out += " " + t
        prev = t
    return out.replace(") (", ")(")


def _param_name(node: Node | None) -> Node | None:
    """The identifier a parameter declarator names (not inside nested parameter lists)."""
    if node is None:
        return None
    if node.type == "identifier":
        return node
    if node.type == "parameter_list":
        return None
    for c in node.children:
        found = _param_name(c)
        if found is not None:
            return found
    return None


def _params(fdecl: Node) -> tuple[tuple[Param, ...], bool]:
    plist = fdecl.child_by_field_name("parameters")
    params: list[Param] = []
    variadic = False
    if plist is None:
        return (), False
    for c in plist.named_children:
        if c.type == "variadic_parameter":
            variadic = True
            continue
        if c.type != "parameter_declaration":
            continue
        ident = _param_name(c.child_by_field_name("declarator"))
        toks = _tokens(c, {ident.id} if ident is not None else set())
        params.append(Param(display_type(toks), text(ident) if ident else None,
                            canon_type(toks)))
    if len(params) == 1 and params[0].canon == "void" and params[0].name is None:
        params = []
    return tuple(params), variadic


def _condition(node: Node) -> str | None:
    p = node.parent
    while p is not None:
        if p.type in ("preproc_if", "preproc_elif"):
            cond = p.child_by_field_name("condition")
            return "#if " + " ".join(text(cond).split()) if cond else None
        if p.type in ("preproc_ifdef", "preproc_elifdef"):
            name = p.child_by_field_name("name")
            kw = text(p.children[0]) if p.children else "#ifdef"
            return f"{kw} {text(name)}" if name else None
        if p.type == "preproc_else":
            q = p.parent
            if q is not None and q.type in ("preproc_if", "preproc_ifdef"):
                inner = _condition(p)
                return f"not ({inner})" if inner else None
        p = p.parent
    return None


def _from_declaration(node: Node, file: str, out: dict[str, Prototype]) -> None:
    decls = node.children_by_field_name("declarator")
    declarator_ids = {d.id for d in decls}
    base = [c for c in node.children if c.id not in declarator_ids and c.type not in _SKIP
            and c.type not in (";", "compound_statement")]
    base_tokens: list[str] = []
    for c in base:
        base_tokens += _tokens(c, set())
    kind = "inline" if node.type == "function_definition" else "declaration"
    for d in decls:
        found = function_declarator(d)
        if found is None:
            continue
        fdecl, ident, depth, quals = found
        name = text(ident)
        if name in out:
            continue
        params, variadic = _params(fdecl)
        rtoks = base_tokens + ["*"] * depth + quals
        out[name] = Prototype(name, display_type(rtoks), params, variadic, kind, file,
                              node.start_point[0] + 1, _condition(node), canon_type(rtoks))


def _from_macro(node: Node, file: str, out: dict[str, Prototype]) -> None:
    ident = node.child_by_field_name("name")
    if ident is None:
        return
    name = text(ident)
    if name in out:
        return
    params: tuple[Param, ...] = ()
    pnode = node.child_by_field_name("parameters")
    if pnode is not None:
        params = tuple(Param("", text(c), "") for c in pnode.named_children)
    out[name] = Prototype(name, "", params, False, "macro", file, node.start_point[0] + 1,
                          _condition(node))


def parse_header_text(src: bytes | str, file: str = "<header>") -> dict[str, Prototype]:
    """Functions (and macros) a header declares, by name."""
    if isinstance(src, str):
        src = src.encode()
    tree = cparse.parse(src, needed_for="comparing headers")
    out: dict[str, Prototype] = {}
    macros: dict[str, Prototype] = {}
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        t = node.type
        if t in ("declaration", "function_definition"):
            _from_declaration(node, file, out)
            continue
        if t in ("preproc_function_def", "preproc_def"):
            _from_macro(node, file, macros)
            continue
        if t in ("compound_statement", "struct_specifier", "union_specifier",
                 "enum_specifier", "type_definition"):
            continue
        stack.extend(reversed(node.children))
    for name, m in macros.items():
        out.setdefault(name, m)
    return out


def header_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs.sort()
                files += [Path(root) / n for n in sorted(names) if n.endswith(".h")]
        elif p.is_file():
            files.append(p)
        else:
            raise UsageError(f"{p}: no such header file or directory")
    return files


def parse_headers(paths: Iterable[str | Path], root: str | Path | None = None
                  ) -> dict[str, Prototype]:
    """All declarations of the headers below the given directories/files. File names in the
    result are relative to ``root`` (or to each given directory)."""
    out: dict[str, Prototype] = {}
    for p in paths:
        base = Path(root) if root else (Path(p) if Path(p).is_dir() else Path(p).parent)
        for f in header_files([p]):
            try:
                data = f.read_bytes()
            except OSError:
                continue
            rel = os.path.relpath(f, base)
            for name, proto in parse_header_text(data, rel).items():
                if name not in out or (out[name].kind == "macro" and proto.kind != "macro"):
                    out[name] = proto
    return out


# --------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------


def _loc(p: Prototype | None) -> str | None:
    return f"{p.file}:{p.line}" if p is not None and p.file else None


def compare(old: Prototype | None, new: Prototype | None) -> ProtoChange:
    """How a function's declaration changed between two header versions."""
    if old is None and new is None:
        return ProtoChange("unknown", ("not declared in either header set",))
    if old is None:
        assert new is not None
        return ProtoChange("unknown", ("not declared in the old headers",), None, str(new),
                           None, _loc(new))
    if new is None:
        return ProtoChange("gone", ("no longer declared in the new headers",), str(old), None,
                           _loc(old), None)
    changes: list[str] = []
    if old.kind == "macro" or new.kind == "macro":
        if old.kind != new.kind:
            changes.append(f"now a {'macro' if new.kind == 'macro' else 'function'} "
                           f"(was a {'macro' if old.kind == 'macro' else 'function'})")
            how: ProtoStatus = "changed" if len(old.params) != len(new.params) \
                else "compatible"
            return ProtoChange(how, tuple(changes), str(old), str(new), _loc(old), _loc(new))
        if len(old.params) != len(new.params):
            changes.append(f"macro arguments {len(old.params)} -> {len(new.params)}")
        return ProtoChange("changed" if changes else "same", tuple(changes), str(old),
                           str(new), _loc(old), _loc(new))
    breaking = False
    if old.returns_canon != new.returns_canon:
        changes.append(f"return type changed: {old.returns} -> {new.returns}")
        breaking = True
    op, np_ = old.params, new.params
    if len(op) == len(np_):
        for i, (a, b) in enumerate(zip(op, np_), 1):
            label = f"parameter {i}"
            if a.canon != b.canon:
                changes.append(f"{label}" + (f" ({a.name})" if a.name else "")
                               + f" type changed: {a.type} -> {b.type}")
                breaking = True
            elif a.name != b.name and a.name and b.name:
                changes.append(f"{label} renamed: {a.name} -> {b.name}")
    else:
        breaking = True
        old_names = [p.name for p in op]
        new_names = [p.name for p in np_]
        named = all(old_names) and all(new_names)
        if named:
            for i, p in enumerate(np_, 1):
                if p.name not in old_names:
                    changes.append(f"parameter added: {p.type} {p.name} (position {i})")
            for i, p in enumerate(op, 1):
                if p.name not in new_names:
                    changes.append(f"parameter removed: {p.type} {p.name} (position {i})")
            for p in op:
                q = next((x for x in np_ if x.name == p.name), None)
                if q is not None and q.canon != p.canon:
                    changes.append(f"parameter {p.name} type changed: {p.type} -> {q.type}")
        if not named or not changes:
            changes.append(f"parameters: {len(op)} -> {len(np_)}")
    if old.variadic != new.variadic:
        changes.append("now variadic" if new.variadic else "no longer variadic")
        breaking = True
    if old.kind != new.kind:
        changes.append(f"now {'an inline function' if new.kind == 'inline' else 'a declaration'}"
                       f" in the header")
    status: ProtoStatus = "changed" if breaking else ("compatible" if changes else "same")
    return ProtoChange(status, tuple(changes), str(old), str(new), _loc(old), _loc(new))


__all__ = ["Param", "ProtoChange", "Prototype", "canon_type", "compare", "header_files",
           "parse_header_text", "parse_headers"]
