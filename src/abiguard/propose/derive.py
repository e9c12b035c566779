"""Prototypes for a stable library, derived from the unstable ones and the stable headers.

The unstable declaration (read by :mod:`abiguard.headers`, e.g. ``xenctrl.h``'s
``int xc_physdev_map_pirq(xc_interface *xch, uint32_t domid, int index, int *pirq)``) and the
remedies knowledge (the new name, ``xendevicemodel_map_pirq``, and its argument mapping) give
the new function; the stable library's own header gives its conventions:

* its *handle*: the first parameter most of its functions take (``xendevicemodel_handle
  *dmod``), which replaces the unstable library's handle (``xc_interface *xch``: the first
  parameter type most functions of the unstable header take);
* its parameter types by name (``domid_t domid`` where libxenctrl says ``uint32_t domid``);
* its ``@parm`` descriptions (reused for parameters of the same name).

Nothing here knows about Xen: every convention is counted in the headers given.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from ..headers import Param, Prototype
from ..remedies import Replacement
from .result import ProposedFunction

_REF = re.compile(r"\$(?:(handle)|(\d+)(?::([A-Za-z_]\w*))?)$")
_INTEGER = re.compile(r"(?:(?:un)?signed |const )*(?:[a-z0-9_]+_t|int|long|short|char|"
                      r"unsigned|long long|unsigned int|unsigned long)")


@dataclass(frozen=True, slots=True)
class Doc:
    """A doc comment above a declaration: text before the tags, ``@parm`` and ``@return``."""

    text: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: str | None = None


@dataclass(frozen=True, slots=True)
class Handle:
    param: Param
    """The handle parameter as most functions declare it (type and name)."""
    header: str
    """The header file (relative to its include root) the convention was counted in."""
    count: int = 0
    of: int = 0
    opener: Prototype | None = None
    """A function of that header returning the handle (e.g. ``xc_interface_open``)."""


@dataclass
class Headers:
    """Parsed headers with the roots their file names are relative to."""

    prototypes: dict[str, Prototype]
    roots: tuple[str, ...] = ()
    label: str = ""
    _docs: dict[tuple[str, int], Doc] = field(default_factory=dict)
    _texts: dict[str, list[str] | None] = field(default_factory=dict)

    def lines(self, rel: str) -> list[str] | None:
        if rel not in self._texts:
            found = None
            for root in self.roots:
                p = Path(root) / rel
                if p.is_file():
                    try:
                        found = p.read_text(encoding="utf-8", errors="replace").splitlines()
                    except OSError:
                        found = None
                    break
            self._texts[rel] = found
        return self._texts[rel]

    def doc(self, proto: Prototype) -> Doc:
        key = (proto.file, proto.line)
        if key not in self._docs:
            lines = self.lines(proto.file)
            self._docs[key] = parse_doc(lines, proto.line) if lines else Doc()
        return self._docs[key]

    def in_file(self, rel: str) -> list[Prototype]:
        return [p for p in self.prototypes.values()
                if p.file == rel and p.kind == "declaration"]


def parse_doc(lines: list[str], line: int) -> Doc:
    """The block comment that ends right above line ``line`` (1-based), parsed."""
    i = line - 2
    if i < 0 or not lines[i].rstrip().endswith("*/"):
        return Doc()
    end = i
    while i >= 0 and "/*" not in lines[i]:
        i -= 1
    if i < 0 or end - i > 80:
        return Doc()
    body = []
    for k in range(i, end + 1):
        t = lines[k].strip()
        t = re.sub(r"^/\*+", "", t)
        t = re.sub(r"\*+/$", "", t)
        t = re.sub(r"^\*+ ?", "", t)
        body.append(t.strip())
    text: list[str] = []
    params: dict[str, str] = {}
    returns: str | None = None
    current: str | None = None
    for t in body:
        m = re.match(r"@parm\s+(\w+)\s*(.*)", t)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
            continue
        m = re.match(r"@return\s*(.*)", t)
        if m:
            current = "@return"
            returns = m.group(1).strip()
            continue
        if t.startswith("@"):
            current = "@other"
            continue
        if current is None:
            if t:
                text.append(t)
        elif t and current == "@return":
            returns = f"{returns} {t}".strip()
        elif t and current in params:
            params[current] = f"{params[current]} {t}".strip()
    return Doc(" ".join(text).strip(), params, returns)


def _is_pointer_handle(p: Param) -> bool:
    return p.canon.endswith("*") and p.canon.count("*") == 1 and "(" not in p.canon and \
        not p.canon.startswith(("const ", "char", "void", "int", "unsigned"))


def handle_of_file(headers: Headers, rel: str, prefix: str | None = None) -> Handle | None:
    """The first parameter most declarations of a header take (a pointer to an opaque type)."""
    protos = [p for p in headers.in_file(rel) if prefix is None or p.name.startswith(prefix)]
    firsts = [p.params[0] for p in protos if p.params and _is_pointer_handle(p.params[0])]
    if not firsts:
        return None
    (canon, count), = Counter(p.canon for p in firsts).most_common(1)
    if count * 2 < len(protos):
        return None
    names = Counter(p.name for p in firsts if p.canon == canon and p.name)
    example = next(p for p in firsts if p.canon == canon)
    param = Param(example.type, names.most_common(1)[0][0] if names else None, canon)
    openers = sorted((p for p in headers.in_file(rel)
                      if p.returns_canon == canon and "open" in p.name),
                     key=lambda p: (len(p.name), p.name))
    return Handle(param, rel, count, len(protos), openers[0] if openers else None)


def stable_header(headers: Headers, prefix: str) -> str | None:
    """The header file declaring the most functions named ``prefix*``."""
    files = Counter(p.file for p in headers.prototypes.values()
                    if p.kind == "declaration" and p.name.startswith(prefix))
    return files.most_common(1)[0][0] if files else None


def name_prefix(name: str) -> str:
    """``xendevicemodel_map_pirq`` -> ``xendevicemodel_``."""
    return name.split("_", 1)[0] + "_" if "_" in name else name


@dataclass(frozen=True, slots=True)
class StableConventions:
    header: str
    handle: Handle
    types: dict[str, Param]
    """Parameter name -> the type the header gives it in most functions (3 or more)."""
    docs: dict[str, str]
    """Parameter name -> its most common ``@parm`` description."""


def stable_conventions(headers: Headers, prefix: str) -> StableConventions | None:
    rel = stable_header(headers, prefix)
    if rel is None:
        return None
    handle = handle_of_file(headers, rel, prefix)
    if handle is None:
        return None
    protos = [p for p in headers.in_file(rel) if p.name.startswith(prefix)]
    by_name: dict[str, Counter[str]] = {}
    example: dict[tuple[str, str], Param] = {}
    docs: dict[str, Counter[str]] = {}
    for p in protos:
        for q in p.params:
            if q.name:
                by_name.setdefault(q.name, Counter())[q.canon] += 1
                example.setdefault((q.name, q.canon), q)
        for k, v in headers.doc(p).params.items():
            if v:
                docs.setdefault(k, Counter())[v] += 1
    types = {}
    for name, counts in by_name.items():
        (canon, n), = counts.most_common(1)
        if n >= 3 and n * 2 > sum(counts.values()):
            types[name] = example[(name, canon)]
    return StableConventions(rel, handle, types, {k: c.most_common(1)[0][0]
                                                 for k, c in docs.items()})


def default_arguments(old: Prototype, unstable_handle: Param | None) -> tuple[str, ...]:
    """The old arguments with ``$handle`` in place of the unstable handle."""
    out = []
    for i, p in enumerate(old.params):
        if unstable_handle is not None and p.canon == unstable_handle.canon:
            out.append("$handle")
        else:
            out.append(f"${i}")
    if "$handle" not in out:
        out.insert(0, "$handle")
    return tuple(out)


def _integer(canon: str) -> bool:
    return bool(_INTEGER.fullmatch(canon))


class _Known(TypedDict, total=False):
    """The fields of a ProposedFunction known before its prototype is derived."""

    name: str
    library: str
    replaces: str
    group: str
    part: str | None
    summary: str
    decide: tuple[str, ...]
    old_prototype: str | None
    old_location: str | None


def derive(symbol: str, repl: Replacement, old: Prototype | None, headers: Headers,
           conv: StableConventions | None, unstable_handle: Param | None, *, library: str,
           group: str, part: str | None, existing: set[str] | None = None
           ) -> ProposedFunction:
    """The proposed function ``repl.symbol`` standing for ``symbol``."""
    base: _Known = {"name": repl.symbol, "library": library, "replaces": symbol, "group": group,
                    "part": part, "summary": repl.summary or "",
                    "decide": tuple(repl.decide)}
    if old is None or old.kind == "macro":
        what = "is a macro in" if old is not None else "is not declared in"
        return ProposedFunction(**base, status="no-declaration",
                                detail=f"{symbol} {what} the headers given ({headers.label}): "
                                       "no prototype derived")
    base["old_prototype"] = str(old)
    base["old_location"] = f"{old.file}:{old.line}"
    if conv is None:
        return ProposedFunction(**base, status="no-stable-header",
                                detail=f"no header given declares functions named "
                                       f"{name_prefix(repl.symbol)}* (the stable library's): "
                                       "its handle type is unknown")
    if repl.symbol in (existing or set()) or repl.symbol in headers.prototypes:
        return ProposedFunction(**base, status="exists",
                                detail=f"{repl.symbol} already exists (declared in "
                                       f"{headers.prototypes[repl.symbol].file})"
                                if repl.symbol in headers.prototypes else
                                f"{repl.symbol} is already exported by {library}")
    args = repl.arguments if repl.arguments is not None else \
        default_arguments(old, unstable_handle)
    beyond = [i for i, _ in repl.fixed if i >= len(old.params)]
    if beyond:
        return ProposedFunction(**base, status="bad-mapping", arguments=tuple(args),
                                detail=f"the mapping fixes argument {beyond[0]}, but "
                                       f"{old.name} has only {len(old.params)} parameter(s) "
                                       f"in {old.file}")
    decide = list(repl.decide)
    params: list[Param] = []
    used: dict[int, str] = {}
    fixed = dict(repl.fixed)
    doc = headers.doc(old)
    param_docs: list[tuple[str, str]] = []
    for a in args:
        m = _REF.match(a)
        if m is None:
            return ProposedFunction(**base, status="bad-mapping",
                                    detail=f"argument {a!r} of the mapping is not $handle or $N")
        if m.group(1):
            params.append(conv.handle.param)
            param_docs.append((conv.handle.param.name or "handle",
                               conv.docs.get(conv.handle.param.name or "", "") or
                               f"the {conv.handle.param.type.rstrip(' *')} handle"))
            continue
        idx = int(m.group(2))
        if idx >= len(old.params):
            return ProposedFunction(**base, status="bad-mapping", arguments=tuple(args),
                                    detail=f"the mapping uses ${idx}, but {old.name} has only "
                                           f"{len(old.params)} parameter(s) in {old.file}")
        p = old.params[idx]
        name = m.group(3) or p.name or f"arg{idx}"
        new = Param(p.type, name, p.canon)
        conv_type = conv.types.get(name)
        if conv_type is not None and conv_type.canon != p.canon and _integer(p.canon) and \
                _integer(conv_type.canon):
            new = Param(conv_type.type, name, conv_type.canon)
            decide.append(f"{name} is {conv_type.type} as in the other {conv.header} "
                          f"functions ({p.type} in {old.name})")
        params.append(new)
        used[idx] = name
        described = doc.params.get(p.name or "") or (conv.docs.get(name)
                                                      if name in conv.types else None)
        if not described:
            described = f"as {p.name} of {old.name}()" if p.name and p.name != name else \
                f"as in {old.name}()"
        elif p.name and p.name != name:
            described = f"{described} ({p.name} of {old.name}())"
        param_docs.append((name, described))
    forward_args = []
    for i, p in enumerate(old.params):
        if i in used:
            forward_args.append(used[i])
        elif i in fixed:
            forward_args.append(fixed[i])
        elif unstable_handle is not None and p.canon == unstable_handle.canon:
            forward_args.append(unstable_handle.name or "handle")
        else:
            forward_args.append("0")
            decide.append(f"no value for {p.name or f'parameter {i}'} of {old.name}(): the "
                          "forwarding passes 0")
    if old.variadic:
        decide.append(f"{old.name}() is variadic: the forwarding passes no variable arguments")
    dropped = [f"{old.params[i].name or i} = {v}" for i, v in sorted(fixed.items())]
    proto = Prototype(repl.symbol, old.returns, tuple(params), False, "declaration",
                      returns_canon=old.returns_canon)
    summary = repl.summary or doc.text or f"Stable replacement for {old.name}()."
    same = [a for a in args if a != "$handle"] == [
        f"${i}" for i, p in enumerate(old.params)
        if unstable_handle is None or p.canon != unstable_handle.canon]
    how = "the same arguments" if same else "the arguments " + ", ".join(
        (q.name or "") + (f" ({old.params[i].name})" if old.params[i].name not in (None, q.name)
                  else "")
        for q, a in zip(params, args) if a != "$handle"
        for i in [int(_REF.match(a).group(2))])  # type: ignore[union-attr]
    lines = [summary, "",
             f"Replaces {old.name}() of the ABI-unstable library ({old.file}); {how}"
             + (f", with {conv.handle.param.declaration()} in place of "
                f"{unstable_handle.declaration()}" if unstable_handle is not None else "")
             + (f"; {', '.join(dropped)} is implied" if dropped else "") + ".", ""]
    lines += [f"@parm {n} {d}" for n, d in param_docs]
    ret = doc.returns or f"as {old.name}() returns."
    if old.returns_canon != "void":
        lines.append(f"@return {ret}")
    base["decide"] = tuple(dict.fromkeys(decide))
    return ProposedFunction(**base, status="proposed", prototype=str(proto), arguments=tuple(args),
                            forward=f"{old.name}({', '.join(forward_args)})",
                            doc=doc_comment(lines))


def doc_comment(lines: list[str], width: int = 78) -> str:
    """A ``/** … */`` comment of wrapped lines (``@parm`` continuations indented)."""
    out = ["/**"]
    for line in lines:
        words = line.replace("*/", "* /").split()
        if not words:
            out.append(" *")
            continue
        cont = "       " if line.startswith("@") else ""
        cur = " * " + words[0]
        for w in words[1:]:
            if len(cur) + 1 + len(w) > width:
                out.append(cur)
                cur = " * " + cont + w
            else:
                cur += " " + w
        out.append(cur)
    out.append(" */")
    return "\n".join(out)


__all__ = ["Doc", "Handle", "Headers", "StableConventions", "default_arguments", "derive",
           "doc_comment", "handle_of_file", "name_prefix", "parse_doc", "stable_conventions",
           "stable_header"]
