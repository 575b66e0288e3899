"""Category codes: the shipped table covers every category and is strictly validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.categories import known_categories
from service.integrations.codes import CodesError, category_codes


def test_shipped_codes_cover_every_category() -> None:
    codes = category_codes()
    assert set(codes) == known_categories()
    for entry in codes.values():
        assert entry.national.code.isdigit() and len(entry.national.code) == 4
        assert entry.national.code[:2] in {"02", "05"}  # 宣传广告, 街面秩序
        assert entry.national.verified is False  # nothing could be checked against the standard's text


def test_edited_file(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    path.write_text(
        "codes:\n  street_vendor:\n"
        "    national: {code: '0501', name: 无照经营游商, group: 街面秩序, verified: true}\n"
        "    local: {code: JC-0501, name: 游商}\n",
        encoding="utf-8",
    )
    entry = category_codes(path)["street_vendor"]
    assert (entry.local.code, entry.local.name, entry.national.verified) == ("JC-0501", "游商", True)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("codes:\n  x:\n    national: {code: '1', name: n, group: g}\n", "verified"),
        ("codes:\n  x:\n    national: {code: '1', name: n, group: g, verified: false, extra: 1}\n", "extra"),
        ("codes: [\n", "while parsing"),
    ],
)
def test_bad_file_named(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodesError, match=problem) as caught:
        category_codes(path)
    assert str(path) in str(caught.value)
