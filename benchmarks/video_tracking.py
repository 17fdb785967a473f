"""Tracker and One-Euro smoothing on clips made from real photos whose true motion is known.

    python benchmarks/video_tracking.py                          # noise model, the default clips
    python benchmarks/video_tracking.py --model model.tflite     # a trained model, same clips

Each clip is one annotated photo of ``--data`` (default ``../shared/data``: the COCO sample
photos that have a person with at least 8 labelled keypoints, and a CrowdPose photo of two
overlapping people) moved by a known smooth similarity per frame: its centre along a figure of
eight (+-8 % of the width, +-5 % of the height), zoom 0.8-1.2 and rotation +-4 degrees, the
motion being a function of time in seconds (``--frames`` at ``--fps``). A frame is the photo
through ``cv2.warpAffine`` with that matrix plus Gaussian pixel noise (rendered for
``--model`` only: the noise model below needs no pixels); the true keypoints of
every annotated person (its labelled ones) are the annotation's through the same matrix, and a
keypoint counts in a frame while it is inside it (a person: while 3 of its keypoints are).

Predictions. No trained weights exist here, so by default the per-frame "model" is the truth
plus noise: each labelled keypoint moved by a Gaussian of sigma ``--noise`` x the person's size
(sqrt of the annotation box's area times the frame's zoom), independently per keypoint and
frame; keypoint scores 0.9 inside the frame and 0 outside or unlabelled; person score 0.9, box
the warped annotation box; each person left out of a frame with probability ``--drop`` (the
tracker's miss rules). Those figures measure the tracker and the filter, not a network. With
``--model`` a tfpose ``.keras`` / ``.tflite`` file (:func:`tfpose.load_model`) runs on the
rendered frames instead: top-down models get the warped true boxes (each left out with
probability ``--drop``), bottom-up models find the people themselves. One set of predictions
per clip feeds both trackers, so smoothing off and on see the same input.

Figures, per clip and pooled over the clips, for :class:`~tfpose.inference.tracking.PoseTracker`
without smoothing and with One-Euro smoothing (:class:`SmoothingSettings`, defaults unless
``--min-cutoff`` / ``--beta`` / ``--d-cutoff``):

* jitter: mean over tracks, keypoints and frames of ``|x[t+1] - 2 x[t] + x[t-1]|`` (pixels per
  frame squared; also in % of the true person's size), over three consecutive frames in which
  the track is reported with the keypoint scored above the tracker's ``CONFIDENT``, the middle
  one matched to a true person (so false tracks of a model do not count). The true
  motion's own value is given beside it (the floor: a smooth motion is not jitter-free);
* error: mean distance of the reported keypoints to the true ones (pixels, % of person size)
  over the keypoints inside the frame, for each reported person matched to a true one;
* matching: in each frame the reported persons are matched to the true ones by the lowest mean
  distance over the true keypoints (Hungarian; no match beyond half a person size);
* id switches: a true person whose matched track id differs from the one it had when last
  matched, having stayed in view in between (consecutive frames, or across frames in which it
  was not reported); a new id after the person left the view (fewer than 3 keypoints inside
  the frame) is counted apart: the tracker ends a track after ``max_missed`` frames unseen;
* tracks started against true persons, and the share of true person-frames reported.

Printed: a header naming the predictions and the settings, then a Markdown table (for
``benchmarks/README.md``); ``--json`` prints the header and the rows as JSON instead. No timing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# sample folder -> (its keypoint annotations, tfpose's keypoint set name)
ANNOTATIONS = {"coco_sample": ("test_coco.json", "coco"),
               "crowdpose_sample": ("test_crowdpose.json", "crowdpose")}
MULTI_PERSON = "crowdpose_sample/103319.jpg"  # two people, one partly in front of the other
MIN_LABELLED = 8  # a default COCO photo has a person with at least this many labelled keypoints
MIN_KEYPOINTS = 3  # a person counts (in the truth, in a frame) with this many keypoints
KEYPOINT_SCORE = 0.9  # the noise model's score of a keypoint inside the frame, and of a person
MATCH_GATE = 0.5  # no match beyond this mean keypoint distance, in person sizes
# The motion, in seconds: path amplitudes (fraction of W, H) and periods, zoom, rotation.
PATH = ((0.08, 3.0), (0.05, 1.5))  # x: one loop in 3 s; y: twice as fast (a figure of eight)
ZOOM, ZOOM_PERIOD = 0.2, 4.5
ROTATION, ROTATION_PERIOD = 4.0, 6.0  # degrees


@dataclass
class Photo:
    """An annotated photo: ``keypoints [P, K, 3]`` (x, y, v) and ``boxes [P, 4]`` (x, y, w, h)
    of its persons with at least ``MIN_KEYPOINTS`` labelled keypoints."""

    name: str
    path: Path
    keypoint_set: str
    keypoints: np.ndarray
    boxes: np.ndarray


@dataclass
class Truth:
    """A clip's true motion. ``matrices [T, 2, 3]`` image -> frame; per frame and person:
    ``points [T, P, K, 2]``, ``visible [T, P, K]`` (labelled and inside the frame),
    ``present [T, P]``, ``sizes [T, P]`` (pixels), ``boxes [T, P, 4]`` (warped annotation box,
    clipped to the frame)."""

    matrices: np.ndarray
    points: np.ndarray
    visible: np.ndarray
    present: np.ndarray
    sizes: np.ndarray
    boxes: np.ndarray


def read_photos(data: Path, names: list[str] | None) -> list[Photo]:
    """The photos ``names`` (``folder/file`` under ``data``; None: the defaults)."""
    photos = {}
    for folder, (file_name, keypoint_set) in ANNOTATIONS.items():
        path = data / folder / file_name
        if not path.is_file():
            continue
        content = json.loads(path.read_text())
        files = {image["id"]: image["file_name"] for image in content["images"]}
        found: dict[str, list] = {}
        for ann in content["annotations"]:
            keypoints = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
            if ann.get("iscrowd", 0) or (keypoints[:, 2] > 0).sum() < MIN_KEYPOINTS:
                continue
            found.setdefault(files[ann["image_id"]], []).append((keypoints, ann["bbox"]))
        for file, persons in found.items():
            photos[f"{folder}/{file}"] = Photo(
                f"{folder}/{file}", data / folder / file, keypoint_set,
                np.stack([k for k, _ in persons]), np.asarray([b for _, b in persons], float))
    if names is None:
        names = [name for name, photo in sorted(photos.items())
                 if name.startswith("coco_sample/")
                 and ((photo.keypoints[..., 2] > 0).sum(-1) >= MIN_LABELLED).any()]
        names += [MULTI_PERSON] if MULTI_PERSON in photos else []
    unknown = [name for name in names if name not in photos]
    if unknown:
        raise SystemExit(f"error: no annotated persons for {unknown} under {data} (known: "
                         f"{sorted(photos) or 'none: is --data the shared data folder?'})")
    return [photos[name] for name in names]


def motion(t: float, width: int, height: int) -> tuple[np.ndarray, float]:
    """The ``[2, 3]`` matrix (image -> frame) at ``t`` seconds and its zoom: rotation and zoom
    about the image centre, then the centre moved along the path."""
    zoom = 1.0 + ZOOM * math.sin(2 * math.pi * t / ZOOM_PERIOD)
    angle = ROTATION * math.sin(2 * math.pi * t / ROTATION_PERIOD)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, zoom)
    (ax, px), (ay, py) = PATH
    matrix[:, 2] += (ax * width * math.sin(2 * math.pi * t / px),
                     ay * height * math.sin(2 * math.pi * t / py))
    return matrix, zoom


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points [..., 2]`` through the ``[2, 3]`` affine ``matrix``."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def true_motion(photo: Photo, size: tuple[int, int], frames: int, fps: float) -> Truth:
    """The truth of ``frames`` frames of ``photo`` (``size`` (H, W)) at ``fps``."""
    height, width = size
    labelled = photo.keypoints[..., 2] > 0
    x, y, w, h = photo.boxes.T
    corners = np.stack([np.stack([x, y], -1), np.stack([x + w, y], -1),
                        np.stack([x, y + h], -1), np.stack([x + w, y + h], -1)], 1)
    matrices, points, visible, sizes, boxes = [], [], [], [], []
    for frame in range(frames):
        matrix, zoom = motion(frame / fps, width, height)
        moved = apply(matrix, photo.keypoints[..., :2])
        inside = ((moved >= 0) & (moved < [width, height])).all(-1)
        box_corners = apply(matrix, corners)
        low = np.clip(box_corners.min(1), 0, [width, height])
        high = np.clip(box_corners.max(1), 0, [width, height])
        matrices.append(matrix)
        points.append(moved)
        visible.append(labelled & inside)
        sizes.append(np.sqrt(w * h) * zoom)
        boxes.append(np.concatenate([low, high - low], -1))
    visible = np.array(visible)
    return Truth(np.array(matrices), np.array(points), visible,
                 visible.sum(-1) >= MIN_KEYPOINTS, np.array(sizes), np.array(boxes))


def render(image: np.ndarray, matrix: np.ndarray, pixel_noise: float,
           rng: np.random.Generator) -> np.ndarray:
    """``image`` (uint8) through ``matrix`` into a frame of its size, plus Gaussian pixel
    noise of ``pixel_noise`` grey levels."""
    frame = cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if pixel_noise > 0:
        noisy = frame + rng.normal(0.0, pixel_noise, frame.shape).astype(np.float32)
        frame = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return frame


def noisy_truth(truth: Truth, photo: Photo, noise: float, drop: float,
                rng: np.random.Generator) -> list[list]:
    """The noise model's persons, frame by frame (module docstring), in a shuffled order."""
    from tfpose.inference.predictor import Person

    labelled = photo.keypoints[..., 2] > 0
    frames = []
    for t in range(len(truth.points)):
        persons = []
        for p in np.flatnonzero(truth.present[t]):
            kept = rng.random() >= drop
            jitter = rng.normal(0.0, noise * truth.sizes[t, p], truth.points[t, p].shape)
            if not kept:
                continue
            x, y, w, h = truth.boxes[t, p]
            points = np.where(labelled[p, :, None], truth.points[t, p] + jitter,
                              [x + w / 2, y + h / 2])  # unlabelled: the box centre, score 0
            scores = np.where(truth.visible[t, p], KEYPOINT_SCORE, 0.0)
            persons.append(Person(np.concatenate([points, scores[:, None]], 1),
                                  KEYPOINT_SCORE, tuple(float(v) for v in truth.boxes[t, p])))
        frames.append([persons[i] for i in rng.permutation(len(persons))])
    return frames


def model_predictions(predictor, truth: Truth, image: np.ndarray, drop: float,
                      pixel_noise: float, rng: np.random.Generator) -> list[list]:
    """The model's persons on each rendered frame (top-down: in the warped true boxes)."""
    frames = []
    for t, matrix in enumerate(truth.matrices):
        frame = render(image, matrix, pixel_noise, rng)
        if predictor.top_down:
            boxes = [tuple(truth.boxes[t, p]) for p in np.flatnonzero(truth.present[t])
                     if rng.random() >= drop]
            frames.append(predictor(frame, boxes) if boxes else [])
        else:
            frames.append(predictor(frame))
    return frames


def track(frames: list[list], keypoint_set, smoothing, fps: float) -> list[list]:
    """``(track_id, reported keypoints [K, 3], raw keypoints [K, 3])`` per frame."""
    from tfpose.inference.tracking import PoseTracker

    tracker = PoseTracker(keypoint_set, smoothing=smoothing)
    return [[(tp.track_id, np.asarray(tp.person.keypoints, np.float64),
              np.asarray(tp.raw.keypoints, np.float64))
             for tp in tracker.update(persons, t / fps)]
            for t, persons in enumerate(frames)]


def match(reported: list, truth: Truth, t: int) -> dict[int, int]:
    """Reported index -> true person index at frame ``t``, by the lowest mean distance of the
    raw keypoints over the true visible ones (none beyond ``MATCH_GATE`` person sizes)."""
    people = np.flatnonzero(truth.present[t])
    if not reported or not len(people):
        return {}
    cost = np.empty((len(reported), len(people)))
    for i, (_, _, raw) in enumerate(reported):
        for j, p in enumerate(people):
            seen = truth.visible[t, p]
            distance = np.linalg.norm(raw[seen, :2] - truth.points[t, p, seen], axis=-1)
            cost[i, j] = distance.mean() / truth.sizes[t, p]
    rows, cols = linear_sum_assignment(np.minimum(cost, 1e6))
    return {int(i): int(people[j]) for i, j in zip(rows, cols, strict=True)
            if cost[i, j] <= MATCH_GATE}


def second_differences(series: dict[int, np.ndarray], valid: dict[int, np.ndarray]):
    """``|x[t+1] - 2 x[t] + x[t-1]|`` over the frames ``t`` whose neighbours are in ``series``
    (frame -> ``[K, 2]``) with the keypoint valid in all three; with the middle frame."""
    values, middles = [], []
    for t in series:
        if t - 1 in series and t + 1 in series:
            ok = valid[t - 1] & valid[t] & valid[t + 1]
            d2 = series[t + 1][ok] - 2 * series[t][ok] + series[t - 1][ok]
            values.append(np.linalg.norm(d2, axis=-1))
            middles.append(np.full(ok.sum(), t))
    if not values:
        return np.zeros(0), np.zeros(0, int)
    return np.concatenate(values), np.concatenate(middles)


def measure(tracked: list[list], truth: Truth) -> dict:
    """The raw sums behind one row: jitter and error samples, id switches, tracks."""
    from tfpose.inference.tracking import CONFIDENT

    jitter, jitter_rel, error, error_rel = [], [], [], []
    last: dict[int, tuple[int, int]] = {}  # true person -> (frame, track id) of its last match
    switches = new_after_leaving = matched_frames = 0
    by_track: dict[int, dict] = {}
    for t, reported in enumerate(tracked):
        pairs = match(reported, truth, t)
        matched_frames += len(pairs)
        for i, p in pairs.items():
            track_id, points, _ = reported[i]
            if p in last and last[p][1] != track_id:
                if truth.present[last[p][0]:t, p].all():
                    switches += 1
                else:
                    new_after_leaving += 1
            last[p] = (t, track_id)
            seen = truth.visible[t, p]
            distance = np.linalg.norm(points[seen, :2] - truth.points[t, p, seen], axis=-1)
            error.append(distance)
            error_rel.append(distance / truth.sizes[t, p])
            entry = by_track.setdefault(track_id, {"points": {}, "valid": {}, "person": {}})
            entry["person"][t] = p
        for track_id, points, _ in reported:
            entry = by_track.setdefault(track_id, {"points": {}, "valid": {}, "person": {}})
            entry["points"][t] = points[:, :2]
            entry["valid"][t] = points[:, 2] > CONFIDENT
    for entry in by_track.values():
        values, middles = second_differences(entry["points"], entry["valid"])
        sizes = np.array([truth.sizes[t, entry["person"][t]] if t in entry["person"] else np.nan
                          for t in middles])
        keep = np.isfinite(sizes)  # a middle frame where the track matched a true person
        jitter.append(values[keep])
        jitter_rel.append(values[keep] / sizes[keep])
    true_jitter = [second_differences(
        {t: truth.points[t, p] for t in np.flatnonzero(truth.present[:, p])},
        {t: truth.visible[t, p] for t in np.flatnonzero(truth.present[:, p])})[0]
        for p in range(truth.points.shape[1])]
    def join(parts):
        return np.concatenate(parts) if parts else np.zeros(0)

    return {"jitter": join(jitter), "jitter_rel": join(jitter_rel), "error": join(error),
            "error_rel": join(error_rel), "true_jitter": join(true_jitter),
            "id_switches": switches, "new_id_after_leaving_view": new_after_leaving,
            "tracks_started": len(by_track),
            "persons": int(truth.present.any(0).sum()),
            "person_frames": int(truth.present.sum()), "matched_frames": matched_frames}


def row(clip: str, smoothing: str, parts: list[dict]) -> dict:
    """One table row from the sums of one or more clips."""
    pool = {key: np.concatenate([part[key] for part in parts])
            for key in ("jitter", "jitter_rel", "error", "error_rel", "true_jitter")}

    def mean(key, factor=1.0):
        return float(pool[key].mean() * factor) if len(pool[key]) else float("nan")

    total = {key: sum(part[key] for part in parts)
             for key in ("id_switches", "new_id_after_leaving_view", "tracks_started",
                         "persons", "person_frames", "matched_frames")}
    return {"clip": clip, "smoothing": smoothing,
            "jitter_px": mean("jitter"), "jitter_pct_size": mean("jitter_rel", 100),
            "true_jitter_px": mean("true_jitter"),
            "error_px": mean("error"), "error_pct_size": mean("error_rel", 100),
            "jitter_samples": len(pool["jitter"]), "error_samples": len(pool["error"]),
            **total, "reported_share": total["matched_frames"] / max(total["person_frames"], 1)}


def header(args, settings, clips: list[str], model=None) -> list[str]:
    if model is None:
        predictions = (
            f"NOT a network: the true keypoints plus Gaussian noise of sigma {args.noise:g} x "
            "the person's size, per keypoint and frame; keypoint scores "
            f"{KEYPOINT_SCORE:g}; each person left out of a frame with probability "
            f"{args.drop:g}; seed {args.seed}. These figures measure the tracker and the "
            "One-Euro filter, not a model.")
    else:
        kind = ("top-down, in the warped true boxes, each left out of a frame with probability "
                f"{args.drop:g}" if model.top_down else "bottom-up, finding the people itself")
        predictions = (f"the model {args.model} ({kind}) on the rendered frames (pixel noise "
                       f"{args.pixel_noise:g} grey levels); seed {args.seed}.")
    (ax, px), (ay, py) = PATH
    return [
        f"Clips: {', '.join(clips)}; {args.frames} frames at {args.fps:g} fps each: the photo "
        f"moved by a known similarity (centre on a figure of eight, +-{ax:.0%} of the width "
        f"in {px:g} s, +-{ay:.0%} of the height in {py:g} s; zoom {1 - ZOOM:g}-{1 + ZOOM:g} "
        f"in {ZOOM_PERIOD:g} s; rotation +-{ROTATION:g} deg in {ROTATION_PERIOD:g} s).",
        f"Predictions: {predictions}",
        "Tracker: PoseTracker defaults (match_oks 0.3, max_missed 10, min_start_score 0.3); "
        f"smoothing on: One-Euro min_cutoff {settings.min_cutoff:g} Hz, beta "
        f"{settings.beta:g}, d_cutoff {settings.d_cutoff:g} Hz.",
    ]


def markdown(rows: list[dict]) -> str:
    lines = ["| clip | persons | smoothing | jitter px/frame² | jitter % of size | "
             "true motion's jitter px/frame² | error px | error % of size | tracks started | "
             "id switches | new id after leaving the view | person-frames reported |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['clip']} | {r['persons']} | {r['smoothing']} | {r['jitter_px']:.2f} | "
            f"{r['jitter_pct_size']:.2f} | {r['true_jitter_px']:.2f} | {r['error_px']:.2f} | "
            f"{r['error_pct_size']:.2f} | {r['tracks_started']} | {r['id_switches']} | "
            f"{r['new_id_after_leaving_view']} | {r['reported_share']:.0%} |")
    return "\n".join(lines)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA,
                        help="the shared data folder (default: %(default)s)")
    parser.add_argument("--images", nargs="+", metavar="FOLDER/FILE",
                        help="photos under --data, e.g. coco_sample/000000000785.jpg (default: "
                        f"the COCO sample photos with a person of {MIN_LABELLED}+ labelled "
                        f"keypoints and {MULTI_PERSON})")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--noise", type=float, default=0.02,
                        help="keypoint noise sigma in person sizes (default: %(default)s)")
    parser.add_argument("--drop", type=float, default=0.05,
                        help="probability that a person is left out of a frame")
    parser.add_argument("--pixel-noise", type=float, default=3.0,
                        help="Gaussian pixel noise of the rendered frames, grey levels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, help="a tfpose .keras or .tflite model")
    parser.add_argument("--min-cutoff", type=float)
    parser.add_argument("--beta", type=float)
    parser.add_argument("--d-cutoff", type=float)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.frames < 3:
        parser.error("--frames must be at least 3 (jitter needs three frames)")
    if not (args.fps > 0 and args.noise >= 0 and 0 <= args.drop < 1 and args.pixel_noise >= 0):
        parser.error("--fps must be positive, --noise and --pixel-noise not negative, "
                     "--drop within [0, 1)")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    sys.path.insert(0, str(REPO))
    import tfpose  # noqa: F401  (before TensorFlow)
    from tfpose.inference.images import read_rgb
    from tfpose.inference.tracking import SmoothingSettings
    from tfpose.keypoints import get_keypoint_set

    given = {name: getattr(args, name) for name in ("min_cutoff", "beta", "d_cutoff")
             if getattr(args, name) is not None}
    settings = SmoothingSettings(**given)
    photos = read_photos(args.data, args.images)
    model = tfpose.load_model(args.model) if args.model else None
    if model is not None:
        wanted = model.info.keypoint_set.name
        skipped = [photo.name for photo in photos if photo.keypoint_set != wanted]
        if skipped:
            print(f"skipped (not {wanted!r} keypoints, the model's): {', '.join(skipped)}",
                  file=sys.stderr)
        photos = [photo for photo in photos if photo.keypoint_set == wanted]
        if not photos:
            raise SystemExit(f"error: no chosen photo has {wanted!r} keypoints, the model's")
    sums = {"off": [], "One-Euro": []}
    rows = []
    for photo in photos:
        image = read_rgb(photo.path)
        rng = np.random.default_rng([args.seed, zlib.crc32(photo.name.encode())])
        truth = true_motion(photo, image.shape[:2], args.frames, args.fps)
        if model is None:
            frames = noisy_truth(truth, photo, args.noise, args.drop, rng)
        else:
            frames = model_predictions(model, truth, image, args.drop, args.pixel_noise, rng)
        keypoint_set = get_keypoint_set(photo.keypoint_set)
        for label, smoothing in (("off", None), ("One-Euro", settings)):
            part = measure(track(frames, keypoint_set, smoothing, args.fps), truth)
            sums[label].append(part)
            rows.append(row(photo.name, label, [part]))
    if len(photos) > 1:
        rows += [row("all clips", label, parts) for label, parts in sums.items()]
    lines = header(args, settings, [photo.name for photo in photos], model)
    if args.json:
        print(json.dumps({"header": lines, "rows": rows}, indent=1))
    else:
        print("\n".join(lines) + "\n\n" + markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
