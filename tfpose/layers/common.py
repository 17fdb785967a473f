"""Pieces every model shares: the image input and its normalisation."""

from __future__ import annotations

import tensorflow as tf

# ImageNet statistics of RGB in [0, 255]: the convention of the pose literature's backbones.
RGB_MEAN = (123.675, 116.28, 103.53)
RGB_STD = (58.395, 57.12, 57.375)


def model_builder(build):
    """Decorate a model-building function: build it without AutoGraph.

    Keras converts every layer's ``call`` with AutoGraph while wiring a functional model; for
    Larq's quantised layers that conversion costs most of the build time (BiHRNet-W32: 4x).
    Our layers' calls have no data-dependent Python control flow, so nothing needs converting.
    """
    return tf.autograph.experimental.do_not_convert(build)


def image_input(input_size, name: str = "image"):
    """``(inputs, normalised)`` for RGB images in [0, 255] of ``input_size`` (H, W).

    Normalising inside the model keeps one convention from the data pipeline to the phone: the
    app feeds camera pixels as they are.
    """
    inputs = tf.keras.Input(shape=(*input_size, 3), name=name)
    normalised = tf.keras.layers.Normalization(
        mean=RGB_MEAN, variance=[s**2 for s in RGB_STD], name="normalize")(inputs)
    return inputs, normalised


def check_input_size(input_size, multiple: int, model: str):
    """``input_size`` as an (H, W) tuple, or a ValueError saying what the model needs."""
    height, width = (int(v) for v in input_size)
    if height % multiple or width % multiple or height <= 0 or width <= 0:
        raise ValueError(f"{model} needs an input size whose sides are positive multiples of "
                         f"{multiple}, got {height}x{width}")
    return height, width
