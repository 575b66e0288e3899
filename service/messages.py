"""Refusals a reviewer can be shown, in both languages: a key, its parameters, and the Chinese and English
templates. The API answers the English text; the web view shows the visitor's language
(``service.web.i18n.Labels.refusal``), case statuses among the parameters named in it too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.models.cases import CaseStatus

MESSAGES: dict[str, tuple[str, str]] = {
    "no_case": ("没有该案件", "no such case"),
    "no_hotspot": ("没有该热点", "no such hotspot"),
    "no_user": ("没有该用户", "no such user"),
    "no_unit": ("没有该单位", "no such unit"),
    "unit_disabled": ("单位 {name} 已停用", "unit {name} is disabled"),
    "bad_calendar": (
        "阶段须有名称和日期，结束不早于开始，且依次排列、互不重叠",
        "every phase needs a name and dates, may not end before it starts, and comes after the one before it",
    ),
    "bad_plan": (
        "计划有误：措施与节点名称不能为空（最多 500/200 字），每个节点须有日期",
        "a bad plan: measures and milestone titles are 1 to 500/200 characters, every milestone needs a date",
    ),
    "no_sign": ("没有该招牌", "no such sign"),
    "no_action": ("没有该操作", "no such action"),
    "no_format": ("没有该文件格式（可选 CSV 或 XLSX）", "no such file format: use .csv or .xlsx"),
    "needs_field_role": ("需要执法队员、调度员或管理员角色", "needs role field_officer, dispatcher or admin"),
    "other_unit": ("该案件已派给其他单位", "the case is dispatched to another unit"),
    "needs_reviewer": ("需要审核员或管理员角色", "needs role reviewer or admin"),
    "needs_admin": ("需要管理员角色", "needs role admin"),
    "setup_link_gone": ("此设置链接已失效", "this setup link is no longer valid"),
    "share_link_gone": ("此分享链接无效或已过期", "this share link is not valid or has expired"),
    "user_exists": ("用户 {name} 已存在", "user {name!r} exists already"),
    "bad_user": (
        "用户名最多 64 个字符；密码须为 8–256 个字符",
        "a user name has at most 64 characters; a password 8 to 256",
    ),
    "none": ("无", "none"),
    "transition": (
        "案件不能从“{current}”变为“{target}”（可变为：{allowed}）",
        "cannot go from {current} to {target} (allowed: {allowed})",
    ),
    "close_never_dispatched": ("案件未派遣，不能结案", "cannot close: it was never dispatched"),
    "close_no_disposal": ("派遣后尚无处置记录，不能结案", "cannot close: no disposal recorded since it was dispatched"),
    "close_not_verified": ("处置尚未核查通过，不能结案", "cannot close: its disposal is not verified"),
    "unknown_category": ("未知类别 {category}", "unknown category {category!r}"),
    "merge_self": ("案件不能合并到自身", "a case cannot be merged into itself"),
    "merged_already": ("案件 #{case} 已合并到其他案件", "case {case} is merged into another case"),
    "merge_categories": (
        "类别不同的案件不能合并（先改类别）",
        "cases of different categories cannot be merged (change the category first)",
    ),
    "not_merged": ("案件 #{case} 未被合并", "case {case} is not merged"),
    "not_in_case": ("发现记录 {ids} 不属于案件 #{case}", "sightings {ids} are not in case {case}"),
    "split_all": (
        "拆分须在原案件中至少保留一条发现记录",
        "a split must leave at least one sighting in the case",
    ),
    "last_sighting": (
        "这是案件最后一条有效发现记录：请直接驳回案件",
        "this is the case's last counted sighting: reject the case instead",
    ),
    "sighting_unchanged": ("该发现记录已是此状态", "the sighting is so already"),
    "nothing_to_undo": (
        "没有可撤销的操作：案件最近的变更不是你的决定",
        "nothing to undo: the case's latest change is not a decision of yours",
    ),
}


def message(key: str, params: dict[str, Any], lang: int, status_name: Callable[[CaseStatus], str]) -> str:
    """The message ``key`` in language ``lang`` (0 Chinese, 1 English) with its ``params``: a case status
    named by ``status_name``, a tuple of them listed (or "none")."""

    def shown(value: Any) -> Any:
        if isinstance(value, CaseStatus):
            return status_name(value)
        if isinstance(value, tuple):
            return ", ".join(shown(v) for v in value) or MESSAGES["none"][lang]
        return value

    return MESSAGES[key][lang].format(**{name: shown(value) for name, value in params.items()})


class Refusal(ValueError):
    """A request refused for a reason a reviewer can read: ``key`` of ``MESSAGES`` and its ``params``
    (``str()``: the English text)."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(message(key, params, 1, str))
