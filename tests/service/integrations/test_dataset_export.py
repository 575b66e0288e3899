"""``streetscan export-dataset``: reviewed keyframes as a YOLO dataset that ``streetscan train --export``
reads back with our class names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from service.cli import main
from service.integrations.dataset_export import ExportError, export_dataset
from service.settings import Settings
from tests.service.builders import Auth, obs, post, send, store_image
from vision import Taxonomy
from vision.training.recipe import Recipe

NAMES = ["person", "vendor_stall", "goods_display", "lightbox", "shop_sign", "projecting_sign", "window_ad"]


def frame(colour: int) -> bytes:
    """A 320x240 PNG keyframe filled with one grey level, with a white patch at 200..300 x 20..60."""
    image = np.full((240, 320, 3), colour, np.uint8)
    image[20:60, 200:300] = 255
    return cv2.imencode(".png", image)[1].tobytes()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Shop signs queued as cases (the shipped sign rules keep them in the register only), so a
    reviewer's decision on one trains the model."""
    rules = tmp_path / "sign-rules.yaml"
    rules.write_text("rules:\n  - {name: every_shop_sign, kind: [shop_sign], case: outdoor_ad}\n")
    return Settings(database_url=database_url, data_dir=tmp_path, hotspot_catalog=None, sign_rules_path=rules)


@dataclass
class Reviewed:
    """track id -> case id, and frame (a, b, c) -> the image name the export gives it."""

    cases: dict[str, int]
    images: dict[str, str]


@pytest.fixture
def reviewed(client: TestClient, auth: Auth) -> Reviewed:
    """Cases on two keyframes: confirmed sign + unreviewed stall on frame a; rejected goods + a vendor
    recategorised as a lightbox on frame b; an unreviewed case alone on frame c; one without keyframe."""
    shades = {"a": 40, "b": 80, "c": 120}
    keys = {name: store_image(client, auth, frame(shade), "image/png") for name, shade in shades.items()}
    items = [
        obs("sign", category="outdoor_ad", label="shop_sign", bbox=[200, 20, 300, 60], keyframe=keys["a"]),
        obs("stall", north=60, label="vendor_stall", bbox=[10, 100, 110, 230], keyframe=keys["a"]),
        obs("goods", north=120, category="goods_spill", label="bottle", bbox=[50, 50, 150, 150], keyframe=keys["b"]),
        obs("box", north=180, label="umbrella", bbox=[160, 120, 330, 250], keyframe=keys["b"]),
        obs("alone", north=240, label="vendor_stall", bbox=[0, 0, 50, 50], keyframe=keys["c"]),
        obs("nokey", north=300, category="outdoor_ad", label="shop_sign"),
    ]
    cases = {item["track_id"]: r["case_id"] for item, r in zip(items, send(client, auth, items)["results"])}
    for track, body in (
        ("sign", {"decision": "confirm"}),
        ("goods", {"decision": "reject"}),
        ("box", {"decision": "recategorize", "category": "lightbox_ad"}),
        ("nokey", {"decision": "confirm"}),
    ):
        post(client, auth["reviewer"], f"/api/cases/{cases[track]}/review", body)
    return Reviewed(cases, {name: Path(key).stem + ".jpg" for name, key in keys.items()})


def labels(folder: Path, image: str) -> list[list[float]]:
    rows = (folder / "labels" / image).with_suffix(".txt").read_text().split("\n")
    return [[float(v) for v in row.split()] for row in rows if row]


def test_export_writes_boxes_negatives_and_greys_the_undecided(
    engine: Engine, settings: Settings, reviewed: Reviewed, tmp_path: Path
) -> None:
    a_jpg, b_jpg = reviewed.images["a"], reviewed.images["b"]
    out = tmp_path / "export"
    taxonomy = Taxonomy.load()
    with Session(engine) as session:
        summary = export_dataset(session, settings, out, taxonomy)
    assert summary.images == 2 and summary.negatives == 1 and summary.greyed == 1
    assert summary.boxes == {"shop_sign": 1, "lightbox": 1}
    assert summary.skipped == {"no keyframe": 1}
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted([a_jpg, b_jpg])  # c: nobody decided

    names = list(taxonomy.labels)
    assert labels(out, a_jpg) == [
        pytest.approx([names.index("shop_sign"), 250 / 320, 40 / 240, 100 / 320, 40 / 240], abs=1e-5)
    ]
    # recategorised umbrella -> the lightbox class, clipped to the image; the rejected goods: no box
    assert labels(out, b_jpg) == [
        pytest.approx([names.index("lightbox"), 240 / 320, 180 / 240, 160 / 320, 120 / 240], abs=1e-5)
    ]

    a = cv2.imread(str(out / "images" / a_jpg))
    assert abs(int(a[150, 60, 0]) - 114) <= 3  # the undecided stall is painted grey
    assert abs(int(a[40, 250, 0]) - 255) <= 3 and abs(int(a[10, 10, 0]) - 40) <= 3  # sign and background kept
    b = cv2.imread(str(out / "images" / b_jpg))
    assert abs(int(b[100, 100, 0]) - 80) <= 3  # a hard negative keeps its pixels

    table = (out / "observations.csv").read_text().splitlines()
    assert table[0] == "image,observation_id,case_id,decision,class"
    assert sorted(row.split(",")[3] for row in table[1:]) == ["box", "box", "negative", "unreviewed"]


def test_train_reads_the_export_with_our_class_names(
    engine: Engine, settings: Settings, reviewed: Reviewed, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    with Session(engine) as session:
        export_dataset(session, settings, out, Taxonomy.load())
    recipe = Recipe.load(Path(__file__).parents[3] / "models" / "streetscan-v1.recipe.yaml", tmp_path)
    recipe.add_export(out)
    split = recipe.sources[-1].open(NAMES)
    truth = {path.name: split.read(path)[1] for path in split.images}
    a_jpg, b_jpg = reviewed.images["a"], reviewed.images["b"]
    assert list(truth[a_jpg].labels) == ["shop_sign"] and list(truth[b_jpg].labels) == ["lightbox"]
    np.testing.assert_allclose(truth[b_jpg].xyxy, [[160, 120, 320, 240]], atol=0.5)


def test_export_refuses_a_folder_with_files(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with Session(engine) as session, pytest.raises(ExportError, match="not an empty folder"):
        export_dataset(session, settings, tmp_path / "busy", Taxonomy.load())
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def test_export_command(
    settings: Settings,
    reviewed: Reviewed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STREETSCAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STREETSCAN_DATA_DIR", str(settings.data_dir))
    assert main(["export-dataset", "--out", str(tmp_path / "export")]) == 0
    assert "2 images; boxes: lightbox 1, shop_sign 1; hard negatives 1" in capsys.readouterr().out
    assert main(["export-dataset", "--out", str(tmp_path / "export")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
