"""Persons followed across video frames: identities, keypoint smoothing and next-frame crops.

The rules (numpy and scipy only; nothing here needs TensorFlow):

**One-Euro filter** (Casiez, Roussel, Vogel, "1 Euro Filter", CHI 2012), elementwise over an
array of any shape. Each element is a first-order low-pass whose cutoff rises with the element's
speed: slow movement is smoothed hard (jitter goes), fast movement lightly (little lag). Per call
at time ``t`` (seconds, strictly increasing) with ``Te`` the time since the previous call:

- ``alpha(fc) = 1 / (1 + tau / Te)`` with ``tau = 1 / (2 pi fc)``;
- the speed ``dx = (x - x_prev_filtered) / Te`` is itself low-passed at ``d_cutoff``;
- ``cutoff = min_cutoff + beta * |filtered speed| / scale``;
- ``x_filtered = alpha(cutoff) * x + (1 - alpha(cutoff)) * x_prev_filtered``.

The first call returns ``x`` unchanged. ``scale`` is the size of the object the values belong to
(for keypoints in pixels: the person's size in pixels), so the speed enters the cutoff in object
sizes per second and one ``beta`` serves a person near the camera and one far away (MediaPipe's
landmark smoothing divides by an object scale for the same reason). Scaling ``x`` and ``scale``
by one factor scales the output by that factor.

**Tracker** (:class:`PoseTracker`). Each frame's persons are matched to the live tracks by
object keypoint similarity (OKS, COCO's formula ``exp(-d^2 / (2 area (2 sigma)^2))`` averaged
over keypoints, with the keypoint set's sigmas; sets without sigmas use :data:`UNIFORM_SIGMA`),
between a track's last observed (raw) keypoints and the new person, ``area`` being the track's
last box area (``w * h``), counting only keypoints scored above :data:`CONFIDENT` in both. The
assignment is Hungarian (``scipy.optimize.linear_sum_assignment``) on ``1 - OKS``; a pair below
``match_oks`` is never matched (it is gated out of the assignment, so it cannot take a partner
that another pair could use). Then:

- an unmatched person scoring at least ``min_start_score`` starts a track with the next id (ids
  start at 1 and are never reused); a weaker one is dropped, though it may continue a track;
- an unmatched track counts a miss, and ends after more than ``max_missed`` consecutive misses:
  a person gone for up to ``max_missed`` frames gets their id back;
- with smoothing on, x and y of every keypoint go through the track's One-Euro filter with
  ``scale = sqrt(w * h)`` of the person's box; scores are not filtered; the box is kept (or, for
  a person without one, drawn around the smoothed keypoints). A track's filter runs on across
  misses (the time step is then simply longer).

:meth:`PoseTracker.update` returns the persons that got a track, in the order they were given.

**Next-frame crops** (:meth:`PoseTracker.next_boxes`), for top-down models that follow people
without running a detector on every frame: one box per track seen in the last frame with a mean
keypoint score of at least ``min_score``, around its keypoints scored above :data:`CONFIDENT`
(fewer than 3 of them: no box), grown by ``grow`` about its centre and clipped to the image
(:func:`box_around`). ``None`` when no track qualifies: search the whole frame again.

Bad input is a ValueError: keypoints whose shape is not ``(K, 3)`` for the keypoint set, a time
that is negative, not finite or not after the previous one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linear_sum_assignment

if TYPE_CHECKING:
    from tfpose.inference.predictor import Person
    from tfpose.keypoints import KeypointSet

CONFIDENT = 0.1  # a keypoint scored above this counts for OKS and for boxes
UNIFORM_SIGMA = 0.07  # OKS sigma for sets without their own: about COCO's mean (0.067)
MIN_BOX_KEYPOINTS = 3  # fewer confident keypoints give no box (a point or a line is no person)


def _check_time(t) -> float:
    if isinstance(t, bool) or not isinstance(t, int | float | np.integer | np.floating):
        raise ValueError(f"time must be a number of seconds, got {type(t).__name__} {t!r}")
    t = float(t)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"time must be finite and not negative, got {t}")
    return t


def _check_positive(name: str, value, *, zero_ok: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = "not negative" if zero_ok else "positive"
        raise ValueError(f"{name} must be finite and {bound}, got {value}")
    return value


def _alpha(cutoff, te: float):
    """Smoothing factor of a first-order low-pass at ``cutoff`` Hz for a step of ``te`` s."""
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / te)


class OneEuroFilter:
    """Elementwise One-Euro filter over arrays of one shape (module docstring).

    Args:
      min_cutoff: cutoff (Hz) at rest: lower smooths more and lags more on slow movement.
      beta: how fast the cutoff rises with speed (Hz per unit of ``|dx/dt| / scale``): higher
        lags less on fast movement and lets more jitter through while moving.
      d_cutoff: cutoff (Hz) of the low-pass on the speed estimate.
    """

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = 1.0):
        self.min_cutoff = _check_positive("min_cutoff", min_cutoff)
        self.beta = _check_positive("beta", beta, zero_ok=True)
        self.d_cutoff = _check_positive("d_cutoff", d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next call returns its input unchanged."""
        self._t: float | None = None
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, t: float, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The filtered ``x`` (float64, the shape of ``x``) at time ``t`` seconds; ``scale`` > 0
        is the size of the object ``x`` describes, in the units of ``x``."""
        t = _check_time(t)
        scale = _check_positive("scale", scale)
        x = np.array(x, dtype=np.float64)
        if self._t is None:
            self._t, self._x, self._dx = t, x, np.zeros_like(x)
            return x.copy()
        if t <= self._t:
            raise ValueError(f"time must increase from call to call: got {t} after {self._t}")
        if x.shape != self._x.shape:
            raise ValueError(f"values of shape {x.shape} for a filter of shape {self._x.shape}")
        te = t - self._t
        a_d = _alpha(self.d_cutoff, te)
        dx = a_d * (x - self._x) / te + (1.0 - a_d) * self._dx
        a = _alpha(self.min_cutoff + self.beta * np.abs(dx) / scale, te)
        filtered = a * x + (1.0 - a) * self._x
        self._t, self._x, self._dx = t, filtered, dx
        return filtered.copy()


@dataclass(frozen=True)
class SmoothingSettings:
    """One-Euro settings for keypoints in pixels with ``scale`` = the person's size in pixels,
    at video frame rates (15 to 60 fps). Chosen with ``benchmarks/video_tracking.py`` (clips of
    real photos with known motion, keypoint noise of 1-4 % of the person's size; figures in
    ``benchmarks/README.md``):

    - ``min_cutoff = 1.0`` Hz: at 30 fps a 1 Hz low-pass has ``alpha`` 0.17 and cuts the standard
      deviation of white jitter on a still keypoint about threefold; a slow movement lags by
      ``tau`` = 0.16 s.
    - ``beta = 10.0`` (Hz per person size per second): on a steady movement at ``v`` person
      sizes per second the cutoff rises to about ``min_cutoff + beta v`` and the lag is at most
      ``v / (2 pi (min_cutoff + beta v))`` < ``1 / (2 pi beta)`` = 1.6 % of the person's size.
      The lag is what a small person pays: a camera pan moves them many sizes per second. On the
      benchmark (noise 2 % of the size, 30 fps) ``beta`` 10 cuts the jitter 2.3-fold and the
      error from 2.51 % to 2.13 % of the size, the smallest people's included; ``beta`` 3 cut
      the jitter 3.4-fold but raised the error to 2.94 % (3.5 % on a 54 px person), ``beta`` 30
      lowers the error to 2.05 % but cuts the jitter only 1.7-fold. A model that jitters less
      wants a higher ``beta``: at 1 % noise ``beta`` 10 raises the error from 1.25 % to 1.62 %,
      ``beta`` 30 lowers it to 1.20 %.
    - ``d_cutoff = 1.0`` Hz: the paper's value; the speed estimate needs smoothing of its own,
      being a difference of noisy positions.
    """

    min_cutoff: float = 1.0
    beta: float = 10.0
    d_cutoff: float = 1.0

    def __post_init__(self):
        _check_positive("min_cutoff", self.min_cutoff)
        _check_positive("beta", self.beta, zero_ok=True)
        _check_positive("d_cutoff", self.d_cutoff)

    def make_filter(self) -> OneEuroFilter:
        return OneEuroFilter(self.min_cutoff, self.beta, self.d_cutoff)


@dataclass
class TrackedPerson:
    """A person of this frame with its track: ``person`` has the smoothed keypoints when
    smoothing is on (else it is ``raw``), ``raw`` is the person as given. ``age``: frames since
    the track started, this one included (1 for a new track); ``hits``: frames it was seen in,
    this one included; ``gap``: frames it was missing just before this one."""

    track_id: int
    person: Person
    raw: Person
    age: int = 1
    hits: int = 1
    gap: int = 0


@dataclass
class _Track:
    track_id: int
    raw: Person  # last observation
    points: np.ndarray  # its keypoints (a float64 copy), for OKS and next_boxes
    area: float  # its box area, for OKS
    smoother: OneEuroFilter | None
    age: int = 1
    hits: int = 1
    missed: int = 0


def box_around(keypoints, grow: float, image_size: tuple[int, int],
               min_keypoint_score: float = CONFIDENT) -> tuple[float, float, float, float] | None:
    """``(x, y, w, h)`` around the ``[K, 3]`` keypoints scored above ``min_keypoint_score``,
    grown by ``grow`` about its centre and clipped to the image of ``image_size`` ``(H, W)``;
    ``None`` with fewer than 3 such keypoints or when nothing of the box is inside the image."""
    keypoints = np.asarray(keypoints, np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != 3:
        raise ValueError(f"keypoints of shape {keypoints.shape}; expected (K, 3)")
    grow = _check_positive("grow", grow)
    height, width = (float(v) for v in image_size)
    if not (height > 0 and width > 0):
        raise ValueError(f"image_size (H, W) must be positive, got {tuple(image_size)}")
    confident = keypoints[keypoints[:, 2] > min_keypoint_score, :2]
    confident = confident[np.isfinite(confident).all(axis=1)]
    if len(confident) < MIN_BOX_KEYPOINTS:
        return None
    low, high = confident.min(axis=0), confident.max(axis=0)
    centre, half = (low + high) / 2, (high - low) * grow / 2
    x0, y0 = max(centre[0] - half[0], 0.0), max(centre[1] - half[1], 0.0)
    x1, y1 = min(centre[0] + half[0], width), min(centre[1] + half[1], height)
    if x1 <= x0 or y1 <= y0:
        return None
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _tight_box(keypoints: np.ndarray) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` around the confident keypoints (all of them when none is)."""
    confident = keypoints[:, 2] > CONFIDENT
    points = keypoints[confident if confident.any() else slice(None), :2]
    low, high = points.min(axis=0), points.max(axis=0)
    return (float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1]))


def _box_of(person: Person) -> tuple[float, float, float, float]:
    if person.box is not None:
        return tuple(float(v) for v in person.box)
    return _tight_box(np.asarray(person.keypoints, np.float64))


def _oks(track_points: np.ndarray, points: np.ndarray, area: float,
         variances: np.ndarray) -> float:
    """OKS of two ``[K, 3]`` poses over the keypoints confident in both (0 when there are none),
    for a person of ``area`` square pixels."""
    counted = (track_points[:, 2] > CONFIDENT) & (points[:, 2] > CONFIDENT)
    if not counted.any():
        return 0.0
    d2 = ((track_points[counted, :2] - points[counted, :2]) ** 2).sum(-1)
    return float(np.exp(-d2 / variances[counted] / (2 * max(area, 1.0))).mean())


class PoseTracker:
    """Track ids (and smoothed keypoints) for the persons of successive video frames (module
    docstring).

    Args:
      keypoint_set: the persons' keypoint set (its OKS sigmas drive the matching).
      smoothing: One-Euro settings for the keypoints; None: no smoothing.
      match_oks: the lowest OKS at which a person continues a track.
      max_missed: a track ends after more consecutive frames without its person than this.
      min_start_score: the lowest person score that starts a track.
    """

    def __init__(self, keypoint_set: KeypointSet, *, smoothing: SmoothingSettings | None = None,
                 match_oks: float = 0.3, max_missed: int = 10, min_start_score: float = 0.3):
        if not 0.0 <= match_oks <= 1.0:
            raise ValueError(f"match_oks must be within [0, 1], got {match_oks}")
        if int(max_missed) != max_missed or max_missed < 0:
            raise ValueError(f"max_missed must be a whole number >= 0, got {max_missed}")
        self.keypoint_set = keypoint_set
        self.smoothing = smoothing
        self.match_oks = float(match_oks)
        self.max_missed = int(max_missed)
        self.min_start_score = float(min_start_score)
        sigmas = keypoint_set.sigmas or (UNIFORM_SIGMA,) * keypoint_set.num_keypoints
        self._variances = (2 * np.asarray(sigmas, np.float64)) ** 2
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._t: float | None = None

    @property
    def track_ids(self) -> list[int]:
        """Ids of the live tracks (seen within the last ``max_missed`` frames), oldest first."""
        return [track.track_id for track in self._tracks]

    def update(self, persons: list[Person], t: float) -> list[TrackedPerson]:
        """Match the persons of the frame at time ``t`` (seconds, increasing from call to call)
        to the tracks; the persons that got a track, in the given order."""
        t = _check_time(t)
        if self._t is not None and t <= self._t:
            raise ValueError(f"time must increase from frame to frame: got {t} after {self._t}")
        expected = (self.keypoint_set.num_keypoints, 3)
        for i, person in enumerate(persons):
            shape = np.shape(person.keypoints)
            if shape != expected:
                raise ValueError(f"person {i} has keypoints of shape {shape}; the keypoint set "
                                 f"{self.keypoint_set.name!r} needs {expected}")
        self._t = t

        points = [np.asarray(p.keypoints, np.float64) for p in persons]
        match = self._match(points)
        results: list[TrackedPerson | None] = [None] * len(persons)
        for track_index, track in enumerate(self._tracks):
            if track_index in match:
                i = match[track_index]
                gap, track.missed = track.missed, 0
                track.hits += 1
                track.age += 1
                results[i] = self._observe(track, persons[i], points[i], t, gap)
            else:
                track.missed += 1
                track.age += 1
        self._tracks = [track for track in self._tracks if track.missed <= self.max_missed]
        matched = set(match.values())
        for i, person in enumerate(persons):
            if i not in matched and person.score >= self.min_start_score:
                smoother = None if self.smoothing is None else self.smoothing.make_filter()
                track = _Track(self._next_id, person, points[i], 0.0, smoother)
                self._next_id += 1
                self._tracks.append(track)
                results[i] = self._observe(track, person, points[i], t, 0)
        return [r for r in results if r is not None]

    def _match(self, points: list[np.ndarray]) -> dict[int, int]:
        """Track index -> person index for the pairs matched by OKS."""
        if not self._tracks or not points:
            return {}
        similarity = np.array([[_oks(track.points, p, track.area, self._variances)
                                for p in points] for track in self._tracks])
        allowed = similarity >= self.match_oks
        # A gated pair costs more than any set of allowed pairs could save by using it.
        gate = float(min(similarity.shape)) + 1.0
        rows, cols = linear_sum_assignment(np.where(allowed, 1.0 - similarity, gate))
        return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if allowed[r, c]}

    def _observe(self, track: _Track, person: Person, points: np.ndarray, t: float,
                 gap: int) -> TrackedPerson:
        box = _box_of(person)
        track.raw, track.points, track.area = person, points.copy(), box[2] * box[3]
        shown = person
        if track.smoother is not None:
            scale = max(math.sqrt(max(box[2] * box[3], 0.0)), 1.0)
            smoothed = points.copy()
            smoothed[:, :2] = track.smoother(t, points[:, :2], scale)
            dtype = np.asarray(person.keypoints).dtype
            smoothed = smoothed.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)
            shown = dataclasses.replace(
                person, keypoints=smoothed,
                box=person.box if person.box is not None else _tight_box(smoothed))
        return TrackedPerson(track.track_id, shown, person, track.age, track.hits, gap)

    def next_boxes(self, image_size: tuple[int, int], *, grow: float = 1.25,
                   min_score: float = 0.3) -> list[tuple[float, float, float, float]] | None:
        """Boxes ``(x, y, w, h)`` to crop the next frame ``image_size`` ``(H, W)`` at, one per
        track seen in the last frame with a mean keypoint score of at least ``min_score``,
        around its last observed keypoints (:func:`box_around`); None when no track qualifies.

        ``grow`` 1.25 takes the box around the keypoints out to about a detector's box (the
        keypoints stop short of the head top, hands and feet); the predictor pads it further."""
        boxes = []
        for track in self._tracks:
            if track.missed or track.points[:, 2].mean() < min_score:
                continue
            box = box_around(track.points, grow, image_size)
            if box is not None:
                boxes.append(box)
        return boxes or None
