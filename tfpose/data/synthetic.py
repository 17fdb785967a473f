"""Procedural "human figure" images with COCO-17 keypoint annotations.

What it draws: a cluttered background (colour gradient, low-frequency texture, blended random
shapes and lines), then 1..max_people articulated stick-and-polygon figures, smallest first so that
bigger (nearer) people overlap smaller ones, then sometimes solid occluding rectangles/blobs, then
mild pixel noise. A figure is a torso polygon, thick limb lines with a darker/lighter disc at every
joint, hands, feet, a neck and a head circle with hair, eyes, nose and ears. Poses come from joint
limits (arms hang or raise, elbows and knees bend one way, legs spread a little), body proportions
and build vary, the whole figure leans and rotates by at most 25 degrees, and the body yaws so that
about one figure in five is seen from the back (image left/right swapped, face marks hidden).

Left/right cue: a figure's OWN left limbs and left ear are always a light, desaturated shade and its
right ones a dark, saturated shade of the same hue; the torso is in between. 'left_*' keypoints are
always the figure's own left, also in back views.

Coordinates: pixel (i, j) covers [i - 0.5, i + 0.5], so integer coordinates are pixel centres and
the image spans [-0.5, W - 0.5]. Keypoints are quantised to 1/16 px and drawn at exactly those
positions (cv2 fixed point, shift=4). ``bbox`` uses the same convention: the tight box of all
pixels the figure drew (before later figures covered it), whose edges are pixel edges.

Visibility is computed from a z-buffer that records, for every pixel, which figure and which body
part was painted last. v=2: the keypoint's pixel shows one of the parts that meet at that joint;
v=1: inside the image but covered by another figure, an occluder or the figure's own body (e.g.
nose and eyes of a back view); v=0: outside the image, stored as (0, 0, 0). ``area`` is the number
of pixels of the figure that stay visible. People with nothing drawn in the image, or with neither
a labelled keypoint nor a visible pixel, are not annotated; people with visible pixels but no
keypoint inside the image are kept with num_keypoints 0, as COCO keeps unlabelled people.
``segmentation`` holds the outer contours of the visible pixels (through boundary pixel centres).

Determinism: image i uses the generator ``SeedSequence(seed, spawn_key=(i,))`` only, so it does not
depend on ``num_images``, and a given seed reproduces byte-identical JSON and JPEG files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from tfpose.errors import DataError
from tfpose.files import write_json_atomically
from tfpose.keypoints import COCO_17

_SHIFT = 4  # cv2 fixed-point bits: positions are drawn with 1/16 px precision
_ONE = 1 << _SHIFT
_PARTS = 32  # z-buffer value of part p of figure j is j * _PARTS + p
_BACKGROUND, _OCCLUDER = -1, 1 << 30
_TORSO, _HEAD, _HAND_L, _HAND_R, _FOOT_L, _FOOT_R, _FACE = 0, 1, 2, 3, 4, 5, 6  # face: 6..10
# Limb segments: part id -> (proximal, distal keypoint): left arm, right arm, left leg, right leg.
_LIMBS = {11: (5, 7), 12: (7, 9), 13: (6, 8), 14: (8, 10),
          15: (11, 13), 16: (13, 15), 17: (12, 14), 18: (14, 16)}
_LEFT_LIMBS, _RIGHT_LIMBS = (11, 12, 15, 16), (13, 14, 17, 18)
# Face marks on a unit sphere: (figure's left, down, towards the face), in head radii.
_FACE_3D = np.array([[0, 0.2, 0.98], [0.38, -0.12, 0.92], [-0.38, -0.12, 0.92],
                     [1.0, 0.05, -0.05], [-1.0, 0.05, -0.05]])
_FACE_MIN_DEPTH = np.array([0.25, 0.25, 0.25, -0.2, -0.2])  # ears stick out: seen a bit behind
_SKINS = ((60, 90, 140), (90, 130, 190), (120, 160, 220), (150, 190, 235), (40, 60, 95))
_HAIRS = ((20, 20, 25), (30, 50, 80), (60, 90, 130), (140, 150, 160), (20, 40, 120))


# Per keypoint, the parts whose pixel at the joint means "this joint is visible".
_KEYPOINT_PARTS = tuple(frozenset(p) for p in (
    {_FACE}, {_FACE + 1}, {_FACE + 2}, {_FACE + 3}, {_FACE + 4}, {_TORSO, 11}, {_TORSO, 13},
    {11, 12}, {13, 14}, {12, _HAND_L}, {14, _HAND_R}, {_TORSO, 15}, {_TORSO, 17}, {15, 16},
    {17, 18}, {16, _FOOT_L}, {18, _FOOT_R}))


@dataclass
class _Figure:
    keypoints: np.ndarray  # (17, 2) pixels, quantised to 1/16
    head: np.ndarray  # head centre, pixels
    radius: float  # head radius, pixels
    face_drawn: np.ndarray  # (5,) bool: the mark faces the camera
    back: bool
    left_near: bool  # the figure's left side is nearer the camera: drawn last
    height: float  # person height, pixels
    build: float
    colours: dict


def _hsv(h: float, s: float, v: float) -> tuple[int, ...]:
    pixel = np.uint8([[[h, min(s, 255), min(v, 255)]]])
    return tuple(int(c) for c in cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0])


def _sample_colours(rng) -> dict:
    shirt, pants = rng.integers(0, 180, 2)
    sat_shirt, sat_pants = rng.integers(90, 240, 2)
    skin = np.array(_SKINS[rng.integers(len(_SKINS))], float) * rng.uniform(0.9, 1.1)

    def bgr(values):
        return tuple(int(c) for c in np.clip(values, 0, 255))

    colours = {_TORSO: _hsv(shirt, sat_shirt, 150), "skin": bgr(skin), "shoe": bgr(skin * 0.2),
               "hair": _HAIRS[rng.integers(len(_HAIRS))], _FACE + 3: bgr(skin * 0.6 + 100),
               _FACE + 4: bgr(skin * 0.55)}  # ears carry the left-light / right-dark cue too
    # The consistent left/right cue: own left light and washed out, own right dark and saturated.
    for part in _LEFT_LIMBS:
        hue, sat = (shirt, sat_shirt) if part < 15 else (pants, sat_pants)
        colours[part] = _hsv(hue, sat * 0.45, 250)
    for part in _RIGHT_LIMBS:
        hue, sat = (shirt, sat_shirt) if part < 17 else (pants, sat_pants)
        colours[part] = _hsv(hue, sat, 75)
    return colours


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _limb(rng, kp, joints, lateral, lengths, first_deg, bend_deg, bend_sign, second_deg):
    """Place a 3-joint chain. Angles are from straight down, positive = away from the body; the
    middle joint bends one way only (bend_sign) and the outer segment stays within second_deg."""
    first = rng.uniform(*first_deg)
    second = np.clip(first + bend_sign * rng.uniform(*bend_deg), *second_deg)
    for (a, b), angle, length in zip((joints[:2], joints[1:]), np.deg2rad([first, second]),
                                     lengths, strict=True):
        shorten = rng.uniform(0.65, 1.0) if rng.random() < 0.25 else 1.0  # limb towards camera
        kp[b] = kp[a] + length * shorten * np.array([lateral * math.sin(angle), math.cos(angle)])


def _sample_figure(rng, height: float, pelvis: np.ndarray) -> _Figure:
    """Sample a pose in units of person height (pelvis at 0, y down), then place it in pixels."""
    back = rng.random() < 0.2
    yaw = np.deg2rad(rng.uniform(-45, 45) + (180 if back else 0))
    squash, build = math.cos(yaw), rng.uniform(0.8, 1.3)  # body widths shrink as the figure turns
    torso, neck, radius = rng.uniform(0.27, 0.32), rng.uniform(0.03, 0.05), rng.uniform(0.055, 0.07)
    kp = np.zeros((17, 2))
    kp[[5, 6]] = [[w * squash, -torso] for w in (0.11 * build, -0.11 * build)]
    kp[[11, 12]] = [[w * squash, 0.0] for w in (0.075 * build, -0.075 * build)]
    arm_lengths = (rng.uniform(0.15, 0.19), rng.uniform(0.13, 0.16))
    leg_lengths = (rng.uniform(0.22, 0.26), rng.uniform(0.21, 0.25))
    for side, arm, leg in ((1, (5, 7, 9), (11, 13, 15)), (-1, (6, 8, 10), (12, 14, 16))):
        raise_deg = (-15, 170) if rng.random() < 0.6 else (-15, 40)  # most arms hang low
        _limb(rng, kp, arm, side * squash, arm_lengths, raise_deg, (0, 120), 1, (-30, 210))
        spread = (-8, 80) if rng.random() < 0.1 else (-8, 30)
        _limb(rng, kp, leg, side * squash, leg_lengths, spread, (0, 50), -1, (-40, 90))
    head = np.array([0.0, -torso - neck - radius])
    head_yaw = yaw + np.deg2rad(rng.uniform(-20, 20))
    c, s = math.cos(head_yaw), math.sin(head_yaw)
    face_x = _FACE_3D[:, 0] * c + _FACE_3D[:, 2] * s
    face_depth = _FACE_3D[:, 2] * c - _FACE_3D[:, 0] * s
    kp[:5] = head + radius * np.stack([face_x, _FACE_3D[:, 1]], axis=1)
    upper = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # the upper body leans about the pelvis
    lean = np.deg2rad(np.clip(rng.normal(0, 6), -15, 15))
    kp[upper], head = _rotate(kp[upper], lean), _rotate(head, lean)
    turn = np.deg2rad(np.clip(rng.normal(0, 10), -25, 25))
    kp = pelvis + _rotate(kp, turn) * height
    return _Figure(np.round(kp * _ONE) / _ONE, pelvis + _rotate(head, turn) * height,
                   radius * height, face_depth > _FACE_MIN_DEPTH, back, math.sin(yaw) < 0,
                   height, build, _sample_colours(rng))


def _fx(point) -> tuple[int, int]:
    return int(round(point[0] * _ONE)), int(round(point[1] * _ONE))


def _line(image, owner, value, colour, p, q, width):
    width = max(2, int(round(width)))
    cv2.line(image, _fx(p), _fx(q), colour, width, cv2.LINE_AA, _SHIFT)
    cv2.line(owner, _fx(p), _fx(q), value, width, cv2.LINE_8, _SHIFT)


def _disc(image, owner, value, colour, centre, radius):
    radius = int(round(max(radius, 1.0) * _ONE))
    cv2.circle(image, _fx(centre), radius, colour, -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(owner, _fx(centre), radius, value, -1, cv2.LINE_8, _SHIFT)


def _poly(image, owner, value, colour, points):
    fixed = [np.array([_fx(p) for p in points], np.int32)]
    cv2.fillPoly(image, fixed, colour, cv2.LINE_AA, _SHIFT)
    cv2.fillPoly(owner, fixed, value, cv2.LINE_8, _SHIFT)


def _shade(colour) -> tuple[int, ...]:
    """Joint markers: pull the limb colour a third towards grey, so left stays lighter."""
    return tuple(int(round(c * 0.67 + 128 * 0.33)) for c in colour)


def _draw_chain(image, owner, base, fig, parts, widths, end_part, end_radius, end_colour):
    """Two limb segments, a hand or foot beyond the last joint, then a shaded disc per joint."""
    kp, col = fig.keypoints, fig.colours
    (upper, (a, b)), (lower, (_, c)) = ((p, _LIMBS[p]) for p in parts)
    _line(image, owner, base + upper, col[upper], kp[a], kp[b], widths[0])
    _line(image, owner, base + lower, col[lower], kp[b], kp[c], widths[1])
    direction = (kp[c] - kp[b]) / max(float(np.linalg.norm(kp[c] - kp[b])), 1e-6)
    _disc(image, owner, base + end_part, end_colour, kp[c] + 0.7 * end_radius * direction,
          end_radius)
    for part, joint, width in ((upper, a, widths[0]), (lower, b, widths[1]), (lower, c, widths[1])):
        _disc(image, owner, base + part, _shade(col[part]), kp[joint], 0.4 * width)


def _draw_figure(image, owner, fig: _Figure, base: int) -> None:
    """Paint one figure back to front: legs, torso, neck, arms, head, face; far side first."""
    kp, col, unit = fig.keypoints, fig.colours, fig.height * fig.build
    leg_w, arm_w = (0.065 * unit, 0.05 * unit), (0.048 * unit, 0.04 * unit)
    order = (1, 0) if fig.left_near else (0, 1)
    legs = (((15, 16), _FOOT_L), ((17, 18), _FOOT_R))
    for parts, foot in (legs[i] for i in order):
        _draw_chain(image, owner, base, fig, parts, leg_w, foot, 0.03 * unit, col["shoe"])
    across_sh, across_hip = kp[5] - kp[6], kp[11] - kp[12]
    pad_sh = 0.35 * arm_w[0] * across_sh / max(float(np.linalg.norm(across_sh)), 1e-6)
    pad_hip = 0.35 * leg_w[0] * across_hip / max(float(np.linalg.norm(across_hip)), 1e-6)
    corners = (kp[5] + pad_sh, kp[6] - pad_sh, kp[12] - pad_hip, kp[11] + pad_hip)
    _poly(image, owner, base + _TORSO, col[_TORSO], corners)
    neck_base = (kp[5] + kp[6]) / 2
    _line(image, owner, base + _HEAD, col["skin"], neck_base, fig.head, 0.8 * fig.radius)
    arms = (((11, 12), _HAND_L), ((13, 14), _HAND_R))
    for parts, hand in (arms[i] for i in order):
        _draw_chain(image, owner, base, fig, parts, arm_w, hand, 0.032 * unit, col["skin"])
    _draw_head(image, owner, base, fig)


def _draw_head(image, owner, base: int, fig: _Figure) -> None:
    kp, col, r = fig.keypoints, fig.colours, fig.radius
    _disc(image, owner, base + _HEAD, col["hair" if fig.back else "skin"], fig.head, r)
    if not fig.back:  # a hair cap on the top half keeps "up" obvious on front views
        _poly(image, owner, base + _HEAD, col["hair"],
              [fig.head + r * np.array([math.cos(t), -math.sin(t)])
               for t in np.linspace(0.5, math.pi - 0.5, 9)])  # stays above the eyes
    marks = ((3, col[_FACE + 3], 0.28), (4, col[_FACE + 4], 0.28), (1, (235, 235, 235), 0.2),
             (2, (235, 235, 235), 0.2), (0, (50, 50, 170), 0.16))
    for k, colour, size in marks:
        if fig.face_drawn[k]:
            _disc(image, owner, base + _FACE + k, colour, kp[k], size * r)
            if k in (1, 2):  # dark pupil in a white eye: visible on any skin tone
                _disc(image, owner, base + _FACE + k, (20, 20, 20), kp[k], 0.1 * r)


def _random_colour(rng) -> tuple[int, ...]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _render_background(rng, height: int, width: int) -> np.ndarray:
    """Gradient + blurred-noise texture + half-transparent random shapes and lines (uint8 BGR)."""
    start, end = rng.uniform(0, 255, (2, 3))
    angle = rng.uniform(0, 2 * math.pi)
    ramp = math.cos(angle) * np.arange(width)[None] + math.sin(angle) * np.arange(height)[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    coarse = rng.normal(0, 1, (max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image = np.clip(start + ramp[..., None] * (end - start) + texture * rng.uniform(5, 30), 0, 255)
    image = image.astype(np.uint8)
    shapes, size = image.copy(), np.array([width, height])
    circle = np.linspace(0, 2 * math.pi, 24, endpoint=False)
    for _ in range(int(rng.integers(4, 16))):
        kind, colour = int(rng.integers(3)), _random_colour(rng)
        centre, extent = rng.uniform(0, 1, 2) * size, rng.uniform(0.03, 0.3, 2) * size
        if kind == 0:  # rotated ellipse
            outline = np.stack([np.cos(circle), np.sin(circle)], axis=1) * extent
            points = centre + _rotate(outline, rng.uniform(0, math.pi))
        else:  # kind 1: a straight line, kind 2: a random polygon
            corners = 2 if kind == 1 else int(rng.integers(3, 7))
            points = centre + rng.uniform(-1.5, 1.5, (corners, 2)) * extent
        fixed = [np.array([_fx(p) for p in points], np.int32)]
        if kind != 1 and rng.random() < 0.5:
            cv2.fillPoly(shapes, fixed, colour, cv2.LINE_AA, _SHIFT)
        else:
            thickness = int(rng.integers(1, max(3, width // 40)))
            cv2.polylines(shapes, fixed, kind != 1, colour, thickness, cv2.LINE_AA, _SHIFT)
    alpha = rng.uniform(0.5, 0.9)  # soften the clutter a little so figures stay the salient thing
    return cv2.addWeighted(shapes, alpha, image, 1 - alpha, 0)


def _draw_occluders(rng, image, owner) -> None:
    """Solid rectangles/blobs in front of everybody (in half of the images)."""
    size = np.array(owner.shape[::-1])
    for _ in range(int(rng.choice([0, 0, 1, 2]))):
        centre, extent = rng.uniform(0, 1, 2) * size, rng.uniform(0.05, 0.18, 2) * size
        angle, colour = float(rng.uniform(0, 180)), _random_colour(rng)
        if rng.random() < 0.5:
            outline = cv2.boxPoints(((*centre,), (*(2 * extent),), angle))
        else:  # occluders need no sub-pixel precision: an integer ellipse outline is fine
            centre_px, axes = (tuple(int(v) for v in np.round(a)) for a in (centre, extent))
            outline = cv2.ellipse2Poly(centre_px, axes, int(angle), 0, 360, 8)
        _poly(image, owner, _OCCLUDER, colour, outline)


def _place(rng, height: int, width: int) -> np.ndarray:
    """Pelvis position: mostly inside, one in five near or past a side border (truncation)."""
    x_range = (-0.05, 1.05) if rng.random() < 0.2 else (0.1, 0.9)
    return np.array([rng.uniform(*x_range) * width, rng.uniform(0.2, 0.8) * height])


@dataclass
class _Sample:
    image: np.ndarray  # final uint8 BGR image
    background: np.ndarray  # the same image before any figure was drawn
    owner: np.ndarray  # z-buffer: figure * _PARTS + part, _BACKGROUND or _OCCLUDER
    figures: list  # _Figure per drawn figure, in drawing order
    people: list  # COCO annotation dicts (no ids yet), one per annotated figure


def _render_sample(rng, height: int, width: int, max_people: int) -> _Sample:
    background = _render_background(rng, height, width)
    image, owner = background.copy(), np.full((height, width), _BACKGROUND, np.int32)
    count = int(rng.integers(1, max_people + 1))
    sizes = np.sort(rng.uniform(0.25, 0.9, count)) * height  # small (far) ones are drawn first
    figures, drawn = [], []
    for j, person in enumerate(sizes):
        figures.append(_sample_figure(rng, person, _place(rng, height, width)))
        _draw_figure(image, owner, figures[-1], j * _PARTS)
        drawn.append(owner // _PARTS == j)  # everything it drew, before others cover it
    _draw_occluders(rng, image, owner)
    noise = rng.normal(0, rng.uniform(0, 6), image.shape)
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    people = [_annotate(fig, owner, j, drawn[j]) for j, fig in enumerate(figures)]
    return _Sample(image, background, owner, figures, [p for p in people if p is not None])


def _annotate(fig: _Figure, owner: np.ndarray, j: int, drawn: np.ndarray) -> dict | None:
    height, width = owner.shape
    keypoints = np.zeros((17, 3))
    for k, (x, y) in enumerate(fig.keypoints):
        col, row = math.floor(x + 0.5), math.floor(y + 0.5)
        if 0 <= col < width and 0 <= row < height:
            part = int(owner[row, col]) - j * _PARTS
            keypoints[k] = x, y, 2 if part in _KEYPOINT_PARTS[k] else 1
    visible = (owner // _PARTS == j).astype(np.uint8)
    num_keypoints, area = int((keypoints[:, 2] > 0).sum()), int(visible.sum())
    if not drawn.any() or (num_keypoints == 0 and area == 0):
        return None  # nothing of it in the image, or nothing left to see or label
    rows, cols = np.nonzero(drawn)
    x0, y0 = cols.min() - 0.5, rows.min() - 0.5
    box = [float(x0), float(y0), float(cols.max() + 0.5 - x0), float(rows.max() + 0.5 - y0)]
    contours, _ = cv2.findContours(visible, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = [cv2.approxPolyDP(c, 1.0, True) for c in contours]  # 1 px: keeps the json small
    polygons = [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]
    if not polygons:  # pycocotools cannot rasterise an empty list: fall back to the box
        x1, y1 = box[0] + box[2], box[1] + box[3]
        polygons = [[box[0], box[1], x1, box[1], x1, y1, box[0], y1]]
    return {"keypoints": [float(v) for v in keypoints.reshape(-1)],
            "num_keypoints": num_keypoints, "bbox": box, "area": float(area),
            "segmentation": polygons, "iscrowd": 0, "category_id": 1}


def _check_arguments(out_dir: Path, num_images, image_size, max_people, split) -> None:
    if int(num_images) < 1:
        raise ValueError(f"num_images must be at least 1, got {num_images}")
    if len(image_size) != 2 or min(int(s) for s in image_size) < 64:
        raise ValueError(f"image_size must be (height, width), both >= 64, got {image_size}")
    if int(max_people) < 1:
        raise ValueError(f"max_people must be at least 1, got {max_people}")
    if not split or any(c in split for c in "/\\") or split.startswith("."):
        raise ValueError(f"split must be a plain name such as 'train', got {split!r}")
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(out_dir, "exists and is not a directory; give a folder for the dataset")




def make_synthetic_dataset(out_dir, num_images: int = 64, *, image_size=(256, 256), seed: int = 0,
                           max_people: int = 3, split: str = "train",
                           progress: bool = True) -> Path:
    """Write a COCO-format folder and return the annotation file path.

    Layout: out_dir/images/<split>/000000000001.jpg ...;
    out_dir/annotations/person_keypoints_<split>.json. ``image_size`` is (height, width).
    """
    out_dir = Path(out_dir)
    _check_arguments(out_dir, num_images, image_size, max_people, split)
    height, width = (int(s) for s in image_size)
    image_dir, ann_dir = out_dir / "images" / split, out_dir / "annotations"
    image_dir.mkdir(parents=True, exist_ok=True)
    ann_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index in tqdm(range(int(num_images)), desc=f"synthetic {split}", disable=not progress):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        sample = _render_sample(rng, height, width, int(max_people))
        image_id, file_name = index + 1, f"{index + 1:012d}.jpg"
        if not cv2.imwrite(str(image_dir / file_name), sample.image,
                           [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise DataError(image_dir / file_name, "could not write the image")
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for person in sample.people:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **person})
    category = {"id": 1, "name": "person", "supercategory": "person",
                "keypoints": list(COCO_17.names),
                "skeleton": [[a + 1, b + 1] for a, b in COCO_17.skeleton]}  # COCO json: 1-based
    info = {"description": "tfpose synthetic figures", "version": "1.0", "seed": int(seed)}
    path = ann_dir / f"person_keypoints_{split}.json"
    write_json_atomically(path, {"info": info, "licenses": [], "images": images,
                                  "annotations": annotations, "categories": [category]})
    return path
