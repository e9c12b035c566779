"""Reading schemas 1 and 2 (:func:`audit_from_json`, :func:`plan_from_json`,
:func:`from_dict`): one decoder per dataclass, every present field type-checked, absent
fields defaulted or derived (see the package's docstring)."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

from ..model import SCHEMA_VERSION, Audit, Binding, Consumer, Library, Plan, SchemaError
from .rules import (
    FILE_FIELDS,
    FILES,
    LIBRARY,
    LOCK,
    READS,
    REF_BY,
    SPLICED,
    deriver,
    model_fields,
    versioned,
)


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


T = TypeVar("T")
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
    if origin is Literal:
        words = typing.get_args(hint)

        def conv_word(v: Any) -> Any:
            if isinstance(v, str) and v in words:
                return v
            raise _Bad(f"{v!r} is not one of {', '.join(words)}")
        return conv_word
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

        def conv_tuple(v: Any) -> tuple[Any, ...]:
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

        def conv_dict(v: Any) -> dict[Any, Any]:
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

    def conv(v: Any) -> tuple[Any, ...]:
        if isinstance(v, list) and LIBRARY in v:
            marked = [x for x in v if x != LIBRARY]
            got = iter(plain(marked))
            return tuple([_MARK if x == LIBRARY else next(got) for x in v])
        out: tuple[Any, ...] = plain(v)
        return out
    return conv


class _Kw:
    """The fields read so far, as attributes (what the DERIVED expressions see)."""

    __slots__ = ("defaults", "kw")

    def __init__(self, kw: dict[str, Any], defaults: dict[str, Any]) -> None:
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
    fields = model_fields(cls)
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
    derived = [(f.name, deriver(cls, f), (cls, f.name) in SPLICED)
               for f in fields if derive and f.derived is not None]
    ref_by = REF_BY.get(cls)

    filled: list[bool] = []

    def dec(data: Any, ctx: dict[Any, Any] | None) -> Any:
        if not filled:
            with LOCK:
                if not filled:
                    fill()
                    filled.append(True)
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
        if versioned(cls):
            kw["schema"] = SCHEMA_VERSION
        try:
            return cls(**kw)
        except (TypeError, ValueError) as exc:
            raise _Bad(f"not a valid {cls.__name__}: {exc}") from None

    _DECODERS[key] = dec
    return dec


def _unsplice(v: tuple[Any, ...], dv: tuple[Any, ...], name: str) -> tuple[Any, ...]:
    if not dv:
        bad = _Bad(f"{LIBRARY!r} stands for the {name} of the library the binding names "
                   "(its provider), and there is none")
        bad.path.append(f".{name}")
        raise bad
    out: list[Any] = []
    for x in v:
        if x is _MARK:
            out += dv
        else:
            out.append(x)
    return tuple(out)


def _read_list(value: Any, name: str, dec: Callable[[Any, Any], Any], ctx: Any
               ) -> tuple[Any, ...]:
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
    fields = {f.name: f for f in model_fields(Library) if f.name in FILE_FIELDS}
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
    return cast(Audit, _decoder(Audit, version >= 2)(v, None))


def from_dict(cls: type[T], data: Any, where: str = "$") -> T:
    """Rebuild a model object from its JSON value, checking types on the way (an embedded
    audit in either schema; other objects in their full form or with defaults left out)."""
    try:
        if cls is Audit:
            return cast(T, _audit_conv(data))
        return cast(T, _decoder(cls, False)(data, None))
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
        return cast(Audit, _decoder(Audit, version >= 2)(core, None))
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
