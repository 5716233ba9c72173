"""A list page's items dumped without marshmallow's per-field machinery.

`schema.dump(rows, many=True)` costs ~12 µs a row for a flat schema (accessor lookup,
missing-value handling, hook dispatch per field): a quarter of a millisecond for a
page of 20 books, a tenth of an uncached catalog read's own CPU. For a flat schema
(plain fields, no hooks, no only/exclude) the same dicts come from each field's own
_serialize applied to the attribute: the formatting stays the field's, so the output
is identical (tests/books/test_dumping.py). Anything else goes to marshmallow.
"""

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any

from marshmallow import Schema, fields
from marshmallow.utils import missing

# Fields whose _serialize needs the value alone (not the object, not a context).
_PLAIN = {cls._serialize for cls in (fields.Integer, fields.Float, fields.String, fields.Boolean,
                                     fields.DateTime)}
_Dumper = Callable[[Any], dict] | None
_dumpers: dict[type[Schema], _Dumper] = {}


def dump_rows(schema: Schema, rows: Iterable[Any]) -> list[dict]:
    """`schema.dump(rows, many=True)` for ORM objects, faster for a flat schema."""
    kind = type(schema)
    if kind not in _dumpers:
        _dumpers[kind] = _flat_dumper(schema)
    dump = _dumpers[kind]
    if dump is None or schema.only is not None or schema.exclude:
        return schema.dump(rows, many=True)
    return [dump(row) for row in rows]


def _flat_dumper(schema: Schema) -> _Dumper:
    if any(schema._hooks.values()):
        return None
    plan = []
    for name, field in schema.dump_fields.items():
        if type(field)._serialize not in _PLAIN or field.dump_default is not missing:
            return None
        attr = field.attribute or name
        plan.append((field.data_key or name, attrgetter(attr), attr, field._serialize))

    def dump(row: Any) -> dict:
        return {key: serialize(get(row), attr, row) for key, get, attr, serialize in plan}

    return dump
