"""Open311 GeoReport v2: the categories as services, cases as service requests (JSON objects and
their XML form), the standard request filters, and a citizen or hotline report as an observation.

A case is a service request: ``service_request_id`` is the case id, ``service_code`` its category id
(the category's national and local codes are the service's ``keywords``), ``status`` is ``open``
while the case is open (new, confirmed, dispatched, reopened) and ``closed`` otherwise;
``status_notes`` names the case's own status and the note of its last status change;
``agency_responsible`` is the unit the case is dispatched to (else the service's agency) and
``expected_datetime`` its deadline while it waits for that unit. Times are W3C date-times in the service's
local time zone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from sqlmodel import Session, col, select

from service.cases import OPEN
from service.integrations.codes import CategoryCodes
from service.models.base import row_id
from service.models.cases import Case, CaseEvent, CaseStatus
from service.models.hotspots import Hotspot
from service.models.observations import ObservationRow
from service.models.operations import CaseAssignment, Unit
from vision import CategoryPolicy, Observation

DEFAULT_DAYS = 90
"""Without ``start_date``, requests of the 90 days before ``end_date`` (or now), as the standard says."""
MAX_PAGE_SIZE = 1000
"""The most requests one answer holds (the standard's suggested maximum)."""
REPORT_LABEL = "open311 report"
"""The ``label`` of an observation made from a POSTed report."""


def service_list(policies: Mapping[str, CategoryPolicy], codes: Mapping[str, CategoryCodes]) -> list[dict[str, Any]]:
    """One GeoReport service per category, in taxonomy order."""
    services = []
    for category, policy in policies.items():
        found = codes.get(category)
        keywords = [found.national.code, found.local.code] if found else []
        services.append(
            {
                "service_code": category,
                "service_name": policy.zh,
                "description": policy.en,
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join(k for k in keywords if k),
                "group": found.national.group if found else "",
            }
        )
    return services


@dataclass(frozen=True)
class RequestQuery:
    """The standard filters: ``ids`` (when given, the others are ignored), ``service_codes``,
    ``statuses`` (``open``, ``closed``), and the time the request was made between ``start`` and ``end`` (aware)."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None

    def conditions(self, now: datetime) -> list[Any]:
        if self.ids:
            return [col(Case.id).in_(self.ids)]
        found: list[Any] = []
        if self.service_codes:
            found.append(col(Case.category).in_(self.service_codes))
        if self.statuses == {"open"}:
            found.append(col(Case.status).in_(list(OPEN)))
        elif self.statuses == {"closed"}:
            found.append(col(Case.status).not_in(list(OPEN)))
        end = self.end or now
        start = self.start or end - timedelta(days=DEFAULT_DAYS)
        found += [col(Case.created_at) >= start, col(Case.created_at) <= end]
        return found


@dataclass(frozen=True)
class Presentation:
    """What a request shows besides the case: category names, the responsible agency, the local
    time zone, and the signed link of an evidence key."""

    policies: Mapping[str, CategoryPolicy]
    agency: str
    zone: Any
    media_url: Callable[[str], str]

    def when(self, at: datetime | None) -> str | None:
        return at.astimezone(self.zone).isoformat(timespec="seconds") if at else None


def find_requests(
    session: Session, query: RequestQuery, show: Presentation, now: datetime, page: int, page_size: int
) -> list[dict[str, Any]]:
    """Page ``page`` (from 1) of the matching requests, ``page_size`` each, newest request first."""
    stmt = (
        select(Case, Hotspot.name, Unit.name, CaseAssignment.due_at)
        .outerjoin(Hotspot, col(Case.hotspot_id) == Hotspot.id)
        .outerjoin(CaseAssignment, col(CaseAssignment.case_id) == Case.id)
        .outerjoin(Unit, col(Unit.id) == CaseAssignment.unit_id)
        .where(*query.conditions(now))
        .order_by(col(Case.created_at).desc(), col(Case.id).desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = session.exec(stmt).all()
    ids = [row_id(case) for case, *_ in rows]
    notes, crops = status_notes(session, ids), best_crops(session, ids)
    return [
        service_request(
            c, place, Dispatch(unit, due) if unit else None, notes.get(row_id(c)), crops.get(row_id(c)), show
        )
        for c, place, unit, due in rows
    ]


def status_notes(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    """Case id -> the note of its last status change, for those whose last change has one."""
    stmt = (
        select(CaseEvent.case_id, CaseEvent.note)
        .where(col(CaseEvent.case_id).in_(list(case_ids)), col(CaseEvent.to_status).is_not(None))
        .order_by(col(CaseEvent.id))
    )
    last = dict(session.exec(stmt).all())
    return {case_id: note for case_id, note in last.items() if note}


def best_crops(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    """Case id -> evidence key of the crop of its most confident observation that has one."""
    stmt = (
        select(ObservationRow.case_id, ObservationRow.crop)
        .where(col(ObservationRow.case_id).in_(list(case_ids)), col(ObservationRow.crop).is_not(None))
        .order_by(col(ObservationRow.confidence), col(ObservationRow.id).desc())
    )
    return {case_id: crop for case_id, crop in session.exec(stmt).all() if case_id is not None and crop}


@dataclass(frozen=True)
class Dispatch:
    """The unit a case is dispatched to (its name) and by when it is due."""

    unit: str
    due_at: datetime


def service_request(
    case: Case, place: str | None, dispatch: Dispatch | None, note: str | None, crop: str | None, show: Presentation
) -> dict[str, Any]:
    """The GeoReport service request of one case (``place``: its hotspot's name, as the address;
    ``dispatch``: its unit and deadline, when it was dispatched)."""
    policy = show.policies.get(case.category)
    name = policy.zh if policy else case.category
    return {
        "service_request_id": str(case.id),
        "status": "open" if case.status in OPEN else "closed",
        "status_notes": f"{case.status.value}: {note}" if note else case.status.value,
        "service_name": name,
        "service_code": case.category,
        "description": f"{name}，发现 {case.observation_count} 次",
        "agency_responsible": dispatch.unit if dispatch else show.agency,
        "service_notice": "",
        "requested_datetime": show.when(case.created_at),
        "updated_datetime": show.when(case.updated_at),
        "expected_datetime": show.when(dispatch.due_at) if dispatch and case.status == CaseStatus.dispatched else None,
        "address": place or "",
        "address_id": "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.lon,
        "media_url": show.media_url(crop) if crop else "",
    }


def to_xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    """The GeoReport XML form of a list: ``<root><item><field>value</field>…</item>…</root>``;
    None is an empty element, booleans are ``true``/``false``."""
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for field, value in row.items():
            text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            ElementTree.SubElement(element, field).text = text
    data: bytes = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
    return data


def report_observation(service_code: str, lat: float, lon: float, at: datetime, description: str) -> Observation:
    """A POSTed report as an observation of its category at (lat, lon), seen at ``at`` (aware UTC);
    a fresh random track id, so every report is one sighting."""
    return Observation(
        track_id=f"report-{secrets.token_hex(8)}",
        category=service_code,
        label=(f"{REPORT_LABEL}: {description}" if description else REPORT_LABEL)[:128],
        confidence=1.0,
        t_first=0.0,
        t_last=0.0,
        t_best=0.0,
        observed_at=at.isoformat(),
        bbox=[0.0, 0.0, 0.0, 0.0],
        lat=lat,
        lon=lon,
        crop=None,
    )
