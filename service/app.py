"""The FastAPI application factory."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, func, select

from service.api.errors import stale_write
from service.api.router import api_router
from service.api.routes import open311
from service.auth.setup_link import SetupLink, setup_url
from service.auth.throttle import Throttle
from service.batches import incoming
from service.body_limit import BodyLimit
from service.campaign import load_calendar
from service.categories import known_categories
from service.db import make_engine, migrate, private_folder
from service.hotspots import load_catalog
from service.models.base import utcnow
from service.models.users import User
from service.operations import Escalator, load_plan, load_units
from service.settings import Settings
from service.web import mount_web
from service.web.maps import load_roads
from service.workers.jobs import requeue_interrupted
from service.workers.maintenance import Maintenance
from service.workers.pool import JobPool
from service.workers.supervisor import Supervisor
from service.workers.webhooks import WebhookSender
from service.writer import Writer

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The service app. On start it creates the data folder (owner-only), migrates the database
    to the newest schema, when no hotspot exists yet loads ``settings.hotspot_catalog`` (and when no
    unit exists the units of ``settings.operations_file``), when no user exists prints a one-time
    setup link for the first admin, queues again the video jobs a
    stopped server left running, starts ``settings.workers`` job workers and (unless
    ``camera_supervisor`` is off) the camera supervisor for the cameras in the database, the escalation
    of overdue cases, (unless ``maintenance_every_h`` is 0) the periodic chain anchor and retention
    cleanup, and (unless ``webhook_sender`` is off) the webhook sender. With a ``broker_url`` it runs no
    inference: it sends video jobs to the worker fleet (``service.workers.fleet``), whose ``streams``
    workers run the cameras; the maintenance, escalation and webhooks still run here (run one such
    server with them: set ``maintenance_every_h`` 0 on any other). ``clock`` gives the time (aware UTC)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        private_folder(settings.data_dir)
        engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
        migrate(engine, settings)
        catalog = settings.hotspot_catalog
        if catalog is not None and not catalog.is_file():
            log.warning("hotspot catalog %s not found; starting without it", catalog)
        plan = load_plan(settings.operations_file)
        with Session(engine) as session:
            added = load_catalog(session, catalog, plan.hours)
            users = session.exec(select(func.count()).select_from(User)).one()
            units = load_units(session, plan)
            load_calendar(session, plan)
        if added:
            log.info("loaded %d hotspots from %s", added, catalog)
        if units:
            log.info("loaded %d units from %s", units, settings.operations_file)
        app.state.engine = engine
        app.state.writer = Writer(engine)
        app.state.categories = known_categories(settings.taxonomy_path)
        app.state.roads = load_roads(settings.basemap_roads)
        app.state.setup = None
        if not users:
            app.state.setup, token = SetupLink.new(clock())
            print(
                "streetscan: no user yet. To create the first admin, open this one-time link within an hour:\n"
                f"    {setup_url(settings.host, settings.port, token)}",
                file=sys.stderr,
                flush=True,
            )
        shutil.rmtree(incoming(settings), ignore_errors=True)
        app.state.escalator = Escalator(engine, app.state.writer, clock, settings.escalation_check_s)
        app.state.escalator.start()
        app.state.supervisor = None
        if settings.broker_url:  # the worker fleet runs jobs and cameras; this process only queues jobs
            from service.workers.fleet import Dispatcher

            app.state.jobs = Dispatcher(engine, settings, app.state.writer)
            app.state.jobs.start()
        else:
            requeue_interrupted(engine, settings.max_job_attempts)
            app.state.jobs = JobPool(engine, settings, app.state.writer)
            app.state.jobs.start(settings.workers)
        if settings.camera_supervisor and settings.broker_url:  # cameras run in the fleet's `streams` workers
            from service.workers.camera_leases import FleetCameras

            app.state.supervisor = FleetCameras(settings)
        elif settings.camera_supervisor:
            app.state.supervisor = Supervisor(engine, settings, app.state.writer, clock)
            app.state.supervisor.start()
        app.state.maintenance = None
        if settings.maintenance_every_h > 0:
            app.state.maintenance = Maintenance(engine, settings, app.state.writer, clock)
            app.state.maintenance.start()
        app.state.webhooks = None
        if settings.webhook_sender:
            app.state.webhooks = WebhookSender(engine, settings, app.state.writer, clock)
            app.state.webhooks.start()
        try:
            yield
        finally:
            if app.state.webhooks is not None:
                app.state.webhooks.stop()
            if app.state.maintenance is not None:
                app.state.maintenance.stop()
            if app.state.supervisor is not None:
                app.state.supervisor.stop()
            app.state.jobs.stop()
            app.state.escalator.stop()
            engine.dispose()

    app = FastAPI(
        title="streetscan", summary="Deduplicated street-management cases from patrol video", lifespan=lifespan
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.account_throttle = Throttle(
        settings.login_max_failures, settings.login_lockout_s, settings.login_max_lockout_s
    )
    app.state.address_throttle = Throttle(
        settings.login_max_failures_per_address, settings.login_lockout_s, settings.login_max_lockout_s
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, exempt=("/api/batches",))
    app.add_exception_handler(StaleDataError, stale_write)
    app.include_router(api_router)
    app.include_router(open311.router)
    mount_web(app)
    return app
