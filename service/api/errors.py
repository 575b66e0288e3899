"""One error shape for every 4xx answer, FastAPI's ``{"detail": ...}``, and its OpenAPI documentation.

``detail`` is a message, or (for request validation) the list of FastAPI's validation error
objects. Routes document the codes they can answer with ``responses=errors(...)``;
``service.api.deps.ApiRoute`` adds the ones every route of its kind can answer (401, 403, 413, 422).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ValidationIssue(BaseModel):
    """One validation error: where (``loc``), what (``msg``) and its kind (``type``)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx answer: a message, or the list of validation errors."""

    detail: str | list[ValidationIssue]


DESCRIPTIONS = {
    400: "Malformed request body",
    401: "No valid bearer token",
    403: "The token's user lacks the role",
    404: "No such resource",
    409: "Conflicts with the current state (a stale decision, a forbidden transition, a taken name)",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Invalid input: the detail names each problem",
    429: "Too many attempts: wait for Retry-After seconds",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the given 4xx codes with the error shape."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def issue(loc: list[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One validation error object, as FastAPI writes them."""
    return {"loc": loc, "msg": msg, "type": kind}


async def stale_write(request: Request, exc: Exception) -> JSONResponse:
    """A write another writer overtook (a case changed meanwhile): 409, try again."""
    detail = "the data changed while this request ran: read it again and retry"
    return JSONResponse({"detail": detail}, status.HTTP_409_CONFLICT)
