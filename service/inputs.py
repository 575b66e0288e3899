"""What every input must be before it reaches the database: text both databases can store, ids
within the database's integer range, ISO-8601 times normalised to UTC within a sane range.

Each check raises ValueError with a reason, so a request model turns it into a 422 (or an item
error) instead of a database error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, field_validator
from sqlmodel import SQLModel

MAX_ID = 2**31 - 1
"""The largest id (or version) an integer column holds: PostgreSQL's INTEGER is 32 bits."""
MAX_OFFSET = 2**63 - 1
"""The largest row offset a query takes (64 bits on both databases)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
"""Times are accepted in [EARLIEST, LATEST) once normalised to UTC."""

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A database row id in a request body."""


def clean_text(value: str) -> str:
    """``value`` when a database can store it: no NUL character and valid Unicode (no lone surrogate)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


Text = Annotated[str, AfterValidator(clean_text)]
"""A text parameter that passes ``clean_text``."""


def clean_values(value: Any) -> Any:
    """``value`` when every text in it (nested lists and dicts, keys included) passes ``clean_text``."""
    if isinstance(value, str):
        clean_text(value)
    elif isinstance(value, list | tuple):
        for item in value:
            clean_values(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            clean_values(key)
            clean_values(item)
    return value


class CleanInput(SQLModel):
    """Base of request models: every text field, however nested, passes ``clean_text``."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        return clean_values(value)


def utc_time(value: Any) -> datetime:
    """An ISO-8601 text (or a datetime) as aware UTC in [EARLIEST, LATEST); naive means UTC.

    Numbers are refused (``0.5`` is no time), and so is an offset that pushes the time out of range."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO-8601 date and time, e.g. 2025-05-12T09:30:00+08:00") from None
    if not isinstance(value, datetime):
        raise ValueError("expected an ISO-8601 date and time, e.g. 2025-05-12T09:30:00+08:00")
    when = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range: it must lie between the years 1970 and 9999 in UTC") from None
    if not EARLIEST <= when < LATEST:
        raise ValueError("time out of range: it must lie between the years 1970 and 9999 in UTC")
    return when


UtcTime = Annotated[datetime, BeforeValidator(utc_time)]
"""A request time: ISO-8601, normalised to aware UTC, range-checked."""
