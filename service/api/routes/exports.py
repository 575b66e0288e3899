"""Case exports (any user): the cases the cases list's filters let through, as CSV, XLSX or GeoJSON;
a unit's dispatch sheet (派单表) as CSV or XLSX."""

from __future__ import annotations

import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from service.api.deps import ApiRoute, CurrentUser
from service.api.errors import errors
from service.api.routes.cases import CaseFilterDep
from service.cases import find_cases
from service.categories import category_policies
from service.deps import IdPath, NowDep, SecretKeyDep, SessionDep, SettingsDep
from service.integrations.codes import category_codes
from service.integrations.dispatch_sheet import FORMATS, sheet_file
from service.integrations.exports import MAX_ROWS, MEDIA, table_rows, to_csv, to_geojson, to_xlsx
from service.integrations.media import media_url
from service.models.operations import Unit

router = APIRouter(prefix="/exports", tags=["exports"], route_class=ApiRoute)

EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the export file", "content": {media.split(";")[0]: {} for media in MEDIA.values()}}
}


@router.get("/cases.{fmt}", response_class=Response, responses={**EXPORT_RESPONSE, **errors(404, 413)})
def export_cases(
    fmt: Annotated[str, Path(max_length=16, description="csv, xlsx or geojson")],
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    found: CaseFilterDep,
) -> Response:
    """Every case the filters (those of ``GET /api/cases``) let through, newest sighting first, as a
    download: CSV or XLSX with Chinese headers and the categories' codes, or GeoJSON of the located
    ones. More than MAX_ROWS cases: 413, narrow the filter; another format: 404."""
    if fmt not in MEDIA:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such format: use .csv, .xlsx or .geojson")
    cases = find_cases(session, found, MAX_ROWS, 0)
    if cases.total > MAX_ROWS:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"{cases.total} cases; an export holds at most {MAX_ROWS}"
        )
    codes = category_codes(settings.category_codes_path)
    if fmt == "geojson":
        body = json.dumps(to_geojson(cases.items, codes), ensure_ascii=False).encode()
    else:
        rows = table_rows(cases.items, category_policies(settings.taxonomy_path), codes, ZoneInfo(settings.timezone))
        body = to_csv(rows) if fmt == "csv" else to_xlsx(rows)
    disposition = f'attachment; filename="cases.{fmt}"'
    return Response(body, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


@router.get(
    "/units/{unit_id}/dispatch-sheet.{fmt}", response_class=Response, responses={**EXPORT_RESPONSE, **errors(404)}
)
def export_dispatch_sheet(
    unit_id: IdPath,
    fmt: Annotated[str, Path(max_length=16, description="csv or xlsx")],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    secret: SecretKeyDep,
    now: NowDep,
    user: CurrentUser,
) -> Response:
    """The dispatch sheet (派单表) of a unit: the cases dispatched to it that wait for its disposal,
    earliest deadline first, with Chinese headers; the photo column holds a signed link to each
    case's best crop (faces and plates blurred, valid ``media_url_ttl_s``), the disposal column is
    left for the officer. 404 for an unknown unit or another format than csv and xlsx."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such unit")
    if fmt not in FORMATS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such format: use .csv or .xlsx")
    photo_url = media_url(str(request.base_url), secret, now, settings.media_url_ttl_s)
    body = sheet_file(session, settings, unit, fmt, now, photo_url)
    disposition = f'attachment; filename="dispatch-sheet-{unit_id}.{fmt}"'
    return Response(body, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})
