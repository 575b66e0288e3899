"""Campaign operations: the units cases go to (brigades, outside departments), each case's current
assignment with its deadlines, what a unit did about it (disposal, 处置) and the check that it
worked (verification, 核查); and their requests.

A case's ``round`` counts its dispatches: a disposal and a verification belong to the round they
were made in, so a case reopened and dispatched again needs new ones before it can close.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from service.geometry import validate_geometry
from service.inputs import CleanInput, RowId, UtcTime
from service.models.base import NULLABLE_JSON, EnumText, UTCDateTime, utcnow
from service.models.campaign import BatchStart
from service.models.cases import Expectation


class UnitKind(StrEnum):
    brigade = "brigade"
    """An enforcement brigade (执法大队) with a territory."""
    department = "department"
    """An outside department (交警, 市场监管, 街道/社区 …)."""


class UnitBase(SQLModel):
    """A unit cases are dispatched to. A brigade's territory is ``hotspots`` (catalog keys) and/or
    ``territory`` (a GeoJSON Polygon); ``categories``: cases of these go to the unit wherever they
    are; ``head_user_id``: who an overdue case escalates to (no foreign key: users are disabled,
    never deleted); a ``disabled`` unit takes no case."""

    key: str = Field(max_length=64, unique=True, index=True, sa_type=sa.String(64))
    name: str = Field(max_length=200, sa_type=sa.String(200))
    kind: UnitKind = Field(sa_type=EnumText(UnitKind))
    hotspots: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    territory: dict[str, Any] | None = Field(default=None, sa_type=NULLABLE_JSON)
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    head_user_id: int | None = None
    disabled: bool = False


def _polygon(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A territory: None or a valid GeoJSON Polygon (ValueError otherwise, e.g. one crossing itself)."""
    if value is None:
        return None
    polygon = validate_geometry(value)
    if polygon["type"] != "Polygon":
        raise ValueError("a territory is a GeoJSON Polygon")
    return polygon


class UnitCreate(CleanInput, UnitBase):
    """``POST /api/units`` and one unit of the seed file."""

    hotspots: list[str] = Field(default_factory=list, max_length=500)
    categories: list[str] = Field(default_factory=list, max_length=50)
    head_user_id: RowId | None = None

    @model_validator(mode="after")
    def _territory(self) -> UnitCreate:
        self.territory = _polygon(self.territory)
        return self


class UnitUpdate(CleanInput):
    """``PATCH /api/units/{id}``: the fields given change (``territory``/``head_user_id`` null clears them)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    hotspots: list[str] | None = Field(default=None, max_length=500)
    territory: dict[str, Any] | None = None
    categories: list[str] | None = Field(default=None, max_length=50)
    head_user_id: RowId | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def _territory(self) -> UnitUpdate:
        if self.territory is not None:  # assigning marks the field as given
            self.territory = _polygon(self.territory)
        return self


class Unit(UnitBase, table=True):
    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UnitPublic(UnitBase):
    id: int


class MemberRequest(CleanInput):
    """``POST /api/units/{id}/members``: the user who joins the unit (leaving any other)."""

    user_id: RowId


class CaseAssignment(SQLModel, table=True):
    """The unit a case is dispatched to now and its deadlines: disposed of by ``due_at``, else
    overdue (reported at ``overdue_at``); still not by ``escalate_at``, then it goes to the unit's
    head (``escalated_at``)."""

    __tablename__ = "case_assignments"

    case_id: int = Field(primary_key=True, foreign_key="cases.id", ondelete="CASCADE")
    unit_id: int = Field(foreign_key="units.id", index=True)
    round: int = 1
    dispatched_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    escalate_at: datetime = Field(sa_type=UTCDateTime, index=True)
    overdue_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_to: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class AssignmentPublic(SQLModel):
    """A case's assignment; ``overdue``: still dispatched and past ``due_at`` now."""

    case_id: int
    unit_id: int
    unit_name: str
    round: int
    dispatched_at: datetime
    due_at: datetime
    escalate_at: datetime
    escalated_at: datetime | None
    overdue: bool


class PhasePublic(SQLModel):
    number: int
    name: str
    name_en: str
    start: date
    end: date


class PhasesPublic(SQLModel):
    """The campaign's phases, the one ``on`` (a local date) falls in (None: none), the batch starts."""

    items: list[PhasePublic]
    on: date
    phase: int | None
    batches: list[BatchStart]
    """Each road-market batch's start (local date)."""


class DispatchRequest(Expectation):
    """``POST /api/cases/{id}/dispatch``: ``unit_id`` None is the default unit (category rule, then
    territory); ``due`` None is the deadline of the SLA table."""

    unit_id: RowId | None = None
    due: UtcTime | None = None
    note: str | None = Field(default=None, max_length=2000)


class BulkDispatchRequest(CleanInput):
    """``POST /api/cases/dispatch``: each case to its default unit (or ``unit_id``), SLA deadlines."""

    case_ids: list[RowId] = Field(min_length=1, max_length=200)
    unit_id: RowId | None = None


class BulkDispatchResult(SQLModel):
    """One result per case, in order: the unit it went to, or why not."""

    case_id: int
    unit_id: int | None
    error: str | None


class DisposalKind(StrEnum):
    persuaded = "persuaded"
    """劝离: persuaded to leave."""
    corrected = "corrected"
    """整改: corrected by the owner."""
    seized = "seized"
    """暂扣: goods or equipment seized."""
    fined = "fined"
    """罚款: fined (with the amount)."""
    removed = "removed"
    """拆除: removed (an ad, a stand)."""
    referred = "referred"
    """移交: referred to another authority."""


class Disposal(SQLModel, table=True):
    """What a unit did about a case (处置): its kind, a fine in yuan, a note, an after-photo (an
    evidence-store key)."""

    __tablename__ = "disposals"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True, ondelete="CASCADE")
    round: int
    unit_id: int = Field(foreign_key="units.id")
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    at: datetime = Field(sa_type=UTCDateTime)
    kind: DisposalKind = Field(sa_type=EnumText(DisposalKind))
    fine_yuan: float | None = None
    note: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))
    photo: str | None = Field(default=None, max_length=80, sa_type=sa.String(80))


class VerifyMethod(StrEnum):
    photo = "photo"
    """An after-photo shows the spot clear."""
    patrol = "patrol"
    """A later patrol pass drove past and saw it clear."""
    inspection = "inspection"
    """Someone went and looked (a note says what they saw)."""
    override = "override"
    """A supervisor's decision, with the reason in the note."""


class Verification(SQLModel, table=True):
    """The check that a disposal worked (核查): ``passed`` lets the case close; a failed one reopens it."""

    __tablename__ = "verifications"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True, ondelete="CASCADE")
    round: int
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    at: datetime = Field(sa_type=UTCDateTime)
    method: VerifyMethod = Field(sa_type=EnumText(VerifyMethod))
    passed: bool
    note: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))
    photo: str | None = Field(default=None, max_length=80, sa_type=sa.String(80))
    patrol_pass_id: int | None = Field(default=None, foreign_key="patrol_passes.id", ondelete="SET NULL")


class PatrolProposal(SQLModel):
    """A patrol pass that covered a resolved case's spot after its disposal without sighting it again:
    send its ``patrol_pass_id`` with the patrol method to verify the case by it."""

    patrol_pass_id: int
    source: str
    seen_at: datetime


class VerifyRequest(Expectation):
    """``POST /api/cases/{id}/verify``: ``photo`` (an evidence key) for the photo method,
    ``patrol_pass_id`` for the patrol method, a ``note`` for inspection and override."""

    method: VerifyMethod
    passed: bool = True
    note: str | None = Field(default=None, max_length=2000)
    photo: str | None = Field(default=None, max_length=80)
    patrol_pass_id: RowId | None = None

    @model_validator(mode="after")
    def _proof(self) -> VerifyRequest:
        if self.method == VerifyMethod.photo and not self.photo:
            raise ValueError("the photo method needs a photo (an evidence key)")
        if self.method == VerifyMethod.patrol and self.patrol_pass_id is None:
            raise ValueError("the patrol method needs patrol_pass_id")
        if self.method in (VerifyMethod.inspection, VerifyMethod.override) and not (self.note or "").strip():
            raise ValueError(f"the {self.method.value} method needs a note saying why")
        return self
