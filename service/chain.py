"""The evidence chain: every observation and every case event (review, status change, recurrence,
...) is appended to an append-only hash chain in the same transaction that stores it, so that
an edited, deleted or reordered record, and an edited or missing evidence file, can be named later.

Appending is automatic: ``after_flush`` notes the ``ObservationRow`` and ``CaseEvent`` rows a
session inserts, and ``before_commit`` appends one ``ChainEntry`` per row (taking the chain lock:
PostgreSQL's advisory lock; on SQLite the transaction holds the database write lock already).
Whatever writes those rows, now or later, is chained without calling anything.

Each entry's ``record`` is the canonical JSON of its row's evidence fields (``observation_record``,
``event_record``); ``hash`` covers the position, kind, row id, case, time, record and the hash of
the entry before. ``anchor`` writes the chain head to a file the operator can copy elsewhere;
``verify`` re-hashes the chain, compares each record with its row (and each case's status with its
last chained status change), re-hashes the store's files and checks the anchors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session, col, func, select

from service.evidence import read_image
from service.models.cases import Case, CaseEvent
from service.models.chain import ChainEntry, EntryKind
from service.models.observations import ObservationRow
from service.models.users import User
from service.storage import ObjectStore

log = logging.getLogger(__name__)

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry."""
CHAIN_LOCK_KEY = 0x5354_4348_4149
"""The PostgreSQL advisory lock that serialises appends to the chain."""
_PENDING = "evidence_chain_pending"
"""The ``Session.info`` key of the rows inserted in the current transaction and not chained yet."""
_CHUNK = 500

OBSERVATION_FIELDS = (
    "source",
    "track_id",
    "category",
    "label",
    "confidence",
    "t_first",
    "t_last",
    "t_best",
    "observed_at",
    "bbox",
    "lat",
    "lon",
    "crop",
    "keyframe",
    "received_at",
    "uploaded_by",
    "model",
    "model_sha256",
    "source_sha256",
)
"""What an observation's entry records (not its case: merging cases moves observations, and the
case events record that)."""
EVENT_FIELDS = ("case_id", "at", "user_id", "action", "from_status", "to_status", "note", "detail")
"""What a case event's entry records."""


@dataclass(frozen=True)
class Provenance:
    """Where ingested observations come from: the detector weights (file name and SHA-256 hex)
    and the source video's SHA-256; None where unknown."""

    model: str | None = None
    model_sha256: str | None = None
    source_sha256: str | None = None


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@cache
def _weights_sha256(path: Path, mtime_ns: int, size: int) -> str:
    return file_sha256(path)


def model_provenance(model_path: Path, source_sha256: str | None = None) -> Provenance:
    """The provenance of observations found by the weights at ``model_path`` (hashed once per
    file version; no hash when the file cannot be read) in a source of ``source_sha256``."""
    try:
        stat = model_path.stat()
        digest: str | None = _weights_sha256(model_path, stat.st_mtime_ns, stat.st_size)
    except OSError:
        digest = None
    return Provenance(model_path.name, digest, source_sha256)


# --- records and hashes -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A column value as JSON: times as ISO-8601 UTC, enums as their value."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def canonical(value: Any) -> str:
    """The one JSON text of a value (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def observation_record(row: ObservationRow) -> dict[str, Any]:
    """What the chain records of an observation."""
    return {name: _plain(getattr(row, name)) for name in OBSERVATION_FIELDS}


def event_record(row: CaseEvent) -> dict[str, Any]:
    """What the chain records of a case event."""
    return {name: _plain(getattr(row, name)) for name in EVENT_FIELDS}


def entry_hash(entry: ChainEntry) -> str:
    """SHA-256 (hex) over everything an entry holds but its own hash."""
    body = {
        "seq": entry.seq,
        "kind": _plain(entry.kind),
        "ref_id": entry.ref_id,
        "case_id": entry.case_id,
        "at": _plain(entry.at),
        "record": entry.record,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical(body).encode()).hexdigest()


# --- appending --------------------------------------------------------------------------------


Appended = tuple[EntryKind, int | None, int | None, datetime, dict[str, Any]]
"""What ``append`` takes of each entry: kind, row id, case id, time and record."""


def _entry_of(row: ObservationRow | CaseEvent) -> Appended:
    """The entry of a chained row."""
    if isinstance(row, ObservationRow):
        return EntryKind.observation, row.id, row.case_id, row.received_at, observation_record(row)
    return EntryKind.case_event, row.id, row.case_id, row.at, event_record(row)


def lock_chain(session: Session | OrmSession) -> None:
    """Make this transaction the only one appending to the chain until it ends (PostgreSQL; on
    SQLite a transaction that has written holds the database write lock already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=CHAIN_LOCK_KEY))


def head(session: Session | OrmSession) -> ChainEntry | None:
    """The last entry of the chain (None while it is empty)."""
    return session.execute(select(ChainEntry).order_by(col(ChainEntry.seq).desc()).limit(1)).scalars().first()


def append(session: Session | OrmSession, entries: Iterable[Appended]) -> None:
    """Append entries after the head, under the chain lock (added to the session, committed with it)."""
    lock_chain(session)
    last = head(session)
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    for kind, ref_id, case_id, at, record in entries:
        seq += 1
        entry = ChainEntry(
            seq=seq, kind=kind, ref_id=ref_id, case_id=case_id, at=at, record=canonical(record), prev_hash=prev, hash=""
        )
        entry.hash = prev = entry_hash(entry)
        session.add(entry)


@event.listens_for(OrmSession, "after_flush")
def _note_inserted(session: OrmSession, _flush: UOWTransaction) -> None:
    rows = [row for row in session.new if isinstance(row, ObservationRow | CaseEvent)]
    if rows:
        session.info.setdefault(_PENDING, []).extend(rows)


@event.listens_for(OrmSession, "before_commit")
def _chain_inserted(session: OrmSession) -> None:
    session.flush()
    rows: list[ObservationRow | CaseEvent] = session.info.pop(_PENDING, [])
    if rows:
        rows.sort(key=lambda r: (isinstance(r, CaseEvent), r.id or 0))
        append(session, map(_entry_of, rows))


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_inserted(session: OrmSession, _previous: object) -> None:
    session.info.pop(_PENDING, None)


# --- anchors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain head at a time: position ``seq`` had hash ``hash``."""

    at: datetime
    seq: int
    hash: str

    def line(self) -> str:
        return f"{self.at.astimezone(UTC).isoformat()} seq={self.seq} hash={self.hash}"

    @classmethod
    def parse(cls, line: str) -> Anchor:
        """An anchor from its ``line``; ValueError for anything else."""
        at, seq, digest = line.split()
        if not seq.startswith("seq=") or not digest.startswith("hash="):
            raise ValueError(f"not an anchor line: {line!r}")
        return cls(datetime.fromisoformat(at), int(seq.removeprefix("seq=")), digest.removeprefix("hash="))


def anchor(session: Session, anchor_file: Path, now: datetime) -> Anchor | None:
    """Append the chain head to ``anchor_file`` (and the log); None (nothing written) while the chain is empty."""
    last = head(session)
    if last is None:
        return None
    found = Anchor(now, last.seq, last.hash)
    anchor_file.parent.mkdir(parents=True, exist_ok=True)
    with anchor_file.open("a", encoding="utf-8") as out:
        out.write(found.line() + "\n")
    log.info("evidence chain anchor: %s", found.line())
    return found


def read_anchors(anchor_file: Path) -> list[Anchor]:
    """The anchors written to ``anchor_file`` (none when there is no file)."""
    if not anchor_file.is_file():
        return []
    return [Anchor.parse(line) for line in anchor_file.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing found wrong: ``what`` (edited, missing, reordered, changed, unchained, anchor),
    the item, and what it affects."""

    what: str
    item: str
    affects: str

    def __str__(self) -> str:
        return f"{self.what}: {self.item} (affects {self.affects})"


@dataclass
class Report:
    """What ``verify`` found: the problems, and how many entries and files it checked."""

    entries: int = 0
    files: int = 0
    head: ChainEntry | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The report as text lines, the summary last."""
        found = [str(p) for p in self.problems]
        checked = f"{self.entries} chain entries and {self.files} evidence files checked"
        if self.clean:
            where = f"; head {self.head.seq} {self.head.hash}" if self.head else ""
            return [*found, f"evidence intact: {checked}{where}"]
        return [*found, f"{len(self.problems)} problems: {checked}"]


def _subject(entry: ChainEntry, record: dict[str, Any], users: dict[int, str]) -> tuple[str, str]:
    """(the item, what it affects) of an entry, in words; ``users`` names user ids."""
    case = f"case {entry.case_id}" if entry.case_id is not None else "no case"
    if entry.kind == EntryKind.observation:
        return f"observation {entry.ref_id} (chain entry {entry.seq})", case
    if entry.kind == EntryKind.case_event:
        user_id = record.get("user_id")
        who = users.get(user_id, f"user {user_id}") if user_id is not None else "the system"
        what = f"{record.get('action')} {record.get('from_status') or ''}->{record.get('to_status') or ''}"
        return f"case event {entry.ref_id}: {what} by {who} at {record.get('at')} (chain entry {entry.seq})", case
    return f"deletion of {record.get('key')} (chain entry {entry.seq})", case


def _entries(session: Session) -> Iterator[list[ChainEntry]]:
    """The chain in order, in chunks."""
    after = 0
    while chunk := list(
        session.exec(select(ChainEntry).where(ChainEntry.seq > after).order_by(col(ChainEntry.seq)).limit(_CHUNK))
    ):
        yield chunk
        after = chunk[-1].seq


def _rows(session: Session, model: type[ObservationRow] | type[CaseEvent], ids: Sequence[int]) -> dict[int, Any]:
    found: Iterable[Any] = session.exec(select(model).where(col(model.id).in_(ids))) if ids else []
    return {row.id: row for row in found}


def _differs(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return sorted(name for name in stored.keys() | current.keys() if stored.get(name) != current.get(name))


def verify(session: Session, evidence: ObjectStore, anchor_file: Path | None = None) -> Report:
    """Check the chain, the rows it records and the evidence files they name in the store ``evidence``;
    every problem is named with what it affects. Read-only."""
    report = Report()
    prev = (0, GENESIS)
    chained: dict[EntryKind, set[int]] = {EntryKind.observation: set(), EntryKind.case_event: set()}
    files: dict[str, list[tuple[str, str]]] = {}  # key -> (item, affects) of the records naming it
    decided: dict[int, tuple[str, str]] = {}  # case id -> (status, item) of its last chained status change
    deleted: set[str] = set()
    anchors = read_anchors(anchor_file) if anchor_file is not None else []
    anchored = {a.seq for a in anchors}
    hashes: dict[int, str] = {}  # seq -> hash of the anchored positions
    users = {uid: name for uid, name in session.exec(select(User.id, User.name)) if uid is not None}
    for chunk in _entries(session):
        observations = _rows(
            session, ObservationRow, [e.ref_id for e in chunk if e.kind == EntryKind.observation and e.ref_id]
        )
        events = _rows(session, CaseEvent, [e.ref_id for e in chunk if e.kind == EntryKind.case_event and e.ref_id])
        for entry in chunk:
            report.entries += 1
            report.head = entry
            if entry.seq in anchored:
                hashes[entry.seq] = entry.hash
            record = json.loads(entry.record)
            item, affects = _subject(entry, record, users)
            if entry.seq != prev[0] + 1 or entry.prev_hash != prev[1]:
                report.problems.append(
                    Problem("reordered", item, f"{affects}; the chain between entries {prev[0]} and {entry.seq}")
                )
            if entry_hash(entry) != entry.hash:
                report.problems.append(Problem("edited", f"chain entry {entry.seq}", affects))
            prev = (entry.seq, entry.hash)
            if entry.kind == EntryKind.deletion:
                deleted.add(record["key"])
                continue
            if entry.ref_id is None:
                continue
            chained[EntryKind(entry.kind)].add(entry.ref_id)
            if entry.kind == EntryKind.case_event and entry.case_id is not None and record.get("to_status"):
                decided[entry.case_id] = (record["to_status"], item)
            rows = observations if entry.kind == EntryKind.observation else events
            row = rows.get(entry.ref_id)
            if row is None:
                report.problems.append(Problem("missing", f"{item}: its database row was deleted", affects))
                continue
            current = observation_record(row) if entry.kind == EntryKind.observation else event_record(row)
            changed = _differs(record, current)
            if changed:
                report.problems.append(
                    Problem("changed", f"{item}: database row differs in {', '.join(changed)}", affects)
                )
            for name in ("crop", "keyframe"):
                if record.get(name):
                    files.setdefault(record[name], []).append((f"{name} {record[name]} of {item}", affects))
    report.problems += _unchained(session, chained)
    report.problems += _statuses(session, decided)
    report.problems += _check_files(evidence, files, deleted, report)
    report.problems += _check_anchors(anchors, hashes)
    return report


def _unchained(session: Session, chained: dict[EntryKind, set[int]]) -> list[Problem]:
    """Rows the chain does not record (added around the service), except those older than the
    chain's first entry of their kind (stored before the chain began)."""
    found = []
    for kind, model in ((EntryKind.observation, ObservationRow), (EntryKind.case_event, CaseEvent)):
        since = min(chained[kind], default=None)
        if since is None:
            since = session.exec(select(func.max(model.id))).one() or 0
        for row_id, case_id in session.exec(select(model.id, model.case_id).where(col(model.id) > since)):
            if row_id not in chained[kind]:
                affects = f"case {case_id}" if case_id is not None else "no case"
                found.append(Problem("unchained", f"{kind.value} {row_id} is not in the chain", affects))
    return found


def _statuses(session: Session, decided: dict[int, tuple[str, str]]) -> list[Problem]:
    """Cases whose status is not the one their last chained status change set (changed around the service)."""
    found = []
    ids = sorted(decided)
    for start in range(0, len(ids), _CHUNK):
        stmt = select(Case.id, Case.status).where(col(Case.id).in_(ids[start : start + _CHUNK]))
        for case_id, status in session.exec(stmt):
            chained_status, item = decided[case_id or 0]
            if _plain(status) != chained_status:
                found.append(
                    Problem(
                        "changed",
                        f"case {case_id} is {_plain(status)} in the database, but the last chained decision, "
                        f"{item}, made it {chained_status}",
                        f"case {case_id}",
                    )
                )
    return found


def _check_files(
    evidence: ObjectStore, files: dict[str, list[tuple[str, str]]], deleted: set[str], report: Report
) -> list[Problem]:
    found = []
    for key, uses in sorted(files.items()):
        if key in deleted:
            continue
        report.files += 1
        data = read_image(evidence, key)
        if data is None:
            found += [Problem("missing", f"{item}: the file is gone", affects) for item, affects in uses]
        elif hashlib.sha256(data).hexdigest() != Path(key).stem:
            found += [Problem("edited", f"{item}: the file's bytes changed", affects) for item, affects in uses]
    return found


def _check_anchors(anchors: list[Anchor], hashes: dict[int, str]) -> list[Problem]:
    found = []
    for kept in anchors:
        if hashes.get(kept.seq) != kept.hash:
            found.append(
                Problem(
                    "anchor",
                    f"the chain up to entry {kept.seq} is not the one anchored at {kept.at.isoformat()}",
                    f"every entry up to {kept.seq}",
                )
            )
    return found
