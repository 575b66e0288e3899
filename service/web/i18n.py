"""Chinese (default) and English labels: interface text, statuses, hotspot kinds, audit actions.

Category labels come from the taxonomy (``models/taxonomy.yaml``), which names every category in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import Request

from service.categories import category_policies
from service.models.cases import CaseAction, CaseStatus
from service.models.hotspots import HotspotKind
from service.models.signs import SignStatus

LANGS = ("zh", "en")
LANG_COOKIE = "lang"

STATUS: dict[CaseStatus, tuple[str, str]] = {
    CaseStatus.new: ("待审核", "new"),
    CaseStatus.confirmed: ("已确认", "confirmed"),
    CaseStatus.dispatched: ("已派单", "dispatched"),
    CaseStatus.resolved: ("已处置", "resolved"),
    CaseStatus.closed: ("已结案", "closed"),
    CaseStatus.rejected: ("已驳回", "rejected"),
    CaseStatus.reopened: ("复发重开", "reopened"),
}
KIND: dict[HotspotKind, tuple[str, str]] = {
    HotspotKind.road_market: ("马路市场", "road market"),
    HotspotKind.strict_street: ("严管街", "strict-management street"),
    HotspotKind.school_zone: ("校园周边", "school zone"),
    HotspotKind.public_place: ("公共场所", "public place"),
    HotspotKind.vending_zone: ("疏导点", "designated vending zone"),
}
ACTION: dict[CaseAction, tuple[str, str]] = {
    CaseAction.created: ("新建", "created"),
    CaseAction.recurrence: ("复发", "recurred"),
    CaseAction.review: ("审核", "reviewed"),
    CaseAction.status: ("状态变更", "status change"),
    CaseAction.recategorize: ("改类别", "category changed"),
    CaseAction.merge_proposed: ("疑似同一对象", "may be the same object as"),
    CaseAction.hotspot: ("热点变更", "hotspot changed"),
}
SIGN_STATUS: dict[SignStatus, tuple[str, str]] = {
    SignStatus.unverified: ("待核实", "unverified"),
    SignStatus.approved: ("已审批", "approved"),
    SignStatus.violation: ("违规", "violation"),
    SignStatus.removed: ("已拆除", "removed"),
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
    "users": ("用户", "Users"),
    "waiting": ("待审核", "waiting"),
    "newest": ("最新优先", "Newest first"),
    "lowest_conf": ("低置信度优先", "Lowest confidence first"),
    "all_categories": ("全部类别", "All categories"),
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
        "J/K 下一条/上一条 · Y 确认 · N 驳回 · 1–4 改类别 · X 选择 · Enter 打开",
        "J/K next/previous · Y confirm · N reject · 1–4 category · X select · Enter open",
    ),
    "confidence": ("置信度", "confidence"),
    "sightings": ("次发现", "sightings"),
    "recurrences": ("次复发", "recurrences"),
    "no_hotspot": ("无附近热点", "no hotspot nearby"),
    "no_position": ("无定位", "no position"),
    "no_image": ("无图像", "no image"),
    "saved": ("已保存", "saved"),
    "save_failed": ("保存失败", "not saved"),
    "case": ("案件", "Case"),
    "status": ("状态", "Status"),
    "category": ("类别", "Category"),
    "hotspot": ("热点", "Hotspot"),
    "distance": ("距离", "distance"),
    "first_seen": ("首次发现", "First seen"),
    "last_seen": ("最近发现", "Last seen"),
    "position": ("位置", "Position"),
    "timeline": ("发现记录", "Sightings"),
    "source": ("来源", "source"),
    "trail": ("处理记录", "Audit trail"),
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
    "back": ("返回", "Back"),
    "notice_status": ("状态已更新", "Status changed"),
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

    def sign_status(self, status: str) -> str:
        return SIGN_STATUS[SignStatus(status)][self._i]

    def sign_kind(self, label: str) -> str:
        """A sign's detector label by name (the label itself when it has none)."""
        names = SIGN_KIND.get(label)
        return names[self._i] if names else label

    def action(self, action: str) -> str:
        return ACTION[CaseAction(action)][self._i]

    def category(self, category: str) -> str:
        names = self._categories.get(category)
        return names[self._i] if names else category

    def message(self, key_or_text: str) -> str:
        """The label of ``key_or_text`` when it is a label key, else the text as it is (a server message)."""
        return self(key_or_text) if key_or_text in TEXT else key_or_text


def taxonomy_categories(path: Path | None) -> dict[str, tuple[str, str]]:
    """Category id -> (zh, en) from the taxonomy at ``path`` (None: the shipped one), in file order."""
    return {c.id: (c.zh, c.en) for c in category_policies(path).values()}
