"""Decisions on one case (review, status change) that never silently overwrite a concurrent one.

A decision may carry what its client last saw (``expected_status``, ``version``); a case that is
no longer so is a ``Conflict`` naming who changed it to what, and when. The case is read with a
row lock where the database has them (PostgreSQL: ``SELECT … FOR UPDATE``), so a second decision
waits for the first and then sees what it did; any write that still overtakes one (another
process on SQLite, a sighting) makes the row version check fail (``StaleDataError``), and the
case is read and the decision checked again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from service.models.base import row_id
from service.models.cases import Case, CaseEvent, CaseStatus, Expectation
from service.models.users import User
from service.writer import Writer, lock_matching

T = TypeVar("T")

ATTEMPTS = 5
"""Reads of the case before a decision overtaken that often gives up (as a Conflict)."""


@dataclass(eq=False)
class Conflict(Exception):
    """Case ``case_id`` is not as the client last saw it: it is ``status`` now, set by user ``by``
    (None: by the system) at ``at`` (None when no event records it)."""

    case_id: int
    status: CaseStatus
    by: str | None
    at: datetime | None

    def __str__(self) -> str:
        who = f" by {self.by or 'the system'} at {self.at:%Y-%m-%d %H:%M} UTC" if self.at else ""
        return f"case {self.case_id} was changed meanwhile: it is {self.status.value} now (set{who}); reload it"


def conflict(session: Session, case: Case) -> Conflict:
    """The conflict of a case: its status and the latest event that set it."""
    row = session.exec(
        select(CaseEvent.at, User.name)
        .outerjoin(User, col(CaseEvent.user_id) == User.id)
        .where(CaseEvent.case_id == case.id, CaseEvent.to_status == case.status)
        .order_by(col(CaseEvent.id).desc())
        .limit(1)
    ).first()
    at, by = row if row else (None, None)
    return Conflict(row_id(case), CaseStatus(case.status), by, at)


def check_expected(session: Session, case: Case, seen: Expectation) -> None:
    """Raise Conflict when the case's status or version differs from what the client says it saw."""
    if (seen.expected_status is not None and case.status != seen.expected_status) or (
        seen.version is not None and case.version != seen.version
    ):
        raise conflict(session, case)


def decide(session: Session, writer: Writer, case_id: int, seen: Expectation, apply: Callable[[Case], None]) -> Case:
    """Apply ``apply`` to case ``case_id`` if it is as ``seen``, and commit; returns the case.

    Raises LookupError (no such case), Conflict (not as seen, or changed by a concurrent writer
    so that it is no longer) or whatever ``apply`` raises (nothing is kept then)."""
    for _ in range(ATTEMPTS):
        with writer:
            case = session.get(Case, case_id, populate_existing=True, with_for_update=True)
            if case is None:
                raise LookupError(f"no case {case_id}")
            check_expected(session, case, seen)
            try:
                apply(case)
                session.add(case)
                session.commit()
                return case
            except StaleDataError:
                session.rollback()
            except Exception:
                session.rollback()
                raise
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise LookupError(f"no case {case_id}")
    raise conflict(session, case)


def decide_many(
    session: Session, writer: Writer, seen: Mapping[int, Expectation], apply: Callable[[dict[int, Case]], T]
) -> T:
    """``decide`` for a decision that changes several cases (merge, split, a sighting, undo) and so moves
    sightings between them: it holds the matching lock (no observation is matched meanwhile), reads every
    case of ``seen`` with a row lock (in id order), checks each against what the client saw, applies
    ``apply`` to them (case id -> case) and commits; returns what ``apply`` returns. Raises as ``decide``."""
    for _ in range(ATTEMPTS):
        with writer:
            lock_matching(session)
            cases: dict[int, Case] = {}
            try:
                for case_id in sorted(seen):
                    case = session.get(Case, case_id, populate_existing=True, with_for_update=True)
                    if case is None:
                        raise LookupError(f"no case {case_id}")
                    check_expected(session, case, seen[case_id])
                    cases[case_id] = case
                result = apply(cases)
                session.add_all(cases.values())
                session.commit()
                return result
            except StaleDataError:
                session.rollback()
            except Exception:
                session.rollback()
                raise
    first = min(seen)
    case = session.get(Case, first, populate_existing=True)
    if case is None:
        raise LookupError(f"no case {first}")
    raise conflict(session, case)
