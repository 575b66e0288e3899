"""The package layout holds: the runtime never depends on training, the service uses vision only through
its public API (``vision/__init__.py``), and vision never imports the service. Every import statement of
every module is read (AST), including imports inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import vision

REPO = Path(__file__).resolve().parents[1]
TRAIN_CLI_WIRING = "service/cli.py"  # registers `streetscan train`: the one importer of vision.training


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import in ``module``'s source: ``import a.b`` gives ("a.b", ()), ``from a
    import b, c`` gives ("a", ("b", "c")); relative imports are resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base, tuple(alias.name for alias in node.names)


def violations(path: str, source: str) -> list[str]:
    """The layering rules broken by one module of the product, given its path relative to the repository."""
    found = []
    for line, name, names in imports(source, module_name(REPO / path), is_package=path.endswith("__init__.py")):
        where = f"{path}:{line}"
        training = name == "vision.training" or name.startswith("vision.training.") or (
            name == "vision" and "training" in names
        )
        if training and not path.startswith("vision/training/") and path != TRAIN_CLI_WIRING:
            found.append(f"{where}: only the train command line may import vision.training")
        if path.startswith("service/") and not (training and path == TRAIN_CLI_WIRING):
            outside_api = [n for n in names if n not in vision.__all__] if name == "vision" else []
            if name.startswith("vision.") or outside_api:
                what = name if name.startswith("vision.") else ", ".join(outside_api)
                found.append(f"{where}: the service imports vision through its API, not {what}")
        if path.startswith("vision/") and (name == "service" or name.startswith("service.")):
            found.append(f"{where}: vision never imports the service ({name})")
    return found


def product_modules() -> list[Path]:
    return sorted(p for top in ("vision", "service") for p in (REPO / top).rglob("*.py"))


def test_the_checker_sees_each_kind_of_violation() -> None:
    source = (
        "import vision.frames\n"
        "from vision.training.recipe import Recipe\n"
        "from vision import Detector\n"
        "def later():\n    from vision import Taxonomy, geo\n"
    )
    assert violations("service/jobs.py", source) == [
        "service/jobs.py:1: the service imports vision through its API, not vision.frames",
        "service/jobs.py:2: only the train command line may import vision.training",
        "service/jobs.py:2: the service imports vision through its API, not vision.training.recipe",
        "service/jobs.py:5: the service imports vision through its API, not geo",
    ]
    assert violations("vision/pipeline.py", "from service.models import Case\nfrom . import training\n") == [
        "vision/pipeline.py:1: vision never imports the service (service.models)",
        "vision/pipeline.py:2: only the train command line may import vision.training",
    ]
    assert violations(TRAIN_CLI_WIRING, "from vision.training import add_train_parser\n") == []
    assert violations(TRAIN_CLI_WIRING, "from vision.cli import add_scan_parser\n") != []
    assert violations("vision/training/train.py", "from .recipe import Recipe\nfrom vision import Detector\n") == []


def test_every_module_keeps_the_layering() -> None:
    modules = product_modules()
    assert len(modules) > 40 and REPO / TRAIN_CLI_WIRING in modules
    found = [v for path in modules for v in violations(str(path.relative_to(REPO)), path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_public_api_loads_no_training_module() -> None:
    assert not [m for m in vision._EXPORTS if m.startswith("vision.training")]
