"""streetscan vision: frames -> detections -> tracks -> geo-tagged observations.

Usable alone as a library and through ``streetscan scan``; never imports ``service``. This module is its
public API: other packages import vision's names from here, never from its modules. Names load on first
use, so ``import vision`` stays cheap (no OpenCV, PyAV or torch until a name that needs them is used).
Training lives apart in ``vision.training``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vision.appearance import decode_signature as decode_signature
    from vision.boxes import Detections as Detections
    from vision.boxes import box_area as box_area
    from vision.boxes import box_overlaps as box_overlaps
    from vision.boxes import iou_matrix as iou_matrix
    from vision.cli import add_scan_parser as add_scan_parser
    from vision.defaults import DEFAULT_TAXONOMY as DEFAULT_TAXONOMY
    from vision.defaults import FIXED_CAMERA_TRACKER as FIXED_CAMERA_TRACKER
    from vision.defaults import MODELS_DIR as MODELS_DIR
    from vision.defaults import SAMPLES_DIR as SAMPLES_DIR
    from vision.defaults import default_model as default_model
    from vision.detector import Detector as Detector
    from vision.detector import Detects as Detects
    from vision.detector import ModelError as ModelError
    from vision.dwell import DwellRules as DwellRules
    from vision.frames import DecodeStats as DecodeStats
    from vision.frames import Frame as Frame
    from vision.frames import VideoError as VideoError
    from vision.frames import VideoInfo as VideoInfo
    from vision.frames import iter_frames as iter_frames
    from vision.frames import probe as probe
    from vision.frames import verify as verify
    from vision.geo import EARTH_RADIUS_M as EARTH_RADIUS_M
    from vision.geo import TRACK_SUFFIXES as TRACK_SUFFIXES
    from vision.geo import GpsFormatError as GpsFormatError
    from vision.geo import GpsTrack as GpsTrack
    from vision.geo import Position as Position
    from vision.geo import camera_offset as camera_offset
    from vision.geo import destination as destination
    from vision.geo import haversine_m as haversine_m
    from vision.geo import load_track as load_track
    from vision.identity import Basis as Basis
    from vision.identity import contained_similarity as contained_similarity
    from vision.identity import same_appearance as same_appearance
    from vision.identity import text_similarity as text_similarity
    from vision.inference import InferenceLoop as InferenceLoop
    from vision.observe import Observation as Observation
    from vision.pipeline import Scanner as Scanner
    from vision.pipeline import ScanOptions as ScanOptions
    from vision.pipeline import ScanSummary as ScanSummary
    from vision.pipeline import scan as scan
    from vision.privacy import BLUR_VERSION as BLUR_VERSION
    from vision.privacy import blur_regions as blur_regions
    from vision.privacy import find_private_regions as find_private_regions
    from vision.regions import FocusPolicy as FocusPolicy
    from vision.regions import focus_policy as focus_policy
    from vision.sampling import DistanceSampling as DistanceSampling
    from vision.streams import LIVE_SCHEMES as LIVE_SCHEMES
    from vision.streams import Backoff as Backoff
    from vision.streams import LatestFrame as LatestFrame
    from vision.streams import LiveFrame as LiveFrame
    from vision.streams import StreamError as StreamError
    from vision.streams import StreamReader as StreamReader
    from vision.streams import StreamState as StreamState
    from vision.taxonomy import CategoryPolicy as CategoryPolicy
    from vision.taxonomy import Taxonomy as Taxonomy
    from vision.taxonomy import TaxonomyError as TaxonomyError
    from vision.tracking import Tracker as Tracker
    from vision.watch import CameraPlace as CameraPlace
    from vision.watch import CameraWatch as CameraWatch

_EXPORTS = {
    "vision.appearance": ("decode_signature",),
    "vision.boxes": ("Detections", "box_area", "box_overlaps", "iou_matrix"),
    "vision.cli": ("add_scan_parser",),
    "vision.defaults": ("DEFAULT_TAXONOMY", "FIXED_CAMERA_TRACKER", "MODELS_DIR", "SAMPLES_DIR", "default_model"),
    "vision.detector": ("Detector", "Detects", "ModelError"),
    "vision.dwell": ("DwellRules",),
    "vision.frames": ("DecodeStats", "Frame", "VideoError", "VideoInfo", "iter_frames", "probe", "verify"),
    "vision.geo": (
        "EARTH_RADIUS_M",
        "TRACK_SUFFIXES",
        "GpsFormatError",
        "GpsTrack",
        "Position",
        "camera_offset",
        "destination",
        "haversine_m",
        "load_track",
    ),
    "vision.identity": ("Basis", "contained_similarity", "same_appearance", "text_similarity"),
    "vision.inference": ("InferenceLoop",),
    "vision.observe": ("Observation",),
    "vision.regions": ("FocusPolicy", "focus_policy"),
    "vision.sampling": ("DistanceSampling",),
    "vision.pipeline": ("ScanOptions", "Scanner", "ScanSummary", "scan"),
    "vision.privacy": ("BLUR_VERSION", "blur_regions", "find_private_regions"),
    "vision.streams": (
        "LIVE_SCHEMES",
        "Backoff",
        "LatestFrame",
        "LiveFrame",
        "StreamError",
        "StreamReader",
        "StreamState",
    ),
    "vision.taxonomy": ("CategoryPolicy", "Taxonomy", "TaxonomyError"),
    "vision.tracking": ("Tracker",),
    "vision.watch": ("CameraPlace", "CameraWatch"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the module holding a public name on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'vision' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
