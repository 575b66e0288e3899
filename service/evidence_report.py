"""The printable evidence record of one case (HTML, in Chinese): its observations with where and when
they were seen, the detector and source video, each image's SHA-256 and whether the stored file still
has it, every decision with who made it and when, and each record's position and hash in the evidence
chain, checked against the chain as it is printed.

Images are embedded (the page stands alone when saved or printed): raw for reviewers and admins,
privacy-blurred (``service.privacy.blurred_key``) for everyone else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlmodel import Session, col, select

from service.chain import entry_hash, event_record, head, observation_record
from service.evidence import MEDIA_TYPES, evidence_store, read_image
from service.labels import ACTION, STATUS
from service.models.cases import Case, CaseEvent
from service.models.chain import ChainEntry, EntryKind
from service.models.hotspots import Hotspot
from service.models.observations import ObservationRow
from service.models.users import User
from service.privacy import blurred_key
from service.settings import Settings
from service.storage import ObjectStore

MAX_OBSERVATIONS = 500
"""Observations listed in one report (the earliest seen); the rest are counted."""
MAX_IMAGES = 12
"""Observations whose images are embedded (the earliest seen)."""

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Headers of a served report: nothing but its own embedded images and style, never cached, and the
address (a share link's token) never sent on."""

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class ReportImage:
    """One evidence image: its store ``key``, whether the file still matches it (``state``), and the
    image to show (a data URI; None when not embedded)."""

    name: str
    key: str
    sha256: str
    state: str
    src: str | None


@dataclass(frozen=True)
class Link:
    """A record's place in the chain (None: not chained) and whether the chain still vouches for it."""

    entry: ChainEntry | None
    state: str


@dataclass(frozen=True)
class ObservationLine:
    row: ObservationRow
    link: Link
    images: list[ReportImage]


@dataclass(frozen=True)
class EventLine:
    row: CaseEvent
    user: str
    action: str
    change: str
    link: Link


def _link(entry: ChainEntry | None, current: dict[str, Any]) -> Link:
    if entry is None:
        return Link(None, "未入链")
    if entry_hash(entry) != entry.hash:
        return Link(entry, "链条目被改动")
    if json.loads(entry.record) != current:
        return Link(entry, "记录与入链时不一致")
    return Link(entry, "一致")


def _image(
    store: ObjectStore, scene_model: Path, name: str, key: str, raw: bool, embed: bool, deleted: set[str]
) -> ReportImage:
    sha = Path(key).stem
    data = read_image(store, key)
    if data is None:
        return ReportImage(name, key, sha, "已按保留期限删除" if key in deleted else "文件缺失", None)
    if hashlib.sha256(data).hexdigest() != sha:
        return ReportImage(name, key, sha, "文件已被改动", None)
    src = None
    if embed:
        shown = key if raw else blurred_key(store, key, scene_model)
        shown_data = data if raw else store.read(shown)
        if shown_data is not None:
            src = f"data:{MEDIA_TYPES[Path(shown).suffix]};base64,{base64.b64encode(shown_data).decode()}"
    return ReportImage(name, key, sha, "一致", src)


def _entries(session: Session, kind: EntryKind, ids: list[int]) -> dict[int, ChainEntry]:
    stmt = select(ChainEntry).where(ChainEntry.kind == kind, col(ChainEntry.ref_id).in_(ids))
    return {e.ref_id: e for e in session.exec(stmt) if e.ref_id is not None} if ids else {}


def render_report(session: Session, settings: Settings, case_id: int, raw: bool, now: datetime, reader: str) -> str:
    """The evidence record of case ``case_id`` as an HTML page, made for ``reader`` at ``now``;
    ``raw``: images as stored (reviewers, admins), else privacy-blurred. LookupError: no such case."""
    case = session.get(Case, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    zone = ZoneInfo(settings.timezone)
    observations = list(
        session.exec(
            select(ObservationRow)
            .where(ObservationRow.case_id == case_id)
            .order_by(col(ObservationRow.seen_at), col(ObservationRow.id))
        )
    )
    events = list(
        session.exec(
            select(CaseEvent, User.name)
            .outerjoin(User, col(CaseEvent.user_id) == User.id)
            .where(CaseEvent.case_id == case_id)
            .order_by(col(CaseEvent.id))
        )
    )
    listed = observations[:MAX_OBSERVATIONS]
    obs_entries = _entries(session, EntryKind.observation, [o.id for o in listed if o.id])
    event_entries = _entries(session, EntryKind.case_event, [e.id for e, _ in events if e.id])
    deleted = {
        json.loads(e.record)["key"]
        for e in session.exec(
            select(ChainEntry).where(ChainEntry.kind == EntryKind.deletion, ChainEntry.case_id == case_id)
        )
    }
    store = evidence_store(settings)
    lines = []
    for n, row in enumerate(listed):
        images = [
            _image(store, settings.model_path, name, key, raw, n < MAX_IMAGES, deleted)
            for name, key in (("截图", row.crop), ("关键帧", row.keyframe))
            if key
        ]
        lines.append(ObservationLine(row, _link(obs_entries.get(row.id or 0), observation_record(row)), images))
    decisions = [
        EventLine(
            row,
            name or "系统",
            ACTION[row.action][0],
            " → ".join(STATUS[s][0] for s in (row.from_status, row.to_status) if s is not None),
            _link(event_entries.get(row.id or 0), event_record(row)),
        )
        for row, name in events
    ]
    policy = settings.policy(case.category)
    hotspot = session.get(Hotspot, case.hotspot_id) if case.hotspot_id else None
    last = head(session)
    return ENV.get_template("evidence_report.html").render(
        case=case,
        category=policy.zh if policy else case.category,
        status=STATUS[case.status][0],
        hotspot=hotspot.name if hotspot else None,
        observations=lines,
        more=len(observations) - len(listed),
        decisions=decisions,
        head=last,
        raw=raw,
        reader=reader,
        now=now,
        local=lambda t: t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if t else "—",
        zone=settings.timezone,
    )
