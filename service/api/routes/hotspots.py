"""Hotspot catalog: export as GeoJSON, KML or CSV (public), import and locating (admin), patrol coverage,
each hotspot's 一点一策 plan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, File, HTTPException, Query, Response, UploadFile, status
from sqlmodel import Session

from service.api.deps import AdminUser, ApiRoute, CurrentUser
from service.api.errors import errors, issue
from service.cases import PlacementError, import_hotspots, locate_at_case, place_hotspot
from service.deps import IdPath, NowDep, SessionDep, SettingsDep, WriterDep
from service.geometry import point
from service.hotspot_files import CatalogFormat, read_catalog, write_catalog
from service.hotspots import (
    CatalogError,
    export_collection,
    feature,
    parse_collection,
)
from service.inputs import UtcTime
from service.models.base import row_id
from service.models.cameras import Camera
from service.models.cases import Case
from service.models.hotspots import Hotspot, HotspotCreate, LocateRequest
from service.models.patrols import CoveringCamera, CoveringPass, HotspotCoverage
from service.models.plans import PlanPublic, PlanRequest
from service.operations import load_plan, local_date
from service.patrols import passes_covering
from service.plans import PlanError, plan_public, save_plan
from service.reports.cameras import cameras_covering
from service.settings import Settings
from service.writer import Writer, lock_matching

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Before any camera: the start of an unbounded range."""
router = APIRouter(prefix="/hotspots", tags=["hotspots"], route_class=ApiRoute)


@router.get("")
def list_hotspots(session: SessionDep) -> dict[str, Any]:
    """The catalog as a GeoJSON FeatureCollection (unlocated hotspots have a null geometry)."""
    return export_collection(session)


@router.post("/import")
def import_geojson(
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
    return _imported(session, settings, now, writer, user.id, items)


MEDIA_TYPES = {
    CatalogFormat.geojson: "application/geo+json",
    CatalogFormat.kml: "application/vnd.google-earth.kml+xml",
    CatalogFormat.csv: "text/csv; charset=utf-8",
}


@router.get("/export", response_class=Response, responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}})
def export_hotspots(session: SessionDep, format: Annotated[CatalogFormat, Query()] = CatalogFormat.geojson) -> Response:
    """The catalog as a file to download: GeoJSON, KML or CSV (``wkt`` column), as ``streetscan
    hotspots export`` writes it."""
    return Response(
        write_catalog(export_collection(session), format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="hotspots.{format.value}"'},
    )


@router.post("/import/file", responses=errors(422))
def import_hotspot_file(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: AdminUser,
    file: Annotated[UploadFile, File(description="a .geojson, .kml or .csv catalog file")],
    format: Annotated[CatalogFormat | None, Query(description="default: by the file name's suffix")] = None,
) -> dict[str, Any]:
    """``import`` from a file upload (multipart) in any of the export formats; all or nothing: 422
    lists every bad feature, placemark or row by its number (``loc`` ``["body", "file", n]``)."""
    try:
        items = read_catalog(file.file.read(), format or CatalogFormat.of_name(file.filename or ""))
    except CatalogError as exc:
        detail = [issue(["body", "file"] if i is None else ["body", "file", i], msg) for i, msg in exc.errors]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [issue(["body", "file"], str(exc))]) from None
    return _imported(session, settings, now, writer, user.id, items)


def _imported(
    session: Session, settings: Settings, now: datetime, writer: Writer, user_id: int | None, items: list[HotspotCreate]
) -> dict[str, Any]:
    with writer:
        saved = import_hotspots(session, settings, items, now, user_id, load_plan(settings.operations_file).hours)
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


def _hotspot_or_404(session: Session, hotspot_id: int) -> Hotspot:
    hotspot = session.get(Hotspot, hotspot_id)
    if hotspot is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hotspot")
    return hotspot


@router.get("/{hotspot_id}/plan", response_model=PlanPublic, responses=errors(404))
def get_plan(
    hotspot_id: IdPath, session: SessionDep, settings: SettingsDep, now: NowDep, user: CurrentUser
) -> PlanPublic:
    """The hotspot's 一点一策 plan: measures, the responsible unit, milestones by date (``late``: past
    their date by the local calendar and neither done nor dropped); empty (``updated_at`` null) when
    none was written yet."""
    return plan_public(session, _hotspot_or_404(session, hotspot_id), local_date(now, settings.timezone))


@router.put("/{hotspot_id}/plan", response_model=PlanPublic, responses=errors(404))
def put_plan(
    hotspot_id: IdPath,
    body: PlanRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    writer: WriterDep,
    user: AdminUser,
) -> PlanPublic:
    """Replace the hotspot's plan (admin). 422 for an unknown or disabled unit, an empty measure or
    milestone title, a milestone without a valid date or with an unknown state; nothing changes then."""
    hotspot = _hotspot_or_404(session, hotspot_id)
    with writer:
        try:
            save_plan(session, hotspot, body, now, user.id)
        except PlanError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        session.commit()
    return plan_public(session, hotspot, local_date(now, settings.timezone))
