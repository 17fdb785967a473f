"""A real Keras top-down model with fixed weights that "sees" three coloured blobs, and a clip of
them moving: heatmap k is the blob of colour channel k % 3, so its keypoints follow the blobs
wherever they move, and the motion of the clip is known exactly."""

import cv2
import numpy as np
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.codecs.model_info import topdown_info
from tfpose.keypoints import COCO_17
from tfpose.runtime.keras_files import save_model_atomically

SIZE = (96, 128)  # frame H, W
FRAMES = 12


def blob_model() -> tf.keras.Model:
    """64x64 input -> 16x16 heatmaps; heatmap k = channel k % 3 of the image, pooled."""
    images = tf.keras.Input((64, 64, 3))
    pooled = tf.keras.layers.AveragePooling2D(4)(tf.keras.layers.Rescaling(1 / 255)(images))
    pick = tf.keras.layers.Conv2D(17, 1, use_bias=False)
    heatmaps = pick(pooled)
    kernel = np.zeros((1, 1, 3, 17), np.float32)
    kernel[0, 0, np.arange(17) % 3, np.arange(17)] = 1.0
    pick.set_weights([kernel])
    return tf.keras.Model(images, heatmaps, name="blobs")


def blob_centres(frame: int) -> np.ndarray:
    """[3, 2] (x, y) of the red, green and blue blobs: a triangle moving right and down."""
    start = np.array([[40.0, 30.0], [60.0, 30.0], [50.0, 55.0]])
    return start + frame * np.array([3.0, 1.5])


def draw_frame(frame: int) -> np.ndarray:
    image = np.zeros((*SIZE, 3), np.uint8)
    ys, xs = np.mgrid[: SIZE[0], : SIZE[1]]
    for channel, (x, y) in enumerate(blob_centres(frame)):
        image[..., channel] = np.maximum(image[..., channel], (255 * np.exp(
            -((xs - x) ** 2 + (ys - y) ** 2) / (2 * 6.0 ** 2))).astype(np.uint8))
    return image


def write_blob_files(folder):
    """The model (.keras, with its tfpose information) and the clip (.avi) in ``folder``."""
    codec = HeatmapCodec(input_size=(64, 64), heatmap_size=(16, 16), padding=1.0)
    model_path = save_model_atomically(blob_model(), folder / "blobs.keras",
                                       topdown_info(codec, COCO_17, "blobs"))
    clip = folder / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, SIZE[::-1])
    for frame in range(FRAMES):
        writer.write(cv2.cvtColor(draw_frame(frame), cv2.COLOR_RGB2BGR))
    writer.release()
    return model_path, clip
