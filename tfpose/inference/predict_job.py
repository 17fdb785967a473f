"""``tfpose predict``: skeletons drawn on images, a folder of images or a video, plus a COCO
results json.

* Top-down models crop each person box of ``--boxes`` (a COCO detection results json:
  ``[{"image_id", "bbox": [x, y, w, h], "score", "category_id"}]``), or of ``person_boxes`` (a
  source that finds them in each image: a bottom-up model or an SSD-style detector,
  :mod:`tfpose.inference.person_boxes`) or, without boxes, treat the whole image as one person.
  An image's id is found by its file name in ``--ann`` (a COCO annotation json) or, without it,
  read from a numeric file name (COCO's ``000000000139.jpg`` is image 139). Boxes of the file
  scored below ``box_threshold`` are skipped.
* Bottom-up models find every person themselves; persons scored at or below ``min_score`` are
  not drawn (all are written to the json).
* Videos (``.mp4``, ``.avi``, ...) are read frame by frame; the drawn video is written as mp4
  and each frame's persons go to the json with the frame index as ``image_id``. With ``track``
  each person keeps an id from frame to frame (``track_id`` in the json, drawn beside the
  skeleton), with ``smoothing`` its keypoints go through the One-Euro filter at the video's frame
  times, and with ``follow`` a top-down model crops around the previous frame's people instead
  of taking the whole frame (:mod:`tfpose.inference.video`). Single images are predicted alone.

Outputs in ``out``: ``<name>.jpg`` per image or ``<name>.mp4`` per video, and
``results.json`` (standard COCO keypoint results, with ``file_name`` and the person's ``bbox``
added: the box it was cropped from, or the box around a bottom-up person's keypoints).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from tfpose.data.coco import read_json
from tfpose.errors import DataError
from tfpose.files import write_json_atomically
from tfpose.inference.images import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_images, read_rgb
from tfpose.inference.predictor import Person, PosePredictor
from tfpose.inference.tracking import SmoothingSettings
from tfpose.inference.video import VideoPoseTracker
from tfpose.visualize import draw_skeleton

log = logging.getLogger("tfpose")

DRAW_MIN_KEYPOINT_SCORE = 0.2  # joints below are left out of drawings (still in the json)


def predict_inputs(predictor: PosePredictor, source, out, *, boxes_file=None, ann_file=None,
                   box_threshold: float = 0.5, min_score: float = 0.1, track: bool = False,
                   smoothing: SmoothingSettings | None = None, follow: bool = False,
                   person_boxes=None) -> dict:
    """Run ``predictor`` on ``source`` (image, folder or video) and write ``out`` (module doc).

    ``person_boxes``: ``image -> (boxes, scores)``, the person boxes of each image for a top-down
    model (instead of ``boxes_file``). Returns ``{"images", "persons", "outputs": [files],
    "results": path}``.
    """
    source, out = Path(source), Path(out)
    if not source.exists():
        raise DataError(source, "input not found (an image, a folder of images or a video)")
    if boxes_file is not None and person_boxes is not None:
        raise DataError(boxes_file, "give person boxes from a file or from a model, not both")
    boxes = _boxes(boxes_file, box_threshold) if boxes_file else person_boxes
    if boxes is not None and not predictor.top_down:
        log.warning("%s: a bottom-up model finds persons itself; person boxes are not used",
                    predictor.model.path)
        boxes = None
    out.mkdir(parents=True, exist_ok=True)
    results, written, frames = [], [], 0
    video = None
    if track or smoothing is not None or follow:
        video = VideoPoseTracker(predictor, smoothing=smoothing, follow=follow)
    if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
        frames, persons = _video(predictor, source, out, min_score, results, video, boxes)
        written.append(out / f"{source.stem}.mp4")
    else:
        if video is not None:
            log.warning("%s: tracking, smoothing and following apply to videos; images are "
                        "predicted one by one", source)
        paths = [source] if source.is_file() else list_images(source)
        if source.is_file() and source.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(source, f"not an image ({', '.join(IMAGE_SUFFIXES)}) or video "
                            f"({', '.join(VIDEO_SUFFIXES)})")
        ids = _image_ids(paths, ann_file)
        persons = 0
        for path in tqdm(paths, desc="predict", unit="image", disable=len(paths) < 2):
            image = read_rgb(path)
            image_id = ids[path.name]
            found = _predict(predictor, image, boxes, image_id)
            persons += len(found)
            results += _results(found, image_id, path.name)
            target = out / f"{path.stem}.jpg"
            _write_image(target, _draw(image, found, predictor, min_score))
            written.append(target)
        frames = len(paths)
    results_path = write_json_atomically(out / "results.json", results)
    return {"images": frames, "persons": persons, "outputs": [str(p) for p in written],
            "results": str(results_path)}


def _predict(predictor, image, boxes, image_id) -> list[Person]:
    found = _boxes_in(boxes, image, image_id)
    if found is None:
        return predictor(image)
    if not found:
        return []
    return predictor(image, [b for b, _ in found], [s for _, s in found])


def _boxes_in(boxes, image, image_id) -> list | None:
    """``[(box, score)]`` of one image from a detection file's boxes (a dict by image id) or a
    person box source (a callable); None without either."""
    if boxes is None:
        return None
    if callable(boxes):
        found, scores = boxes(image)
        return list(zip(found, scores, strict=True))
    return boxes.get(image_id, [])


def _boxes(path, threshold: float) -> dict[int, list]:
    detections = read_json(path)
    if not isinstance(detections, list):
        raise DataError(path, "expected a COCO detection results list [{image_id, bbox, score}]")
    boxes = defaultdict(list)
    for i, det in enumerate(detections):
        if not isinstance(det, dict) or not {"image_id", "bbox", "score"} <= det.keys():
            raise DataError(path, f"detection #{i} lacks image_id, bbox or score")
        bbox = np.asarray(det["bbox"], np.float64)
        if bbox.shape != (4,) or not np.isfinite(bbox).all():
            raise DataError(path, f"detection #{i}: bbox must be 4 numbers [x, y, w, h]",
                            "bbox")
        if det.get("category_id", 1) == 1 and det["score"] >= threshold and min(bbox[2:]) > 0:
            boxes[int(det["image_id"])].append((bbox, float(det["score"])))
    return boxes


def _image_ids(paths: list[Path], ann_file) -> dict[str, int]:
    if ann_file is not None:
        data = read_json(ann_file)
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise DataError(ann_file, "expected a COCO annotation json with an 'images' list")
        by_name = {Path(im["file_name"]).name: int(im["id"]) for im in data["images"]}
        missing = [p.name for p in paths if p.name not in by_name]
        if missing:
            raise DataError(ann_file, f"has no image named {missing[0]} (and {len(missing) - 1} "
                            "more)" if len(missing) > 1 else f"has no image named {missing[0]}")
        return {p.name: by_name[p.name] for p in paths}
    ids = {}
    for index, path in enumerate(paths):
        ids[path.name] = int(path.stem) if path.stem.isdigit() else index
    return ids


def _results(persons: list[Person], image_id: int, name: str,
             track_ids: list[int] | None = None) -> list[dict]:
    results = [{"image_id": image_id, "category_id": 1, "file_name": name,
                "keypoints": [round(float(v), 2) for v in p.keypoints.reshape(-1)],
                "score": round(p.score, 4),
                **({"bbox": [round(float(v), 2) for v in p.box]} if p.box else {})}
               for p in persons]
    for result, track_id in zip(results, track_ids or [], strict=False):
        result["track_id"] = track_id
    return results


def _draw(image: np.ndarray, persons: list[Person], predictor: PosePredictor,
          min_score: float, track_ids: list[int] | None = None) -> np.ndarray:
    shown = [i for i, p in enumerate(persons) if p.score > min_score or predictor.top_down]
    if not shown:
        return image
    labels = [f"#{track_ids[i]}" for i in shown] if track_ids else None
    return draw_skeleton(image, np.stack([persons[i].keypoints for i in shown]),
                         predictor.info.keypoint_set, min_score=DRAW_MIN_KEYPOINT_SCORE,
                         labels=labels)


def _write_image(path: Path, image_rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise DataError(path, "could not write the drawn image")


def _video(predictor, source: Path, out: Path, min_score: float, results: list,
           video: VideoPoseTracker | None, boxes):
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise DataError(source, "not a readable video")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    writer, frames, persons = None, 0, 0
    target = out / f"{source.stem}.mp4"
    try:
        with tqdm(total=count, desc="predict", unit="frame") as bar:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                if writer is None:
                    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                             (image.shape[1], image.shape[0]))
                found, ids = _frame_people(predictor, video, image, frames / fps, boxes,
                                           frames)
                persons += len(found)
                results += _results(found, frames, f"{source.name}#{frames}", ids)
                writer.write(cv2.cvtColor(_draw(image, found, predictor, min_score, ids),
                                          cv2.COLOR_RGB2BGR))
                frames += 1
                bar.update()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if frames == 0:
        raise DataError(source, "the video has no readable frame")
    return frames, persons


def _frame_people(predictor, video: VideoPoseTracker | None, image, t: float, boxes,
                  frame: int) -> tuple[list[Person], list[int] | None]:
    """One frame's people and, when tracking, their track ids."""
    if video is None:
        return _predict(predictor, image, boxes, frame), None
    found = _boxes_in(boxes, image, frame)
    if found is not None:  # a detector's boxes
        if not found:
            video.tracker.update([], t)  # every track misses this frame
            return [], []
        tracked = video(image, t, [b for b, _ in found], [s for _, s in found])
    else:
        tracked = video(image, t)
    return [p.person for p in tracked], [p.track_id for p in tracked]
