"""Service sub-commands of ``streetscan``: ``serve``, ``user add|disable|enable|passwd``,
``token add|list|revoke``, ``cameras run``, ``export-dataset``, ``report``, ``verify``, ``anchor``,
``cleanup``, ``signs import-permits|export`` and ``hotspots import|export`` (heavy imports in the handlers)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from service.settings import Settings


@contextmanager
def database_session(settings: Settings) -> Iterator[Session]:
    """A session on the configured database, migrated to the latest schema first; the engine is closed after."""
    from sqlmodel import Session

    from service.db import make_engine, migrate

    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    try:
        migrate(engine, settings)
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the API (and web view); SQLite file by default, see STREETSCAN_DATABASE_URL")
    p.add_argument("--host", default=None, help="address to listen on (default: STREETSCAN_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: STREETSCAN_PORT or 8000)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.settings import Settings

    overrides = {name: value for name in ("host", "port") if (value := getattr(args, name)) is not None}
    settings = Settings(**overrides)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)
    return 0


def add_user_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="manage users: add, disable, enable, set a password")
    verbs = p.add_subparsers(dest="user_command", required=True)
    add = verbs.add_parser("add", help="add a user; prints its API token (the last word of the last line)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "reviewer", "uploader", "dispatcher", "field_officer"])
    add.add_argument("--password", default=None, help="lets the user log in to the web view too (8+ characters)")
    add.set_defaults(func=_user_add)
    for verb, text in (
        ("disable", "disable a user: web sessions end at once, API tokens stop working"),
        ("enable", "enable a disabled user again (their tokens work again)"),
    ):
        cmd = verbs.add_parser(verb, help=text)
        cmd.add_argument("name")
        cmd.set_defaults(func=_user_enable, disabled=verb == "disable")
    passwd = verbs.add_parser("passwd", help="set a user's web password (8+ characters); their web sessions end")
    passwd.add_argument("name")
    passwd.add_argument("--password", default=None, help="the new password (default: asked twice on the terminal)")
    passwd.set_defaults(func=_user_passwd)


def add_token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("token", help="manage API tokens: add, list, revoke")
    verbs = p.add_subparsers(dest="token_command", required=True)
    add = verbs.add_parser("add", help="give a user a new API token; prints it (the last word of the last line)")
    add.add_argument("user")
    add.add_argument("--name", default=None, help="what the token is for, e.g. the laptop it goes on")
    add.add_argument("--expires", type=expiry, help="when it stops working: 30d, 12h, 90m or an ISO-8601 date/time")
    add.set_defaults(func=_token_add)
    listing = verbs.add_parser("list", help="list tokens: id, user, name, created, expires, state")
    listing.add_argument("--user", default=None, help="only this user's")
    listing.set_defaults(func=_token_list)
    revoke = verbs.add_parser("revoke", help="revoke a token by id (see `streetscan token list`)")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=_token_revoke)


_DURATION = re.compile(r"^(\d+)([dhm])$")


def expiry(text: str) -> datetime:
    """``30d``/``12h``/``90m`` from now, or an ISO-8601 date or time (naive: UTC), as aware UTC."""
    from service.inputs import utc_time

    found = _DURATION.match(text.strip())
    if found:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[found.group(2)]
        return datetime.now(UTC) + timedelta(**{unit: int(found.group(1))})
    try:
        return utc_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}; or say 30d, 12h, 90m") from None


def _with_database(command: str, action: Callable[[Session], int]) -> int:
    """Run ``action`` on the configured database; a missing user or token is exit status 1."""
    from service.settings import Settings

    try:
        with database_session(Settings()) as session:
            return action(session)
    except (LookupError, ValueError) as exc:
        print(f"streetscan {command}: {exc}", file=sys.stderr)
        return 1


def _user_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from service.auth.users import create_user
    from service.models.base import validation_message
    from service.models.users import UserCreate

    try:
        wanted = UserCreate(name=args.name, role=args.role, password=args.password)
    except ValidationError as exc:
        print(f"streetscan user add: {validation_message(exc)}", file=sys.stderr)
        return 2

    def add(session: Session) -> int:
        user, token = create_user(session, wanted.name, wanted.role, wanted.password)
        print(f"added {user.role} {user.name!r} (id {user.id}); API token:")
        print(token)
        return 0

    return _with_database("user add", add)


def _user_enable(args: argparse.Namespace) -> int:
    from service.auth.users import find_user, set_disabled

    def change(session: Session) -> int:
        set_disabled(session, find_user(session, args.name), args.disabled)
        print(f"{args.name}: {'disabled (sessions ended, tokens stopped)' if args.disabled else 'enabled'}")
        return 0

    return _with_database(f"user {'disable' if args.disabled else 'enable'}", change)


def _user_passwd(args: argparse.Namespace) -> int:
    import getpass

    from pydantic import TypeAdapter, ValidationError

    from service.auth.users import find_user, set_password
    from service.models.base import validation_message
    from service.models.users import Password

    password = args.password
    if password is None:
        password = getpass.getpass(f"new password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("streetscan user passwd: the passwords differ", file=sys.stderr)
            return 2
    try:
        TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        print(f"streetscan user passwd: password {validation_message(exc)}", file=sys.stderr)
        return 2

    def change(session: Session) -> int:
        set_password(session, find_user(session, args.name), password)
        print(f"{args.name}: password set; their web sessions ended")
        return 0

    return _with_database("user passwd", change)


def _token_add(args: argparse.Namespace) -> int:
    from service.auth.users import find_user, issue_token

    def add(session: Session) -> int:
        user = find_user(session, args.user)
        token = issue_token(session, user, args.name, args.expires)
        session.commit()
        until = f", expires {args.expires:%Y-%m-%d %H:%M} UTC" if args.expires else ""
        print(f"new API token for {user.name!r}{until}:")
        print(token)
        return 0

    return _with_database("token add", add)


def _token_list(args: argparse.Namespace) -> int:
    from service.auth.users import find_user, tokens
    from service.models.base import utcnow

    def show(session: Session) -> int:
        now = utcnow()
        rows = tokens(session, find_user(session, args.user) if args.user else None)
        print(f"{'id':>5}  {'user':<16} {'name':<20} {'created':<16} {'expires':<16} state")
        for token, user_name in rows:
            expired = token.expires_at is not None and token.expires_at <= now
            state = "revoked" if token.revoked_at else "expired" if expired else "active"
            expires = f"{token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "never"
            created = f"{token.created_at:%Y-%m-%d %H:%M}"
            print(f"{token.id:>5}  {user_name:<16} {token.name or '':<20} {created} {expires:<16} {state}")
        return 0

    return _with_database("token list", show)


def _token_revoke(args: argparse.Namespace) -> int:
    from service.auth.users import revoke_token
    from service.models.base import utcnow

    def revoke(session: Session) -> int:
        token = revoke_token(session, args.id, utcnow())
        print(f"token {token.id} revoked")
        return 0

    return _with_database("token revoke", revoke)


def add_cameras_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cameras", help="fixed street cameras")
    verbs = p.add_subparsers(dest="cameras_command", required=True)
    run = verbs.add_parser(
        "run",
        help="run the camera supervisor on its own (no HTTP) until Ctrl-C; re-reads the camera table every "
        "STREETSCAN_CAMERA_SYNC_S seconds. Run serve with STREETSCAN_CAMERA_SUPERVISOR=false beside it.",
    )
    run.set_defaults(func=_cameras_run)


def _cameras_run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from service.settings import Settings
    from service.workers.supervisor import run_until

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_until(Settings(), stop)
    return 0


def add_worker_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "worker",
        help="run a fleet worker: video jobs from the broker (STREETSCAN_BROKER_URL, needed) and, with the "
        "'streams' queue, its share of the cameras; the server then runs no inference",
    )
    p.add_argument(
        "--queues",
        default=None,
        help="comma-separated: broker queues to take video jobs from (default: STREETSCAN_JOB_QUEUE, 'video'; "
        "'gpu' for a GPU worker when the server queues jobs there), and 'streams' to run cameras",
    )
    p.add_argument("--concurrency", type=int, default=None, help="videos at once (default: STREETSCAN_WORKERS)")
    p.add_argument("--name", default=None, help="worker name, unique in the fleet (default: streetscan-PID@HOST)")
    p.set_defaults(func=_worker)


def _worker(args: argparse.Namespace) -> int:
    import logging
    import os
    import signal
    import socket
    import threading

    from service.db import make_engine
    from service.settings import Settings
    from service.workers.camera_leases import run_leased_cameras
    from service.workers.fleet import celery_app, register_video_task

    settings = Settings()
    if not settings.broker_url:
        print("streetscan worker: set STREETSCAN_BROKER_URL (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2
    queues = (args.queues or settings.job_queue).split(",")
    if not all(re.fullmatch(r"[a-z0-9_-]{1,64}", q) for q in queues):
        print(f"streetscan worker: --queues {args.queues!r}: expected names like video,streams", file=sys.stderr)
        return 2
    concurrency = args.concurrency if args.concurrency is not None else settings.workers
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    name = args.name or f"streetscan-{os.getpid()}@{socket.gethostname()}"
    stop = threading.Event()
    cameras = None
    if "streams" in queues:
        cameras = threading.Thread(target=run_leased_cameras, args=(engine, settings, name, stop), name="cameras")
        cameras.start()
    video_queues = [q for q in queues if q != "streams"]
    try:
        if video_queues:
            app = celery_app(settings)
            register_video_task(app, engine, settings)
            app.worker_main(
                [
                    "worker",
                    "--pool=threads",
                    f"--concurrency={max(1, concurrency)}",
                    f"--queues={','.join(video_queues)}",
                    f"--hostname={name}",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                ]
            )
        else:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            print(f"{name} ready.", file=sys.stderr, flush=True)
            stop.wait()
    finally:
        stop.set()
        if cameras is not None:
            cameras.join()
        engine.dispose()
    return 0


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export-dataset",
        help="write reviewed observations' keyframes as a YOLO dataset (confirmed and recategorised: boxes; "
        "rejected: hard negatives) for `streetscan train --export DIR`",
    )
    p.add_argument("--out", type=Path, required=True, help="new or empty folder to write")
    p.set_defaults(func=_export_dataset)


def _export_dataset(args: argparse.Namespace) -> int:
    from service.integrations.dataset_export import ExportError, export_dataset
    from service.settings import Settings
    from vision import Taxonomy

    settings = Settings()
    try:
        with database_session(settings) as session:
            summary = export_dataset(session, settings, args.out, Taxonomy.load(settings.taxonomy_path))
    except (ExportError, OSError) as exc:
        print(f"streetscan export-dataset: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {summary.text()}")
    return 0


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="write the weekly report (JSON, CSV, XLSX, HTML, charts as PNG) of a week ending on a Friday, local time",
    )
    p.add_argument(
        "--week",
        type=week_day,
        default=None,
        help="a day of the week (YYYY-MM-DD); default: the week ending last Friday",
    )
    p.add_argument("--out", type=Path, required=True, help="folder to write the files to (made if missing)")
    p.add_argument("--pdf", action="store_true", help="also print the HTML to PDF with headless Chromium")
    p.set_defaults(func=_report)


def week_day(text: str) -> date:
    """A YYYY-MM-DD date within the years the reports cover."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date, YYYY-MM-DD") from None
    if not 2000 <= day.year <= 2099:
        raise argparse.ArgumentTypeError(f"{text!r}: a year from 2000 to 2099")
    return day


def _report(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from service.operations import load_plan
    from service.reports.charts import report_charts
    from service.reports.files import write_report
    from service.reports.pdf import PdfError, find_chromium, print_pdf
    from service.reports.weekly import last_full_week, weekly_report
    from service.settings import Settings

    settings = Settings()
    zone = ZoneInfo(settings.timezone)
    try:
        with database_session(settings) as session:
            day = args.week or last_full_week(datetime.now(UTC), zone)
            report = weekly_report(session, day, zone, load_plan(settings.operations_file))
            charts = report_charts(session, report, settings.taxonomy_path)
        paths = write_report(report, args.out, settings.report_bureau, charts)
        if args.pdf:
            html = next(p for p in paths if p.suffix == ".html")
            paths.append(html.with_suffix(".pdf"))
            print_pdf(html, paths[-1], find_chromium(settings.chromium_path))
    except (OSError, PdfError) as exc:
        print(f"streetscan report: {exc}", file=sys.stderr)
        return 2
    state = "nothing recorded" if report.empty else f"{report.totals.new} new cases, {report.totals.passes} passes"
    print(f"week ending {report.week} ({state}):")
    for path in paths:
        print(f"  {path}")
    return 0


def add_evidence_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="re-hash the evidence chain, the rows it records and the evidence files; name each edited, "
        "missing or reordered item (exit status 1 when any)",
    )
    p.set_defaults(func=_verify)
    p = sub.add_parser(
        "anchor", help="append the evidence chain's head to STREETSCAN_ANCHOR_FILE (and print it) to copy elsewhere"
    )
    p.set_defaults(func=_anchor)
    p = sub.add_parser(
        "cleanup",
        help="delete evidence past its retention (STREETSCAN_RETENTION_*) that no open case needs, and store "
        "files nothing names; prints what it deleted",
    )
    p.set_defaults(func=_cleanup)


def _verify(args: argparse.Namespace) -> int:
    from service.chain import verify
    from service.evidence import evidence_store
    from service.settings import Settings

    settings = Settings()
    with database_session(settings) as session:
        report = verify(session, evidence_store(settings), settings.anchor_file)
    print("\n".join(report.lines()))
    return 0 if report.clean else 1


def _anchor(args: argparse.Namespace) -> int:
    from service.chain import anchor
    from service.settings import Settings

    settings = Settings()
    with database_session(settings) as session:
        found = anchor(session, settings.anchor_file, datetime.now(UTC))
    print(f"{settings.anchor_file}: {found.line()}" if found else "the evidence chain is empty: nothing to anchor")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    from service.retention import cleanup
    from service.settings import Settings
    from service.writer import Writer

    settings = Settings()
    with database_session(settings) as session:
        done = cleanup(session, Writer(session.get_bind().engine), settings, datetime.now(UTC))
    print("\n".join(done.lines()))
    return 0


def add_signs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("signs", help="the outdoor-ad register: import permits, export the register")
    verbs = p.add_subparsers(dest="verb", required=True)
    permits = verbs.add_parser(
        "import-permits", help="match approvals (CSV or XLSX) to register entries by text and position"
    )
    permits.add_argument("file", type=Path, help="permit_number, shop_name, expiry, address, lat, lon columns")
    permits.set_defaults(func=_signs_import_permits)
    export = verbs.add_parser("export", help="write the register as .csv, .xlsx or .geojson")
    export.add_argument("file", type=Path, help="the file to write; its suffix names the format")
    export.set_defaults(func=_signs_export)


def _signs_import_permits(args: argparse.Namespace) -> int:
    from service.integrations.sign_register import PermitFileError, import_permits, parse_permits, read_rows

    try:
        permits = parse_permits(read_rows(args.file), str(args.file))
    except (PermitFileError, OSError) as exc:
        print(f"streetscan signs import-permits: {exc}", file=sys.stderr)
        return 2

    def run(session: Session) -> int:
        print(import_permits(session, permits, datetime.now(UTC)).text())
        return 0

    return _with_database("signs import-permits", run)


def _signs_export(args: argparse.Namespace) -> int:
    from service.integrations.sign_register import export_register

    def run(session: Session) -> int:
        print(f"{args.file}: {export_register(session, args.file)} signs")
        return 0

    try:
        return _with_database("signs export", run)
    except OSError as exc:
        print(f"streetscan signs export: {exc}", file=sys.stderr)
        return 2


def add_hotspots_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("hotspots", help="the hotspot catalog: import or export GeoJSON, KML or CSV")
    verbs = p.add_subparsers(dest="verb", required=True)
    formats = ["geojson", "kml", "csv"]
    load = verbs.add_parser(
        "import", help="add or update hotspots by key from a file; all or nothing (every bad entry is listed)"
    )
    load.add_argument("file", type=Path, help=".geojson, .kml or .csv (CSV: wkt or lat/lon, name, kind, batch, ...)")
    load.add_argument("--format", choices=formats, default=None, help="the file's format (default: by its suffix)")
    load.set_defaults(func=_hotspots_import)
    export = verbs.add_parser("export", help="write the whole catalog (unlocated hotspots too)")
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument("--format", choices=formats, default=None, help="default: by the suffix of --out")
    export.set_defaults(func=_hotspots_export)


def _hotspots_import(args: argparse.Namespace) -> int:
    from service.cases import import_hotspots
    from service.hotspot_files import CatalogFormat, read_catalog
    from service.operations import load_plan
    from service.settings import Settings

    try:
        fmt = CatalogFormat(args.format) if args.format else CatalogFormat.of_name(args.file.name)
        items = read_catalog(args.file.read_bytes(), fmt)
    except (ValueError, OSError) as exc:  # CatalogError is a ValueError
        print(f"streetscan hotspots import: {args.file}: {exc}", file=sys.stderr)
        return 2

    def run(session: Session) -> int:
        settings = Settings()
        hours = load_plan(settings.operations_file).hours
        saved = import_hotspots(session, settings, items, datetime.now(UTC), None, hours)
        session.commit()
        located = sum(h.geometry is not None for h in saved)
        print(f"{args.file}: {len(saved)} hotspots imported ({located} located)")
        return 0

    return _with_database("hotspots import", run)


def _hotspots_export(args: argparse.Namespace) -> int:
    from service.hotspot_files import CatalogFormat, write_catalog
    from service.hotspots import export_collection

    def run(session: Session) -> int:
        fmt = CatalogFormat(args.format) if args.format else CatalogFormat.of_name(args.out.name)
        collection = export_collection(session)
        args.out.write_bytes(write_catalog(collection, fmt))
        print(f"{args.out}: {len(collection['features'])} hotspots")
        return 0

    try:
        return _with_database("hotspots export", run)
    except OSError as exc:
        print(f"streetscan hotspots export: {exc}", file=sys.stderr)
        return 2
