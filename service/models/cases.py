"""Cases (one real-world violation each), their audit trail, and the review and status requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from service.inputs import MAX_ID, CleanInput, RowId
from service.models.base import NULLABLE_JSON, EnumText, UTCDateTime, utcnow
from service.models.observations import ObservationPublic


class CaseStatus(StrEnum):
    new = "new"
    confirmed = "confirmed"
    dispatched = "dispatched"
    resolved = "resolved"
    closed = "closed"
    rejected = "rejected"
    reopened = "reopened"
    merged = "merged"


class CaseAction(StrEnum):
    """What a ``CaseEvent`` records."""

    created = "created"
    recurrence = "recurrence"
    review = "review"
    status = "status"
    recategorize = "recategorize"
    hotspot = "hotspot"
    merge_proposed = "merge_proposed"
    merged = "merged"  # its sightings went to the case ``detail["into"]``
    absorbed = "absorbed"  # it took the sightings of the case ``detail["from"]``
    unmerged = "unmerged"  # a merge into ``detail["into"]`` was reversed
    split_off = "split_off"  # the sightings ``detail["observations"]`` became the new case ``detail["to"]``
    split_from = "split_from"  # it was split off the case ``detail["from"]``
    reject_sighting = "reject_sighting"  # the sighting ``detail["observation"]`` is not the object
    restore_sighting = "restore_sighting"  # that rejection was reversed
    undo = "undo"  # the decisions of the events ``detail["events"]`` were reversed
    dispatch = "dispatch"
    escalation = "escalation"
    disposal = "disposal"
    verification = "verification"


class CaseBase(SQLModel):
    """One real-world violation: observations merged in space, with its nearest hotspot.

    ``lat``/``lon`` are the mean of its observations weighted by their fixes' accuracy (None for a
    case of positionless observations, which then names its ``source``); ``position_sigma_m`` the
    standard error of that estimate in metres, shrinking as sightings accumulate.
    """

    category: str = Field(max_length=64, sa_type=sa.String(64))
    status: CaseStatus = Field(default=CaseStatus.new, index=True, sa_type=EnumText(CaseStatus))
    lat: float | None = None
    lon: float | None = None
    position_sigma_m: float | None = None
    source: str | None = Field(default=None, max_length=200, index=True, sa_type=sa.String(200))
    hotspot_id: int | None = Field(default=None, foreign_key="hotspots.id", index=True, ondelete="SET NULL")
    hotspot_distance_m: float | None = None
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    observation_count: int = 0
    recurrence_count: int = 0
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merged_into_id: int | None = Field(default=None, foreign_key="cases.id", ondelete="SET NULL")


_VERSION = sa.Column("version", sa.Integer, nullable=False, server_default="1")
"""The version column of ``Case``, named in its mapper arguments."""


class Case(CaseBase, table=True):
    """``cell_x``/``cell_y`` index the case on the dedup grid (see ``service.cases.grid_cell``).

    ``version`` counts the changes of the row: every update is made only if the row still has the
    version it was read with (else SQLAlchemy raises ``StaleDataError``), so two writers never
    silently overwrite each other."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_category_cell", "category", "cell_x", "cell_y"),)

    id: int | None = Field(default=None, primary_key=True)
    cell_x: int | None = None
    cell_y: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_VERSION)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": _VERSION}


class CasePublic(CaseBase):
    """``version``: send it back (or ``expected_status``) with a decision to refuse it if the case changed."""

    id: int
    version: int
    hotspot_name: str | None = None
    located: bool


class CasesPublic(SQLModel):
    items: list[CasePublic]
    total: int


class CaseEvent(SQLModel, table=True):
    """The audit trail: one row per change of a case, with who (None: the system) and when."""

    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: CaseAction = Field(sa_type=EnumText(CaseAction))
    from_status: CaseStatus | None = Field(default=None, sa_type=EnumText(CaseStatus))
    to_status: CaseStatus | None = Field(default=None, sa_type=EnumText(CaseStatus))
    note: str | None = Field(default=None, max_length=2000, sa_type=sa.String(2000))
    detail: dict[str, Any] | None = Field(default=None, sa_type=NULLABLE_JSON)


class CaseEventPublic(SQLModel):
    id: int
    case_id: int
    at: datetime
    user: str | None
    action: CaseAction
    from_status: CaseStatus | None
    to_status: CaseStatus | None
    note: str | None
    detail: dict[str, Any] | None


class CaseDetail(CasePublic):
    observations: list[ObservationPublic]
    events: list[CaseEventPublic]
    phase: int | None = None
    """The campaign phase the local date of its first sighting falls in (None: none)."""


class Expectation(CleanInput):
    """What the client last saw of the case: a decision on a case whose status (or version) has
    changed since is refused with 409 instead of overwriting the other change."""

    expected_status: CaseStatus | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_ID)


ReviewDecision = Literal["confirm", "reject", "recategorize"]


class Decision(CleanInput):
    """A reviewer's decision: ``recategorize`` needs ``category``; ``confirm``/``reject`` may carry one too."""

    decision: ReviewDecision
    category: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _category_for_recategorize(self) -> Decision:
        if self.decision == "recategorize" and not self.category:
            raise ValueError("recategorize needs a category")
        return self


class ReviewRequest(Expectation, Decision):
    """``POST /api/cases/{id}/review``: a decision and, optionally, what the client last saw."""


class StatusRequest(Expectation):
    status: CaseStatus
    note: str | None = Field(default=None, max_length=2000)


class ShareRequest(CleanInput):
    """``POST /api/cases/{id}/share``: how long the link works, in days."""

    days: float = Field(default=7.0, gt=0, le=90)


class ShareLink(SQLModel):
    """A share link: ``url`` (a path on this server) shows the case's evidence record, faces and
    plates blurred, to anyone holding it until ``expires_at``."""

    url: str
    expires_at: datetime


MAX_SPLIT = 500
"""The most sightings one split names."""


class MergeRequest(Expectation):
    """``POST /api/cases/{id}/merge``: move its sightings into case ``into``; ``into_version``, like
    ``version``, refuses the merge when that case changed since the client saw it."""

    into: RowId
    into_version: int | None = Field(default=None, ge=1, le=MAX_ID)


class SplitRequest(Expectation):
    """``POST /api/cases/{id}/split``: the sightings that become a new case."""

    observation_ids: list[RowId] = Field(min_length=1, max_length=MAX_SPLIT)


class SightingRequest(Expectation):
    """``POST /api/cases/{id}/sightings/{observation_id}``: reject the sighting (or restore it)."""

    rejected: bool


class UndoRequest(CleanInput):
    """``POST /api/cases/{id}/undo``: the version the case had after the caller's decision; a case
    changed since (by anyone) is a 409 and nothing is undone."""

    version: int = Field(ge=1, le=MAX_ID)


class SplitPublic(SQLModel):
    """The case a split took sightings from, and the new case they make."""

    case: CasePublic
    split: CasePublic
