"""Render time of the review queue page ``GET /review`` with 10k open cases waiting, against a
baseline measured in the same run (the same page with 100 cases waiting). Runs on SQLite and
PostgreSQL; the target is under 300 ms.

    python bench/review_queue.py [--backends sqlite,postgres] [--cases 10000] [--baseline 100] [--repeat 20]

Each timing is the median of ``--repeat`` requests by a logged-in reviewer through the app
(TestClient), for both queue orders and for a "load more" page deep in the queue. The cases and
their observations (1 to 5 each) are bulk-inserted, not ingested.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
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
from service.cases import grid_cell
from service.db import make_engine, migrated_database
from service.geometry import M_PER_DEG
from service.models.cases import Case, CaseStatus
from service.models.hotspots import Hotspot, HotspotKind
from service.models.observations import ObservationRow
from service.models.users import Role
from service.settings import Settings

ORIGIN = (35.49, 112.85)  # synthetic city centre
CITY_M = 10_000.0
CATEGORIES = ["street_vendor", "goods_spill", "lightbox_ad", "outdoor_ad"]
NOW = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
PASSWORD = "bench password"
TARGET_MS = 300.0


def place(rng: random.Random) -> tuple[float, float]:
    north, east = rng.uniform(-CITY_M / 2, CITY_M / 2), rng.uniform(-CITY_M / 2, CITY_M / 2)
    lat, lon = ORIGIN
    return lat + north / M_PER_DEG, lon + east / (M_PER_DEG * math.cos(math.radians(lat)))


def bulk_load(engine: Engine, n_cases: int, rng: random.Random) -> int:
    """Insert 60 located hotspots and ``n_cases`` new cases with 1-5 observations each; returns
    how many observations."""
    hotspots = [
        {
            "key": f"bench-{i}",
            "name": f"热点 {i}",
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
    for case_id in range(1, n_cases + 1):
        category = rng.choice(CATEGORIES)
        lat, lon = place(rng)
        first = NOW - timedelta(days=rng.uniform(0, 30))
        count = rng.randint(1, 5)
        cases.append(
            {
                "id": case_id,
                "category": category,
                "status": CaseStatus.new,
                "lat": lat,
                "lon": lon,
                "cell_x": grid_cell(lat, lon)[0],
                "cell_y": grid_cell(lat, lon)[1],
                "hotspot_id": rng.randint(1, 60) if rng.random() < 0.5 else None,
                "hotspot_distance_m": rng.uniform(0, 150),
                "first_seen": first,
                "last_seen": first + timedelta(hours=count),
                "observation_count": count,
                "recurrence_count": 0,
                "created_at": first,
                "updated_at": first,
            }
        )
        for k in range(count):
            n = len(observations)
            observations.append(
                {
                    "source": f"bulk-{n // 1000}",
                    "track_id": str(n),
                    "case_id": case_id,
                    "category": category,
                    "label": "bench",
                    "confidence": round(rng.uniform(0.25, 0.99), 3),
                    "t_first": 0.0,
                    "t_last": 1.0,
                    "t_best": 0.5,
                    "observed_at": first + timedelta(hours=k),
                    "bbox": [10, 20, 110, 220],
                    "lat": lat,
                    "lon": lon,
                    "crop": f"crops/{n}.jpg",
                    "received_at": first,
                    "seen_at": first + timedelta(hours=k),
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(Hotspot), hotspots)
        for table, rows in ((Case, cases), (ObservationRow, observations)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return len(observations)


def median_ms(client: TestClient, path: str, params: dict[str, Any], repeat: int) -> float:
    """Median wall time of ``repeat`` GETs (after one warm-up), in milliseconds."""
    assert client.get(path, params=params).status_code == 200
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(times)


def next_cursor(html: str) -> str:
    return str(re.findall(r'data-next="([^"]*)"', html)[-1])


def timings(url: str, data_dir: Path, repeat: int) -> dict[str, float]:
    """The queue page (both orders) and a deep "load more" page, for a logged-in reviewer."""
    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, "bench-reviewer", Role.reviewer, PASSWORD)
    engine.dispose()
    settings = Settings(database_url=url, data_dir=data_dir, hotspot_catalog=None)
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text)
        assert found, "no CSRF token on the login page"
        token = found.group(1)
        form = {"username": "bench-reviewer", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
        figures = {order: median_ms(client, "/review", {"order": order}, repeat) for order in ("newest", "confidence")}
        cursor = next_cursor(client.get("/review", params={"order": "confidence"}).text)
        for _ in range(3):  # walk a few pages in (as far as there are), then time the next one
            deeper = next_cursor(client.get("/review/cards", params={"order": "confidence", "after": cursor}).text)
            cursor = deeper or cursor
        figures["load more"] = median_ms(client, "/review/cards", {"order": "confidence", "after": cursor}, repeat)
    return figures


def measure(backend: str, n_cases: int, args: argparse.Namespace, workdir: Path) -> tuple[dict[str, float], int]:
    with migrated_database(backend, args.postgres, Path(tempfile.mkdtemp(dir=workdir))) as url:
        engine = make_engine(url)
        n_obs = bulk_load(engine, n_cases, random.Random(args.seed))
        engine.dispose()
        return timings(url, workdir, args.repeat), n_obs


def run(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    loaded, n_obs = measure(backend, args.cases, args, workdir)
    baseline, _ = measure(backend, args.baseline, args, workdir)
    print(f"{backend}: {args.cases} open cases ({n_obs} observations) against a baseline of {args.baseline}")
    for name, ms in loaded.items():
        verdict = "ok" if ms < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
        print(
            f"{backend}: /review {name:>10}: {ms:6.1f} ms   baseline {baseline[name]:6.1f} ms   "
            f"ratio {ms / baseline[name]:.2f}   {verdict}"
        )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    each_backend(parser.parse_args(), run)


if __name__ == "__main__":
    main()
