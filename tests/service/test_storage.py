"""Settings, engine pragmas and migrations: the schema Alembic builds is the one the models declare."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from service.app import create_app
from service.cases import CANDIDATES, candidate_params
from service.db import alembic_config, make_engine
from service.settings import Settings
from tests.service.builders import served_app


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STREETSCAN_LOOKBACK_DAYS", "10")
    monkeypatch.setenv("STREETSCAN_RADIUS_M", '{"lightbox_ad": 8, "banner": 5}')
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'streetscan.db'}"
    assert settings.lookback_days == 10
    radii = [settings.radius_for(c) for c in ("lightbox_ad", "street_vendor", "banner")]
    assert radii == [8, 25, 5]
    assert settings.radius_for("outdoor_ad") == 12 and settings.radius_for("new_kind") == settings.default_radius_m
    with pytest.raises(ValidationError):
        Settings(radius_m={"street_vendor": 0})
    with pytest.raises(ValidationError):
        Settings(lookback=3)  # type: ignore[call-arg]  # a misspelt setting, as a user might write it


def test_default_sqlite_file_is_created_migrated_in_wal(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", hotspot_catalog=None)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/health").status_code == 200
        engine = served_app(client).state.engine
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == settings.sqlite_busy_timeout_ms
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            versions = {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        assert versions == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    assert (tmp_path / "data" / "streetscan.db").is_file()


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("cases")}
    assert indexes["ix_cases_category_cell"] == ["category", "cell_x", "cell_y"]


def test_matching_query_uses_the_grid_index(engine: Engine) -> None:
    """The candidate lookup is an index search, not a scan of every case."""
    since = datetime(2025, 5, 1, tzinfo=UTC)
    stmt = CANDIDATES.params(candidate_params("street_vendor", 35.49, 112.85, 25.0, since))
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "INDEX ix_cases_category_cell (category=? AND cell_x=? AND cell_y=?)" in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table would make any plan a scan
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "ix_cases_category_cell" in plan, plan


def test_make_engine_creates_sqlite_folder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'x.db'}")
    with engine.connect():
        pass
    engine.dispose()
    assert (tmp_path / "a" / "b" / "x.db").is_file()
