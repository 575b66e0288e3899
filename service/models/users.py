"""Users, their API tokens and their server-side web sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.inputs import CleanInput
from service.models.base import EnumText, UTCDateTime, utcnow


class Role(StrEnum):
    admin = "admin"
    reviewer = "reviewer"
    uploader = "uploader"
    dispatcher = "dispatcher"
    """Sends confirmed cases to units and verifies what they did."""
    field_officer = "field_officer"
    """Records what their unit did about its cases."""


class UserBase(SQLModel):
    name: str = Field(max_length=64, unique=True, index=True, sa_type=sa.String(64))
    role: Role = Field(sa_type=EnumText(Role))


Password = Annotated[str, Field(min_length=8, max_length=256)]
"""A web login password."""


class UserCreate(CleanInput, UserBase):
    password: Password | None = None


class User(UserBase, table=True):
    """``disabled``: the user can neither log in nor use a token (sessions end when it is set);
    ``unit_id``: the unit (brigade, department) they work for (no foreign key: units are disabled,
    never deleted, and a unit's head is a user)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, sa_type=sa.String(256))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    unit_id: int | None = Field(default=None, index=True)


class UserPublic(UserBase):
    id: int
    disabled: bool
    unit_id: int | None = None


class ApiToken(SQLModel, table=True):
    """An API token, kept only as its SHA-256 hex digest; it stops working at ``expires_at`` or
    once ``revoked_at`` is set (the row stays, for the record)."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(unique=True, index=True, sa_type=sa.String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    name: str | None = Field(default=None, max_length=100, sa_type=sa.String(100))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSessionRow(SQLModel, table=True):
    """A logged-in web session, kept server-side under the SHA-256 hex digest of its random id
    (the cookie carries the id): deleting the row ends the session wherever its cookie is."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, sa_type=sa.String(64))
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
