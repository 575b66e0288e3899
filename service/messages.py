"""Refusals a reviewer can be shown, in both languages: a key, its parameters, and the Chinese and English
templates. The API answers the English text; the web view shows the visitor's language
(``service.web.i18n.Labels.message``)."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "no_case": ("没有该案件", "no such case"),
    "no_hotspot": ("没有该热点", "no such hotspot"),
    "transition": (
        "案件不能从“{current}”变为“{target}”（可变为：{allowed}）",
        "cannot go from {current} to {target} (allowed: {allowed})",
    ),
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


class Refusal(ValueError):
    """A request refused for a reason a reviewer can read: ``key`` of ``MESSAGES`` and its ``params``."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(MESSAGES[key][1].format(**params))
