"""Taxonomy: direct label map, the shipped composite rules, and strict YAML validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vision.boxes import Detections
from vision.defaults import DEFAULT_TAXONOMY
from vision.taxonomy import CategoryPolicy, Taxonomy, TaxonomyError

FRAME = (1000, 2000)  # (H, W) pixels
PERSON_TAXONOMY = Path(__file__).parent / "data" / "person-taxonomy.yaml"


Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 pixels."""


def dets(*rows: tuple[str, float, float, float, float]) -> Detections:
    """Detections from (label, x1, y1, x2, y2) rows, one class id per distinct label."""
    names = dict(enumerate(dict.fromkeys(r[0] for r in rows)))
    ids = {label: i for i, label in names.items()}
    return Detections(
        xyxy=np.array([r[1:] for r in rows], dtype=np.float32).reshape(-1, 4),
        confidence=np.full(len(rows), 0.9),
        class_id=np.array([ids[r[0]] for r in rows]),
        names=names,
    )


@pytest.fixture(scope="module")
def default() -> Taxonomy:
    return Taxonomy.load()


def test_default_has_core_categories_and_domain_labels(default: Taxonomy) -> None:
    assert list(default.categories) == ["street_vendor", "goods_spill", "lightbox_ad", "outdoor_ad", "vending_vehicle"]
    assert default.categories["goods_spill"].zh == "店外经营"
    assert default.labels == {
        "vendor_stall": "street_vendor",
        "goods_display": "goods_spill",
        "lightbox": "lightbox_ad",
        "shop_sign": "outdoor_ad",
        "projecting_sign": "outdoor_ad",
        "window_ad": "outdoor_ad",
    }


def test_shipped_category_policy(default: Taxonomy) -> None:
    """Each category's names, case radius, camera dwell and exemptions come from the taxonomy file."""
    assert default.categories["street_vendor"] == CategoryPolicy(
        "street_vendor",
        "流动摊贩/占道经营",
        "street vendor / business on the road",
        25.0,
        180.0,
        frozenset({"vending_zone"}),
    )
    policy = {c.id: (c.radius_m, c.dwell_s, c.exempt_in) for c in default.categories.values()}
    assert policy == {
        "street_vendor": (25.0, 180.0, frozenset({"vending_zone"})),
        "vending_vehicle": (25.0, 180.0, frozenset({"vending_zone"})),
        "goods_spill": (25.0, 180.0, frozenset()),
        "lightbox_ad": (12.0, 30.0, frozenset()),
        "outdoor_ad": (12.0, 30.0, frozenset()),
    }
    assert default.dwell_s() == {
        "street_vendor": 180.0,
        "vending_vehicle": 180.0,
        "goods_spill": 180.0,
        "lightbox_ad": 30.0,
        "outdoor_ad": 30.0,
    }


def test_other_files_keep_the_shipped_categories_and_may_add_some(tmp_path: Path, default: Taxonomy) -> None:
    assert Taxonomy.load(PERSON_TAXONOMY).categories == default.categories
    added = "categories:\n  fruit_stand: {zh: 水果摊, en: fruit stand, dwell_s: 60}\n"
    copy = tmp_path / "taxonomy.yaml"
    copy.write_text(DEFAULT_TAXONOMY.read_text(encoding="utf-8").replace("categories:\n", added, 1), encoding="utf-8")
    tax = Taxonomy.load(copy)  # repeats the shipped categories unchanged, adds one
    assert list(tax.categories) == [*default.categories, "fruit_stand"]
    assert tax.categories["fruit_stand"] == CategoryPolicy("fruit_stand", "水果摊", "fruit stand", None, 60.0)
    assert tax.dwell_s()["fruit_stand"] == 60.0 and tax.labels == default.labels


def test_direct_map_and_unmapped_labels(default: Taxonomy) -> None:
    det = dets(
        ("vendor_stall", 100, 500, 400, 900),
        ("window_ad", 500, 300, 700, 500),
        ("person", 800, 400, 900, 900),
        ("car", 1000, 500, 1600, 900),
    )
    assert default.classify(det, FRAME) == ["street_vendor", "outdoor_ad", None, None]


def test_empty_detections(default: Taxonomy) -> None:
    assert default.classify(Detections.empty(), FRAME) == []


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((100, 500, 300, 950), "lightbox_ad"),  # upright, standing on the ground
        ((100, 850, 700, 950), "outdoor_ad"),  # low but wide: a facade sign
        ((100, 100, 300, 550), "outdoor_ad"),  # upright but high on the facade
    ],
)
def test_sign_on_ground(default: Taxonomy, box: Box, expected: str) -> None:
    assert default.classify(dets(("shop_sign", *box)), FRAME) == [expected]


@pytest.mark.parametrize(
    ("umbrella", "person", "expected"),
    [
        ((500, 500, 800, 700), (820, 450, 900, 950), "street_vendor"),  # person right beside it
        ((500, 500, 800, 700), (1200, 450, 1280, 950), None),  # person more than one umbrella width away
        ((500, 100, 800, 300), (820, 50, 900, 400), None),  # umbrella too high in the frame
        ((500, 500, 800, 700), (820, 750, 900, 950), None),  # no vertical overlap
        ((500, 500, 800, 700), None, None),  # nobody there
    ],
)
def test_stall_with_vendor(default: Taxonomy, umbrella: Box, person: Box | None, expected: str | None) -> None:
    rows = [("umbrella", *umbrella)] + ([("person", *person)] if person else [])
    out = default.classify(dets(*rows), FRAME)
    assert out[0] == expected
    assert out[1:] == [None] * (len(rows) - 1)  # the person itself is never reported


def test_dining_table_with_person(default: Taxonomy) -> None:
    det = dets(("person", 300, 400, 400, 950), ("dining table", 420, 700, 700, 950))
    assert default.classify(det, FRAME) == [None, "street_vendor"]


@pytest.mark.parametrize(
    ("stall", "expected"),
    [
        ((1180, 600, 1500, 900), "vending_vehicle"),  # a stall against the van's side
        ((1250, 600, 1500, 900), "vending_vehicle"),  # a quarter of the van's width away
        ((1450, 600, 1750, 900), None),  # further off: a stall on the sidewalk beside a parked van
        ((1180, 100, 1500, 300), None),  # not beside it: above it in the frame
    ],
)
def test_stall_on_vehicle(default: Taxonomy, stall: Box, expected: str | None) -> None:
    out = default.classify(dets(("truck", 400, 500, 1200, 950), ("vendor_stall", *stall)), FRAME)
    assert out == [expected, "street_vendor"]  # the stall itself is still a street vendor


def test_a_van_standing_alone_is_no_case(default: Taxonomy) -> None:
    assert default.classify(dets(("truck", 400, 500, 1200, 950), ("person", 1210, 450, 1290, 950)), FRAME) == [
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("xs", "top", "expected"),
    [
        ([100, 250, 400], 800, ["goods_spill"] * 3),  # three side by side, low
        ([100, 250], 800, [None] * 2),  # cluster too small
        ([100, 250, 1500], 800, [None] * 3),  # third one far away
        ([100, 300, 500, 700], 800, ["goods_spill"] * 4),  # a chain: ends are far apart but linked
        ([100, 250, 400], 200, [None] * 3),  # on the facade, not the sidewalk
    ],
)
def test_goods_cluster(default: Taxonomy, xs: list[int], top: int, expected: list[str | None]) -> None:
    det = dets(*[("potted plant", x, top, x + 100, top + 150) for x in xs])
    assert default.classify(det, FRAME) == expected


def test_goods_cluster_mixes_labels(default: Taxonomy) -> None:
    det = dets(("chair", 100, 750, 200, 950), ("bottle", 210, 850, 240, 950), ("suitcase", 260, 800, 360, 950))
    assert default.classify(det, FRAME) == ["goods_spill"] * 3


def test_relevant_labels(default: Taxonomy) -> None:
    relevant = default.relevant_labels()
    assert {
        "vendor_stall",
        "window_ad",
        "person",
        "umbrella",
        "dining table",
        "potted plant",
        "tv",
        "truck",
    } <= relevant
    assert not {"car", "dog"} & relevant


def test_signs(default: Taxonomy) -> None:
    assert default.signs == {"shop_sign", "projecting_sign", "window_ad", "lightbox", "tv"}
    assert default.is_sign("projecting_sign") and default.is_sign("lightbox")
    assert not default.is_sign("vendor_stall") and not default.is_sign("person") and not default.is_sign("car")


def test_person_taxonomy() -> None:
    tax = Taxonomy.load(PERSON_TAXONOMY)
    assert tax.relevant_labels() == {"person"}
    assert tax.signs == frozenset()  # no signs list: nothing is read
    assert tax.classify(dets(("person", 0, 0, 10, 30), ("car", 0, 0, 50, 30)), FRAME) == ["street_vendor", None]


def test_first_matching_rule_wins_and_extra_category(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
categories:
  fruit_stand: {zh: 水果摊, en: fruit stand}
labels: {umbrella: outdoor_ad}
rules:
  - {name: low, category: fruit_stand, subject: [umbrella], min_bottom: 0.5}
  - {name: any, category: street_vendor, subject: [umbrella]}
""",
        encoding="utf-8",
    )
    tax = Taxonomy.load(path)
    assert tax.categories["fruit_stand"].en == "fruit stand"
    det = dets(("umbrella", 0, 600, 100, 700), ("umbrella", 0, 100, 100, 200))
    assert tax.classify(det, FRAME) == ["fruit_stand", "street_vendor"]


RULE = "rules:\n  - {name: r, category: street_vendor, subject: [umbrella]%s}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("labels: {a: b}\nextra: 1\n", "unknown key(s) 'extra'"),
        ("labels: {umbrella: no_such}\n", "unknown category 'no_such'"),
        (RULE % ", colour: red", "unknown key(s) 'colour'"),
        (RULE % ", near: {labels: [person], min_count: 1, max_gap: 1, far: 2}", "unknown key(s) 'far'"),
        (RULE % ", near: {labels: [person], min_count: 0, max_gap: 1}", "min_count"),
        (RULE % ", min_bottom: 1.5", "min_bottom"),
        (RULE % ", aspect: {min: 2, max: 1}", "aspect.min"),
        (RULE % ", cluster: {labels: [chair], min_count: 3, max_gap: 1}", "subject label"),
        ("rules:\n  - {name: r, category: nope, subject: [umbrella]}\n", "unknown category 'nope'"),
        ("rules:\n  - {name: r, category: street_vendor}\n", "missing key(s) 'subject'"),
        (RULE.replace("\n", "\n  - {name: r, category: goods_spill, subject: [chair]}\n", 1) % "", "used twice"),
        ("categories:\n  goods_spill: {zh: x, en: y}\n", "built in"),
        (
            "categories:\n  goods_spill: {zh: 店外经营, en: goods displayed outside the shop, radius_m: 40}\n",
            "built in",
        ),
        ("categories:\n  x: {zh: a}\n", "missing key(s) 'en'"),
        ("categories:\n  x: {zh: a, en: b, colour: red}\n", "unknown key(s) 'colour'"),
        ("categories:\n  x: {zh: a, en: b, radius_m: 0}\n", "radius_m must be more than 0"),
        ("categories:\n  x: {zh: a, en: b, dwell_s: -5}\n", "dwell_s must be a number >= 0"),
        ("categories:\n  x: {zh: a, en: b, exempt_in: vending_zone}\n", "exempt_in must be a list"),
        ("categories:\n  x: {zh: a, en: b, exempt_in: [market]}\n", "unknown place kind market"),
        ("labels: [a, b]\n", "must be a mapping"),
        ("labels: {a: [unclosed\n", "not valid YAML"),
        ("labels: {shop_sign: outdoor_ad}\nsigns: [shop_sign, billboard]\n", "'billboard' is neither mapped"),
        ("labels: {shop_sign: outdoor_ad}\nsigns: shop_sign\n", "signs must be a non-empty list"),
        ("labels: {shop_sign: outdoor_ad}\nsigns: []\n", "signs must be a non-empty list"),
    ],
)
def test_yaml_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as err:
        Taxonomy.load(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        Taxonomy.load(tmp_path / "absent.yaml")
