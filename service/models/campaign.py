"""The campaign calendar as admins keep it: the phases (三个阶段) and each road-market batch's start
(a hotspot of a batch is in focus from it), seeded from the plan file on first start."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel


class CampaignPhase(SQLModel, table=True):
    """A phase: its number, names (Chinese, English), local dates with both ends included."""

    __tablename__ = "campaign_phases"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(max_length=200, sa_type=sa.String(200))
    name_en: str = Field(default="", max_length=200, sa_type=sa.String(200))
    start: date
    end: date


class CampaignBatch(SQLModel, table=True):
    """A road-market batch (1 or 2) and the local date its markets come into focus."""

    __tablename__ = "campaign_batches"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    start: date


class BatchStart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=1, le=2)
    start: date
