"""The package layout holds: the runtime never depends on training, the service uses vision only through
its public API (``vision/__init__.py``), vision never imports the service, and inside the service the thin
layers (``api``, ``web``, ``cli``, the app factory) sit on top: nothing below imports them, the web view
never calls into the API, the domain never imports the workers that run it, and the models import only
leaf helpers. Every import statement of every module is read (AST), including imports inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import vision

REPO = Path(__file__).resolve().parents[1]
TRAIN_CLI_WIRING = "service/cli/__init__.py"  # registers `streetscan train`: the one importer of vision.training


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


THIN = ("service.api", "service.web", "service.cli", "service.app")
"""The layers over the service functions: only they (and nothing below them) import each other."""
MODEL_HELPERS = ("service.models", "service.inputs", "service.geometry", "service.evidence")
"""What the tables and schemas may import of the service."""


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def service_layering(module: str, targets: list[str]) -> list[str]:
    """The first of the service's own rules broken by one import of ``module``, of ``targets`` (``from a
    import b`` gives ``a``, then ``a.b``: b may be a module)."""
    for target in targets:
        found = []
        if within(module, ("service.web",)) and within(target, ("service.api",)):
            found.append(f"the web view calls service functions, not the API ({target})")
        elif within(module, ("service.api",)) and within(target, ("service.web",)):
            found.append(f"the API never imports the web view ({target})")
        elif not within(module, THIN) and within(target, THIN):
            found.append(f"only the thin layers import {target}")
        elif not within(module, (*THIN, "service.workers")) and within(target, ("service.workers",)):
            found.append(f"the domain never imports the workers that run it ({target})")
        elif (
            within(module, ("service.models",)) and target.startswith("service.") and not within(target, MODEL_HELPERS)
        ):
            found.append(f"the models import only models and leaf helpers, not {target}")
        if found:
            return found
    return []


def violations(path: str, source: str) -> list[str]:
    """The layering rules broken by one module of the product, given its path relative to the repository."""
    found = []
    module = module_name(REPO / path)
    for line, name, names in imports(source, module, is_package=path.endswith("__init__.py")):
        where = f"{path}:{line}"
        if path.startswith("service/") and (name == "service" or name.startswith("service.")):
            targets = [name] if name != "service" else []
            targets += [f"{name}.{n}" for n in names]
            found += [f"{where}: {v}" for v in service_layering(module, targets)]
        training = (
            name == "vision.training"
            or name.startswith("vision.training.")
            or (name == "vision" and "training" in names)
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
    assert violations("service/workers/jobs.py", source) == [
        "service/workers/jobs.py:1: the service imports vision through its API, not vision.frames",
        "service/workers/jobs.py:2: only the train command line may import vision.training",
        "service/workers/jobs.py:2: the service imports vision through its API, not vision.training.recipe",
        "service/workers/jobs.py:5: the service imports vision through its API, not geo",
    ]
    assert violations("vision/pipeline.py", "from service.models import Case\nfrom . import training\n") == [
        "vision/pipeline.py:1: vision never imports the service (service.models)",
        "vision/pipeline.py:2: only the train command line may import vision.training",
    ]
    assert violations(TRAIN_CLI_WIRING, "from vision.training import add_train_parser\n") == []
    assert violations(TRAIN_CLI_WIRING, "from vision.cli import add_scan_parser\n") != []
    assert violations("vision/training/train.py", "from .recipe import Recipe\nfrom vision import Detector\n") == []


def test_the_checker_sees_each_service_layer_crossed() -> None:
    assert violations("service/web/routes/cases.py", "from service.api.routes.cases import get_case\n") == [
        "service/web/routes/cases.py:1: the web view calls service functions, not the API (service.api.routes.cases)"
    ]
    assert violations("service/web/deps.py", "from service.api import deps\n") == [
        "service/web/deps.py:1: the web view calls service functions, not the API (service.api)"
    ]
    assert violations("service/api/routes/cases.py", "from service.web.render import Page\n") != []
    assert violations("service/cases.py", "def later():\n    from service.api.errors import errors\n") == [
        "service/cases.py:2: only the thin layers import service.api.errors"
    ]
    assert violations("service/ingest.py", "from service.workers.jobs import process_video\n") == [
        "service/ingest.py:1: the domain never imports the workers that run it (service.workers.jobs)"
    ]
    assert violations("service/models/cases.py", "from service.cases import OPEN\n") == [
        "service/models/cases.py:1: the models import only models and leaf helpers, not service.cases"
    ]
    fine = (
        "from service.cases import OPEN\nfrom service.deps import SessionDep\nfrom service.models.cases import Case\n"
    )
    assert violations("service/web/routes/review.py", fine) == []
    assert violations("service/api/routes/cameras.py", "from service.workers.supervisor import Supervisor\n") == []
    assert (
        violations("service/app.py", "from service.api.router import api_router\nfrom service.web import mount_web\n")
        == []
    )


def test_every_module_keeps_the_layering() -> None:
    modules = product_modules()
    assert len(modules) > 40 and REPO / TRAIN_CLI_WIRING in modules
    found = [v for path in modules for v in violations(str(path.relative_to(REPO)), path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_public_api_loads_no_training_module() -> None:
    assert not [m for m in vision._EXPORTS if m.startswith("vision.training")]
