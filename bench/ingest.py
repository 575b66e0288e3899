"""Ingest throughput of ``POST /api/observations``: observations per second with 100k observations and
20k cases already stored, against a baseline measured in the same run (the same batches into an
empty database). Runs on SQLite and PostgreSQL.

    python bench/ingest.py [--backends sqlite,postgres] [--cases 20000] [--observations 100000] [--measure 4000]

PostgreSQL: ``--postgres URL`` (default ``STREETSCAN_TEST_POSTGRES`` or the local server); the bench
creates and drops its own database there. The pre-existing rows are bulk-inserted, not ingested.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from databases import add_backend_options, each_backend
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import Session

from service.app import create_app
from service.auth.users import create_user
from service.cases import CANDIDATES, candidate_params, grid_cell
from service.db import make_engine, migrated_database
from service.geometry import M_PER_DEG
from service.models.cases import Case, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow
from service.models.users import Role
from service.settings import Settings

ORIGIN = (35.49, 112.85)  # synthetic city centre
CITY_M = 10_000.0  # side of the square city, metres
CATEGORIES = ["street_vendor", "goods_spill", "lightbox_ad", "outdoor_ad"]
NOW = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
BATCH = 500


def place(rng: random.Random) -> tuple[float, float]:
    """A random (lat, lon) in the city."""
    north, east = rng.uniform(-CITY_M / 2, CITY_M / 2), rng.uniform(-CITY_M / 2, CITY_M / 2)
    return near(ORIGIN, north, east)


def near(at: tuple[float, float], north: float, east: float) -> tuple[float, float]:
    lat, lon = at
    return lat + north / M_PER_DEG, lon + east / (M_PER_DEG * math.cos(math.radians(lat)))


def bulk_load(engine: Engine, n_cases: int, n_obs: int, rng: random.Random) -> list[tuple[str, float, float]]:
    """Insert ``n_cases`` cases holding ``n_obs`` observations, plus 60 located hotspots; returns the
    (category, lat, lon) of the open cases."""
    hotspots = [
        {
            "key": f"bench-{i}",
            "name": f"bench {i}",
            "kind": HotspotKind.road_market,
            "batch": 1 + i % 2,
            "geometry": {"type": "Point", "coordinates": list(place(rng))[::-1]},
            "buffer_m": 0.0,
            "updated_at": NOW,
        }
        for i in range(60)
    ]
    cases: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    open_cases: list[tuple[str, float, float]] = []
    per_case = max(1, n_obs // n_cases)
    for case_id in range(1, n_cases + 1):
        category = rng.choice(CATEGORIES)
        lat, lon = place(rng)
        cx, cy = grid_cell(lat, lon)
        first = NOW - timedelta(days=rng.uniform(1, 90))
        resolved = rng.random() < 0.3
        status = (
            rng.choice([CaseStatus.resolved, CaseStatus.closed])
            if resolved
            else rng.choice([CaseStatus.new, CaseStatus.confirmed, CaseStatus.dispatched])
        )
        count = per_case if case_id > n_obs % n_cases else per_case + 1
        cases.append(
            {
                "id": case_id,
                "category": category,
                "status": status,
                "lat": lat,
                "lon": lon,
                "cell_x": cx,
                "cell_y": cy,
                "first_seen": first,
                "last_seen": first + timedelta(days=1),
                "observation_count": count,
                "recurrence_count": 0,
                "resolved_at": first + timedelta(days=2) if resolved else None,
                "created_at": first,
                "updated_at": first,
            }
        )
        if not resolved:
            open_cases.append((category, lat, lon))
        for _ in range(count):
            n = len(observations)
            observations.append(
                {
                    "source": f"bulk-{n // 1000}",
                    "track_id": str(n),
                    "case_id": case_id,
                    "category": category,
                    "label": "bench",
                    "confidence": 0.7,
                    "t_first": 0.0,
                    "t_last": 1.0,
                    "t_best": 0.5,
                    "observed_at": first,
                    "bbox": [0, 0, 10, 10],
                    "lat": lat,
                    "lon": lon,
                    "crop": None,
                    "received_at": first,
                    "seen_at": first,
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(Hotspot), hotspots)
        for table, rows in ((Case, cases), (ObservationRow, observations)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))")
            conn.exec_driver_sql("SELECT setval('observations_id_seq', (SELECT max(id) FROM observations))")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return open_cases


def workload(n: int, open_cases: list[tuple[str, float, float]], rng: random.Random) -> list[dict[str, Any]]:
    """``n`` observations: 60 % a few metres from stored open cases (they join), the rest anywhere."""
    items = []
    for i in range(n):
        if open_cases and rng.random() < 0.6:
            category, lat, lon = rng.choice(open_cases)
            lat, lon = near((lat, lon), rng.uniform(-4, 4), rng.uniform(-4, 4))
        else:
            category, (lat, lon) = rng.choice(CATEGORIES), place(rng)
        items.append(
            {
                "track_id": f"m{i}",
                "category": category,
                "label": "bench",
                "confidence": 0.8,
                "t_first": 0.0,
                "t_last": 2.0,
                "t_best": 1.0,
                "observed_at": NOW.isoformat(),
                "bbox": [0, 0, 50, 80],
                "lat": lat,
                "lon": lon,
                "crop": None,
            }
        )
    return items


def ingest_rate(url: str, items: list[dict[str, Any]]) -> float:
    """Observations per second through the API, in batches of BATCH."""
    engine = make_engine(url)
    with Session(engine) as session:
        _, token = create_user(session, f"bench-{time.monotonic_ns()}", Role.uploader)
    engine.dispose()
    settings = Settings(database_url=url, hotspot_catalog=None, max_observations_per_request=BATCH)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        start = time.perf_counter()
        for i in range(0, len(items), BATCH):
            body = {"source": f"bench-{i // BATCH}", "observations": items[i : i + BATCH]}
            response = client.post("/api/observations", json=body, headers=headers)
            assert response.status_code == 200 and response.json()["accepted"] == len(body["observations"])
        return len(items) / (time.perf_counter() - start)


def plan(engine: Engine) -> str:
    """The database's plan for one candidate lookup."""
    lat, lon = ORIGIN
    stmt = CANDIDATES.params(candidate_params("street_vendor", lat, lon, 25.0, NOW - timedelta(days=30)))
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"{prefix} {sql}").all()
    return " | ".join(str(row[-1]).strip() for row in rows)


def run(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed)
    with migrated_database(backend, args.postgres, Path(tempfile.mkdtemp(dir=workdir))) as url:
        engine = make_engine(url)
        start = time.perf_counter()
        open_cases = bulk_load(engine, args.cases, args.observations, rng)
        load_s = time.perf_counter() - start
        how = plan(engine)
        engine.dispose()
        items = workload(args.measure, open_cases, rng)
        loaded = ingest_rate(url, items)
    with migrated_database(backend, args.postgres, Path(tempfile.mkdtemp(dir=workdir))) as url:
        baseline = ingest_rate(url, items)
    print(f"{backend}: bulk-loaded {args.cases} cases + {args.observations} observations in {load_s:.1f} s")
    print(f"{backend}: candidate lookup plan: {how}")
    print(f"{backend}: baseline, same batches into an empty database: {baseline:6.0f} observations/s")
    stored = f"{args.cases} cases and {args.observations} observations stored"
    print(f"{backend}: with {stored}: {loaded:6.0f} observations/s")
    print(f"{backend}: ratio loaded / baseline: {loaded / baseline:.2f}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--measure", type=int, default=4_000, help="observations ingested in each timed run")
    parser.add_argument("--seed", type=int, default=1)
    each_backend(parser.parse_args(), run)


if __name__ == "__main__":
    main()
