"""Hotspot catalog: GeoJSON export (public), import and locating (admin), patrol coverage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, HTTPException, Query, status

from service.api.deps import AdminUser, ApiRoute, CurrentUser
from service.api.errors import errors, issue
from service.cases import PlacementError, locate_at_case, place_hotspot, reassign_hotspots
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep
from service.geometry import point
from service.hotspots import (
    CatalogError,
    export_collection,
    feature,
    import_collection,
    located_shapes,
    parse_collection,
)
from service.inputs import UtcTime
from service.models.base import row_id
from service.models.cameras import Camera
from service.models.cases import Case
from service.models.hotspots import Hotspot, LocateRequest
from service.models.patrols import CoveringCamera, CoveringPass, HotspotCoverage
from service.patrols import passes_covering
from service.reports.cameras import cameras_covering
from service.writer import lock_matching

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Before any camera: the start of an unbounded range."""
router = APIRouter(prefix="/hotspots", tags=["hotspots"], route_class=ApiRoute)


@router.get("")
def list_hotspots(session: SessionDep) -> dict[str, Any]:
    """The catalog as a GeoJSON FeatureCollection (unlocated hotspots have a null geometry)."""
    return export_collection(session)


@router.post("/import")
def import_hotspots(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: AdminUser,
    collection: Annotated[Any, Body(description="a GeoJSON FeatureCollection")],
) -> dict[str, Any]:
    """Insert or update hotspots by feature id (key); all or nothing: 422 lists every bad feature
    (``loc`` ``["body", "features", i]``)."""
    try:
        items = parse_collection(collection)
    except CatalogError as exc:
        detail = [issue(["body"] if i is None else ["body", "features", i], msg) for i, msg in exc.errors]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
    with writer:
        lock_matching(session)
        saved, boxes = import_collection(session, items)
        shapes = located_shapes(session)
        for box in boxes:
            reassign_hotspots(session, settings, shapes, box, now, user.id)
        session.commit()
    return {
        "imported": len(saved),
        "hotspots": [{"id": h.id, "key": h.key, "name": h.name, "located": h.geometry is not None} for h in saved],
    }


@router.post("/{hotspot_id}/locate", responses=errors(404, 409))
def locate_hotspot(
    hotspot_id: IdPath,
    body: LocateRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: AdminUser,
) -> dict[str, Any]:
    """Place a hotspot by coordinates, by a GeoJSON geometry, or at a confirmed case ("this case is
    at hotspot X"); cases around its old and new place get their nearest hotspot again."""
    with writer:
        lock_matching(session)
        hotspot = session.get(Hotspot, hotspot_id)
        if hotspot is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hotspot")
        try:
            if body.case_id is not None:
                case = session.get(Case, body.case_id)
                if case is None:
                    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
                locate_at_case(session, settings, hotspot, case, now, user.id, body.buffer_m)
            else:
                geometry = body.geometry if body.geometry is not None else point(*body.point())
                place_hotspot(session, settings, hotspot, geometry, now, user.id, body.buffer_m)
        except PlacementError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        session.commit()
    session.refresh(hotspot)
    return feature(hotspot)


@router.get("/{hotspot_id}/coverage", response_model=HotspotCoverage, responses=errors(404, 409))
def hotspot_coverage(
    hotspot_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: CurrentUser,
    since: Annotated[UtcTime | None, Query()] = None,
    until: Annotated[UtcTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HotspotCoverage:
    """The patrol passes that covered the hotspot (came within its buffer with the camera facing it)
    between ``since`` and ``until`` (ISO-8601; naive means UTC; None: up to now), earliest first, each with
    the moment it did, and the fixed cameras facing it live then; 409 for a hotspot not yet located (no
    pass can be said to cover it)."""
    hotspot = session.get(Hotspot, hotspot_id)
    if hotspot is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hotspot")
    if hotspot.geometry is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the hotspot is not located yet: locate it first")
    found = passes_covering(session, hotspot.geometry, hotspot.buffer_m, since, until)
    passes = [
        CoveringPass(
            id=row_id(row),
            source=row.source,
            job_id=row.job_id,
            mount=row.mount,
            started_at=row.started_at,
            ended_at=row.ended_at,
            covered_at=at,
        )
        for row, at in found[:limit]
    ]
    live = cameras_covering(session, [hotspot], since or EARLIEST, until or now, ZoneInfo(settings.timezone))
    cameras = [
        CoveringCamera(id=row_id(c), name=c.name, schedule=c.schedule, enabled=c.enabled)
        for c in (session.get_one(Camera, i) for i in sorted(live.get(hotspot_id, ())))
    ]
    return HotspotCoverage(
        hotspot_id=hotspot_id, since=since, until=until, total=len(found), passes=passes, cameras=cameras
    )
