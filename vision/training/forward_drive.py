"""A forward-looking drive down a shopping street, rendered from labeled shop-front photos, with exact
ground truth: the held-out check of how far and how small the pipeline finds signs.

The street is straight. Its shop fronts are the photos of one labeled split (each photo is one facade,
``facade_height_m`` tall, its width in proportion) set side by side in a vertical plane on the right of
the road and, across it, on the left; the camera (a pinhole ``focal_px`` pixels long, ``height_m`` above
the road, looking along it) drives toward the vanishing point at ``speed_mps``. Every frame is drawn by
perspective-warping the facade planes (from a resolution pyramid of the photos, so far facades do not
alias) over a road with lane markings and a sky, then the clip is encoded with H.264 like a dashcam.

World coordinates, metres: x to the right of the camera's path, y up from the road, z along the road
from where the camera starts. A labeled sign is a rectangle in its facade's plane; its box in a frame is
the bounding box of its projected corners, kept where the whole box lies inside the frame.

Writes ``drive.mp4``, ``drive.gpx`` (1 Hz, heading east from ``origin``) and ``truth.json``: the settings,
and per sign its label, side, photo, position on the map and, for every frame it is wholly in view,
``[frame, x1, y1, x2, y2, distance_m, height_px]``.

    python -m vision.training.forward_drive --data DATA_YAML --split val --out DIR [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision import Detections, iou_matrix
from vision.geo import destination
from vision.regions import SIGN_LABELS
from vision.training.evaluate import LabeledSplit

SIGN_RENAME = {"signboard": "shop_sign", "cantilever": "projecting_sign", "win_ad": "window_ad"}
RIGHT, LEFT = 1, -1


@dataclass(frozen=True)
class DriveSettings:
    """How the drive is filmed and what the street looks like; lengths in metres, sizes in pixels.

    right_m / left_m: distance from the camera's path to the right / left shop fronts (0: no left side);
    kerb_right_m / kerb_left_m: where the road ends and the pavement begins; first_m: how far ahead of the
    camera the shop fronts begin; far_m: drawing distance; bitrate in bits/s; noise: grey levels of
    sensor noise (standard deviation); origin: (lat, lon) of the start, heading east.
    """

    size: tuple[int, int] = (1920, 1080)
    fps: int = 30
    seconds: float = 60.0
    speed_mps: float = 8.0
    focal_px: float = 1000.0
    height_m: float = 1.3
    horizon: float = 0.5
    right_m: float = 7.0
    left_m: float = 13.0
    kerb_right_m: float = 4.0
    kerb_left_m: float = 10.0
    facade_height_m: float = 8.0
    first_m: float = 25.0
    far_m: float = 250.0
    bitrate: int = 8_000_000
    noise: float = 2.0
    seed: int = 0
    start_utc: str = "2025-06-02T08:00:00Z"
    origin: tuple[float, float] = (35.49, 112.85)

    @property
    def frames(self) -> int:
        return round(self.seconds * self.fps)

    @property
    def principal(self) -> tuple[float, float]:
        """(cx, cy): the vanishing point of the road, in pixels."""
        w, h = self.size
        return w / 2, h * self.horizon

    def project(self, xyz: np.ndarray) -> np.ndarray:
        """(..., 3) points in camera coordinates (x right, y up from the camera, z ahead; z > 0) -> (..., 2) pixels."""
        cx, cy = self.principal
        z = xyz[..., 2]
        return np.stack([cx + self.focal_px * xyz[..., 0] / z, cy - self.focal_px * xyz[..., 1] / z], axis=-1)


@dataclass
class Facade:
    """One photo standing on one side of the street from z0 to z1 metres along it.

    side: +1 right, -1 left (seen from the road, a photo's left edge is the farther end on the left side).
    """

    path: Path
    side: int
    z0: float
    z1: float
    boxes: Detections  # labeled signs, photo pixels

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Sign:
    """A labeled sign: a rectangle in its facade's plane, z0..z1 along the road and y0..y1 above it."""

    id: int
    label: str
    side: int
    photo: str
    z0: float
    z1: float
    y0: float
    y1: float
    frames: list[list[float]] = field(default_factory=list)


def lay_out(split: LabeledSplit, settings: DriveSettings) -> tuple[list[Facade], list[Sign]]:
    """Photos of the split alternately on the right and the left, each side starting ``first_m`` ahead;
    their labeled signs as world rectangles. Photos are read only for their size here."""
    ends = {RIGHT: settings.first_m, LEFT: settings.first_m}
    facades: list[Facade] = []
    signs: list[Sign] = []
    sides = (RIGHT, LEFT) if settings.left_m > 0 else (RIGHT,)
    for k, path in enumerate(split.images):
        image, boxes = split.read(path)
        side = sides[k % len(sides)]
        h, w = image.shape[:2]
        ppm = h / settings.facade_height_m
        z0 = ends[side]
        ends[side] = z0 + w / ppm
        facade = Facade(path, side, z0, ends[side], boxes)
        facades.append(facade)
        for (x1, y1, x2, y2), label in zip(boxes.xyxy, boxes.labels):
            near, far = (x1, x2) if side == RIGHT else (w - x2, w - x1)
            signs.append(
                Sign(
                    id=len(signs),
                    label=str(label),
                    side=side,
                    photo=facade.name,
                    z0=round(float(z0 + near / ppm), 3),
                    z1=round(float(z0 + far / ppm), 3),
                    y0=round(float(settings.facade_height_m - y2 / ppm), 3),
                    y1=round(float(settings.facade_height_m - y1 / ppm), 3),
                )
            )
    return facades, signs


def sign_corners(signs: Sequence[Sign], settings: DriveSettings) -> np.ndarray:
    """(N, 4, 3) world corners (x, y, z) of the signs' rectangles."""
    out = np.zeros((len(signs), 4, 3), np.float64)
    for i, s in enumerate(signs):
        x = s.side * (settings.right_m if s.side == RIGHT else settings.left_m)
        out[i] = [[x, s.y0, s.z0], [x, s.y1, s.z0], [x, s.y0, s.z1], [x, s.y1, s.z1]]
    return out


def sign_views(corners: np.ndarray, camera_z: float, settings: DriveSettings) -> tuple[np.ndarray, ...]:
    """Where signs are seen from the camera at ``camera_z`` metres along the road.

    corners: (N, 4, 3) world corners. Returns xyxy (N, 4) pixel boxes, distance (N,) metres from the
    camera to each sign's centre, and visible (N,) bool: in front of the camera and wholly inside the frame.
    """
    cam = corners - np.array([0.0, settings.height_m, camera_z])
    ahead = cam[..., 2].min(axis=1) > 0.5
    uv = settings.project(np.where(ahead[:, None, None], cam, 1.0))
    xyxy = np.concatenate([uv.min(axis=1), uv.max(axis=1)], axis=1)
    w, h = settings.size
    inside = (xyxy[:, 0] >= 0) & (xyxy[:, 1] >= 0) & (xyxy[:, 2] <= w) & (xyxy[:, 3] <= h)
    distance = np.linalg.norm(cam.mean(axis=1), axis=1)
    return xyxy, distance, ahead & inside & (xyxy[:, 3] - xyxy[:, 1] >= 2)


ROAD_PERIOD_M = 9.0  # the road's pattern (lane dashes 3 m long, paving) repeats every 9 m
TEXTURE_PPM = 40.0  # road texture pixels per metre


def road_texture(settings: DriveSettings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Top-down texture of one ROAD_PERIOD_M of road (rows: along the road; columns: x from the left pavement
    to the right facade) as float32 BGR, sharp and blurred along the road."""
    x = np.arange(-(settings.kerb_left_m + 3.0), settings.right_m, 1 / TEXTURE_PPM, dtype=np.float32)[None, :]
    z = np.arange(0, ROAD_PERIOD_M, 1 / TEXTURE_PPM, dtype=np.float32)[:, None]
    x, z = np.broadcast_arrays(x, z)
    road = (x < settings.kerb_right_m) & (x > -settings.kerb_left_m)
    color = np.where(road[..., None], np.array([78, 80, 82], np.float32), np.array([150, 158, 165], np.float32))
    tiles = ((np.floor(x * 2) + np.floor(z * 2)) % 2 == 0) & ~road
    color = color + tiles[..., None] * np.float32(10)
    dashed = np.zeros(x.shape, bool)
    for lane in np.arange(-1.75, -settings.kerb_left_m + 1.0, -3.5):  # the camera drives mid right lane
        dashed |= (np.abs(x - lane) < 0.08) & (z < 3.0)
    kerb = (np.abs(x - settings.kerb_right_m) < 0.15) | (np.abs(x + settings.kerb_left_m) < 0.15)
    color = np.where(dashed[..., None], np.array([225, 225, 225], np.float32), color)
    color = np.where(kerb[..., None], np.array([190, 190, 190], np.float32), color)
    noise = rng.normal(0, 1, (3 * x.shape[0], x.shape[1])).astype(np.float32)
    grain = cv2.GaussianBlur(noise, (0, 0), 1.2)[x.shape[0] : 2 * x.shape[0]]  # wraps along the road
    sharp = np.ascontiguousarray(color + (grain / grain.std() * 10.0)[..., None])
    tiled = np.concatenate([sharp] * 3)
    smooth = cv2.GaussianBlur(tiled, (0, 0), sigmaX=2.0, sigmaY=TEXTURE_PPM)[x.shape[0] : 2 * x.shape[0]]
    return sharp, np.ascontiguousarray(smooth)


class Renderer:
    """Draws the frames of one drive: sky, road and the facade planes seen from a camera position."""

    def __init__(self, facades: Sequence[Facade], settings: DriveSettings) -> None:
        self.facades = list(facades)
        self.s = settings
        self._scaled: dict[tuple[int, int], np.ndarray] = {}
        w, h = settings.size
        cx, cy = settings.principal
        rng = np.random.default_rng(settings.seed)
        rows = np.arange(h, dtype=np.float32) + 0.5
        sky = np.clip((cy - rows) / max(cy, 1), 0, 1)[:, None] * np.array([60, 25, -10], np.float32)
        self.background = np.broadcast_to((np.array([215, 200, 185], np.float32) + sky)[:, None, :], (h, w, 3)).astype(
            np.uint8
        )
        self.ground_top = math.floor(cy) + 1
        v = rows[self.ground_top :, None]
        u = np.arange(w, dtype=np.float32)[None, :] + 0.5
        self.ground_z = np.broadcast_to(settings.focal_px * settings.height_m / (v - cy), (len(v), w)).copy()
        ground_x = (u - cx) * self.ground_z / settings.focal_px
        self.road = road_texture(settings, rng)
        self.road_x = ((ground_x + settings.kerb_left_m + 3.0) * TEXTURE_PPM).astype(np.float32)
        depth = self.ground_z[:, 0]  # metres ahead, per row below the horizon (decreasing downward)
        self.sharp_rows = int(np.searchsorted(-depth, -12.0))  # rows above this: farther than 12 m
        self.hazy_rows = int(np.searchsorted(-depth, -60.0))
        self.haze = np.clip((depth[: self.hazy_rows] - 60.0) / (settings.far_m - 60.0), 0, 1)[:, None, None]
        noise = [rng.normal(0, settings.noise, (h, w, 3)).round() for _ in range(4)]
        self.noise = [(np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)) for n in noise]

    def frame(self, camera_z: float) -> np.ndarray:
        """(H, W, 3) uint8 BGR frame from the camera ``camera_z`` metres along the road."""
        image = self.background.copy()
        image[self.ground_top :] = self._ground(camera_z)
        for side in (RIGHT, LEFT):
            if side == LEFT and self.s.left_m <= 0:
                continue
            for near, far in reversed(self._segments(side)):
                self._draw_segment(image, side, camera_z, near, far)
        if self.s.noise > 0:
            brighter, darker = self.noise[round(camera_z * 1000) % len(self.noise)]
            return np.asarray(cv2.subtract(cv2.add(image, brighter), darker))
        return image

    def _ground(self, camera_z: float) -> np.ndarray:
        """(rows below the horizon, W, 3) uint8: the road seen from ``camera_z``: the sharp texture near the
        camera, the one blurred along the road farther (no aliasing), fading into haze at the horizon."""
        along = ((self.ground_z + camera_z) % ROAD_PERIOD_M) * TEXTURE_PPM
        out = np.empty((*along.shape, 3), np.float32)
        split = self.sharp_rows
        cv2.remap(self.road[1], self.road_x[:split], along[:split], cv2.INTER_LINEAR, out[:split], cv2.BORDER_REPLICATE)
        cv2.remap(self.road[0], self.road_x[split:], along[split:], cv2.INTER_LINEAR, out[split:], cv2.BORDER_REPLICATE)
        hazy = self.hazy_rows
        out[:hazy] = (
            out[:hazy] * (1 - self.haze) + self.background[self.ground_top : self.ground_top + hazy] * self.haze
        )
        return np.clip(out, 0, 255).astype(np.uint8)

    def _segments(self, side: int) -> list[tuple[float, float]]:
        """Depth slices (near, far) in metres ahead of the camera of a side's facades in view, each twice as
        deep as the last: one pyramid level of the photos serves each."""
        lateral = self.s.right_m if side == RIGHT else self.s.left_m
        near = lateral * self.s.focal_px / (self.s.size[0] / 2) * 0.95  # where the facade leaves the frame
        out = []
        while near < self.s.far_m:
            out.append((near, min(2 * near, self.s.far_m)))
            near *= 2
        return out

    def _photo(self, k: int, near: float) -> np.ndarray:
        """Photo k at the pyramid level (each level halves it) that still has a pixel for every frame pixel
        it covers from ``near`` metres on."""
        if (k, 0) not in self._scaled:
            image = cv2.imread(str(self.facades[k].path), cv2.IMREAD_COLOR)
            if image is None:
                raise OSError(f"cannot read {self.facades[k].path}")
            self._scaled[k, 0] = image
        image = self._scaled[k, 0]
        needed = self.s.focal_px / near  # frame pixels per metre of facade, at most
        level = max(0, math.floor(math.log2(image.shape[0] / self.s.facade_height_m / needed)))
        for k_level in range(1, level + 1):
            if (k, k_level) not in self._scaled:
                self._scaled[k, k_level] = cv2.pyrDown(self._scaled[k, k_level - 1])
        return self._scaled[k, level]

    def forget_behind(self, camera_z: float) -> None:
        """Drop scaled photos of facades the camera has passed."""
        passed = {k for k, f in enumerate(self.facades) if f.z1 < camera_z or f.z0 > camera_z + self.s.far_m}
        self._scaled = {key: v for key, v in self._scaled.items() if key[0] not in passed}

    def _draw_segment(self, image: np.ndarray, side: int, camera_z: float, ahead: float, depth_end: float) -> None:
        """Warp the facades of ``side`` from ``ahead`` to ``depth_end`` metres ahead of the camera into ``image``."""
        s = self.s
        near, far = camera_z + ahead, camera_z + depth_end
        picks = [k for k, f in enumerate(self.facades) if f.side == side and f.z1 > near and f.z0 < far]
        if not picks:
            return
        lateral = side * (s.right_m if side == RIGHT else s.left_m)
        # the strip of this slice's photos, ordered as seen from the road (left to right in the strip)
        parts = [self._photo(k, ahead) for k in (picks if side == RIGHT else picks[::-1])]
        height = min(p.shape[0] for p in parts)
        parts = [
            cv2.resize(p, (max(round(p.shape[1] * height / p.shape[0]), 1), height)) if p.shape[0] != height else p
            for p in parts
        ]
        strip = np.concatenate(parts, axis=1)
        ppm = height / s.facade_height_m
        # strip column 0 stands at z_a along the road: the nearest facade's start (right), the farthest's end (left)
        z_a = self.facades[picks[0]].z0 if side == RIGHT else self.facades[picks[-1]].z1
        cx, cy = s.principal
        za = z_a - camera_z
        f, top = s.focal_px, s.facade_height_m - s.height_m
        m = np.array(
            [
                [side * cx / ppm, 0.0, cx * za + f * lateral],
                [side * cy / ppm, f / ppm, cy * za - f * top],
                [side / ppm, 0.0, za],
            ]
        )
        # the slice's footprint in the frame: its four corners projected
        zs = np.array([near, far]) - camera_z
        corners = np.array([[lateral, y, z] for z in zs for y in (-s.height_m, top)])
        uv = s.project(corners)
        w, h = s.size
        x1, y1 = np.floor(np.clip(uv.min(axis=0), 0, [w, h])).astype(int)
        x2, y2 = np.ceil(np.clip(uv.max(axis=0), 0, [w, h])).astype(int)
        if x2 <= x1 or y2 <= y1:
            return
        # only the strip's columns between near and far: nearer slices are drawn over it, not under
        lo, hi = sorted(((near - z_a) * side * ppm, (far - z_a) * side * ppm))
        c0, c1 = max(int(lo) - 1, 0), min(math.ceil(hi) + 1, strip.shape[1])
        if c1 <= c0:
            return
        warp = (
            np.array([[1, 0, -x1], [0, 1, -y1], [0, 0, 1]], np.float64)
            @ m
            @ np.array([[1, 0, c0], [0, 1, 0], [0, 0, 1]])
        )
        roi = image[y1:y2, x1:x2]
        cv2.warpPerspective(
            np.ascontiguousarray(strip[:, c0:c1]),
            warp,
            (roi.shape[1], roi.shape[0]),
            roi,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )


def drive_frames(
    split: LabeledSplit, settings: DriveSettings, every: int, min_height: float = 12.0
) -> Iterator[tuple[np.ndarray, Detections]]:
    """Every ``every``-th frame of the drive (not encoded) with the boxes of the signs wholly in view and at
    least ``min_height`` pixels high: a labeled image set of the street as a forward camera sees it."""
    facades, signs = lay_out(split, settings)
    renderer = Renderer(facades, settings)
    corners = sign_corners(signs, settings)
    labels = np.array([s.label for s in signs], dtype=object)
    for k in range(0, settings.frames, every):
        camera_z = k * settings.speed_mps / settings.fps
        xyxy, _, visible = sign_views(corners, camera_z, settings)
        keep = visible & (xyxy[:, 3] - xyxy[:, 1] >= min_height)
        yield renderer.frame(camera_z), Detections.labeled(xyxy[keep], labels[keep])
        renderer.forget_behind(camera_z)


@dataclass
class DriveFiles:
    """What ``write_drive`` wrote."""

    video: Path
    gps: Path
    truth: Path


def write_drive(
    split: LabeledSplit,
    out: Path,
    settings: DriveSettings = DriveSettings(),
    on_frame: Callable[[int], None] | None = None,
) -> DriveFiles:
    """Render the drive past the split's shop fronts into ``out`` (drive.mp4, drive.gpx, truth.json)."""
    import av

    out.mkdir(parents=True, exist_ok=True)
    facades, signs = lay_out(split, settings)
    renderer = Renderer(facades, settings)
    corners = sign_corners(signs, settings)
    files = DriveFiles(out / "drive.mp4", out / "drive.gpx", out / "truth.json")
    w, h = settings.size
    with av.open(str(files.video), "w") as container:
        container.metadata["creation_time"] = settings.start_utc
        stream = container.add_stream("libx264", rate=Fraction(settings.fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = settings.bitrate
        stream.options = {"preset": "veryfast", "g": str(settings.fps), "bf": "2"}
        for k in range(settings.frames):
            camera_z = k * settings.speed_mps / settings.fps
            xyxy, distance, visible = sign_views(corners, camera_z, settings)
            for i in np.flatnonzero(visible):
                box = [round(float(v), 1) for v in xyxy[i]]
                signs[i].frames.append([k, *box, round(float(distance[i]), 2), round(box[3] - box[1], 1)])
            frame = av.VideoFrame.from_ndarray(renderer.frame(camera_z), format="bgr24")
            container.mux(stream.encode(frame))
            if k % settings.fps == 0:
                renderer.forget_behind(camera_z)
            if on_frame:
                on_frame(k)
        container.mux(stream.encode(None))
    files.gps.write_text(_gpx(settings), encoding="utf-8")
    truth = {
        "video": files.video.name,
        "gps": files.gps.name,
        "settings": asdict(settings),
        "images": [f.name for f in facades],
        "frame_fields": ["frame", "x1", "y1", "x2", "y2", "distance_m", "height_px"],
        "signs": [_sign_record(sg, settings) for sg in signs if sg.frames],
    }
    files.truth.write_text(json.dumps(truth, separators=(",", ":")), encoding="utf-8")
    return files


MATCH_IOU = 0.3  # an observation's best box matches a sign's box in that frame at least this much
MIN_SPAN_S = 0.4  # a sign is counted in a band when it stays in it at least this long
DISTANCE, HEIGHT = 5, 6  # columns of a truth frame row: distance from the camera (m), box height (px)


class DriveTruth:
    """A drive's ``truth.json`` read back, and a scan's observations scored against it.

    A sign-like observation (``vision.regions.SIGN_LABELS``) matches the sign whose box overlaps its best
    box most in its best frame, when that IoU is at least MATCH_IOU. rows: per sign, (F, 7) frame rows.
    """

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.fps = float(data["settings"]["fps"])
        self.signs = data["signs"]
        self.rows = [np.asarray(s["frames"], np.float64).reshape(-1, 7) for s in self.signs]
        self.by_frame: dict[int, list[tuple[int, np.ndarray]]] = {}
        for i, rows in enumerate(self.rows):
            for row in rows:
                self.by_frame.setdefault(int(row[0]), []).append((i, row[1:5]))

    def match(self, observation: dict[str, Any]) -> int | None:
        """The index of the sign an observation's best box matches, else None."""
        here = self.by_frame.get(round(observation["t_best"] * self.fps), [])
        if not here:
            return None
        boxes = np.asarray([b for _, b in here], np.float32)
        iou = iou_matrix(np.asarray([observation["bbox"]], np.float32), boxes)[0]
        k = int(np.argmax(iou))
        return here[k][0] if iou[k] >= MATCH_IOU else None

    def matched(self, observations: Sequence[dict[str, Any]]) -> tuple[dict[int, list[dict[str, Any]]], int]:
        """Sign-like observations by the sign they match, and how many match none."""
        out: dict[int, list[dict[str, Any]]] = {}
        unmatched = 0
        for o in observations:
            if o["label"] not in SIGN_LABELS:
                continue
            sign = self.match(o)
            if sign is None:
                unmatched += 1
            else:
                out.setdefault(sign, []).append(o)
        return out, unmatched

    def followed(self, matched: dict[int, list[dict[str, Any]]], column: int, lo: float, hi: float) -> tuple[int, int]:
        """(signs followed, signs counted) in a band: a sign is counted when it stays at least MIN_SPAN_S with
        ``column`` (DISTANCE or HEIGHT) in [lo, hi), and followed when the track (t_first..t_last) of an
        observation matching it overlaps that time."""
        found = counted = 0
        for i, rows in enumerate(self.rows):
            inside = rows[(rows[:, column] >= lo) & (rows[:, column] < hi), 0] / self.fps
            if len(inside) and inside.max() - inside.min() >= MIN_SPAN_S:
                counted += 1
                t0, t1 = inside.min(), inside.max()
                found += any(o["t_first"] <= t1 and o["t_last"] >= t0 for o in matched.get(i, []))
        return found, counted


def _position(settings: DriveSettings, along_m: float, right_m: float = 0.0) -> tuple[float, float]:
    """(lat, lon) of the point ``along_m`` down the street (heading east) and ``right_m`` to its right."""
    lat, lon = destination(*settings.origin, 90.0, along_m)
    return destination(lat, lon, 180.0, right_m) if right_m else (lat, lon)


def _sign_record(sign: Sign, settings: DriveSettings) -> dict[str, object]:
    lateral = sign.side * (settings.right_m if sign.side == RIGHT else settings.left_m)
    lat, lon = _position(settings, (sign.z0 + sign.z1) / 2, lateral)
    record = {k: v for k, v in asdict(sign).items() if k != "frames"}
    return {
        **record,
        "side": "right" if sign.side == RIGHT else "left",
        "lat": round(lat, 7),
        "lon": round(lon, 7),
        "frames": sign.frames,
    }


def _gpx(settings: DriveSettings) -> str:
    """A 1 Hz GPX track of the drive."""
    start = datetime.fromisoformat(settings.start_utc.replace("Z", "+00:00")).astimezone(UTC)
    points = []
    for second in range(math.ceil(settings.seconds) + 1):
        lat, lon = _position(settings, second * settings.speed_mps)
        when = (start + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
        points.append(f'   <trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>700.0</ele><time>{when}</time></trkpt>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="streetscan forward drive" xmlns="http://www.topografix.com/GPX/1/1">\n'
        " <trk><name>forward drive</name><trkseg>\n" + "\n".join(points) + "\n </trkseg></trk>\n</gpx>\n"
    )


def ensure_drive(
    split: LabeledSplit, cache: Path, settings: DriveSettings = DriveSettings(), quiet: bool = False
) -> DriveFiles:
    """The drive in ``cache``, rendered again only when its settings or photos changed."""
    files = DriveFiles(cache / "drive.mp4", cache / "drive.gpx", cache / "truth.json")
    if files.video.is_file() and files.truth.is_file():
        try:
            truth = json.loads(files.truth.read_text(encoding="utf-8"))
            if truth["settings"] == json.loads(json.dumps(asdict(settings))) and truth["images"] == [
                p.name for p in split.images
            ]:
                return files
        except (ValueError, KeyError):
            pass
    from tqdm import tqdm

    with tqdm(total=settings.frames, unit="frame", desc="rendering the drive", disable=quiet, file=sys.stderr) as bar:

        def advance(_frame: int) -> None:
            bar.update()

        return write_drive(split, cache, settings, on_frame=advance)


def open_split(data_yaml: Path, split: str) -> LabeledSplit:
    """A facade dataset split with its sign classes named as ours."""
    return LabeledSplit.open(data_yaml, split, SIGN_RENAME)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="data.yaml of a shop-front dataset (facade-ads)")
    p.add_argument("--split", default="val", help="split whose photos line the street (default val: never trained on)")
    p.add_argument("--out", type=Path, required=True, help="folder for drive.mp4, drive.gpx and truth.json")
    p.add_argument("--seconds", type=float, default=DriveSettings.seconds, help="length of the drive")
    p.add_argument("--speed", type=float, default=DriveSettings.speed_mps, help="metres per second")
    args = p.parse_args(argv)
    settings = DriveSettings(seconds=args.seconds, speed_mps=args.speed)
    files = ensure_drive(open_split(args.data, args.split), args.out, settings)
    print(f"{files.video}, {files.gps}, {files.truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
