"""Open311 GeoReport v2 under ``/open311/v2``: services and service requests (any user's token),
evidence images through signed expiring links (no token: the link is the permission), and reports
from citizen or hotline systems (an uploader's API token as ``api_key``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from service.api.deps import ApiRoute, CurrentUser
from service.api.errors import errors
from service.auth.users import has_role, user_for_token
from service.categories import category_policies
from service.deps import CategoriesDep, IdPath, NowDep, SecretKeyDep, SessionDep, SettingsDep, WriterDep
from service.evidence import IMAGE_HEADERS, MEDIA_TYPES, evidence_store, is_key
from service.ingest import ingest
from service.inputs import Text, UtcTime
from service.integrations.codes import category_codes
from service.integrations.media import link_valid, media_image, media_url
from service.integrations.open311 import (
    MAX_PAGE_SIZE,
    Presentation,
    RequestQuery,
    find_requests,
    report_observation,
    service_list,
    to_xml,
)
from service.models.users import Role
from service.settings import Settings

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=ApiRoute)

Format = Literal["json", "xml"]
FormatPath = Annotated[str, Path(max_length=16, description="json or xml")]
LIST_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "a GeoReport list", "content": {"application/json": {}, "application/xml": {}}}
}
IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the image", "content": {media: {} for media in MEDIA_TYPES.values()}}
}
ListQuery = Annotated[Text | None, Query(max_length=2000, description="comma-separated")]


def answer(rows: list[dict[str, Any]], fmt: str, root: str, item: str) -> Response:
    """A GeoReport list as JSON (an array) or XML (``root`` of ``item`` elements)."""
    if fmt == "xml":
        return Response(to_xml(root, item, rows), media_type="application/xml")
    return JSONResponse(rows)


def check_format(fmt: str) -> None:
    """404 unless ``fmt`` is one of the formats (``json``, ``xml``)."""
    if fmt not in get_args(Format):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such format: use .json or .xml")


def split(value: str | None, name: str) -> list[str]:
    """The non-empty items of a comma-separated parameter; 422 for more than MAX_PAGE_SIZE."""
    items = [part.strip() for part in (value or "").split(",") if part.strip()]
    if len(items) > MAX_PAGE_SIZE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: at most {MAX_PAGE_SIZE} values")
    return items


def presentation(request: Request, settings: Settings, secret: bytes, now: datetime) -> Presentation:
    """How requests show for this request: links on its host, signed at ``now`` (aware UTC)."""
    return Presentation(
        policies=category_policies(settings.taxonomy_path),
        agency=settings.agency_name,
        zone=ZoneInfo(settings.timezone),
        media_url=media_url(str(request.base_url), secret, now, settings.media_url_ttl_s),
    )


@router.get("/services.{fmt}", response_class=Response, responses={**LIST_RESPONSE, **errors(404)})
def services(fmt: FormatPath, settings: SettingsDep, user: CurrentUser) -> Response:
    """Every category as a service: ``service_code`` the category id, ``keywords`` its national
    and local codes, ``group`` its national class."""
    check_format(fmt)
    rows = service_list(category_policies(settings.taxonomy_path), category_codes(settings.category_codes_path))
    return answer(rows, fmt, "services", "service")


@router.get("/requests.{fmt}", response_class=Response, responses={**LIST_RESPONSE, **errors(404)})
def requests(
    fmt: FormatPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    secret: SecretKeyDep,
    now: NowDep,
    user: CurrentUser,
    service_request_id: ListQuery = None,
    service_code: ListQuery = None,
    start_date: Annotated[UtcTime | None, Query()] = None,
    end_date: Annotated[UtcTime | None, Query()] = None,
    status_: Annotated[ListQuery, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE,
) -> Response:
    """Service requests, newest first: by ``service_request_id`` (then the other filters are
    ignored), else made between ``start_date`` and ``end_date`` (default: the 90 days before
    ``end_date`` or now) of the given ``service_code``s and ``status``es (open, closed);
    ``page`` (from 1) of ``page_size``."""
    check_format(fmt)
    ids = split(service_request_id, "service_request_id")
    statuses = split(status_, "status")
    if not all(i.isascii() and i.isdigit() and 1 <= int(i) < 2**31 for i in ids):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "service_request_id: case ids")
    if not set(statuses) <= {"open", "closed"}:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "status: open or closed")
    query = RequestQuery(
        ids=tuple(int(i) for i in ids),
        service_codes=tuple(split(service_code, "service_code")),
        statuses=frozenset(statuses),
        start=start_date,
        end=end_date,
    )
    rows = find_requests(session, query, presentation(request, settings, secret, now), now, page, page_size)
    return answer(rows, fmt, "service_requests", "request")


@router.get("/requests/{request_id}.{fmt}", response_class=Response, responses={**LIST_RESPONSE, **errors(404)})
def one_request(
    request_id: IdPath,
    fmt: FormatPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    secret: SecretKeyDep,
    now: NowDep,
    user: CurrentUser,
) -> Response:
    """One service request, as a list of one (the standard's shape); 404 when there is no such case."""
    check_format(fmt)
    rows = find_requests(
        session, RequestQuery(ids=(request_id,)), presentation(request, settings, secret, now), now, 1, 1
    )
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such service request")
    return answer(rows, fmt, "service_requests", "request")


@router.get("/media/{key:path}", response_class=Response, responses={**IMAGE_RESPONSE, **errors(403, 404)})
def media(
    key: str,
    settings: SettingsDep,
    secret: SecretKeyDep,
    now: NowDep,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(max_length=64)],
) -> Response:
    """The evidence image a signed ``media_url`` names: 403 when the signature is wrong or the link
    has expired, 404 when the image is gone."""
    if not is_key(key) or not link_valid(secret, key, expires, signature, now):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or expired link")
    try:
        data = media_image(evidence_store(settings), key, settings.model_path)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such image") from None
    return Response(data, media_type=MEDIA_TYPES[key[-4:]], headers=IMAGE_HEADERS)


@router.post("/requests.json", responses=errors(401, 403))
def post_request(
    session: SessionDep,
    settings: SettingsDep,
    categories: CategoriesDep,
    now: NowDep,
    writer: WriterDep,
    api_key: Annotated[str, Form(max_length=256)],
    service_code: Annotated[Text, Form(max_length=64)],
    lat: Annotated[float, Form(ge=-90, le=90, allow_inf_nan=False)],
    long: Annotated[float, Form(ge=-180, le=180, allow_inf_nan=False)],
    description: Annotated[Text, Form(max_length=4000)] = "",
) -> list[dict[str, str]]:
    """A citizen or hotline report (form-encoded, as the standard sends it; ``api_key`` an uploader's
    API token): an observation of source ``open311:<user name>`` that joins or opens a case like
    any other sighting. Answers the case id as ``service_request_id``."""
    user = user_for_token(session, api_key.strip(), now) if api_key.strip() else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid api_key")
    if not has_role(user, Role.uploader):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {Role.admin} or {Role.uploader}")
    if service_code not in categories:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"service_code: unknown {service_code!r}")
    observation = report_observation(service_code, lat, long, now, description)
    with writer:
        result = ingest(session, settings, f"open311:{user.name}", [observation], user.id, now).results[0]
    notice = "" if result.case_id else "no violation here: a designated place for it"
    return [{"service_request_id": str(result.case_id or ""), "service_notice": notice}]
