"""Bottom-up models whose outputs are known functions of the image, and small COCO folders of
odd aspect ratios to evaluate them on (tests of the evaluator, the job and the predictor)."""

import json
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.bottomup_protocol import BottomUpProtocol
from tfpose.evaluation.bottomup_check import ideal_outputs, mirror_input, through
from tfpose.keypoints import COCO_17


def figures(image_size, count: int, seed: int = 0) -> np.ndarray:
    """``[count, 17, 3]`` persons side by side in an ``(H, W)`` image, every joint labelled."""
    rng = np.random.default_rng(seed)
    height, width = image_size
    truth = np.zeros((count, 17, 3), np.float32)
    for p in range(count):
        middle = (p + 0.5) * width / count
        spread = 0.3 * width / count
        truth[p, :, 0] = rng.uniform(middle - spread, middle + spread, 17)
        truth[p, :, 1] = rng.uniform(0.1 * height, 0.9 * height, 17)
    truth[..., 2] = 2
    return truth


def write_coco(folder: Path, images: dict[int, tuple[np.ndarray, np.ndarray]]):
    """A COCO keypoints json + PNG images: ``{image_id: (RGB uint8 image, [P, 17, 3] truth)}``.
    Returns ``(ann_file, image_dir)``."""
    folder.mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for image_id, (image, truth) in images.items():
        name = f"{image_id:012d}.png"
        cv2.imwrite(str(folder / name), image[..., ::-1])
        entries.append({"id": image_id, "file_name": name, "height": image.shape[0],
                        "width": image.shape[1]})
        for person in truth:
            low, high = person[:, :2].min(0), person[:, :2].max(0)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                "iscrowd": 0, "num_keypoints": 17,
                "keypoints": [float(v) for v in person.reshape(-1)],
                "bbox": [float(low[0]), float(low[1]), *(float(v) for v in high - low)],
                "area": float(np.prod(high - low))})
    ann_file = folder / "keypoints.json"
    ann_file.write_text(json.dumps({
        "images": entries, "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_17.names),
                        "skeleton": []}]}))
    return ann_file, folder


class ImageOracle:
    """A perfect model of known images: for an input made from one of them under ``protocol``
    (any scale, plain or mirrored) it returns the ideal outputs of that input's persons. Inputs
    are recognised by their pixels; ``shapes`` records the ``(H, W)`` of every input seen."""

    def __init__(self, codec: BottomUpCodec, protocol: BottomUpProtocol,
                 images: dict[int, tuple[np.ndarray, np.ndarray]]):
        self.known = []  # (input [H, W, 3] float32, outputs)
        for image, truth in images.values():
            inputs = codec.inputs_for(image.shape[:2], protocol)
            for size, warped in zip(inputs.sizes, inputs.images(image), strict=True):
                scaled = codec.at_input_size(size)
                points = through(inputs.matrix(size), truth)
                self.known.append((warped, ideal_outputs(scaled, points)))
                self.known.append((np.ascontiguousarray(warped[:, ::-1]), ideal_outputs(
                    scaled, mirror_input(points, size, COCO_17))))
        self.shapes = []

    def __call__(self, images):
        found = []
        for image in np.asarray(images):
            self.shapes.append(image.shape[:2])
            same = [(np.abs(known - image).max(), outputs) for known, outputs in self.known
                    if known.shape == image.shape]
            assert same, f"no known input of shape {image.shape}"
            difference, outputs = min(same, key=lambda pair: pair[0])
            assert difference < 0.01, f"an unknown {image.shape} input"
            found.append(outputs)
        return [np.concatenate(outputs) for outputs in zip(*found, strict=True)]


def blob_model(input_size=(64, 64), joint: int = 5) -> tf.keras.Model:
    """A fixed-weight bottom-up model (strides 4 and 2, COCO's 17 joints): heatmap ``joint``
    (left shoulder) is the input's red channel / 255 average-pooled to each stride, every other
    heatmap and every tag 0. A red blob in the image is that joint and nothing else."""
    inputs = tf.keras.Input((*input_size, 3), name="image")
    outputs = []
    for stride, channels in ((4, 34), (2, 17)):
        pooled = tf.keras.layers.AveragePooling2D(stride, name=f"pool_s{stride}")(inputs)
        kernel = np.zeros((1, 1, 3, channels), np.float32)
        kernel[0, 0, 0, joint] = 1.0 / 255.0
        conv = tf.keras.layers.Conv2D(channels, 1, use_bias=False, name=f"heads_s{stride}")
        outputs.append(conv(pooled))
        conv.set_weights([kernel])
    return tf.keras.Model(inputs, outputs, name="blob")


def blob_image(image_size, center, sigma: float = 3.0) -> np.ndarray:
    """An RGB uint8 image, dark but for a red Gaussian blob (peak 255) at ``center`` (x, y)."""
    v, u = np.mgrid[0:image_size[0], 0:image_size[1]]
    red = 255.0 * np.exp(-((u - center[0]) ** 2 + (v - center[1]) ** 2) / (2 * sigma**2))
    image = np.zeros((*image_size, 3), np.uint8)
    image[..., 0] = np.round(red).astype(np.uint8)
    image[..., 2] = 40  # blue everywhere: the model ignores it
    return image
