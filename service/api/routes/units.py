"""Units cases are dispatched to (brigades, outside departments): list (any user), add, change and
members (admins)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.api.deps import AdminUser, ApiRoute, CurrentUser
from service.api.errors import errors
from service.deps import IdPath, NowDep, SessionDep, WriterDep
from service.models.operations import MemberRequest, Unit, UnitCreate, UnitPublic, UnitUpdate
from service.models.users import User, UserPublic
from service.operations import BadRequest, check_head

router = APIRouter(prefix="/units", tags=["units"], route_class=ApiRoute)


def _unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such unit")
    return unit


def _head(session: Session, user_id: int | None) -> None:
    try:
        check_head(session, user_id)
    except BadRequest as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get("", response_model=list[UnitPublic])
def list_units(session: SessionDep, user: CurrentUser) -> list[Unit]:
    """Every unit, by id."""
    return list(session.exec(select(Unit).order_by(col(Unit.id))).all())


@router.post("", response_model=UnitPublic, status_code=status.HTTP_201_CREATED, responses=errors(409))
def add_unit(body: UnitCreate, session: SessionDep, now: NowDep, writer: WriterDep, user: AdminUser) -> Unit:
    """Add a unit; a taken ``key`` is a 409, a territory that is no valid Polygon a 422."""
    _head(session, body.head_user_id)
    unit = Unit.model_validate({**body.model_dump(), "updated_at": now})
    with writer:
        session.add(unit)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, f"unit {body.key!r} exists already") from None
    session.refresh(unit)
    return unit


@router.patch("/{unit_id}", response_model=UnitPublic, responses=errors(404))
def change_unit(
    unit_id: IdPath, body: UnitUpdate, session: SessionDep, now: NowDep, writer: WriterDep, user: AdminUser
) -> Unit:
    """Change the fields given (``disabled`` true: the unit takes no new case)."""
    with writer:
        unit = _unit(session, unit_id)
        changes = body.model_dump(exclude_unset=True)
        _head(session, changes.get("head_user_id"))
        unit.sqlmodel_update({**changes, "updated_at": now})
        session.add(unit)
        session.commit()
    session.refresh(unit)
    return unit


@router.post("/{unit_id}/members", response_model=UserPublic, responses=errors(404))
def add_member(
    unit_id: IdPath, body: MemberRequest, session: SessionDep, writer: WriterDep, user: AdminUser
) -> UserPublic:
    """Put a user in the unit (out of any other)."""
    with writer:
        _unit(session, unit_id)
        member = session.get(User, body.user_id)
        if member is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
        member.unit_id = unit_id
        session.add(member)
        session.commit()
        session.refresh(member)
    return UserPublic.model_validate(member, from_attributes=True)
