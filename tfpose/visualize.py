"""Drawing skeletons on images (OpenCV), for people to check data and predictions by eye."""

from __future__ import annotations

import cv2
import numpy as np

from tfpose.keypoints import KeypointSet

# Left limbs warm, right limbs cool, centre lines green: mirrored labels show at a glance.
LEFT, RIGHT, CENTRE = (255, 128, 0), (0, 160, 255), (60, 220, 60)  # RGB


def _side(keypoint_set: KeypointSet, index: int):
    name = keypoint_set.names[index]
    if name.startswith("left"):
        return LEFT
    if name.startswith("right"):
        return RIGHT
    return CENTRE


def draw_skeleton(image_rgb: np.ndarray, keypoints: np.ndarray, keypoint_set: KeypointSet, *,
                  min_score: float = 0.0, thickness: int | None = None,
                  labels: list[str] | None = None) -> np.ndarray:
    """Copy of ``image_rgb`` (uint8 ``[H, W, 3]``) with people drawn on it.

    Args:
      keypoints: ``[N, K, 3]`` (or ``[K, 3]``) of (x, y, visibility or score); a keypoint is
        drawn when its third value is above ``min_score``.
      labels: one text per person (e.g. a track id), written above its highest shown keypoint.
    """
    canvas = np.ascontiguousarray(image_rgb, dtype=np.uint8).copy()
    people = np.asarray(keypoints, np.float32).reshape(-1, keypoint_set.num_keypoints, 3)
    thickness = thickness or max(1, round(max(canvas.shape[:2]) / 200))
    for person in people:
        shown = person[:, 2] > min_score
        for a, b in keypoint_set.skeleton:
            if shown[a] and shown[b]:
                colour = _side(keypoint_set, a) if _side(keypoint_set, a) == _side(
                    keypoint_set, b) else CENTRE
                cv2.line(canvas, _point(person[a]), _point(person[b]), colour, thickness,
                         cv2.LINE_AA)
        for i in np.flatnonzero(shown):
            cv2.circle(canvas, _point(person[i]), thickness + 1, _side(keypoint_set, i), -1,
                       cv2.LINE_AA)
    for person, label in zip(people, labels or [], strict=False):
        shown = person[person[:, 2] > min_score]
        if len(shown):
            x, y = _point(shown[np.argmin(shown[:, 1])])
            cv2.putText(canvas, label, (x, max(0, y - 4 * thickness)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4 * thickness, CENTRE, thickness, cv2.LINE_AA)
    return canvas


def _point(keypoint) -> tuple[int, int]:
    return int(round(float(keypoint[0]))), int(round(float(keypoint[1])))


def save_rgb(path, image_rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(np.asarray(image_rgb, np.uint8), cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write image {path}")


def image_grid(images: list[np.ndarray], columns: int = 4) -> np.ndarray:
    """Tile same-sized RGB images into one image (blank cells pad the last row)."""
    if not images:
        raise ValueError("no images to tile")
    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    grid = np.zeros((rows * h, columns * w, 3), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = image
    return grid
