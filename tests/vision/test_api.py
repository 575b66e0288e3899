"""vision's public API (``vision/__init__.py``): every name resolves to its module's object, the type
checkers' view lists the same names, and ``import vision`` stays cheap (no OpenCV, PyAV, torch)."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import vision

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ultralytics", "cv2", "av")


def loaded_after(code: str) -> list[str]:
    """The heavy libraries a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_every_public_name_is_its_modules_object() -> None:
    for module, names in vision._EXPORTS.items():
        for name in names:
            assert getattr(vision, name) is getattr(importlib.import_module(module), name), name
    assert set(vision.__all__) <= set(dir(vision))
    with pytest.raises(AttributeError, match="no attribute 'frames_of'"):
        vision.frames_of  # noqa: B018 - the attribute access is the test


def test_type_checkers_see_the_same_names() -> None:
    tree = ast.parse((REPO / "vision" / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    imports = [node for node in block.body if isinstance(node, ast.ImportFrom)]
    assert len(imports) == len(block.body)
    seen = {(node.module, alias.name) for node in imports for alias in node.names}
    assert all(alias.asname == alias.name for node in imports for alias in node.names)  # re-exported
    assert seen == {(module, name) for module, names in vision._EXPORTS.items() for name in names}


def test_import_vision_is_cheap() -> None:
    assert loaded_after("import vision") == []
    assert loaded_after("from vision import Taxonomy, default_model, add_scan_parser") == []


def test_no_public_name_needs_torch_at_import() -> None:
    """The model's libraries load when a model does, not when the API is imported."""
    assert set(loaded_after("import vision\nfor n in vision.__all__: getattr(vision, n)")) <= {"cv2", "av"}


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    assert loaded_after("import service.cli; service.cli.build_parser()") == []
