"""Scanning a piece of the patrol clip: sign tracks get their text and signature, other tracks do not,
``ocr=False`` turns reading off, and a scan without sign tracks never loads the OCR engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vision.conftest import run_ffmpeg
from vision.appearance import SIGNATURE_LENGTH, decode_signature
from vision.defaults import default_model
from vision.identity import TEXT_SAME, text_similarity
from vision.observe import Observation
from vision.pipeline import Scanner, ScanOptions

PERSON_TAXONOMY = Path(__file__).parent / "data" / "person-taxonomy.yaml"
SIGNS_IN_VIEW = ("DIAMANT", "SHAWARMA MIX", "BISTRO")  # shop fronts passing between 16.5 s and 20 s


def cut(clip: Path, out: Path, start: float, seconds: float) -> Path:
    run_ffmpeg(
        "-ss",
        str(start),
        "-i",
        str(clip),
        "-t",
        str(seconds),
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(out),
    )
    return out


@pytest.fixture(scope="module")
def sign_piece(patrol_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cut(patrol_dir / "patrol.mp4", tmp_path_factory.mktemp("piece") / "signs.mp4", 16.5, 3.5)


def scan(options: ScanOptions, video: Path, out: Path) -> tuple[Scanner, list[Observation]]:
    scanner = Scanner(options)
    return scanner, list(scanner.observations(video, out))


@pytest.mark.slow
def test_sign_tracks_get_text_and_signature(sign_piece: Path, tmp_path: Path) -> None:
    scanner, observations = scan(ScanOptions(model=default_model(), keyframes=False), sign_piece, tmp_path)
    signs = [o for o in observations if scanner.taxonomy.is_sign(o.label)]
    assert len(signs) >= len(SIGNS_IN_VIEW)
    for o in signs:
        vector = decode_signature(o.signature)
        assert vector is not None and vector.shape == (SIGNATURE_LENGTH,)
        assert (o.text is None) == (o.text_confidence is None)
        assert o.text_confidence is None or 0 < o.text_confidence <= 1
    for name in SIGNS_IN_VIEW:
        assert any((text_similarity(o.text, name) or 0) >= TEXT_SAME for o in signs), (name, [o.text for o in signs])
    for o in observations:
        if not scanner.taxonomy.is_sign(o.label):
            assert o.text is None and o.signature is None
    assert scanner.signs.reader is not None and 0 < scanner.signs.reader.crops_read <= 2 * len(
        signs
    )  # a crop or two each


@pytest.mark.slow
def test_ocr_off_keeps_signatures_and_reads_nothing(sign_piece: Path, tmp_path: Path) -> None:
    scanner, observations = scan(ScanOptions(model=default_model(), keyframes=False, ocr=False), sign_piece, tmp_path)
    signs = [o for o in observations if scanner.taxonomy.is_sign(o.label)]
    assert signs and scanner.signs.reader is None
    assert all(
        o.text is None and o.text_confidence is None and decode_signature(o.signature) is not None for o in signs
    )


@pytest.mark.slow
def test_no_sign_track_never_loads_the_ocr_engine(patrol_dir: Path, coco_weights: Path, tmp_path: Path) -> None:
    people = cut(patrol_dir / "patrol.mp4", tmp_path / "people.mp4", 5.0, 2.5)  # pedestrians pass at 6 s
    scanner, observations = scan(
        ScanOptions(model=coco_weights, taxonomy=PERSON_TAXONOMY, keyframes=False), people, tmp_path
    )
    assert observations and all(o.label == "person" and o.signature is None for o in observations)
    assert (
        scanner.signs.reader is not None
        and scanner.signs.reader._engine is None
        and scanner.signs.reader.crops_read == 0
    )
