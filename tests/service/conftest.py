"""Service fixtures: every database test runs once on SQLite and once on a fresh PostgreSQL database.

``STREETSCAN_TEST_POSTGRES`` names the server (a URL to any database on it); set it empty to skip
the PostgreSQL half.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from service.app import create_app
from service.auth.users import create_user
from service.db import make_engine, migrated_database
from service.models.users import Role
from service.settings import Settings
from tests.service.s3 import bucket, s3_endpoint  # noqa: F401 - fixtures for the object-storage tests
from tests.service.web_client import web_users  # noqa: F401 - fixture for the web tests
from tests.vision.conftest import make_video, run_ffmpeg  # noqa: F401 - make_video: fixture

PG_SERVER = os.environ.get("STREETSCAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_SERVER, reason="STREETSCAN_TEST_POSTGRES is empty")],
    ),
]


class Clock:
    """A settable clock (aware UTC) handed to the app instead of the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the whole session, SQLite file or fresh PostgreSQL database."""
    with migrated_database(request.param, PG_SERVER, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


def empty(engine: Engine) -> None:
    """Delete every row of every table (ids start again from 1 on PostgreSQL)."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The session database, emptied before the test."""
    engine = make_engine(database_url)
    empty(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 5, 12, 1, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, hotspot_catalog=None)


@pytest.fixture
def client(engine: Engine, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock)) as test_client:
        yield test_client


@pytest.fixture
def auth(engine: Engine) -> dict[str, dict[str, str]]:
    """Authorization headers for one user of each role, keyed by role."""
    headers = {}
    with Session(engine) as session:
        for role in Role:
            _, token = create_user(session, f"{role.value}-1", role)
            headers[role.value] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 2 s, 160x120, 10 frames/s H.264 test pattern (a stand-in camera stream when looped)."""
    path = tmp_path / "clip.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2", "-pix_fmt", "yuv420p", str(path))
    return path
