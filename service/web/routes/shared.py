"""Share links: one case's evidence record, faces and plates blurred, for anyone holding a valid link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import HTMLResponse

from service.deps import NowDep, SecretKeyDep, SessionDep, SettingsDep
from service.evidence_report import HEADERS, render_report
from service.share import shared_case
from service.web.deps import PageError

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(max_length=120, pattern=r"^[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+$")]


@router.get("/shared/{token}", response_class=HTMLResponse)
def shared(token: Token, db: SessionDep, settings: SettingsDep, key: SecretKeyDep, now: NowDep) -> HTMLResponse:
    """The evidence record a share link names (blurred); 404 for a forged or expired link or a case gone."""
    try:
        html = render_report(db, settings, shared_case(key, token, now), False, now, "分享链接")
    except (ValueError, LookupError):
        raise PageError(status.HTTP_404_NOT_FOUND, "share_link_gone") from None
    return HTMLResponse(html, headers=HEADERS)
