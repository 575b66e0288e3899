"""The campaign calendar in the database: phases and road-market batch starts, seeded from the plan
file on first start and edited by admins after; when a hotspot is in focus."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, delete, func, select, update

from service.models.campaign import BatchStart, CampaignBatch, CampaignPhase
from service.models.hotspots import Hotspot
from service.operations import Calendar, Phase, Plan, load_plan
from service.settings import Settings


def load_calendar(session: Session, plan: Plan) -> int:
    """Store the plan's phases and batch starts when no phase and no batch is stored yet; how many
    rows were added. Commits."""
    stored = session.exec(select(func.count()).select_from(CampaignPhase)).one()
    stored += session.exec(select(func.count()).select_from(CampaignBatch)).one()
    if stored or not (plan.phases or plan.batches):
        return 0
    save_calendar(session, Calendar(phases=plan.phases, batches=plan.batches), batch_hotspots=False)
    session.commit()
    return len(plan.phases) + len(plan.batches)


def stored_calendar(session: Session) -> Calendar:
    """The phases (by number) and batch starts (by batch) as stored."""
    phases = session.exec(select(CampaignPhase).order_by(col(CampaignPhase.number))).all()
    batches = session.exec(select(CampaignBatch).order_by(col(CampaignBatch.number))).all()
    return Calendar(
        phases=[Phase.model_validate(p, from_attributes=True) for p in phases],
        batches=[BatchStart.model_validate(b, from_attributes=True) for b in batches],
    )


def campaign_plan(session: Session, settings: Settings) -> Plan:
    """The plan file with the calendar as stored (what admins made of the phases and batch starts)."""
    calendar = stored_calendar(session)
    return load_plan(settings.operations_file).model_copy(
        update={"phases": calendar.phases, "batches": calendar.batches}
    )


def save_calendar(session: Session, calendar: Calendar, batch_hotspots: bool = True) -> None:
    """Replace the stored calendar; with ``batch_hotspots``, every hotspot of a batch takes the batch's
    start as its ``start_date`` (when it comes into focus). Flushes."""
    session.exec(delete(CampaignPhase))
    session.exec(delete(CampaignBatch))
    session.add_all(CampaignPhase.model_validate(p.model_dump()) for p in calendar.phases)
    session.add_all(CampaignBatch.model_validate(b.model_dump()) for b in calendar.batches)
    if batch_hotspots:
        for batch in calendar.batches:
            session.exec(update(Hotspot).where(col(Hotspot.batch) == batch.number).values(start_date=batch.start))
    session.flush()


def focus_start(hotspot: Hotspot, calendar: Calendar) -> date | None:
    """The local date a hotspot is in focus from: its batch's start, else its own ``start_date``
    (None: in focus throughout)."""
    batch = next((b for b in calendar.batches if b.number == hotspot.batch), None)
    return batch.start if batch else hotspot.start_date
