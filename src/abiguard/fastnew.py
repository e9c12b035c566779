"""Making many objects of a frozen, slotted dataclass fast.

A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (about
0.2 us a field): for the hundred thousand bindings and symbols of a directory scan that is
a good part of the time. :func:`maker` gives a function that fills a plain object of the same
slots (ordinary slot stores) and then gives it the dataclass's class: the result is a genuine
instance (same equality, hash, repr, frozenness), equal to ``cls(*values)``. Checked when the
maker is made; for a class the trick does not fit (not slotted, a base class, a
``__post_init__``, fields that are not all ``__init__`` arguments), the class itself is the
maker. (abiguard.elf.symsource builds ElfSymbols the same way in its bulk loop.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A function taking every field of ``cls`` positionally, in declaration order (all of
    them: no defaults), and returning the object ``cls(*values)`` would."""
    try:
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        names = tuple(f.name for f in fields)
        if (getattr(cls, "__slots__", None) != names or cls.__bases__ != (object,)
                or hasattr(cls, "__post_init__") or not all(f.init for f in fields)
                or not all(n.isidentifier() for n in names)):
            return cls
        twin = type(f"_{cls.__name__}Slots", (), {"__slots__": names})
        probe: Any = object.__new__(twin)
        probe.__class__ = cls  # raises TypeError when the layouts differ
    except (TypeError, AttributeError):
        return cls
    args = ", ".join(names)
    body = "".join(f"    o.{n} = {n}\n" for n in names)
    ns: dict[str, Any] = {"_new": object.__new__, "_Twin": twin, "_Cls": cls}
    exec(f"def make({args}):\n    o = _new(_Twin)\n{body}    o.__class__ = _Cls\n"  # noqa: S102
         f"    return o\n", ns)
    make: Callable[..., T] = ns["make"]
    make.__doc__ = f"{cls.__name__}(*every field), made fast (abiguard.fastnew)"
    return make


_MAKERS: dict[type, Callable[..., Any]] = {}


def rebuild(cls: type[T], values: tuple[Any, ...]) -> T:
    """``cls(*values)`` through its :func:`maker` (what :func:`reducers` pickle)."""
    make = _MAKERS.get(cls)
    if make is None:
        make = _MAKERS[cls] = maker(cls)
    return make(*values)  # type: ignore[no-any-return]


Reducer = Callable[[Any], tuple[Any, ...]]


def reducers(classes: Iterable[type]) -> dict[type, Reducer]:
    """A pickle ``dispatch_table`` for objects of these dataclasses: each pickled as its
    fields' values and its :func:`maker`, named as a function of this module (see
    :func:`pickled_maker`), which unpickling calls (several times faster both ways than the
    dataclasses' own ``__getstate__``/``__setstate__``)."""
    table: dict[type, Reducer] = {}
    for cls in classes:
        names = tuple(f.name for f in dataclasses.fields(cls))
        if len(names) < 2:
            continue  # (attrgetter of one name gives the value, not a tuple)
        get = attrgetter(*names)
        make = pickled_maker(cls)
        table[cls] = _rebuilt(cls, get) if make is None else _made(make, get)
    return table


def _made(make: Callable[..., Any], get: Callable[[Any], Any]) -> Reducer:
    def reduce(o: Any) -> tuple[Any, ...]:
        return make, get(o)
    return reduce


def _rebuilt(cls: type, get: Callable[[Any], Any]) -> Reducer:
    def reduce(o: Any) -> tuple[Any, ...]:
        return rebuild, (cls, get(o))
    return reduce


_NAMED: dict[str, type] = {}


def pickled_maker(cls: type) -> Callable[..., Any] | None:
    """The :func:`maker` of ``cls`` as a global of this module, ``_make_`` and the class's
    module and name (``_make_abiguard_model_core_Binding``), so that pickle can name it: one call
    to unpickle an object, none through :func:`rebuild`. The class itself where the trick
    does not fit; None when another class took that name (then :func:`rebuild`)."""
    name = "_make_" + f"{cls.__module__}.{cls.__qualname__}".replace(".", "_")
    if _NAMED.setdefault(name, cls) is not cls:
        return None
    make = globals().get(name)
    if make is None:
        make = maker(cls)
        if make is cls:
            return cls
        make.__module__ = __name__
        make.__name__ = make.__qualname__ = name
        globals()[name] = make
    return make


__all__ = ["maker", "pickled_maker", "rebuild", "reducers"]
