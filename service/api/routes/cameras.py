"""Fixed street cameras (admins): register, list with their runtime state, edit, delete.

Every change takes effect at once in this process's camera supervisor, for that camera only; with a broker, the
workers that run cameras pick it up within a sixth of ``camera_lease_s`` (``service.workers.camera_leases``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.api.deps import AdminUser, ApiRoute
from service.api.errors import errors
from service.deps import CategoriesDep, IdPath, NowDep, SessionDep, WriterDep
from service.models.base import row_id
from service.models.cameras import Camera, CameraCreate, CameraPublic, CamerasPublic, CameraUpdate
from service.workers.camera_leases import FleetCameras
from service.workers.cameras import CameraRuntime
from service.workers.supervisor import Supervisor
from vision import StreamState

router = APIRouter(prefix="/cameras", tags=["cameras"], route_class=ApiRoute)

NOT_SUPERVISED = CameraRuntime(
    status=StreamState.stopped, last_error="the camera supervisor is not running in this server process"
)


def get_supervisor(request: Request) -> Supervisor | FleetCameras | None:
    """This process's camera supervisor, or the fleet's cameras (with a broker); None when
    ``camera_supervisor`` is off."""
    return cast(Supervisor | FleetCameras | None, request.app.state.supervisor)


SupervisorDep = Annotated[Supervisor | FleetCameras | None, Depends(get_supervisor)]


def public(camera: Camera, supervisor: Supervisor | FleetCameras | None) -> CameraPublic:
    """The stored camera merged with what its worker is doing now."""
    runtime = supervisor.runtime(row_id(camera)) if supervisor is not None else NOT_SUPERVISED
    return CameraPublic.model_validate({**camera.model_dump(), **asdict(runtime)})


def check_categories(dwell_s: dict[str, float] | None, categories: frozenset[str]) -> None:
    unknown = sorted(set(dwell_s or {}) - categories)
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"dwell_s: unknown category {', '.join(map(repr, unknown))} (known: {', '.join(sorted(categories))})",
        )


def save(session: Session, camera: Camera) -> None:
    """Commit the camera; 409 when its name is taken."""
    session.add(camera)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"a camera named {camera.name!r} exists") from None
    session.refresh(camera)


def get_camera(session: Session, camera_id: int) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such camera")
    return camera


@router.post("", response_model=CameraPublic, status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_camera(
    body: CameraCreate,
    session: SessionDep,
    categories: CategoriesDep,
    writer: WriterDep,
    supervisor: SupervisorDep,
    user: AdminUser,
) -> CameraPublic:
    """Register a camera; it starts at once (unless ``enabled`` is false)."""
    check_categories(body.dwell_s, categories)
    camera = Camera.model_validate(body)
    with writer:
        save(session, camera)
    if supervisor is not None:
        supervisor.apply(camera)
    return public(camera, supervisor)


@router.get("", response_model=CamerasPublic)
def list_cameras(session: SessionDep, supervisor: SupervisorDep, user: AdminUser) -> CamerasPublic:
    cameras = session.exec(select(Camera).order_by(col(Camera.id))).all()
    return CamerasPublic(items=[public(c, supervisor) for c in cameras], total=len(cameras))


@router.get("/{camera_id}", response_model=CameraPublic, responses=errors(404))
def read_camera(camera_id: IdPath, session: SessionDep, supervisor: SupervisorDep, user: AdminUser) -> CameraPublic:
    return public(get_camera(session, camera_id), supervisor)


@router.patch("/{camera_id}", response_model=CameraPublic, responses=errors(404, 409))
def update_camera(
    camera_id: IdPath,
    body: CameraUpdate,
    session: SessionDep,
    categories: CategoriesDep,
    now: NowDep,
    writer: WriterDep,
    supervisor: SupervisorDep,
    user: AdminUser,
) -> CameraPublic:
    """Change the fields given; the camera restarts with them (others keep running)."""
    changes = body.model_dump(exclude_unset=True)
    check_categories(changes.get("dwell_s"), categories)
    with writer:
        camera = get_camera(session, camera_id)
        camera.sqlmodel_update({**changes, "updated_at": now})
        save(session, camera)
    if supervisor is not None:
        supervisor.apply(camera)
    return public(camera, supervisor)


@router.delete("/{camera_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_camera(
    camera_id: IdPath, session: SessionDep, writer: WriterDep, supervisor: SupervisorDep, user: AdminUser
) -> Response:
    """Stop the camera and forget it; its observations and cases stay."""
    with writer:
        session.delete(get_camera(session, camera_id))
        session.commit()
    if supervisor is not None:
        supervisor.remove(camera_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
