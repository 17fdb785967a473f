"""Pieces every model shares: the image input and its normalisation, and PyTorch's padding.

Padding: the published pose networks are PyTorch code whose convolutions pad ``k // 2`` on every
side. At stride 1 (odd kernels) that is TF's ``"same"``; at stride 2 on an even input ``"same"``
pads ``k // 2 - 1`` on the top / left and ``k // 2`` on the bottom / right, which moves every
feature half an input pixel of the layer and makes published weights compute other outputs.
:func:`pad_like_torch` gives a strided conv PyTorch's geometry (an explicit ``ZeroPadding2D``
and a ``"valid"`` conv), so our float models equal the authors' output for output
(``tests/weights``). Binary LCE convs keep ``"same"`` with ``pad_values=1``: that is the layout
LCE optimises, and no published binary weights exist to match.

Models that LCE converts (the binary ones) keep ``"same"`` in their float convs too: LCE 0.16's
converter fuses an explicit ``PAD`` into the ``CONV_2D`` after it whenever the pad splits as
SAME's would (``IsSamePadding1D`` in its ``fuse_padding`` pass checks the split and the output
size, not the total), so a symmetric pad before a stride-2 conv becomes TF's (0, 1) and the
converted file computes other outputs (``tests/export/test_lce.py`` keeps watching it). The stock
TFLite converter, which converts our float models, keeps the ``PAD``.
"""

from __future__ import annotations

import tensorflow as tf

# ImageNet statistics of RGB in [0, 255]: the convention of the pose literature's backbones.
PACKAGE = "tfpose"  # the registered name of our Keras layers: "tfpose>Name"

RGB_MEAN = (123.675, 116.28, 103.53)
RGB_STD = (58.395, 57.12, 57.375)
NORMALIZE = "normalize"  # the name of every model's normalisation layer


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
        mean=RGB_MEAN, variance=[s**2 for s in RGB_STD], name=NORMALIZE)(inputs)
    return inputs, normalised


def with_input_normalization(model: tf.keras.Model, mean, std) -> tf.keras.Model:
    """A copy of functional ``model`` (same weights) normalising its input with ``mean`` and
    ``std`` per channel instead: for weights trained with other statistics, such as Caffe's
    unscaled means. The statistics are constants of the layer's config, not weights, so the
    model is rebuilt from its config."""
    config = model.get_config()
    found = [layer for layer in config["layers"] if layer["config"]["name"] == NORMALIZE]
    if len(found) != 1:
        raise ValueError(f"{model.name} has no '{NORMALIZE}' layer to set the input statistics of")
    found[0]["config"].update(mean=[float(m) for m in mean],
                              variance=[float(s) ** 2 for s in std])
    rebuilt = tf.autograph.experimental.do_not_convert(tf.keras.Model.from_config)(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def pad_like_torch(x, kernel_size: int, strides: int, dilation_rate: int = 1, *, name: str):
    """``(x, padding)`` for a conv of ``kernel_size`` that pads like PyTorch's ``k // 2``.

    Stride 1 returns ``(x, "same")`` (identical for odd kernels, one op fewer); a strided conv
    with a kernel wider than its stride gets ``ZeroPadding2D`` named ``{name}_pad`` and
    ``"valid"``. Apply the conv with the returned padding to the returned tensor.
    """
    if strides == 1:
        return x, "same"
    reach = dilation_rate * (kernel_size - 1) // 2
    if reach == 0:
        return x, "valid"
    return tf.keras.layers.ZeroPadding2D(reach, name=f"{name}_pad")(x), "valid"


def check_input_size(input_size, multiple: int, model: str):
    """``input_size`` as an (H, W) tuple, or a ValueError saying what the model needs."""
    height, width = (int(v) for v in input_size)
    if height % multiple or width % multiple or height <= 0 or width <= 0:
        raise ValueError(f"{model} needs an input size whose sides are positive multiples of "
                         f"{multiple}, got {height}x{width}")
    return height, width


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class DepthToSpace(tf.keras.layers.Layer):
    """``[B, h, w, C * r^2] -> [B, h * r, w * r, C]`` (``tf.nn.depth_to_space``, NHWC).

    Sub-pixel convolution (Shi et al., CVPR 2016): channel ``(i * r + j) * C + c`` of a cell
    becomes channel ``c`` of pixel ``(i, j)`` of its ``r x r`` block. TFLite: DEPTH_TO_SPACE,
    int8 capable.
    """

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = block_size

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.block_size
        return (b, None if h is None else h * r, None if w is None else w * r, c // r**2)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
