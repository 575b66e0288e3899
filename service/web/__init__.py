"""The reviewer web view: server-rendered pages (Jinja2), static files, cookie sessions.

``mount_web(app)`` adds it to the service app.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from service.web.deps import LoginRequired, PageError
from service.web.render import STATIC_DIR, Page, render
from service.web.routes import (
    admin,
    calendar,
    cases,
    casework,
    evidence,
    hotspot_editor,
    hotspots,
    login,
    operations,
    rechecks,
    reports,
    review,
    setup,
    shared,
    signs,
    tasks,
    webhooks,
)
from service.web.sessions import SecretKey


def mount_web(app: FastAPI) -> None:
    """Pages, static files and the handlers that turn page errors into pages."""
    settings = app.state.settings
    app.state.session_key = SecretKey(settings.session_secret, settings.data_dir)
    for module in (
        login,
        setup,
        review,
        cases,
        casework,
        hotspots,
        hotspot_editor,
        signs,
        reports,
        rechecks,
        evidence,
        admin,
        operations,
        calendar,
        tasks,
        shared,
        webhooks,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(PageError, _error_page)


async def _to_login(request: Request, exc: Exception) -> RedirectResponse:
    """A ``LoginRequired``: to the login form, then back."""
    next_url = cast(LoginRequired, exc).next_url
    return RedirectResponse(f"/login?next={quote(next_url, safe='')}", status.HTTP_303_SEE_OTHER)


async def _error_page(request: Request, exc: Exception) -> HTMLResponse:
    """A ``PageError`` as a page."""
    error = cast(PageError, exc)
    page = Page(request)
    return render(page, "error.html", error.status_code, message=page.t.refusal(error.refusal))
