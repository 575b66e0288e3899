"""Chinese (default) and English labels: interface text, statuses, hotspot kinds, audit actions.

Category labels come from the taxonomy (``models/taxonomy.yaml``), which names every category in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import Request

from service.categories import category_policies
from service.labels import ACTION, DISPOSAL, EVENT, STATUS, UNIT_KIND
from service.messages import Refusal, message
from service.models.cases import CaseAction, CaseStatus
from service.models.hotspots import HotspotKind
from service.models.signs import Facade, SignStatus
from service.models.users import Role
from service.models.webhooks import EventKind
from service.operations import Phase
from service.rechecks import CheckState
from service.reports.units import UNIT_FIGURES, UNIT_NOTE
from service.reports.weekly import FIGURES, PATROL

LANGS = ("zh", "en")
LANG_COOKIE = "lang"

KIND: dict[HotspotKind, tuple[str, str]] = {
    HotspotKind.road_market: ("马路市场", "road market"),
    HotspotKind.strict_street: ("严管街", "strict-management street"),
    HotspotKind.school_zone: ("校园周边", "school zone"),
    HotspotKind.public_place: ("公共场所", "public place"),
    HotspotKind.vending_zone: ("疏导点", "designated vending zone"),
}
CHECK: dict[CheckState, tuple[str, str]] = {
    CheckState.overdue: ("已逾期", "overdue"),
    CheckState.due: ("待复查", "due"),
    CheckState.relapsed: ("复发", "relapsed"),
    CheckState.scheduled: ("未到期", "scheduled"),
    CheckState.clean: ("复查无问题", "clean"),
}
ROLE: dict[Role, tuple[str, str]] = {
    Role.admin: ("管理员", "admin"),
    Role.reviewer: ("审核员", "reviewer"),
    Role.uploader: ("上传账号", "uploader"),
    Role.dispatcher: ("调度员", "dispatcher"),
    Role.field_officer: ("执法队员", "field officer"),
}
COUNTED: dict[str, tuple[str, str, str]] = {
    "sightings": ("次发现", "sighting", "sightings"),
    "recurrences": ("次复发", "recurrence", "recurrences"),
}
"""Counted things: Chinese, English singular, English plural."""
SIGN_STATUS: dict[SignStatus, tuple[str, str]] = {
    SignStatus.unverified: ("待核实", "unverified"),
    SignStatus.approved: ("已审批", "approved"),
    SignStatus.violation: ("违规", "violation"),
    SignStatus.removed: ("已拆除", "removed"),
}
FACADE: dict[Facade, tuple[str, str]] = {
    Facade.left: ("行进方向左侧", "left of travel"),
    Facade.right: ("行进方向右侧", "right of travel"),
}
SIGN_KIND: dict[str, tuple[str, str]] = {
    "shop_sign": ("店招", "shop sign"),
    "projecting_sign": ("外挑招牌", "projecting sign"),
    "window_ad": ("橱窗广告", "window ad"),
    "lightbox": ("灯箱", "lightbox"),
    "tv": ("电子屏/灯箱", "lit panel"),
}
TEXT: dict[str, tuple[str, str]] = {
    "app": ("城市管理智能巡查", "streetscan"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong user name or password"),
    "no_web_role": ("该账号无审核权限", "This account may not use the review view"),
    "form_expired": ("表单已过期，请重试", "The form expired: please try again"),
    "too_many": ("登录失败次数过多，请 {n} 秒后再试", "Too many failed logins: try again in {n} s"),
    "no_users_yet": (
        "尚无任何用户：请打开启动服务时控制台打印的一次性设置链接，创建第一个管理员。",
        "No user exists yet: open the one-time setup link the server printed on its console to create the first admin.",
    ),
    "setup": ("创建第一个管理员", "Create the first admin"),
    "setup_help": (
        "此链接只能使用一次，一小时内有效。该账号为管理员，可在“用户”页添加其他用户。",
        "This link works once, within an hour. The account is an admin, who can add other users on the Users page.",
    ),
    "password_again": ("再次输入密码", "Password again"),
    "passwords_differ": ("两次输入的密码不一致", "The passwords differ"),
    "create": ("创建", "Create"),
    "conflict": ("此案件已被 {by} 于 {at} 处理为 {status}", "This case was already set to {status} by {by} at {at}"),
    "conflict_changed": (
        "此案件已被他人更新（当前：{status}），请刷新后再操作",
        "This case was changed meanwhile (now {status}): reload it first",
    ),
    "queue": ("审核队列", "Review queue"),
    "hotspots": ("热点", "Hotspots"),
    "weekly_report": ("周报告", "Weekly report"),
    "previous_week": ("上一周", "Previous week"),
    "next_week": ("下一周", "Next week"),
    "week": ("周", "Week"),
    "show": ("查看", "Show"),
    "week_of": ("统计周期", "Week"),
    "patrol_state": ("巡查情况", "Patrols"),
    "unit_figures_note": UNIT_NOTE,
    "rechecks": ("回头看", "Re-inspections"),
    "rechecks_help": (
        "案件处置后按期复查其位置：巡查车辆经过且未再发现为“复查无问题”，再次发现为“复发”。",
        "A resolved case's spot is checked again on schedule: a pass that saw nothing is clean, a sighting a relapse.",
    ),
    "resolved_at": ("处置时间", "Resolved"),
    "due_at": ("应复查", "Due"),
    "days": ("天", "days"),
    "evidence": ("依据", "Evidence"),
    "seen_again": ("再次发现", "seen again"),
    "patrol_pass": ("巡查经过", "patrol pass"),
    "no_rechecks": ("暂无复查任务", "Nothing to re-inspect"),
    "users": ("用户", "Users"),
    "webhooks": ("推送", "Webhooks"),
    "webhooks_help": (
        "案件、摄像头与批次事件推送到这些地址；添加或删除地址用接口",
        "Case, camera and batch events are posted to these addresses; add or remove one with the API at",
    ),
    "webhook_url": ("接收地址", "Address"),
    "event_kinds": ("可推送的事件", "Events that can be sent"),
    "dispatch_sheet": ("派单表", "Dispatch sheet"),
    "webhook_events": ("事件", "Events"),
    "webhook_format": ("格式", "Format"),
    "all_events": ("全部", "all"),
    "last_attempt": ("最近推送", "Last attempt"),
    "last_status": ("最近结果", "Last status"),
    "last_success": ("最近成功", "Last success"),
    "pending_deliveries": ("待推送", "Waiting"),
    "failed_deliveries": ("已放弃", "Given up"),
    "no_webhooks": ("尚无推送地址", "No webhook yet"),
    "waiting": ("待审核", "waiting"),
    "newest": ("最新优先", "Newest first"),
    "lowest_conf": ("低置信度优先", "Lowest confidence first"),
    "order": ("排序", "Order"),
    "all_categories": ("全部类别", "All categories"),
    "all_hotspots": ("全部热点", "All hotspots"),
    "all_sources": ("全部来源", "All sources"),
    "waiting_statuses": ("待审核与复发", "Waiting for review"),
    "from": ("自", "From"),
    "to": ("至", "to"),
    "confirm": ("确认", "Confirm"),
    "reject": ("驳回", "Reject"),
    "open": ("打开", "Open"),
    "select": ("选择", "Select"),
    "selected": ("已选", "selected"),
    "confirm_selected": ("批量确认", "Confirm selected"),
    "reject_selected": ("批量驳回", "Reject selected"),
    "load_more": ("加载更多", "Load more"),
    "queue_empty": ("队列已清空", "Nothing left to review"),
    "keys_help": (
        "J/K 下一条/上一条 · Y 确认 · N 驳回 · 数字键 改类别 · X 选择 · Shift+A 全选 · Shift+Y/N 批量确认/驳回 · "
        "Enter 打开 · Z 撤销 · Esc 回到队列",
        "J/K next/previous · Y confirm · N reject · digits change category · X select · Shift+A select all · "
        "Shift+Y/N confirm/reject selected · Enter open · Z undo · Esc back to the queue",
    ),
    "confidence": ("置信度", "confidence"),
    "no_hotspot": ("无附近热点", "no hotspot nearby"),
    "no_position": ("无定位", "no position"),
    "no_image": ("无图像", "no image"),
    "from_west": ("距西端 {m} m", "{m} m from the west end"),
    "from_south": ("距南端 {m} m", "{m} m from the south end"),
    "pass_track": ("巡查轨迹", "patrol route"),
    "seen_by": ("{source} · {at}", "{source} · {at}"),
    "viewer": ("证据大图", "Evidence viewer"),
    "previous": ("上一条", "Previous"),
    "next": ("下一条", "Next"),
    "close": ("关闭", "Close"),
    "evidence_alt": ("{what}：{where}，{at}", "{what} at {where}, {at}"),
    "saved": ("已保存", "saved"),
    "save_failed": ("保存失败", "not saved"),
    "case": ("案件", "Case"),
    "status": ("状态", "Status"),
    "category": ("类别", "Category"),
    "hotspot": ("热点", "Hotspot"),
    "distance": ("距离", "distance"),
    "first_seen": ("首次发现", "First seen"),
    "sighting_count": ("发现次数", "Sightings"),
    "last_seen": ("最近发现", "Last seen"),
    "position": ("位置", "Position"),
    "timeline": ("发现记录", "Sightings"),
    "source": ("来源", "source"),
    "trail": ("处理记录", "Audit trail"),
    "evidence_record": ("证据", "Evidence"),
    "evidence_report": ("打印证据记录（含哈希与证据链位置）", "Printable evidence record (hashes, chain positions)"),
    "share": ("生成分享链接（7 天有效，人脸和车牌已模糊）", "Make a share link (7 days, faces and plates blurred)"),
    "share_link": ("分享链接", "Share link"),
    "system": ("系统", "system"),
    "actions": ("操作", "Actions"),
    "note": ("备注", "Note"),
    "no_actions": ("当前状态无可用操作", "No action from this status"),
    "assign_hotspot": ("归入热点", "Assign to hotspot"),
    "assign": ("归入", "Assign"),
    "assign_help": (
        "未定位的热点将以本案件位置定位（需先确认案件）",
        "An unlocated hotspot is located at this case (confirm the case first)",
    ),
    "unlocated": ("未定位", "unlocated"),
    "located": ("已定位", "located"),
    "map": ("地图", "Map"),
    "map_empty": ("暂无定位数据", "Nothing located yet"),
    "this_case": ("本案件", "this case"),
    "strict_street": ("严管街", "strict street"),
    "kind": ("类型", "Kind"),
    "batch": ("批次", "Batch"),
    "all": ("全部", "All"),
    "filter": ("筛选", "Filter"),
    "name": ("名称", "Name"),
    "state": ("定位", "Located"),
    "open_cases": ("未结案件", "Open cases"),
    "last_pass": ("最近巡查发现", "Last patrol sighting"),
    "total": ("合计", "Total"),
    "no_cases": ("无", "none"),
    "role": ("角色", "Role"),
    "created": ("创建时间", "Created"),
    "add_user": ("添加用户", "Add user"),
    "add": ("添加", "Add"),
    "web_login": ("可登录网页", "web login"),
    "token_once": ("API 令牌（仅显示一次）", "API token (shown once)"),
    "account": ("账号", "Account"),
    "enabled": ("启用", "enabled"),
    "disabled": ("已停用", "disabled"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "new_password": ("新密码", "New password"),
    "reset_password": ("重置密码", "Reset password"),
    "notice_disabled": (
        "已停用该用户：其会话已结束，令牌已失效",
        "User disabled: their sessions ended and tokens stopped working",
    ),
    "notice_enabled": ("已启用该用户", "User enabled"),
    "notice_password": ("密码已重置，该用户的会话已结束", "Password reset: the user's sessions ended"),
    "notice_not_yourself": ("不能停用自己的账号", "You cannot disable your own account"),
    "error": ("出错了", "Something went wrong"),
    "operations": ("派遣督办", "Dispatch"),
    "units": ("单位", "Units"),
    "unit": ("单位", "Unit"),
    "all_units": ("全部单位", "All units"),
    "overdue_only": ("仅超期", "Overdue only"),
    "overdue": ("已超期", "overdue"),
    "in_time": ("处置中", "in time"),
    "dispatched_at": ("派遣时间", "Dispatched"),
    "due": ("处置期限", "Due"),
    "escalated": ("已上报负责人", "escalated"),
    "none_dispatched": ("没有待处置的案件", "No case waits for a unit"),
    "key": ("编码", "Key"),
    "territory": ("辖区热点", "Territory"),
    "routed": ("按类别派遣", "Takes categories"),
    "head": ("负责人", "Head"),
    "members": ("成员", "Members"),
    "add_unit": ("添加单位", "Add unit"),
    "add_member": ("加入成员", "Add member"),
    "set_head": ("设为负责人", "Make head"),
    **{kind.value: names for kind, names in UNIT_KIND.items()},
    "notice_unit_saved": ("单位已保存", "Unit saved"),
    "notice_hotspot_placed": ("热点位置已保存", "Hotspot placed"),
    "notice_disposed": ("处置已记录", "Disposal recorded"),
    "tasks": ("我的任务", "My tasks"),
    "phase": ("整治阶段", "Campaign phase"),
    "no_tasks": ("本单位暂无待处置案件", "Nothing waits for your unit"),
    "no_unit": ("您尚未加入任何单位，请联系管理员", "You belong to no unit yet: ask an admin"),
    "record_disposal": ("记录处置", "Record the disposal"),
    "disposal_kind": ("处置方式", "What was done"),
    "fine_yuan": ("罚款金额（元）", "Fine (yuan)"),
    "after_photo": ("处置后照片", "After-photo"),
    **{kind.value: names for kind, names in DISPOSAL.items()},
    "edit_place": ("绘制位置", "Draw its place"),
    "shape_point": ("点", "Point"),
    "shape_line": ("线（严管街）", "Line (strict street)"),
    "shape_polygon": ("面（市场、校园周边）", "Polygon (market, school zone)"),
    "buffer_m": ("缓冲距离（米）", "Buffer (m)"),
    "edit_vertices": ("编辑顶点", "Edit vertices"),
    "remove_shape": ("删除图形", "Remove the shape"),
    "undo": ("撤销", "Undo"),
    "save": ("保存", "Save"),
    "editor_help": (
        "在地图左侧工具栏选择点、线或面，再在地图上点击添加顶点；点击最后一个顶点完成（面：点击第一个顶点）。"
        "拖动顶点可移动，点击两顶点间的小点可添加顶点，右键点击顶点可删除。",
        "Pick a point, a line or a polygon in the map's toolbar, then click on the map to add vertices; "
        "click the last vertex to finish (a polygon: the first). Drag a vertex to move it, click the small "
        "mark between two vertices to add one, right-click a vertex to remove it.",
    ),
    "back": ("返回", "Back"),
    "notice_status": ("状态已更新", "Status changed"),
    "notice_merged": ("已合并：两案件的发现记录现都在本案件中", "Merged: both cases' sightings are in this case now"),
    "notice_unmerged": ("已撤销合并", "The merge is reversed"),
    "notice_split": ("已拆分：所选发现记录组成本新案件", "Split: the chosen sightings make this new case"),
    "notice_sighting_rejected": ("已驳回该发现记录：不再计入", "Sighting rejected: it no longer counts"),
    "notice_sighting_restored": ("已恢复该发现记录", "Sighting restored"),
    "notice_undone": ("已撤销你的上一步操作", "Your last decision is undone"),
    "pick_sightings": ("请先勾选要拆分的发现记录（X）", "Tick the sightings to split off first (X)"),
    "corrections": ("合并与拆分", "Merge and split"),
    "merge_into": ("合并到案件", "Merge into case"),
    "merge": ("合并", "Merge"),
    "may_be_same": ("可能与以下案件为同一对象", "May be the same object as"),
    "merged_into": ("已合并到", "Merged into"),
    "unmerge": ("撤销合并", "Reverse the merge"),
    "split_selected": ("拆分所选发现记录为新案件", "Split the ticked sightings into a new case"),
    "reject_sighting": ("驳回此条", "Reject this one"),
    "restore_sighting": ("恢复此条", "Restore"),
    "sighting_rejected": ("已驳回", "rejected"),
    "next_case": ("下一案件", "Next case"),
    "undone": ("已撤销", "undone"),
    "my_day": ("我今天的操作", "My decisions today"),
    "no_decisions": ("今天还没有操作", "No decision yet today"),
    "time": ("时间", "Time"),
    "decision": ("操作", "Decision"),
    "undo_last": ("撤销我的上一步操作", "Undo my last decision"),
    "keys_case": (
        "Y 确认 · N 驳回 · L 下一案件 · J/K 下/上一条发现记录 · X 勾选 · R 驳回/恢复此条 · S 拆分 · M 合并 · "
        "Z 撤销 · Esc 离开输入框/返回",
        "Y confirm · N reject · L next case · J/K next/previous sighting · X tick · R reject/restore it · "
        "S split · M merge · Z undo · Esc leave a field/go back",
    ),
    "notice_assigned": ("已归入热点", "Assigned to the hotspot"),
    "notice_located": ("热点已按本案件定位", "The hotspot is now located at this case"),
    "notice_transition": ("当前状态不允许该操作", "The state machine does not allow that change"),
    "notice_not_locating": (
        "只有已确认且有定位的案件才能定位热点",
        "Only a confirmed case with a position can locate a hotspot",
    ),
    "notice_no_position": ("案件无定位，无法归入热点", "A case without a position cannot be assigned"),
    "notice_bad_shape": (
        "该类型热点不能以一个点定位，请通过 API 导入其线或面",
        "This kind of hotspot cannot be placed at a single point: import its line or area through the API",
    ),
}
TEXT.update(
    {
        "signs": ("户外广告台账", "Sign register"),
        "sign": ("广告设施", "Sign"),
        "sign_text": ("招牌文字", "Text on the sign"),
        "search": ("搜索文字/审批号", "Search text or permit"),
        "new_since": ("新增自", "New since"),
        "new_sign": ("新增", "new"),
        "no_signs": ("没有符合条件的广告设施", "No sign matches"),
        "facade": ("所在侧", "Side"),
        "pages": ("分页", "Pages"),
        "page_range": ("第 {first}–{last} 条，共 {total} 条", "{first}–{last} of {total}"),
        "previous_page": ("上一页", "Previous page"),
        "next_page": ("下一页", "Next page"),
        "sightings_by_date": ("历次巡查所见", "Sightings by date"),
        "approve": ("登记审批", "Approve"),
        "permit_number": ("审批编号", "Permit number"),
        "permit_expiry": ("有效期至", "Permit expiry"),
        "mark_violation": ("标记违规", "Mark violation"),
        "mark_removed": ("标记已拆除", "Mark removed"),
        "merge_into": ("并入条目编号", "Merge into entry number"),
        "merge": ("合并", "Merge"),
        "split_selected": ("拆分所选为新条目", "Split the selected off as a new entry"),
        "notice_sign_saved": ("已保存", "Saved"),
        "notice_sign_merged": ("已合并", "Merged"),
        "notice_sign_split": ("已拆分为新条目", "Split off as a new entry"),
        "notice_sign_refused": (
            "无法执行：审批需填写审批编号；合并需另一个条目；拆分需选择部分（非全部）记录",
            "Not done: approval needs a permit number; merge needs another entry; split needs some (not all) sightings",
        ),
    }
)
TEXT.update(
    {
        "case_trend": ("案件趋势（按周）", "Cases by week"),
        "week_of": ("周一", "Week of"),
        "cases": ("案件", "Cases"),
        "in_focus": ("整治期内", "In focus"),
        "focus_always": ("整治重点：全程", "In focus throughout the campaign"),
        "in_focus_since": ("整治重点：自 {date} 起", "In focus since {date}"),
        "in_focus_from": ("整治重点：{date} 起（尚未开始）", "In focus from {date} (not yet)"),
        "plan": ("一点一策", "Plan for this place"),
        "measures": ("措施", "Measures"),
        "measures_help": ("措施（每行一条）", "Measures (one a line)"),
        "no_plan": ("尚未制定", "None written yet"),
        "responsible_unit": ("责任单位", "Responsible unit"),
        "none_named": ("未指定", "none named"),
        "milestones": ("节点", "Milestones"),
        "milestone": ("节点", "Milestone"),
        "due_on": ("日期", "Date"),
        "late": ("已逾期", "late"),
        "milestone_state": ("状态", "State"),
        "milestone_planned": ("计划中", "planned"),
        "milestone_in_progress": ("进行中", "in progress"),
        "milestone_done": ("已完成", "done"),
        "milestone_dropped": ("已取消", "dropped"),
        "plan_updated": ("{by} 更新于 {at}", "Updated by {by} at {at}"),
        "edit_plan": ("编辑一点一策", "Edit the plan"),
        "notice_plan_saved": ("一点一策已保存", "Plan saved"),
        "calendar": ("整治阶段与批次", "Phases and batches"),
        "hours_school_zone": ("上下学时段", "School-run hours"),
        "hours_vending_zone": (
            "允许经营时段（其余时段在此经营即为违规）",
            "Permitted hours (vending here outside them is a violation)",
        ),
        "phases": ("整治阶段", "Campaign phases"),
        "phase_name": ("名称", "Name"),
        "phase_name_en": ("英文名称", "English name"),
        "starts": ("开始", "Starts"),
        "ends": ("结束", "Ends"),
        "batch_starts": ("马路市场批次开始日期", "Road-market batch starts"),
        "calendar_help": (
            "阶段按顺序编号，日期不得重叠；批次开始后，该批次的马路市场纳入整治重点。",
            "Phases are numbered in order and may not overlap; a batch's road markets are in focus from its start.",
        ),
        "notice_calendar_saved": ("整治阶段与批次已保存", "Phases and batches saved"),
        "hours_help": (
            "每段格式 HH:MM-HH:MM，多段以分号分隔；留空表示全天。",
            "Each range as HH:MM-HH:MM, several separated by semicolons; empty: all day.",
        ),
        "notice_hours_saved": ("时段已保存", "Hours saved"),
    }
)
NOTICES = frozenset(key.removeprefix("notice_") for key in TEXT if key.startswith("notice_"))


def request_lang(request: Request) -> str:
    """The visitor's language: the ``lang`` cookie when it names one, else Chinese."""
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGS else LANGS[0]


class Labels:
    """Every label in one language: ``labels("queue")``, ``labels.status(s)``, ``labels.category(c)``."""

    def __init__(self, lang: str, categories: Mapping[str, tuple[str, str]]) -> None:
        self.lang = lang
        self._i = LANGS.index(lang)
        self._categories = categories

    def __call__(self, key: str) -> str:
        return TEXT[key][self._i]

    def status(self, status: str) -> str:
        return STATUS[CaseStatus(status)][self._i]

    def kind(self, kind: str) -> str:
        return KIND[HotspotKind(kind)][self._i]

    def check_state(self, state: str) -> str:
        return CHECK[CheckState(state)][self._i]

    def sign_status(self, status: str) -> str:
        return SIGN_STATUS[SignStatus(status)][self._i]

    def facade(self, side: str | None) -> str:
        """The side of the street a sign stands on ("—" when unknown)."""
        return FACADE[Facade(side)][self._i] if side else "—"

    def sign_kind(self, label: str) -> str:
        """A sign's detector label by name (the label itself when it has none)."""
        names = SIGN_KIND.get(label)
        return names[self._i] if names else label

    def action(self, action: str) -> str:
        return ACTION[CaseAction(action)][self._i]

    def event(self, kind: str) -> str:
        return EVENT[EventKind(kind)][self._i]

    def category(self, category: str) -> str:
        names = self._categories.get(category)
        return names[self._i] if names else category

    def refusal(self, refusal: Refusal) -> str:
        """A refusal in this language."""
        return message(refusal.key, refusal.params, self._i, self.status)

    def message(self, key: str) -> str:
        """The label or the refusal (without parameters) ``key``."""
        return self(key) if key in TEXT else self.refusal(Refusal(key))

    def figure(self, name: str) -> str:
        """A weekly report figure of a place (``service.reports.weekly.FIGURES``)."""
        return FIGURES[name][self._i]

    def unit_figure(self, name: str) -> str:
        """A weekly report figure of a unit (``service.reports.units.UNIT_FIGURES``)."""
        return UNIT_FIGURES[name][self._i]

    def patrol(self, state: str) -> str:
        """What a week's patrols say of a hotspot (``service.reports.weekly.PATROL``)."""
        return PATROL[state][self._i]

    def role(self, role: str) -> str:
        return ROLE[Role(role)][self._i]

    def phase(self, phase: Phase) -> str:
        """A campaign phase's name in the page's language (Chinese where the plan gives no English)."""
        return phase.name_en if self._i and phase.name_en else phase.name

    def count(self, n: int, key: str) -> str:
        """``n`` things of ``COUNTED[key]``: "3 次发现", "1 sighting", "3 sightings"."""
        zh, one, many = COUNTED[key]
        return f"{n} {zh}" if self.lang == "zh" else f"{n} {one if n == 1 else many}"


def taxonomy_categories(path: Path | None) -> dict[str, tuple[str, str]]:
    """Category id -> (zh, en) from the taxonomy at ``path`` (None: the shipped one), in file order."""
    return {c.id: (c.zh, c.en) for c in category_policies(path).values()}
