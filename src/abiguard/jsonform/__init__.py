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

from typing import TYPE_CHECKING, Any

from .rules import DERIVED, FILE_FIELDS, FILES, LIBRARY, READS, REF_BY, SPLICED
from .write import Ahead, dumps

if TYPE_CHECKING:
    from .read import audit_from_json, from_dict, plan_from_json

to_json = dumps
"""The JSON text (schema 2, docs/schema.md) of a model object or result."""

_READ = frozenset({"audit_from_json", "from_dict", "plan_from_json"})
"""The reader's names (:mod:`.read`), loaded with the first one asked for: a scan writes its
JSON, it reads none (and the reader knows the plan's types, which a scan never loads)."""


def __getattr__(name: str) -> Any:
    if name in _READ:
        from . import read

        value = getattr(read, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DERIVED", "FILES", "FILE_FIELDS", "LIBRARY", "READS", "REF_BY", "SPLICED", "Ahead",
           "audit_from_json", "dumps", "from_dict", "plan_from_json", "to_json"]
