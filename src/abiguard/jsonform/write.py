"""Writing schema 2 (:func:`dumps`): encoders generated from the dataclasses on first use,
one line per binding, library, evidence item (see the package's docstring); consumers'
texts written ahead of their audit (:class:`Ahead`)."""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from collections.abc import Callable
from typing import Any, Literal

from ..model import SCHEMA_VERSION, Audit, Binding, Consumer, Library
from .rules import (
    EXPR_NAMES,
    FILE_FIELDS,
    FILES,
    LIBRARY,
    LOCK,
    REF_ATTRS,
    SPLICED,
    deriver,
    is_dataclass_value,
    is_line,
    model_fields,
    optional_arg,
    scalar_hint,
    versioned,
)

_str = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii=True)
_int = int.__repr__
_NS = {**EXPR_NAMES, "_str": _str, "_int": _int}


def _inline(v: Any, compact: bool) -> str:
    """Any value on one line (model objects through their encoders)."""
    t = type(v)
    if t is str:
        return _str(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return _int(v)
    if isinstance(v, enum.Enum):
        return _inline(v.value, compact)
    if is_dataclass_value(v):
        return _line_encoder(t, compact)(v, None)
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join([_inline(x, compact) for x in v]) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join([_str(str(k)) + ": " + _inline(x, compact)
                                for k, x in v.items()]) + "}"
    if isinstance(v, str):
        return _str(v)
    return json.dumps(v)  # float, int subclasses; anything else is a TypeError, as before


def _splice(v: tuple[Any, ...], dv: tuple[Any, ...], item: Callable[[Any], str]) -> str:
    """A spliced array: ``dv`` (non-empty, contiguous in ``v``) written as the marker."""
    n = len(dv)
    if n:
        for i in range(len(v) - n + 1):
            if v[i:i + n] == dv:
                parts = [item(x) for x in v[:i]] + [_str(LIBRARY)] + \
                        [item(x) for x in v[i + n:]]
                return "[" + ", ".join(parts) + "]"
    return "[" + ", ".join([item(x) for x in v]) + "]"


_LINES: dict[tuple[type, bool, tuple[str, ...] | None], Callable[[Any, Any], str]] = {}



def _busy(o: Any, ref: Any) -> str:
    raise RuntimeError("encoder of a type that contains itself")


def _value_code(hint: Any, var: str, ns: dict[str, Any], compact: bool) -> str:
    """A Python expression writing ``var`` (of type ``hint``) on one line."""
    c = "True" if compact else "False"
    if hint is str or (typing.get_origin(hint) is Literal
                       and all(type(w) is str for w in typing.get_args(hint))):
        return f"_str({var})"
    if hint is bool:
        return f"('true' if {var} else 'false')"
    if hint is int:
        return f"(_int({var}) if {var}.__class__ is int else _inline({var}, {c}))"
    opt = optional_arg(hint)
    if opt is not None:
        return f"('null' if {var} is None else {_value_code(opt, var, ns, compact)})"
    if isinstance(hint, type) and issubclass(hint, enum.Enum) and issubclass(hint, str):
        return f"_str({var})"  # a str enum is its value
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            if args[0] is str:
                return f"('[' + ', '.join(map(_str, {var})) + ']')"
            item = _value_code(args[0], "x", ns, compact)
            return f"('[' + ', '.join([{item} for x in {var}]) + ']')"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) \
            and _LINES.get((hint, compact, None)) is not _busy:
        inline = _flat_code(hint, var, ns, compact)
        if inline is not None:
            return inline
        name = f"_e_{hint.__name__}_{id(hint)}"
        ns[name] = _line_encoder(hint, compact)
        return f"{name}({var}, None)"
    return f"_inline({var}, {c})"


def _flat_code(cls: type, var: str, ns: dict[str, Any], compact: bool) -> str | None:
    """An expression writing a small object of scalar fields (a symbol) in place, without a
    call; None for other types."""
    fields = model_fields(cls)
    if not (0 < len(fields) <= 3) or not all(scalar_hint(f.hint) for f in fields) \
            or any(f.derived or f.first for f in fields) \
            or fields[0].default is not dataclasses.MISSING:
        return None
    parts = []
    for i, f in enumerate(fields):
        key = repr(("{" if i == 0 else ", ") + json.dumps(f.name) + ": ")
        val = _value_code(f.hint, f"{var}.{f.name}", ns, compact)
        if not compact or f.default is dataclasses.MISSING:
            parts.append(f"{key} + {val}")
        else:
            ns[f"_f{id(cls)}_{i}"] = f.default
            cond = (f"{var}.{f.name} is None" if f.default is None
                    else f"{var}.{f.name} == _f{id(cls)}_{i}")
            parts.append(f"('' if {cond} else {key} + {val})")
    return "(" + " + ".join(parts) + " + '}')"


def _line_encoder(cls: type, compact: bool, only: tuple[str, ...] | None = None
                  ) -> Callable[[Any, Any], str]:
    """A generated function writing an object of ``cls`` on one line; its second argument
    is the object's ``ref`` (see :data:`DERIVED`). ``only``: just these fields, and no
    derived ones (an entry of the library files)."""
    key = (cls, compact, only)
    fn = _LINES.get(key)
    if fn is not None and fn is not _busy:
        return fn
    with LOCK:  # (threads of a census worker; _busy inside: this thread's recursion)
        fn = _LINES.get(key)
        return fn if fn is not None else _generate(cls, compact, only, key)


def _generate(cls: type, compact: bool, only: tuple[str, ...] | None,
              key: tuple[type, bool, tuple[str, ...] | None]) -> Callable[[Any, Any], str]:
    _LINES[key] = _busy
    ns: dict[str, Any] = {**_NS, "_inline": _inline, "_splice": _splice}
    fields = [f for f in model_fields(cls) if only is None or f.name in only]
    if not compact:
        parts = [f"{json.dumps(f.name) + ': '!r} + {_value_code(f.hint, 'o.' + f.name, ns, False)}"
                 for f in fields]
        body = "    return '{' + " + " + ', ' + ".join(parts) + " + '}'" if parts \
            else "    return '{}'"
    else:
        lines = ["    p = []", "    a = p.append"]
        for i, f in enumerate(fields):
            key_text = repr(json.dumps(f.name) + ": ")
            val = _value_code(f.hint, "v", ns, True)
            lines.append(f"    v = o.{f.name}")
            if f.first:
                cond = None
            elif f.derived is not None and only is None:
                lines.append(f"    dv = {f.derived}")
                cond = "v is not dv and v != dv"
                if (cls, f.name) in SPLICED:
                    item = _value_code(typing.get_args(f.hint)[0], "x", ns, True)
                    ns[f"_i{i}"] = eval(f"lambda x: {item}", ns)
                    val = f"_splice(v, dv, _i{i})"
            elif f.default is dataclasses.MISSING:
                cond = None
            elif f.default is None:
                cond = "v is not None"
            elif f.default == () and typing.get_origin(f.hint) is tuple:
                cond = "v"
            else:
                ns[f"_d{i}"] = f.default
                cond = f"v != _d{i}"
            if cond is None:
                lines.append(f"    a({key_text} + {val})")
            else:
                lines.append(f"    if {cond}:")
                lines.append(f"        a({key_text} + {val})")
        lines.append("    return '{' + ', '.join(p) + '}'")
        body = "\n".join(lines)
    exec(f"def enc(o, ref):\n{body}\n", ns)  # noqa: S102 — generated from the dataclass
    fn: Callable[[Any, Any], str] = ns["enc"]
    _LINES[key] = fn
    return fn


def _token(v: Any) -> Any:
    """``v`` itself when it is a string, an enum or None (equal values, one token), else its
    id (equal tuples that are not the same object only make two tokens)."""
    return v if v is None or isinstance(v, (str, enum.Enum)) else id(v)


class _Writer:
    def __init__(self, indent: int | None, ahead: Ahead | None = None) -> None:
        self.step = "" if indent is None else " " * indent
        self.kept: dict[int, str] = {}  # the text of each (binding, library view)
        self.views: dict[tuple[int, ...], int] = {}
        self.ahead = ahead
        self.same: dict[tuple[int, int], bool] = {}  # (library file, ahead's ref): equal

    def value(self, v: Any, ind: str | None, compact: bool) -> str:
        """``v`` at indentation ``ind`` (None: on one line)."""
        if is_dataclass_value(v):
            cls = type(v)
            if cls is Audit:
                return self.obj(v, ind, True)
            if is_line(cls):
                return _line_encoder(cls, compact)(v, None)
            return self.obj(v, ind, compact)
        if isinstance(v, (tuple, list)):
            if not v:
                return "[]"
            if ind is None or not any(isinstance(x, (tuple, list, dict))
                                      or is_dataclass_value(x) for x in v):
                return "[" + ", ".join([self.value(x, None, compact) for x in v]) + "]"
            inner = ind + self.step
            return self.seq([self.value(x, inner, compact) for x in v], ind)
        if isinstance(v, dict):
            return self.items([(str(k), x) for k, x in v.items()], ind, compact)
        return _inline(v, compact)

    def seq(self, texts: list[str], ind: str | None, brackets: str = "[]") -> str:
        """An array (or object) of items already written."""
        return "".join(self.seq_parts(texts, ind, brackets))

    def seq_parts(self, texts: list[str], ind: str | None, brackets: str = "[]"
                  ) -> list[str]:
        """:meth:`seq` as the strings to join, for a caller that joins them with more (each
        text is copied once: the consumers of a large audit are megabytes)."""
        if not texts:
            return [brackets]
        if ind is None:
            sep, head, tail = ", ", brackets[0], brackets[1]
        else:
            inner = ind + self.step
            sep, head, tail = ",\n" + inner, brackets[0] + "\n" + inner, "\n" + ind + brackets[1]
        parts = [sep] * (2 * len(texts) + 1)
        parts[1::2] = texts
        parts[0] = head
        parts[-1] = tail
        return parts

    def items(self, items: list[tuple[str, Any]], ind: str | None, compact: bool,
              texts: dict[str, str | list[str]] | None = None, end: str = "") -> str:
        """An object of these (name, value) items (``texts``: the values of some already
        written, as a string or the strings to join), followed by ``end``, in one join."""
        if not items:
            return "{}" + end
        if ind is None:
            inner, sep, head, tail = None, ", ", "{", "}"
        else:
            inner = ind + self.step
            sep, head, tail = ",\n" + inner, "{\n" + inner, "\n" + ind + "}"
        parts: list[str] = []
        add = parts.append
        for k, x in items:
            add(sep)
            add(_str(k))
            add(": ")
            if texts and k in texts:
                text = texts[k]
                if isinstance(text, list):
                    parts.extend(text)
                else:
                    add(text)
            else:
                add(self.value(x, inner, compact))
        parts[0] = head
        add(tail + end)
        return "".join(parts)

    def obj(self, o: Any, ind: str | None, compact: bool, ctx: Any = None, end: str = ""
            ) -> str:
        """An expanded object, followed by ``end``; ``ctx``: the library files of its audit
        (for a consumer)."""
        cls = type(o)
        items: list[tuple[str, Any]] = []
        ver = versioned(cls)
        for f in model_fields(cls):
            v = getattr(o, f.name)
            if f.name == "schema" and ver:
                v = SCHEMA_VERSION
            elif compact and not ver:  # (a result's own fields: all written)
                if f.derived is not None:
                    if v == deriver(cls, f)(o, None):
                        continue
                elif f.default is not dataclasses.MISSING and v == f.default:
                    continue
            items.append((f.name, v))
        texts: dict[str, str | list[str]] = {}
        if compact:
            inner = None if ind is None else ind + self.step
            if cls is Audit:
                files: dict[str, Library] = {}
                for c in o.consumers:
                    for lib in c.libraries:
                        if lib.path is not None:
                            files.setdefault(lib.path, lib)
                deeper = None if inner is None else inner + self.step
                ahead = self.ahead
                if ahead is not None and not (ahead.pieces and ahead.fits(self.step, deeper)):
                    ahead = None
                texts["consumers"] = self.seq_parts([(ahead and self.written(c, ahead, files))
                                               or self.obj(c, deeper, True, files)
                                               for c in o.consumers], inner)
                if files:
                    enc = _line_encoder(Library, True, FILE_FIELDS)
                    items.append((FILES, None))
                    texts[FILES] = self.seq([_str(path) + ": " + enc(lib, None)
                                             for path, lib in files.items()], inner, "{}")
            elif cls is Consumer:
                texts["libraries"] = self.libraries(o, inner, ctx or {})
                texts["bindings"] = self.bindings(o, inner)
        return self.items(items, ind, compact, texts, end)

    def written(self, c: Consumer, ahead: Ahead, files: dict[str, Library]) -> str | None:
        """The text of ``c`` written ahead, when it is the text :meth:`obj` would write
        here: each library file it was written against equal (:data:`FILE_FIELDS`) to the
        document's (``files``); else None."""
        got = ahead.pieces.get(id(c))
        if got is None or got[0] is not c:
            return None
        same = self.same
        for ref in got[2]:
            doc = files.get(ref.path) if ref.path is not None else None
            if doc is ref:
                continue
            if doc is None:
                return None
            k = (id(doc), id(ref))  # (both alive meanwhile: the audit's and the ahead's)
            ok = same.get(k)
            if ok is None:
                ok = same[k] = all(getattr(doc, f) == getattr(ref, f) for f in FILE_FIELDS)
            if not ok:
                return None
        return got[1]

    def libraries(self, c: Consumer, ind: str | None, files: dict[str, Library]) -> str:
        """The libraries of a consumer, each relative to its library file."""
        enc = _line_encoder(Library, True)
        get = files.get
        return self.seq([enc(lib, None if lib.path is None else get(lib.path))
                         for lib in c.libraries], ind)

    def bindings(self, c: Consumer, ind: str | None) -> str:
        """The bindings of a consumer, each relative to its library. Consumers with the
        same scope share Binding objects: the text of one is made once for each view of
        its library (the attributes DERIVED reads, see _token)."""
        libmap: dict[str | None, tuple[Library | None, int]] = {}
        views = self.views
        for lib in c.libraries:
            if lib.key not in libmap:
                attrs = tuple([_token(getattr(lib, a)) for a in REF_ATTRS])
                libmap[lib.key] = (lib, views.setdefault(attrs, len(views) + 1))
        enc = _line_encoder(Binding, True)
        get = libmap.get
        kept = self.kept
        texts: list[str] = []
        add = texts.append
        none: tuple[Library | None, int] = (None, 0)
        for b in c.bindings:
            ref, view = get(b.provider, none)  # (no key is None)
            k = (id(b) << 32) | view
            text = kept.get(k)
            if text is None:
                text = kept[k] = enc(b, ref)
            add(text)
        return self.seq(texts, ind)


Piece = tuple[str, tuple[Library, ...]]
"""A consumer's text written ahead, and the library file (the first library with that path
where it was written) of each path its libraries name, in the order they name them."""


class Ahead:
    """Consumers' texts written ahead of their audit's document, where they were computed
    while two processes resolve (abiguard.parallel.run_shares_after: each as it goes), for
    :func:`dumps` of an audit with those very consumers to use rather than write them
    again -- only where it is the same text: written
    with the same indentation (a top-level audit's, ``indent``), and against library files
    (see :data:`FILES`) equal to the document's, field by field (:data:`FILE_FIELDS`); any
    other consumer is written as usual. One per document written (nothing is kept
    elsewhere: a census worker writes many audits).

    Calling it (where a consumer was computed) writes the consumer's text relative to the
    first library seen there with each path, and gives it with those libraries; :meth:`keep`
    (where the document is written) takes what a call gave for that consumer."""

    def __init__(self, indent: int | None = 2) -> None:
        self.step = "" if indent is None else " " * indent
        self.ind = None if indent is None else self.step * 2  # (audit > consumers > one)
        self.pieces: dict[int, tuple[Consumer, str, tuple[Library, ...]]] = {}
        self._writer = _Writer(indent)
        self._files: dict[str, Library] = {}  # the first library seen here with each path
        self._done: list[Consumer] = []  # (alive: the writer's caches go by id)

    def __call__(self, c: Consumer) -> Piece:
        files = self._files
        refs: dict[str, Library] = {}
        for lib in c.libraries:
            p = lib.path
            if p is not None and p not in refs:
                refs[p] = files.setdefault(p, lib)
        self._done.append(c)
        return self._writer.obj(c, self.ind, True, files), tuple(refs.values())

    def keep(self, c: Consumer, piece: Piece) -> None:
        """``piece``: what calling this (a copy of it) gave for ``c``."""
        self.pieces[id(c)] = (c, *piece)

    def fits(self, step: str, ind: str | None) -> bool:
        """Whether its texts are written with this indentation step, at this depth."""
        return step == self.step and ind == self.ind


def dumps(obj: Any, indent: int | None = 2, ahead: Ahead | None = None) -> str:
    """The schema 2 JSON text of a model object (with a final newline); ``ahead``: the texts
    of its audit's consumers written ahead, used where they are the same text."""
    writer, ind = _Writer(indent, ahead), None if indent is None else ""
    if type(obj) is Audit:  # (megabytes: joined once, with the newline)
        return writer.obj(obj, ind, True, end="\n")
    return writer.value(obj, ind, False) + "\n"


