"""Two workers ingesting sightings of the same new object at the same moment (each on its own engine,
so its own database connections, as two worker processes are) make one case, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from service.db import make_engine
from service.ingest import ingest
from service.models.base import utcnow
from service.models.cases import Case
from service.models.observations import IngestResponse, ObservationCreate, ObservationRow
from service.settings import Settings
from tests.service.builders import obs

ROUNDS = 10
WORKERS = 2


@pytest.fixture
def worker_engines(engine: Engine, database_url: str) -> Iterator[list[Engine]]:
    engines = [make_engine(database_url) for _ in range(WORKERS)]
    yield engines
    for each in engines:
        each.dispose()


def test_the_same_new_object_from_two_workers_at_once_makes_one_case(
    worker_engines: list[Engine], settings: Settings, engine: Engine
) -> None:
    for round_ in range(ROUNDS):
        start = threading.Barrier(WORKERS)

        def sighting(worker: int, round_: int = round_, start: threading.Barrier = start) -> IngestResponse:
            item = ObservationCreate.model_validate(obs(f"{round_}", north=1000.0 * round_ + worker)).observation()
            with Session(worker_engines[worker]) as session:
                start.wait()
                return ingest(session, settings, f"worker-{worker}", [item], None, utcnow())

        with ThreadPoolExecutor(WORKERS) as pool:
            answers = list(pool.map(sighting, range(WORKERS)))
        outcomes = sorted(str(a.results[0].outcome) for a in answers)
        case_ids = {a.results[0].case_id for a in answers}
        assert outcomes == ["created", "joined"] and len(case_ids) == 1, (round_, outcomes, case_ids)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == ROUNDS
        counts = session.exec(select(col(ObservationRow.case_id), func.count()).group_by(col(ObservationRow.case_id)))
        assert sorted(n for _, n in counts) == [WORKERS] * ROUNDS
