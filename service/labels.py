"""Chinese and English names of case statuses, audit actions, webhook events and disposal and unit
kinds, shared by the web view, the printed evidence and weekly reports and the chat robots' messages:
(zh, en) per value."""

from __future__ import annotations

from service.models.cases import CaseAction, CaseStatus
from service.models.operations import DisposalKind, UnitKind
from service.models.webhooks import EventKind

STATUS: dict[CaseStatus, tuple[str, str]] = {
    CaseStatus.new: ("待审核", "new"),
    CaseStatus.confirmed: ("已确认", "confirmed"),
    CaseStatus.dispatched: ("已派单", "dispatched"),
    CaseStatus.resolved: ("已处置", "resolved"),
    CaseStatus.closed: ("已结案", "closed"),
    CaseStatus.rejected: ("已驳回", "rejected"),
    CaseStatus.reopened: ("复发重开", "reopened"),
    CaseStatus.merged: ("已合并", "merged"),
}
ACTION: dict[CaseAction, tuple[str, str]] = {
    CaseAction.created: ("新建", "created"),
    CaseAction.recurrence: ("复发", "recurred"),
    CaseAction.review: ("审核", "reviewed"),
    CaseAction.status: ("状态变更", "status change"),
    CaseAction.recategorize: ("改类别", "category changed"),
    CaseAction.merge_proposed: ("疑似同一对象", "may be the same object as"),
    CaseAction.hotspot: ("热点变更", "hotspot changed"),
    CaseAction.merged: ("合并到", "merged into"),
    CaseAction.absorbed: ("并入了", "took the sightings of"),
    CaseAction.unmerged: ("撤销合并", "merge reversed"),
    CaseAction.split_off: ("拆分出", "split off into"),
    CaseAction.split_from: ("拆分自", "split off from"),
    CaseAction.reject_sighting: ("驳回发现记录", "sighting rejected"),
    CaseAction.restore_sighting: ("恢复发现记录", "sighting restored"),
    CaseAction.undo: ("撤销", "undone"),
    CaseAction.dispatch: ("派遣", "dispatched"),
    CaseAction.escalation: ("超期上报", "escalated"),
    CaseAction.disposal: ("处置", "disposal"),
    CaseAction.verification: ("核查", "verification"),
}
EVENT: dict[EventKind, tuple[str, str]] = {
    EventKind.case_created: ("新案件", "case created"),
    EventKind.case_confirmed: ("案件已确认", "case confirmed"),
    EventKind.case_status: ("案件状态变更", "case status changed (dispatched, resolved, closed, rejected, reopened)"),
    EventKind.case_recurrence: ("案件复发（回头看）", "case seen again after it was resolved"),
    EventKind.case_overdue: ("案件超期未处置", "dispatched case past its deadline"),
    EventKind.camera_down: ("摄像头断流", "camera stream down"),
    EventKind.camera_up: ("摄像头恢复", "camera stream back"),
    EventKind.batch_done: ("巡查视频处理完成", "patrol upload processed (done or failed)"),
}
DISPOSAL: dict[DisposalKind, tuple[str, str]] = {
    DisposalKind.persuaded: ("劝离", "persuaded to leave"),
    DisposalKind.corrected: ("整改", "corrected"),
    DisposalKind.seized: ("暂扣", "seized"),
    DisposalKind.fined: ("罚款", "fined"),
    DisposalKind.removed: ("拆除", "removed"),
    DisposalKind.referred: ("移交", "referred"),
}
UNIT_KIND: dict[UnitKind, tuple[str, str]] = {
    UnitKind.brigade: ("执法大队", "brigade"),
    UnitKind.department: ("部门", "department"),
}
