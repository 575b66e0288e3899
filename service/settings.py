"""Service configuration: one ``Settings`` object, read from ``STREETSCAN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
DEFAULT_RADII_M: dict[str, float] = {
    "street_vendor": 25.0,
    "goods_spill": 25.0,
    "lightbox_ad": 12.0,
    "outdoor_ad": 12.0,
}


class Settings(BaseSettings):
    """Everything the service reads from its environment; distances in metres, durations in days."""

    model_config = SettingsConfigDict(env_prefix="STREETSCAN_", extra="forbid")

    data_dir: Path = Path("data")
    database_url: str = Field("", description="SQLAlchemy URL; empty means a SQLite file in data_dir")
    sqlite_busy_timeout_ms: int = Field(5000, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    session_secret: str = Field(
        "", description="signs web session cookies; empty: generated once and kept in data_dir/session-secret"
    )

    radius_m: dict[str, float] = Field(
        default_factory=dict, description="dedup radius per category, merged over the defaults"
    )
    default_radius_m: float = Field(25.0, gt=0, description="radius for categories not in radius_m")
    lookback_days: float = Field(30.0, ge=0, description="a resolved case this recent reopens (回头看)")
    hotspot_max_distance_m: float = Field(150.0, ge=0)
    timezone: str = Field("Asia/Shanghai", description="local time for school-zone active hours")

    max_observations_per_request: int = Field(1000, ge=1)
    taxonomy_path: Path | None = None
    hotspot_catalog: Path | None = Field(
        SAMPLES_DIR / "jincheng-hotspots.geojson", description="GeoJSON loaded when no hotspot exists yet"
    )

    @field_validator("radius_m")
    @classmethod
    def _merge_radii(cls, value: dict[str, float]) -> dict[str, float]:
        if any(r <= 0 for r in value.values()):
            raise ValueError("radii must be positive")
        return {**DEFAULT_RADII_M, **value}

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'streetscan.db'}"
        return self

    def radius_for(self, category: str) -> float:
        """Dedup radius in metres for one category."""
        return self.radius_m.get(category, self.default_radius_m)

