"""What every table module shares: column types (aware UTC times, enums as text, nullable JSON), the
clock, and the one-line form of a validation error.

Times are timezone-aware UTC in Python and naive UTC in the database; distances are metres;
``lat``/``lon`` are WGS-84 degrees.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

import sqlalchemy as sa
from pydantic import AfterValidator, ValidationError


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes stored as naive UTC, so SQLite and PostgreSQL read back the same value."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EnumText(sa.types.TypeDecorator[StrEnum]):
    """A ``StrEnum`` stored as its plain string value (no database enum type to migrate)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


NULLABLE_JSON = sa.JSON(none_as_null=True)
"""A JSON column where Python None is SQL NULL, not JSON 'null'."""


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def validation_message(exc: ValidationError) -> str:
    """One line naming each failing field and why."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def check_hours(value: list[str]) -> list[str]:
    """Local "HH:MM-HH:MM" ranges (one may pass midnight); raises ValueError naming a bad one."""
    for item in value:
        if not _HOURS.match(item):
            raise ValueError(f"active hours {item!r}: expected HH:MM-HH:MM")
    return value


Hours = Annotated[list[str], AfterValidator(check_hours)]
"""Local "HH:MM-HH:MM" ranges, checked."""


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: _Row) -> int:
    """The id of a row the database has numbered (stored, or added and flushed); ValueError before."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id
