"""Keyset cursors for lists: `?after=<cursor>` reads the page after a row, at any depth,
by an index seek instead of an OFFSET walk (README "Cursors").

A list can be read by cursor when its order is a total order on plain, non-null
columns of its entity, all in one direction, ending with the primary key (books by
title or year, loans newest first); a search by relevance is ordered by a computed
rank and cannot. The cursor is the last row's values of those columns, with the list
(endpoint) and order they belong to and which of the list's statements produced it (a
search as typed or its substring fallback), as url-safe base64 JSON. It is not signed:
it holds only values of the row's public fields, and any position in a list a caller
may read is a position they may ask for.
"""

import base64
import binascii
import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Select, inspect, tuple_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

from api.errors import BadRequest
from api.fields import MAX_ID

_NOT_A_CURSOR = "Not a cursor: use the next_cursor of a page of this list."


@dataclass(frozen=True)
class Keyset:
    scope: str  # which list (its endpoint): a cursor is only good for the list that gave it
    columns: tuple[Column, ...]
    attributes: tuple[str, ...]  # each column's attribute on the entity
    descending: bool

    @property
    def signature(self) -> str:
        sign = "-" if self.descending else ""
        return self.scope + ":" + ",".join(sign + name for name in self.attributes)


@dataclass(frozen=True)
class Position:
    source: int  # 0: the list's statement; i: its i-th fallback (api.pagination)
    values: tuple[Any, ...]


def keyset(stmt: Select, scope: str) -> Keyset | None:
    """The keyset of `stmt`'s ORDER BY for the list `scope`, or None when it cannot be
    read by cursor."""
    entity = stmt.column_descriptions[0].get("entity") if stmt.column_descriptions else None
    if entity is None:
        return None
    mapper = inspect(entity)
    columns, attributes, directions = [], [], set()
    for clause in stmt._order_by_clauses:  # no public accessor; read-only use
        descending = False
        if isinstance(clause, UnaryExpression) and clause.modifier in (operators.desc_op, operators.asc_op):
            descending, clause = clause.modifier is operators.desc_op, clause.element
        if not isinstance(clause, Column) or clause.nullable or clause.table is not mapper.local_table:
            return None
        columns.append(clause)
        attributes.append(mapper.get_property_by_column(clause).key)
        directions.add(descending)
    if not columns or len(directions) != 1 or not columns[-1].primary_key:
        return None
    return Keyset(scope, tuple(columns), tuple(attributes), directions.pop())


def after(stmt: Select, keys: Keyset, order: str, position: Position | None) -> Select:
    """`stmt` limited to the rows after a decoded cursor's in its order (a row-value
    comparison, which the list's sort index serves as a range); all of it for None."""
    if position is None:
        return stmt
    values = values_for(keys, order, position)
    row = tuple_(*keys.columns)
    return stmt.where(row < tuple(values) if keys.descending else row > tuple(values))


def encode(keys: Keyset, source: int, row: Any) -> str:
    values = [_plain(getattr(row, name)) for name in keys.attributes]
    # Not ASCII-escaped: a title of 300 non-Latin characters stays a cursor of ~1,600.
    payload = json.dumps({"o": keys.signature, "s": source, "v": values}, separators=(",", ":"),
                         ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, Position]:
    """(the order signature, the position) a cursor holds; 400 if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        order, source, values = data["o"], data["s"], data["v"]
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
        raise bad_cursor(_NOT_A_CURSOR) from None
    if not isinstance(order, str) or type(source) is not int or source < 0 or not isinstance(values, list):
        raise bad_cursor(_NOT_A_CURSOR)
    return order, Position(source, tuple(values))


def values_for(keys: Keyset, order: str, position: Position) -> tuple[Any, ...]:
    """The position's values as the keyset's column types; 400 for a cursor of another
    order (sort) or with values of the wrong kind."""
    if order != keys.signature:
        raise bad_cursor("This cursor belongs to another list or order: give the same list and sort.")
    if len(position.values) != len(keys.columns):
        raise bad_cursor("Not a cursor of this list.")
    return tuple(_typed(column, value) for column, value in zip(keys.columns, position.values, strict=True))


def _typed(column: Column, value: Any) -> Any:
    kind = column.type
    kind = (kind.impl_instance if isinstance(kind, TypeDecorator) else kind).python_type  # its own: object
    if kind is datetime and isinstance(value, str):
        with suppress(ValueError, OverflowError):  # not ISO 8601; in UTC, before year 1
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
    elif kind is int and type(value) is int and -MAX_ID - 1 <= value <= MAX_ID:
        return value  # the columns keyed on are 32-bit (a larger bind fails its cast)
    elif kind is str and isinstance(value, str) and "\x00" not in value and _utf8(value):
        return value  # PostgreSQL text holds no NUL; a lone surrogate cannot be sent at all
    raise bad_cursor("Not a cursor of this list.")


def _utf8(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def bad_cursor(message: str = "Not a cursor of this list.") -> BadRequest:
    return BadRequest(message, errors={"after": [message]})
