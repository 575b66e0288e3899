"""The FastAPI application factory."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from sqlmodel import Session

from service.api.router import api_router
from service.batches import incoming
from service.categories import known_categories
from service.db import make_engine, migrate
from service.hotspots import load_catalog
from service.jobs import JobPool, requeue_interrupted
from service.models import utcnow
from service.settings import Settings
from service.streams import Supervisor
from service.web import mount_web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The service app. On start it migrates the database to the newest schema, when no hotspot
    exists yet loads ``settings.hotspot_catalog``, queues again the video jobs a stopped server
    left running, starts ``settings.workers`` job workers and (unless ``camera_supervisor`` is off) the
    camera supervisor for the cameras in the database. ``clock`` gives the time (aware UTC)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
        migrate(engine)
        catalog = settings.hotspot_catalog
        if catalog is not None and not catalog.is_file():
            log.warning("hotspot catalog %s not found; starting without it", catalog)
        with Session(engine) as session:
            added = load_catalog(session, catalog)
        if added:
            log.info("loaded %d hotspots from %s", added, catalog)
        app.state.engine = engine
        app.state.categories = known_categories(settings.taxonomy_path)
        shutil.rmtree(incoming(settings), ignore_errors=True)
        requeue_interrupted(engine, settings.max_job_attempts)
        app.state.jobs = JobPool(engine, settings, app.state.write_lock)
        app.state.jobs.start(settings.workers)
        app.state.supervisor = None
        if settings.camera_supervisor:
            app.state.supervisor = Supervisor(engine, settings, app.state.write_lock, clock)
            app.state.supervisor.start()
        try:
            yield
        finally:
            if app.state.supervisor is not None:
                app.state.supervisor.stop()
            app.state.jobs.stop()
            engine.dispose()

    app = FastAPI(
        title="streetscan", summary="Deduplicated street-management cases from patrol video", lifespan=lifespan
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.write_lock = threading.Lock()
    app.include_router(api_router)
    mount_web(app)
    return app
