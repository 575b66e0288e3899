"""一点一策: a hotspot's own plan — the measures taken there, the unit responsible for it, and
milestones with their dates and state; and the request that replaces it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, StringConstraints
from sqlmodel import Field, SQLModel

from service.inputs import CleanInput, RowId
from service.models.base import UTCDateTime, utcnow

MAX_ITEMS = 50


class MilestoneState(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    dropped = "dropped"


class Milestone(CleanInput):
    """One step of a plan: what, by when (a local date), how far it is."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    due: date
    state: MilestoneState = MilestoneState.planned


Measure = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class PlanRequest(CleanInput):
    """``PUT /api/hotspots/{id}/plan``: the whole plan, replacing the one before. ``unit_id``: the unit
    responsible (an existing one; null: none named yet); milestones in any order (kept by date)."""

    measures: list[Measure] = Field(default_factory=list, max_length=MAX_ITEMS)
    unit_id: RowId | None = None
    milestones: list[Milestone] = Field(default_factory=list, max_length=MAX_ITEMS)


class HotspotPlan(SQLModel, table=True):
    """The stored plan of one hotspot; ``measures`` texts, ``milestones`` ``Milestone`` dicts."""

    __tablename__ = "hotspot_plans"

    hotspot_id: int = Field(primary_key=True, foreign_key="hotspots.id", ondelete="CASCADE")
    measures: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    milestones: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class MilestonePublic(BaseModel):
    title: str
    due: date
    state: MilestoneState
    late: bool
    """Its date has passed (by the local date) and it is neither done nor dropped."""


class PlanPublic(BaseModel):
    """A hotspot's plan; a hotspot without one has an empty plan (``updated_at`` null)."""

    hotspot_id: int
    measures: list[str]
    unit_id: int | None
    unit_name: str | None
    milestones: list[MilestonePublic]
    updated_at: datetime | None
    updated_by: str | None
