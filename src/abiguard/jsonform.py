"""The JSON form of the model: schema 2 written, schemas 1 and 2 read (docs/schema.md).

**Writing** (:func:`dumps`). Every model dataclass becomes an object with its fields in
declaration order (``schema`` and ``kind`` first), tuples become arrays, enums their value.
Inside an audit (a scan result, and the ``audit`` a plan or where result embeds) a field is
omitted when its value is its default, or, for the fields of :data:`DERIVED`, when it says
what another field already says: a binding names its library (``provider``) and carries
only what is its own; its path, class and evidence are those of the consumer's first
library with that key unless written. Outside an audit every field is written (the form of
schema 1). New optional fields need nothing here: the encoders are generated from the
dataclass fields (and their type hints) on first use.

Layout: with an indent, objects and arrays are expanded, except arrays of scalars and the
*line* objects (a binding, a library, an evidence item, an error, a symbol, and any object
whose fields are all scalars), which are written on one line each; without an indent the
whole document is one line. Separators are those of ``json.dumps`` (", " and ": "), strings
are ASCII (``ensure_ascii``).

**Reading** (:func:`audit_from_json`, :func:`plan_from_json`, :func:`from_dict`). One
decoder for both schemas: every field present is type-checked and used as it is; a field
that is absent takes its default or, in a schema 2 audit, its derived value. Unknown
fields, wrong types and unsupported versions raise :class:`SchemaError` with the place
(``FILE: $.consumers[0].bindings[3].stability: …``). A document read gives the model of
today (``schema`` = :data:`SCHEMA_VERSION`): a schema 1 file and the schema 2 file of the
same scan read to equal models.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from .model import (
    SCHEMA_VERSION,
    Audit,
    Binding,
    Consumer,
    Evidence,
    InputError,
    Library,
    Plan,
    SchemaError,
    Stability,
    SymbolRef,
)

READS = (1, 2)
"""The schema versions this abiguard reads."""

LIBRARY = "library"
"""In the ``evidence`` array of a binding: stands for the evidence of its library."""

FILES = "library_files"
"""The key, in a schema 2 audit, of what each library file loaded says (by path): the
fields of :data:`FILE_FIELDS` of the first library with that path in the document."""


def _direct(libraries: Any) -> tuple[str, ...]:
    return tuple(lib.name for lib in libraries if lib.depth == 1)


DERIVED: dict[tuple[type, str], str] = {
    (Binding, "provider_path"): "(ref.path if ref is not None else None)",
    (Binding, "provided_version"): "o.symbol.version",
    (Binding, "stability"): "(ref.stability if ref is not None else _UNKNOWN)",
    (Binding, "evidence"): "(ref.evidence if ref is not None else ())",
    (Library, "soname"): "(ref.soname if ref is not None else None)",
    (Library, "stability"): "(ref.stability if ref is not None else _UNKNOWN)",
    (Library, "evidence"): "(ref.evidence if ref is not None else ())",
    (Library, "version_defs"): "(ref.version_defs if ref is not None else ())",
    (Consumer, "needed"): "_direct(o.libraries)",
}
"""Fields omitted in a schema 2 audit when equal to this value: a Python expression of the
object ``o`` and its reference ``ref`` (see :data:`REF_BY`; None when there is none). A
derived field depends only on fields that are not derived."""

REF_BY = {Binding: "provider", Library: "path"}
"""What a binding's and a library's ``ref`` is found by: a binding's is the first library of
its consumer whose key (soname, else needed name) is its ``provider``; a library's is the
entry of :data:`FILES` for its ``path``."""

_REF_ATTRS = tuple(sorted({a for (cls, _), expr in DERIVED.items() if cls is Binding
                           for a in re.findall(r"\bref\.(\w+)", expr)}))

FILE_FIELDS = tuple(name for (cls, name) in DERIVED if cls is Library)

SPLICED = {(Binding, "evidence")}
"""Array fields whose derived value may appear inside a written value: the string
:data:`LIBRARY` stands for it (a binding's own evidence followed by its library's)."""

_LINE_TYPES = {Binding, Library, Evidence, SymbolRef, InputError}
_FIRST = ("schema", "kind")
_VERSIONED = (Audit, Plan)  # their ``schema`` is the version of this form
_str = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii=True)
_int = int.__repr__
_NS = {"_str": _str, "_int": _int, "_UNKNOWN": Stability.UNKNOWN, "_direct": _direct}


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    hint: Any
    default: Any  # dataclasses.MISSING: required
    derived: str | None
    first: bool  # schema and kind of a result: always written, first


_FIELDS: dict[type, tuple[_Field, ...]] = {}


def _fields(cls: type) -> tuple[_Field, ...]:
    got = _FIELDS.get(cls)
    if got is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 — a name only imported for type checking: Any
            hints = {}
        out = []
        versioned = any(f.name == "schema" for f in dataclasses.fields(cls))
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = dataclasses.MISSING
            out.append(_Field(f.name, hints.get(f.name, Any), default,
                              DERIVED.get((cls, f.name)), versioned and f.name in _FIRST))
        out.sort(key=lambda f: (not f.first, _FIRST.index(f.name) if f.first else 0))
        got = _FIELDS[cls] = tuple(out)
    return got


def _optional_arg(hint: Any) -> Any:
    """X for ``X | None`` (one type besides None), else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


def _scalar_hint(hint: Any) -> bool:
    if hint in (str, int, bool, float, type(None)):
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType, tuple):
        return all(_scalar_hint(a) for a in typing.get_args(hint) if a is not Ellipsis)
    return False


_IS_LINE: dict[type, bool] = {}


def _is_line(cls: type) -> bool:
    """Written on one line: the listed model types and objects of scalar fields only."""
    got = _IS_LINE.get(cls)
    if got is None:
        got = _IS_LINE[cls] = cls in _LINE_TYPES or all(_scalar_hint(f.hint)
                                                        for f in _fields(cls))
    return got


def _is_dataclass_value(v: Any) -> bool:
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


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
    if _is_dataclass_value(v):
        return _line_encoder(t, compact)(v, None)
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join([_inline(x, compact) for x in v]) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join([_str(str(k)) + ": " + _inline(x, compact)
                                for k, x in v.items()]) + "}"
    if isinstance(v, str):
        return _str(v)
    return json.dumps(v)  # float, int subclasses; anything else is a TypeError, as before


def _splice(v: tuple, dv: tuple, item: Callable[[Any], str]) -> str:
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


def _value_code(hint: Any, var: str, ns: dict, compact: bool) -> str:
    """A Python expression writing ``var`` (of type ``hint``) on one line."""
    c = "True" if compact else "False"
    if hint is str:
        return f"_str({var})"
    if hint is bool:
        return f"('true' if {var} else 'false')"
    if hint is int:
        return f"(_int({var}) if {var}.__class__ is int else _inline({var}, {c}))"
    opt = _optional_arg(hint)
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


def _flat_code(cls: type, var: str, ns: dict, compact: bool) -> str | None:
    """An expression writing a small object of scalar fields (a symbol) in place, without a
    call; None for other types."""
    fields = _fields(cls)
    if not (0 < len(fields) <= 3) or not all(_scalar_hint(f.hint) for f in fields) \
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
    if fn is not None:
        return fn
    _LINES[key] = _busy
    ns: dict[str, Any] = {**_NS, "_inline": _inline, "_splice": _splice}
    fields = [f for f in _fields(cls) if only is None or f.name in only]
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
    fn = _LINES[key] = ns["enc"]
    return fn


_DERIVERS: dict[tuple[type, str], Callable[[Any, Any], Any]] = {}


def _deriver(cls: type, f: _Field) -> Callable[[Any, Any], Any]:
    fn = _DERIVERS.get((cls, f.name))
    if fn is None:
        fn = _DERIVERS[(cls, f.name)] = eval(f"lambda o, ref: {f.derived}", dict(_NS))
    return fn


def _token(v: Any) -> Any:
    """``v`` itself when it is a string, an enum or None (equal values, one token), else its
    id (equal tuples that are not the same object only make two tokens)."""
    return v if v is None or isinstance(v, (str, enum.Enum)) else id(v)


class _Writer:
    def __init__(self, indent: int | None) -> None:
        self.step = "" if indent is None else " " * indent
        self.kept: dict[int, str] = {}  # the text of each (binding, library view)
        self.views: dict[tuple[int, ...], int] = {}

    def value(self, v: Any, ind: str | None, compact: bool) -> str:
        """``v`` at indentation ``ind`` (None: on one line)."""
        if _is_dataclass_value(v):
            cls = type(v)
            if cls is Audit:
                return self.obj(v, ind, True)
            if _is_line(cls):
                return _line_encoder(cls, compact)(v, None)
            return self.obj(v, ind, compact)
        if isinstance(v, (tuple, list)):
            if not v:
                return "[]"
            if ind is None or not any(isinstance(x, (tuple, list, dict))
                                      or _is_dataclass_value(x) for x in v):
                return "[" + ", ".join([self.value(x, None, compact) for x in v]) + "]"
            inner = ind + self.step
            return self.seq([self.value(x, inner, compact) for x in v], ind)
        if isinstance(v, dict):
            return self.items([(str(k), x) for k, x in v.items()], ind, compact)
        return _inline(v, compact)

    def seq(self, texts: list[str], ind: str | None, brackets: str = "[]") -> str:
        """An array (or object) of items already written."""
        if not texts:
            return brackets
        if ind is None:
            return brackets[0] + ", ".join(texts) + brackets[1]
        inner = ind + self.step
        return (brackets[0] + "\n" + inner + (",\n" + inner).join(texts) + "\n" + ind
                + brackets[1])

    def items(self, items: list[tuple[str, Any]], ind: str | None, compact: bool,
              texts: dict[str, str] | None = None) -> str:
        inner = None if ind is None else ind + self.step
        return self.seq([_str(k) + ": " + (texts[k] if texts and k in texts
                                           else self.value(x, inner, compact))
                         for k, x in items], ind, "{}")

    def obj(self, o: Any, ind: str | None, compact: bool, ctx: Any = None) -> str:
        """An expanded object; ``ctx``: the library files of its audit (for a consumer)."""
        cls = type(o)
        items: list[tuple[str, Any]] = []
        for f in _fields(cls):
            v = getattr(o, f.name)
            if f.name == "schema" and cls in _VERSIONED:
                v = SCHEMA_VERSION
            elif compact and cls not in _VERSIONED:  # (a result's own fields: all written)
                if f.derived is not None:
                    if v == _deriver(cls, f)(o, None):
                        continue
                elif f.default is not dataclasses.MISSING and v == f.default:
                    continue
            items.append((f.name, v))
        texts: dict[str, str] = {}
        if compact:
            inner = None if ind is None else ind + self.step
            if cls is Audit:
                files: dict[str, Library] = {}
                for c in o.consumers:
                    for lib in c.libraries:
                        if lib.path is not None:
                            files.setdefault(lib.path, lib)
                deeper = None if inner is None else inner + self.step
                texts["consumers"] = self.seq([self.obj(c, deeper, True, files)
                                               for c in o.consumers], inner)
                if files:
                    enc = _line_encoder(Library, True, FILE_FIELDS)
                    items.append((FILES, None))
                    texts[FILES] = self.seq([_str(path) + ": " + enc(lib, None)
                                             for path, lib in files.items()], inner, "{}")
            elif cls is Consumer:
                texts["libraries"] = self.libraries(o, inner, ctx or {})
                texts["bindings"] = self.bindings(o, inner)
        return self.items(items, ind, compact, texts)

    def libraries(self, c: Consumer, ind: str | None, files: dict[str, Library]) -> str:
        """The libraries of a consumer, each relative to its library file."""
        enc = _line_encoder(Library, True)
        get = files.get
        return self.seq([enc(lib, get(lib.path)) for lib in c.libraries], ind)

    def bindings(self, c: Consumer, ind: str | None) -> str:
        """The bindings of a consumer, each relative to its library. Consumers with the
        same scope share Binding objects: the text of one is made once for each view of
        its library (the attributes DERIVED reads, see _token)."""
        libmap: dict[str, tuple[Library, int]] = {}
        views = self.views
        for lib in c.libraries:
            if lib.key not in libmap:
                view = tuple([_token(getattr(lib, a)) for a in _REF_ATTRS])
                libmap[lib.key] = (lib, views.setdefault(view, len(views) + 1))
        enc = _line_encoder(Binding, True)
        get = libmap.get
        kept = self.kept
        texts = []
        add = texts.append
        none = (None, 0)
        for b in c.bindings:
            ref, view = get(b.provider, none)  # (no key is None)
            k = (id(b) << 32) | view
            text = kept.get(k)
            if text is None:
                text = kept[k] = enc(b, ref)
            add(text)
        return self.seq(texts, ind)


def dumps(obj: Any, indent: int | None = 2) -> str:
    """The schema 2 JSON text of a model object (with a final newline)."""
    return _Writer(indent).value(obj, None if indent is None else "", False) + "\n"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Bad(Exception):
    """A decoding error; ``path`` collects the place from the inside out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []


def _where(origin: str, bad: _Bad) -> str:
    place = "$" + "".join(reversed(bad.path))
    return f"{place}: {bad.message}" if origin == "$" else f"{origin}: {place}: {bad.message}"


def _tname(v: Any) -> str:
    return type(v).__name__


_MARK = object()  # a LIBRARY marker read in a spliced array
_CONVS: dict[tuple[Any, bool], Callable[[Any], Any]] = {}


def _conv(hint: Any, derive: bool) -> Callable[[Any], Any]:
    """A function checking and converting a JSON value to ``hint``."""
    key = (hint, derive)
    got = _CONVS.get(key)
    if got is None:
        got = _CONVS[key] = _make_conv(hint, derive)
    return got


def _scalar(tp: type) -> Callable[[Any], Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, tp) and (tp is not int or v.__class__ is not bool):
            return v
        raise _Bad(f"expected {tp.__name__}, got {_tname(v)}")
    return conv


def _make_conv(hint: Any, derive: bool) -> Callable[[Any], Any]:
    if hint is Any:
        return lambda v: v
    if hint is float:
        def conv_float(v: Any) -> float:
            if isinstance(v, (int, float)) and v.__class__ is not bool:
                return float(v)
            raise _Bad(f"expected float, got {_tname(v)}")
        return conv_float
    if hint in (str, int, bool):
        return _scalar(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            inner = _conv(args[0], derive)
            return lambda v: None if v is None else inner(v)
        options = [_conv(a, derive) for a in args]

        def conv_union(v: Any) -> Any:
            if v is None and len(args) < len(typing.get_args(hint)):
                return None
            for conv in options:
                try:
                    return conv(v)
                except _Bad:
                    pass
            raise _Bad(f"expected {' or '.join(getattr(a, '__name__', str(a)) for a in args)}"
                       f", got {_tname(v)}")
        return conv_union
    if origin is tuple:
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        item = _conv(args[0], derive) if args else (lambda v: v)

        def conv_tuple(v: Any) -> tuple:
            if not isinstance(v, list):
                raise _Bad(f"expected a list, got {_tname(v)}")
            try:
                return tuple([item(x) for x in v])
            except _Bad as bad:
                for i, x in enumerate(v):  # where (only on error)
                    try:
                        item(x)
                    except _Bad:
                        bad.path.append(f"[{i}]")
                        break
                raise
        return conv_tuple
    if origin is dict:
        value = _conv(typing.get_args(hint)[1], derive)

        def conv_dict(v: Any) -> dict:
            if not isinstance(v, dict):
                raise _Bad("expected an object")
            out = {}
            for k, x in v.items():
                try:
                    out[k] = value(x)
                except _Bad as bad:
                    bad.path.append(f".{k}")
                    raise
            return out
        return conv_dict
    if hint is Audit:
        return _audit_conv
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        dec = _decoder(hint, derive)
        return lambda v: dec(v, None)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = {m.value: m for m in hint}

        def conv_enum(v: Any) -> Any:
            try:
                return members[v]
            except (KeyError, TypeError):
                raise _Bad(f"{v!r} is not one of {', '.join(members)}") from None
        return conv_enum
    if isinstance(hint, type):
        return _scalar(hint)
    return lambda v: v


def _spliced_conv(hint: Any) -> Callable[[Any], Any]:
    """An array of items that may contain the LIBRARY marker (kept as _MARK)."""
    plain = _conv(hint, True)

    def conv(v: Any) -> tuple:
        if isinstance(v, list) and LIBRARY in v:
            marked = [x for x in v if x != LIBRARY]
            got = iter(plain(marked))
            return tuple([_MARK if x == LIBRARY else next(got) for x in v])
        return plain(v)
    return conv


class _Kw:
    """The fields read so far, as attributes (what the DERIVED expressions see)."""

    __slots__ = ("defaults", "kw")

    def __init__(self, kw: dict, defaults: dict) -> None:
        self.kw = kw
        self.defaults = defaults

    def __getattr__(self, name: str) -> Any:
        kw = self.kw
        return kw[name] if name in kw else self.defaults[name]


_DECODERS: dict[tuple[type, bool], Callable[[Any, Any], Any]] = {}
_LATE = {Audit: ("consumers",), Consumer: ("libraries", "bindings")}
"""Fields read after the others, with a context: an audit's consumers with its library
files, a consumer's libraries with them and its bindings with its libraries by key."""


def _decoder(cls: type, derive: bool) -> Callable[[Any, Any], Any]:
    """A function reading an object of ``cls``; its second argument is the context its
    ``ref`` is looked up in (see :data:`REF_BY`). ``derive``: a schema 2 audit (absent
    fields of :data:`DERIVED` take their derived value)."""
    key = (cls, derive)
    got = _DECODERS.get(key)
    if got is not None:
        return got
    fields = _fields(cls)
    names = frozenset(f.name for f in fields) | ({FILES} if cls is Audit and derive else set())
    late = _LATE.get(cls, ())
    convs: dict[str, Callable[[Any], Any]] = {}

    def fill() -> None:  # (deferred: a type may contain itself)
        for f in fields:
            if derive and (cls, f.name) in SPLICED:
                convs[f.name] = _spliced_conv(f.hint)
            elif f.name not in late:
                convs[f.name] = _conv(f.hint, derive)

    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    derived = [(f.name, _deriver(cls, f), (cls, f.name) in SPLICED)
               for f in fields if derive and f.derived is not None]
    ref_by = REF_BY.get(cls)

    def dec(data: Any, ctx: dict | None) -> Any:
        if not convs:
            fill()
        if not isinstance(data, dict):
            raise _Bad(f"expected an object for {cls.__name__}")
        kw = {}
        for k, v in data.items():
            conv = convs.get(k)
            if conv is None:
                if k in names:
                    continue  # late, or the library files
                unknown = sorted(set(data) - names)
                raise _Bad(f"unknown field(s) {', '.join(unknown)}")
            try:
                kw[k] = conv(v)
            except _Bad as bad:
                bad.path.append(f".{k}")
                raise
        for name in required:
            if name not in kw:
                raise _Bad(f"missing field '{name}'")
        if cls is Audit:
            files = _read_files(data[FILES]) if derive and FILES in data else None
            if "consumers" in data:
                kw["consumers"] = _read_list(data["consumers"], "consumers",
                                             _decoder(Consumer, derive), files)
        elif cls is Consumer:
            if "libraries" in data:
                kw["libraries"] = _read_list(data["libraries"], "libraries",
                                             _decoder(Library, derive), ctx)
            if "bindings" in data:
                libmap: dict[str, Library] | None = None
                if derive:
                    libmap = {}
                    for lib in kw.get("libraries", ()):
                        libmap.setdefault(lib.key, lib)
                kw["bindings"] = _read_list(data["bindings"], "bindings",
                                            _decoder(Binding, derive), libmap)
        if derived:
            ref = ctx.get(kw.get(ref_by)) if ctx and ref_by else None
            o = _Kw(kw, defaults)
            for name, fn, spliced in derived:
                v = kw.get(name, _MARK)
                if v is _MARK:
                    kw[name] = fn(o, ref)
                elif spliced and _MARK in v:
                    kw[name] = _unsplice(v, fn(o, ref), name)
        if cls in _VERSIONED:
            kw["schema"] = SCHEMA_VERSION
        try:
            return cls(**kw)
        except (TypeError, ValueError) as exc:
            raise _Bad(f"not a valid {cls.__name__}: {exc}") from None

    _DECODERS[key] = dec
    return dec


def _unsplice(v: tuple, dv: tuple, name: str) -> tuple:
    if not dv:
        bad = _Bad(f"{LIBRARY!r} stands for the {name} of the library the binding names "
                   "(its provider), and there is none")
        bad.path.append(f".{name}")
        raise bad
    out: list = []
    for x in v:
        if x is _MARK:
            out += dv
        else:
            out.append(x)
    return tuple(out)


def _read_list(value: Any, name: str, dec: Callable, ctx: Any) -> tuple:
    if not isinstance(value, list):
        bad = _Bad(f"expected a list, got {_tname(value)}")
        bad.path.append(f".{name}")
        raise bad
    out = []
    for i, x in enumerate(value):
        try:
            out.append(dec(x, ctx))
        except _Bad as bad:
            bad.path += [f"[{i}]", f".{name}"]
            raise
    return tuple(out)


def _read_files(value: Any) -> dict[str, Any]:
    """The library files of a schema 2 audit: path -> what its FILE_FIELDS say."""
    if not isinstance(value, dict):
        bad = _Bad(f"expected an object, got {_tname(value)}")
        bad.path.append(f".{FILES}")
        raise bad
    fields = {f.name: f for f in _fields(Library) if f.name in FILE_FIELDS}
    convs = {name: _conv(f.hint, True) for name, f in fields.items()}
    out = {}
    for path, entry in value.items():
        try:
            if not isinstance(entry, dict):
                raise _Bad("expected an object for a library file")
            unknown = sorted(set(entry) - set(fields))
            if unknown:
                raise _Bad(f"unknown field(s) {', '.join(unknown)}")
            got = {name: f.default for name, f in fields.items()}
            for k, v in entry.items():
                try:
                    got[k] = convs[k](v)
                except _Bad as bad:
                    bad.path.append(f".{k}")
                    raise
        except _Bad as bad:
            bad.path += [f"[{json.dumps(path)}]", f".{FILES}"]
            raise
        out[path] = types.SimpleNamespace(**got)
    return out


def _version(v: Any, origin: str) -> int:
    if type(v) is not int or v not in READS:  # (True == 1: not a version)
        raise SchemaError(f"{origin}: schema version {v!r} is not supported "
                          f"(this abiguard reads {' and '.join(map(str, READS))})")
    return v


def _audit_conv(v: Any) -> Audit:
    """An embedded audit (in a plan or a where result): its own version decides."""
    if not isinstance(v, dict):
        raise _Bad(f"expected an object for Audit, got {_tname(v)}")
    version = v.get("schema", SCHEMA_VERSION)
    try:
        _version(version, "audit")
    except SchemaError as exc:
        raise _Bad(str(exc).removeprefix("audit: ")) from None
    return _decoder(Audit, version >= 2)(v, None)


def from_dict(cls: type, data: Any, where: str = "$") -> Any:
    """Rebuild a model object from its JSON value, checking types on the way (an embedded
    audit in either schema; other objects in their full form or with defaults left out)."""
    try:
        if cls is Audit:
            return _audit_conv(data)
        return _decoder(cls, False)(data, None)
    except _Bad as bad:
        raise SchemaError(_where(where, bad)) from None


def _loads(text: str, origin: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{origin}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise SchemaError(f"{origin}: not valid JSON (arrays or objects nested too deeply)"
                          ) from None
    if not isinstance(data, dict) or "schema" not in data:
        raise SchemaError(f"{origin}: not an abiguard result (no 'schema' field)")
    return data


_AUDIT_FIELDS = frozenset(f.name for f in dataclasses.fields(Audit))


def audit_from_json(text: str, origin: str = "<json>") -> Audit:
    """Read an Audit back from a scan result, or from the ``audit`` a plan or where result
    embeds (what diff/gate/report use). Raises SchemaError with the place."""
    data = _loads(text, origin)
    version = _version(data["schema"], origin)
    if "audit" in data and isinstance(data["audit"], dict):
        data = data["audit"]
        if "schema" in data:
            version = _version(data["schema"], f"{origin}: audit")
    core = {k: v for k, v in data.items() if k in _AUDIT_FIELDS or (k == FILES and version >= 2)}
    try:
        return _decoder(Audit, version >= 2)(core, None)
    except _Bad as bad:
        raise SchemaError(_where(origin, bad)) from None
    except RecursionError:
        raise SchemaError(f"{origin}: nested too deeply") from None


def plan_from_json(text: str, origin: str = "<json>") -> Plan:
    """Read a plan result (``kind: plan``) in either schema."""
    data = _loads(text, origin)
    _version(data["schema"], origin)
    if data.get("kind") != "plan":
        raise SchemaError(f"{origin}: not a plan (kind {data.get('kind')!r})")
    return from_dict(Plan, data, origin)
