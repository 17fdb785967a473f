"""Images in and out of a model at inference time, with the training pipeline's geometry.

A model input is cut from an image by the library's one affine (:mod:`tfpose.codecs.geometry`):
around a person's box (top-down; the box grown to the model's aspect ratio and padded 1.25, as
in training and evaluation) or around the whole image (top-down without boxes, bottom-up). The
warp is the pipeline's own (:func:`tfpose.codecs.geometry.warp_image`), so an image seen at
inference is sampled exactly as the validation pipeline samples it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tfpose.codecs import geometry
from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def read_rgb(path) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB; a missing or undecodable file is a :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "image not found")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(path, "not a readable image (corrupt or unsupported format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def list_images(folder) -> list[Path]:
    """The image files of ``folder`` (sorted), or a DataError when there are none."""
    folder = Path(folder)
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise DataError(folder, f"no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return found


def crop_box(image: np.ndarray, input_size, box=None, padding: float = 1.25,
             convention: str = "tfpose"):
    """Cut the model input for one person box ``(x, y, w, h)`` (None: the whole image), with
    the pixel ``convention`` of the model's weights (:mod:`tfpose.codecs.geometry`).

    Returns:
      ``(input [H, W, 3] float32 RGB 0-255, image_to_input [2, 3] affine)``.
    """
    height, width = input_size
    if box is None:
        center, size = geometry.whole_image_center_size(image.shape[:2], input_size)
    else:
        center, size = geometry.box_to_center_size(np.asarray(box, np.float32),
                                                     width / height, padding)
    matrix = geometry.affine_matrix(center, size, 0.0, input_size, convention=convention)
    crop = geometry.warp_image(image, matrix, input_size).numpy()
    return crop, matrix.numpy()


def topdown_crop(image: np.ndarray, codec: HeatmapCodec, box=None):
    """:func:`crop_box` with the codec's input size, padding and convention (whole image: no
    padding)."""
    return crop_box(image, codec.input_size, box, codec.padding, codec.convention)


def to_image(points: np.ndarray, image_to_input: np.ndarray) -> np.ndarray:
    """``[..., K, 2+]`` input-pixel points -> image pixels (extra columns kept)."""
    points = np.asarray(points, np.float32)
    inverse = geometry.invert_affine(image_to_input)
    xy = geometry.apply_affine(inverse, points[..., :2]).numpy()
    return np.concatenate([xy, points[..., 2:]], axis=-1)
