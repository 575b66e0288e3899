"""Category codes: each violation category's code in the national event classification (GB/T 30428.2)
and on the local city-management platform, read from ``models/category-codes.yaml`` (schema there)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.models.base import validation_message
from vision import MODELS_DIR

DEFAULT_CODES = MODELS_DIR / "category-codes.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NationalCode(_Strict):
    """An event of the national classification: ``verified`` False means not checked against the text."""

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    group: str = Field(min_length=1, max_length=64)
    verified: bool


class LocalCode(_Strict):
    """The local platform's code and name (None until the deployment sets them)."""

    code: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=64)


class CategoryCodes(_Strict):
    national: NationalCode
    local: LocalCode = LocalCode()


class _CodesFile(_Strict):
    codes: dict[str, CategoryCodes]


class CodesError(ValueError):
    """A category-codes file that does not follow the schema."""


@lru_cache(maxsize=8)
def category_codes(path: Path | None = None) -> Mapping[str, CategoryCodes]:
    """Category id -> its codes, from ``path`` (None: the shipped file); CodesError naming what is wrong."""
    path = path or DEFAULT_CODES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return MappingProxyType(_CodesFile.model_validate(raw).codes)
    except ValidationError as exc:
        raise CodesError(f"{path}: {validation_message(exc)}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise CodesError(f"{path}: {exc}") from None
