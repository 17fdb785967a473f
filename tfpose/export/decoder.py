"""Heatmap decoding inside the graph, so that a converted model hands an app keypoints directly.

:class:`HeatmapDecoder` is the codec's ``quarter`` decoder (:class:`tfpose.codecs.heatmap.
HeatmapCodec`: argmax, then a quarter pixel toward the higher neighbour on each axis, none on the
border; scores are the activated peak values) written in ops every TFLite runtime has (one-hot
masks and sums instead of gathers), followed by the map from heatmap to input pixels
(:func:`tfpose.codecs.geometry.grid_to_grid`: ``x_in = (x_heatmap + 0.5) * stride - 0.5`` under
tfpose's convention, ``x_heatmap * stride`` under the MSRA one of imported HRNet /
SimpleBaseline weights, whose quarter step and empty-peak rule it follows too). DARK needs a blur
and a log around the peak per joint; the quarter step keeps the graph small and its gap to DARK
is a fraction of a heatmap pixel (README, codec upper bound).

:func:`with_decoder` wraps a top-down model: ``[1, H, W, 3]`` image -> ``[1, K, 3]`` (x, y in
input pixels, score). The app maps input pixels back to its camera frame with the crop it made.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.codecs import geometry
from tfpose.codecs.heatmap import OUTPUTS, QUARTER_MARGIN, HeatmapCodec
from tfpose.layers.common import PACKAGE


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class HeatmapDecoder(tf.keras.layers.Layer):
    """``[B, h, w, K]`` raw outputs -> ``[B, K, 3]`` (x, y in input pixels, score).

    Args:
      input_size: the model input ``(H, W)`` the heatmaps belong to.
      output: ``"gaussian"`` (heatmaps as they are) or ``"sigmoid"`` (logits: sigmoid first).
      convention: the codec's pixel convention, ``"tfpose"`` or ``"msra"``.
    """

    def __init__(self, input_size, output: str = "gaussian", convention: str = "tfpose",
                 **kwargs):
        super().__init__(**kwargs)
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.input_size = tuple(int(v) for v in input_size)
        self.activation_kind = output
        self.convention = geometry.check_convention(convention)

    def call(self, heatmaps):
        heatmaps = tf.cast(heatmaps, tf.float32)
        if self.activation_kind == "sigmoid":
            heatmaps = tf.sigmoid(heatmaps)
        _, h, w, k = heatmaps.shape
        flat = _flat(heatmaps)  # [B, K, h * w]
        index = tf.argmax(flat, axis=-1, output_type=tf.int32)
        peak = tf.one_hot(index, h * w, dtype=tf.float32)
        score = tf.reduce_sum(peak * flat, axis=-1)
        x = tf.cast(index % w, tf.float32)
        y = tf.cast(index // w, tf.float32)

        def at(shifted):  # value of a shifted map at each peak
            return tf.reduce_sum(peak * _flat(shifted), axis=-1)

        # Neighbours by shifting whole maps (pad one side, crop the other): right, left, down, up.
        right = at(tf.pad(heatmaps[:, :, 1:], [[0, 0], [0, 0], [0, 1], [0, 0]]))
        left = at(tf.pad(heatmaps[:, :, :-1], [[0, 0], [0, 0], [1, 0], [0, 0]]))
        down = at(tf.pad(heatmaps[:, 1:], [[0, 0], [0, 1], [0, 0], [0, 0]]))
        up = at(tf.pad(heatmaps[:, :-1], [[0, 0], [1, 0], [0, 0], [0, 0]]))
        if self.convention == "msra":  # no positive peak: heatmap (0, 0), as the codec
            found = tf.cast(score > 0, tf.float32)
            x, y = x * found, y * found
        margin = QUARTER_MARGIN[self.convention]
        interior = tf.cast((x >= margin) & (x < w - 1) & (y >= margin) & (y < h - 1),
                           tf.float32)
        x = x + 0.25 * tf.sign(right - left) * interior
        y = y + 0.25 * tf.sign(down - up) * interior
        x, y = geometry.grid_to_grid(tf.stack([x, y], -1), (h, w), self.input_size,
                                     self.convention)
        return tf.stack([x, y, score], -1)

    def get_config(self):
        return {**super().get_config(), "input_size": self.input_size,
                "output": self.activation_kind, "convention": self.convention}


def _flat(maps):
    """``[B, h, w, K]`` -> ``[B, K, h * w]``."""
    _, h, w, k = maps.shape
    return tf.reshape(tf.transpose(maps, [0, 3, 1, 2]), [-1, k, h * w])


def with_decoder(model: tf.keras.Model, codec: HeatmapCodec) -> tf.keras.Model:
    """``model`` followed by :class:`HeatmapDecoder`: images -> ``[B, K, 3]`` keypoints."""
    if len(model.outputs) != 1:
        raise ValueError(f"{model.name} has {len(model.outputs)} outputs; the in-graph decoder "
                         "is for top-down models with one heatmap output")
    expected = tuple(codec.heatmap_size)
    if tuple(model.outputs[0].shape[1:3]) != expected:
        raise ValueError(f"{model.name} outputs {tuple(model.outputs[0].shape[1:])}, the codec "
                         f"expects heatmaps of {expected}")
    keypoints = HeatmapDecoder(codec.input_size, codec.output, codec.convention,
                               name="keypoints")(model.outputs[0])
    return tf.keras.Model(model.inputs, keypoints, name=f"{model.name}_decoded")
