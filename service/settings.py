"""Service configuration: one ``Settings`` object, read from ``STREETSCAN_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, NonNegativeFloat, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.categories import category_policies
from vision import SAMPLES_DIR, CategoryPolicy, FocusPolicy, default_model

MIB = 1024 * 1024


def default_workers() -> int:
    """Videos processed at once by default: one per two CPU cores, at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


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
        default_factory=dict, description="dedup radius per category, over the taxonomy's radius_m"
    )
    default_radius_m: float = Field(25.0, gt=0, description="radius for categories that have none set")
    gps_sigma_m: float = Field(
        4.0, gt=0, le=100, description="standard error in metres of a fix that comes without its accuracy (HDOP)"
    )
    lookback_days: float = Field(30.0, ge=0, description="a resolved case this recent reopens (回头看)")
    recheck_days: list[float] = Field(
        default_factory=lambda: [7.0, 30.0],
        min_length=1,
        max_length=10,
        description="回头看: days after a case is resolved its spot is due for re-inspection",
    )
    recheck_days_relapsing: list[float] = Field(
        default_factory=lambda: [3.0, 7.0, 14.0, 30.0],
        min_length=1,
        max_length=10,
        description="the same for a case that recurred or lies at a hotspot where a case recurred",
    )
    recheck_grace_days: float = Field(
        2.0, ge=0, description="a re-inspection counts from this many days before its due date; overdue this long after"
    )
    hotspot_max_distance_m: float = Field(150.0, ge=0)
    timezone: str = Field("Asia/Shanghai", description="local time for school-zone active hours and report weeks")
    chromium_path: Path | None = Field(
        None, description="Chromium that prints the report's PDF; None: chromium on PATH"
    )
    report_bureau: str = Field(
        "晋城市城市管理局", max_length=100, description="the bureau named in the weekly report's title"
    )

    max_observations_per_request: int = Field(1000, ge=1)
    max_body_mb: float = Field(16.0, gt=0, description="the most a request body may hold, MiB (uploads: max_upload_mb)")
    max_evidence_mb: float = Field(10.0, gt=0, description="the most one evidence image may hold, in MiB")
    login_max_failures: int = Field(5, ge=1, description="failed logins of one account before it is locked a while")
    login_max_failures_per_address: int = Field(20, ge=1, description="failed logins from one client address, likewise")
    login_lockout_s: float = Field(30.0, gt=0, description="first lock after too many failures, s; doubles per failure")
    login_max_lockout_s: float = Field(900.0, gt=0, description="longest lock, seconds")
    taxonomy_path: Path | None = None
    category_codes_path: Path | None = Field(
        None, description="each category's national and local platform codes; None: models/category-codes.yaml"
    )
    agency_name: str = Field(
        "", max_length=200, description="the bureau cases are reported as handled by (Open311 agency_responsible)"
    )
    media_url_ttl_s: int = Field(3600, ge=60, le=7 * 86400, description="how long a signed Open311 media_url works")
    sign_rules_path: Path | None = Field(None, description="which signs make cases; None: models/sign_rules.yaml")
    sign_radius_m: float = Field(
        12.0, gt=0, description="sign register: how far apart two sightings of one sign may lie, before GPS error"
    )
    hotspot_catalog: Path | None = Field(
        SAMPLES_DIR / "jincheng-hotspots.geojson", description="GeoJSON loaded when no hotspot exists yet"
    )
    basemap_tiles: str | None = Field(
        None,
        max_length=500,
        description="an XYZ tile URL (https://tiles.example/{z}/{x}/{y}.png, a city tile server) drawn under the web "
        "view's maps; none: hotspots, cases and tracks on a plain canvas with a scale bar",
    )
    basemap_roads: Path | None = Field(
        None,
        description="a GeoJSON file of roads (LineString, MultiLineString features) drawn under the web view's "
        "maps, for a city without a tile server",
    )
    operations_file: Path | None = Field(
        SAMPLES_DIR / "jincheng-operations.yaml",
        description="units (loaded when no unit exists yet), dispatch deadlines per category, campaign phases",
    )
    escalation_check_s: float = Field(60.0, gt=0, description="how often overdue cases are escalated, seconds")

    camera_supervisor: bool = Field(True, description="run the camera supervisor inside `streetscan serve`")
    camera_dwell_s: dict[str, NonNegativeFloat] = Field(
        default_factory=dict,
        description="seconds an object must stay, per category, over the taxonomy's dwell_s; a camera's own wins",
    )
    camera_grace_s: float = Field(20.0, ge=0, description="a stay not yet reported is forgotten when unseen this long")
    camera_gap_s: float = Field(300.0, ge=0, description="a reported stay ends when unseen this long; a return is new")
    camera_timeout_s: float = Field(5.0, gt=0, description="stream open and read timeout, seconds")
    camera_backoff_s: float = Field(1.0, gt=0, description="first reconnect delay, seconds; doubles per failure")
    camera_backoff_max_s: float = Field(30.0, gt=0, description="longest reconnect delay, seconds")
    camera_tracker: Path | None = Field(None, description="tracker YAML for cameras; None: models/tracker-fixed.yaml")
    camera_sync_s: float = Field(
        5.0, gt=0, description="how often cameras are checked for down/up and `streetscan cameras run` re-reads them"
    )
    camera_down_after_s: float = Field(
        60.0, ge=0, description="a camera's stream reconnecting this long is down (webhook camera.down), seconds"
    )

    webhook_sender: bool = Field(True, description="deliver webhook events from inside `streetscan serve`")
    webhook_poll_s: float = Field(1.0, gt=0, description="how often the webhook sender looks for events, seconds")
    webhook_timeout_s: float = Field(10.0, gt=0, description="connect and answer timeout of one delivery, seconds")
    webhook_backoff_s: float = Field(10.0, gt=0, description="first wait after a failed delivery, s; doubles")
    webhook_backoff_max_s: float = Field(3600.0, gt=0, description="longest wait between attempts, seconds")
    webhook_retry_s: float = Field(86400.0, gt=0, description="a delivery is tried this long after its event")
    webhook_keep_days: float = Field(30.0, gt=0, description="ended deliveries and their events are kept this long")

    evidence_dir: Path = Field(
        default_factory=lambda data: data["data_dir"] / "evidence", description="crops and keyframes, by content"
    )
    anchor_file: Path = Field(
        default_factory=lambda data: data["data_dir"] / "chain-anchors.log",
        description="where `streetscan anchor` appends the evidence chain's head (copy it elsewhere too)",
    )
    upload_dir: Path = Field(
        default_factory=lambda data: data["data_dir"] / "uploads", description="uploaded videos and GPS tracks"
    )
    evidence_url: str = Field("", description="s3://bucket/prefix for evidence in object storage; empty: evidence_dir")
    upload_url: str = Field("", description="s3://bucket/prefix for uploaded videos and tracks; empty: upload_dir")
    s3_endpoint_url: str = Field("", description="S3-compatible endpoint (MinIO and the like); empty: AWS")
    s3_region: str = Field("us-east-1", description="S3 region")
    s3_access_key_id: str = Field("", description="S3 access key; empty: boto3's usual AWS_* variables")
    s3_secret_access_key: SecretStr = Field(SecretStr(""), description="S3 secret key")
    max_upload_mb: float = Field(4096.0, gt=0, description="the most one upload request may carry, in MiB")
    workers: int = Field(default_factory=default_workers, ge=0, description="videos processed at once; 0: none")
    model_path: Path = Field(
        default_factory=default_model, description="detector weights for uploaded videos and cameras"
    )
    scan_fps: float = Field(5.0, gt=0, description="frames analysed per second of uploaded video without a GPS track")
    scan_every_m: float = Field(
        0.8,
        ge=0,
        description="with a GPS track, a frame analysed every this many metres of travel (0: scan_fps a second)",
    )
    scan_imgsz: int = Field(640, ge=32, description="detector input size in pixels for uploaded video")
    scan_tile: int = Field(0, ge=0, description="also detect in windows of this many pixels (0 = off)")
    scan_focus: bool = Field(True, description="look again at the band where signs stand at full resolution")
    scan_focus_band: tuple[float, float] | None = Field(
        None, description="(top, bottom) of that band as fractions of the frame height; None: by scan_mount"
    )
    scan_focus_width: float | None = Field(
        None, gt=0, le=1, description="width of the focus window as a fraction of the frame width; None: by scan_mount"
    )
    scan_mount: Literal["forward", "left", "right"] | None = Field(
        None, description="side the patrol cameras face: the focus band, and positions shifted toward that side"
    )
    video_retention: Literal["keep", "delete"] = Field("keep", description="an uploaded video once processed")
    retention_video_days: float | None = Field(
        None,
        gt=0,
        description="a processed uploaded video is deleted this long after (None: kept); see video_retention",
    )
    retention_rejected_keyframe_days: float | None = Field(
        None, gt=0, description="keyframes of a case rejected this long ago are deleted (None: kept)"
    )
    retention_closed_crop_days: float | None = Field(
        None, gt=0, description="crops of a case closed this long ago are deleted (None: kept)"
    )
    retention_uncased_days: float | None = Field(
        None,
        gt=0,
        description="images of observations with no case (vending points), received this long ago (None: kept)",
    )
    retention_unreferenced_days: float = Field(
        7.0, gt=0, description="store files nothing names (and untouched this long) are collected"
    )
    maintenance_every_h: float = Field(
        24.0, ge=0, description="the server anchors the evidence chain and runs the cleanup this often (0: never)"
    )
    max_job_attempts: int = Field(3, ge=1, description="runs of one video (crashes and errors count) before it fails")

    broker_url: str = Field(
        "", description="Celery broker (redis://host:6379/0): video jobs run in `streetscan worker`s; empty: in-process"
    )
    job_queue: str = Field("video", pattern=r"^[a-z0-9_-]{1,64}$", description="the broker queue video jobs go to")
    job_lease_s: float = Field(
        120.0, gt=0, description="a running job not heard from this long (its worker died) is queued again, seconds"
    )
    job_retry_backoff_s: float = Field(30.0, ge=0, description="wait before a failed run's retry; doubles per attempt")
    camera_lease_s: float = Field(
        30.0, gt=0, description="in a fleet, a dead worker's cameras run on another within this, seconds"
    )
    job_visibility_timeout_s: float = Field(
        6 * 3600.0, gt=0, description="the broker hands an unacknowledged job to another worker after this, seconds"
    )

    @field_validator("basemap_tiles")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
            raise ValueError("basemap_tiles: an http(s) URL")
        if any(part not in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("basemap_tiles: the URL needs {z}, {x} and {y}")
        return value

    @field_validator("radius_m")
    @classmethod
    def _positive_radii(cls, value: dict[str, float]) -> dict[str, float]:
        if any(r <= 0 for r in value.values()):
            raise ValueError("radii must be positive")
        return value

    @field_validator("recheck_days", "recheck_days_relapsing")
    @classmethod
    def _ascending_days(cls, value: list[float]) -> list[float]:
        if any(d <= 0 for d in value) or value != sorted(set(value)):
            raise ValueError("re-inspection days must be positive and ascending")
        return value

    @field_validator("scan_focus_band")
    @classmethod
    def _check_focus_band(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None:
            FocusPolicy(band=value)  # raises ValueError naming what is wrong
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'streetscan.db'}"
        return self

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return int(self.max_upload_mb * MIB)

    @property
    def max_body_bytes(self) -> int:
        """``max_body_mb`` in bytes."""
        return int(self.max_body_mb * MIB)

    @property
    def max_evidence_bytes(self) -> int:
        """``max_evidence_mb`` in bytes."""
        return int(self.max_evidence_mb * MIB)

    def policy(self, category: str) -> CategoryPolicy | None:
        """The taxonomy's policy for one category (None: not one of its categories)."""
        return category_policies(self.taxonomy_path).get(category)

    def radius_for(self, category: str) -> float:
        """Dedup radius in metres for one category: ``radius_m``'s, else the taxonomy's, else ``default_radius_m``."""
        policy = self.policy(category)
        default = policy.radius_m if policy is not None and policy.radius_m is not None else self.default_radius_m
        return self.radius_m.get(category, default)
