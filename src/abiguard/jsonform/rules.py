"""The rules of schema 2 shared by the writer and the reader: which fields an audit leaves
out because they are derived from others (:data:`DERIVED`), what a binding's and a library's
``ref`` is (:data:`REF_BY`), the line objects, and the fields of a model dataclass with their
type hints and defaults (:func:`model_fields`)."""

from __future__ import annotations

import _thread
import dataclasses
import enum
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from ..model import (
    Binding,
    Consumer,
    Evidence,
    InputError,
    Library,
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

REF_ATTRS = tuple(sorted({a for (cls, _), expr in DERIVED.items() if cls is Binding
                           for a in re.findall(r"\bref\.(\w+)", expr)}))

FILE_FIELDS = tuple(name for (cls, name) in DERIVED if cls is Library)

SPLICED = {(Binding, "evidence")}
"""Array fields whose derived value may appear inside a written value: the string
:data:`LIBRARY` stands for it (a binding's own evidence followed by its library's)."""

LOCK = _thread.RLock()  # generating encoders and decoders
"""(threading.RLock is this lock: threading is not imported for it, 1 ms of a scan's
start-up.)"""
LINE_TYPES = {Binding, Library, Evidence, SymbolRef, InputError}
FIRST = ("schema", "kind")
VERSIONED = frozenset({"abiguard.model.core.Audit", "abiguard.model.plan.Plan"})
"""The results whose ``schema`` is the version of this form, by qualified name (as the
renderers' tables name types: writing a scan's JSON does not load the plan's types)."""
EXPR_NAMES = {"_UNKNOWN": Stability.UNKNOWN, "_direct": _direct}
"""The names a DERIVED expression may use besides ``o`` and ``ref``."""



@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """A field of a model dataclass as the JSON form uses it (:func:`model_fields`)."""

    name: str
    hint: Any
    default: Any  # dataclasses.MISSING: required
    derived: str | None
    first: bool  # schema and kind of a result: always written, first


_FIELDS: dict[type, tuple[Field, ...]] = {}


def model_fields(cls: type) -> tuple[Field, ...]:
    got = _FIELDS.get(cls)
    if got is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 — a name only imported for type checking: Any
            hints = {}
        out = []
        has_schema = any(f.name == "schema" for f in dataclasses.fields(cls))
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = dataclasses.MISSING
            out.append(Field(f.name, hints.get(f.name, Any), default,
                              DERIVED.get((cls, f.name)), has_schema and f.name in FIRST))
        out.sort(key=lambda f: (not f.first, FIRST.index(f.name) if f.first else 0))
        got = _FIELDS[cls] = tuple(out)
    return got


def optional_arg(hint: Any) -> Any:
    """X for ``X | None`` (one type besides None), else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


def scalar_hint(hint: Any) -> bool:
    if hint in (str, int, bool, float, type(None)):
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return True
    if origin in (typing.Union, types.UnionType, tuple):
        return all(scalar_hint(a) for a in typing.get_args(hint) if a is not Ellipsis)
    return False


_VERSIONED: dict[type, bool] = {}


def versioned(cls: type) -> bool:
    """Whether ``cls`` is one of :data:`VERSIONED` (not a subclass: its own type)."""
    got = _VERSIONED.get(cls)
    if got is None:
        got = _VERSIONED[cls] = f"{cls.__module__}.{cls.__qualname__}" in VERSIONED
    return got


_IS_LINE: dict[type, bool] = {}


def is_line(cls: type) -> bool:
    """Written on one line: the listed model types and objects of scalar fields only."""
    got = _IS_LINE.get(cls)
    if got is None:
        got = _IS_LINE[cls] = cls in LINE_TYPES or all(scalar_hint(f.hint)
                                                        for f in model_fields(cls))
    return got


def is_dataclass_value(v: Any) -> bool:
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


_DERIVERS: dict[tuple[type, str], Callable[[Any, Any], Any]] = {}


def deriver(cls: type, f: Field) -> Callable[[Any, Any], Any]:
    fn = _DERIVERS.get((cls, f.name))
    if fn is None:
        fn = _DERIVERS[(cls, f.name)] = eval(f"lambda o, ref: {f.derived}", dict(EXPR_NAMES))
    return fn


