"""MobileNetV2-style blocks and the deconv heads of LitePose (Wang et al., "Lite Pose: Efficient
Architecture Design for 2D Human Pose Estimation", CVPR 2022).

Every function takes a Keras tensor (NHWC) and returns one; layers are named
``{name}_{part}`` so a model's layers can be found by name (tests, weight transfer, reports).

* :func:`stem`: conv 3x3 stride 2 (3 -> 32) + BN + ReLU6 -> depthwise 3x3 + BN + ReLU6 ->
  1x1 to the stem width + BN (linear, as the block outputs are).
* :func:`inverted_bottleneck`: 1x1 expand (x6, rounded to a multiple of 8) + BN + ReLU6 ->
  depthwise kxk (stride) + BN + ReLU6 -> 1x1 linear projection + BN; identity residual when the
  stride is 1 and the width does not change.
* :func:`fusion_deconv_head`: LitePose's head. Three x2 up-sampling steps; each adds a transposed
  conv of the refined path and one of the backbone feature at the same resolution ("raw"), then
  BN + ReLU. Steps 2 and 3 predict: a separable conv of the refined path plus one of the raw
  backbone feature at the new resolution.
* :func:`plain_deconv_head`: the ablation baseline: the same three up-sampling steps on the
  backbone output only, predictions from the refined path only.

Every op here (conv, depthwise conv, transposed conv, BatchNorm, ReLU/ReLU6, add) has an int8
TFLite kernel, so a model made of them converts to full-integer int8. Padding is PyTorch's
symmetric ``k // 2`` (:func:`tfpose.layers.common.pad_like_torch`): ``"same"`` at stride 1, an
explicit ``ZeroPadding2D`` (TFLite PAD, int8 capable) before the few stride-2 convs, so the
authors' weights compute the authors' outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from tfpose.layers.binary import batch_norm
from tfpose.layers.common import pad_like_torch

layers = tf.keras.layers

STEM_CONV_FILTERS = 32  # the stem's first conv, fixed in every released variant
DECONV_KERNEL = 4  # kernel 4, stride 2, "same": exactly x2, aligned as PyTorch's padding 1
PREDICTION_KERNEL = 5  # depthwise kernel of the separable prediction convs


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never more than 10% below it
    (MobileNetV2's channel rounding: channel counts that vector units handle well)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn(x, filters: int, kernel_size: int = 1, strides: int = 1, activation=None, *, name):
    """Conv (no bias) + BN (+ ``activation``: "relu6", "relu" or None)."""
    x, padding = pad_like_torch(x, kernel_size, strides, name=name)
    x = layers.Conv2D(filters, kernel_size, strides, padding=padding, use_bias=False,
                      name=f"{name}_conv")(x)
    x = batch_norm(f"{name}_bn")(x)
    return _activation(x, activation, name)


def depthwise_bn(x, kernel_size: int, strides: int = 1, activation=None, *, name):
    """Depthwise conv (no bias) + BN (+ ``activation``)."""
    x, padding = pad_like_torch(x, kernel_size, strides, name=f"{name}_dw")
    x = layers.DepthwiseConv2D(kernel_size, strides, padding=padding, use_bias=False,
                               name=f"{name}_dw")(x)
    x = batch_norm(f"{name}_dw_bn")(x)
    return _activation(x, activation, f"{name}_dw")


def _activation(x, activation, name):
    if activation is None:
        return x
    if activation == "relu6":
        return layers.ReLU(6.0, name=f"{name}_relu6")(x)
    if activation == "relu":
        return layers.ReLU(name=f"{name}_relu")(x)
    raise ValueError(f"unknown activation {activation!r}; use 'relu6', 'relu' or None")


def stem(x, width: int, *, name: str = "stem"):
    """``[B, H, W, 3] -> [B, H/2, W/2, width]``: the stride-2 MobileNet stem."""
    x = conv_bn(x, STEM_CONV_FILTERS, 3, 2, "relu6", name=name)
    x = depthwise_bn(x, 3, 1, "relu6", name=name)
    return conv_bn(x, width, 1, name=f"{name}_project")


def inverted_bottleneck(x, filters: int, *, strides: int = 1, kernel_size: int = 7,
                        expansion: int = 6, name: str):
    """MobileNetV2's inverted residual block with a ``kernel_size`` depthwise conv.

    ``[B, H, W, C] -> [B, H/strides, W/strides, filters]``; the identity is added when
    ``strides == 1`` and ``C == filters``.
    """
    channels = x.shape[-1]
    y = conv_bn(x, make_divisible(round(channels * expansion)), 1, activation="relu6",
                name=f"{name}_expand")
    y = depthwise_bn(y, kernel_size, strides, "relu6", name=name)
    y = conv_bn(y, filters, 1, name=f"{name}_project")
    if strides == 1 and channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def separable_prediction(x, filters: int, *, name: str):
    """Depthwise 5x5 + BN + ReLU -> 1x1 (no bias) to ``filters``: one prediction branch."""
    x = depthwise_bn(x, PREDICTION_KERNEL, 1, "relu", name=name)
    return layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_conv")(x)


def transposed_conv(x, filters: int, *, name: str):
    """x2 up-sampling: transposed conv, kernel 4, stride 2, no bias."""
    return layers.Conv2DTranspose(filters, DECONV_KERNEL, 2, padding="same", use_bias=False,
                                  name=name)(x)


def fusion_deconv_head(refined, raw: Sequence, deconv_filters: Sequence[int],
                       prediction_filters: Sequence[int], *, name: str = "head",
                       output_names: Sequence[str] | None = None):
    """LitePose's fusion deconv head.

    Args:
      refined: backbone output ``[B, H/16, W/16, C]``.
      raw: four backbone features, the skips: ``raw[0]`` at the refined path's resolution
        (the stage before the last, in LitePose), ``raw[i]`` at ``2**i`` times it.
      deconv_filters: channels of the three up-sampling steps.
      prediction_filters: channels predicted at steps 2 and 3 (LitePose: 2K at 1/4 of the
        input, heatmaps then tags; K at 1/2).
      output_names: names of the two output layers (default ``{name}_pred{1,2}_out``).

    Returns:
      ``[prediction at step 2, prediction at step 3]``, the sums of the refined and raw branches
      (linear, float32).
    """
    _check_head_args(deconv_filters, prediction_filters, raw, expected_raw=4)
    output_names = output_names or [f"{name}_pred{i}_out" for i in (1, 2)]
    outputs = []
    for step, filters in enumerate(deconv_filters):
        up = f"{name}_up{step + 1}"
        x = layers.Add(name=f"{up}_add")([transposed_conv(refined, filters, name=f"{up}_refined"),
                                          transposed_conv(raw[step], filters, name=f"{up}_raw")])
        x = batch_norm(f"{up}_bn")(x)
        refined = layers.ReLU(name=f"{up}_relu")(x)
        if step > 0:
            out_filters = prediction_filters[step - 1]
            pred = f"{name}_pred{step}"
            outputs.append(layers.Add(name=output_names[step - 1], dtype="float32")([
                separable_prediction(refined, out_filters, name=f"{pred}_refined"),
                separable_prediction(raw[step + 1], out_filters, name=f"{pred}_raw")]))
    return outputs


def plain_deconv_head(refined, deconv_filters: Sequence[int], prediction_filters: Sequence[int],
                      *, name: str = "head", output_names: Sequence[str] | None = None):
    """The ablation baseline of :func:`fusion_deconv_head`: three transposed conv + BN + ReLU
    steps on the backbone output only, predictions (separable convs) from that path only.

    Same arguments and returns as :func:`fusion_deconv_head`, without ``raw``.
    """
    _check_head_args(deconv_filters, prediction_filters)
    output_names = output_names or [f"{name}_pred{i}_out" for i in (1, 2)]
    outputs = []
    for step, filters in enumerate(deconv_filters):
        up = f"{name}_up{step + 1}"
        x = transposed_conv(refined, filters, name=f"{up}_refined")
        x = batch_norm(f"{up}_bn")(x)
        refined = layers.ReLU(name=f"{up}_relu")(x)
        if step > 0:
            pred = f"{name}_pred{step}"
            x = separable_prediction(refined, prediction_filters[step - 1], name=f"{pred}_refined")
            # an identity that casts to float32 under mixed precision and names the output
            outputs.append(layers.Activation("linear", name=output_names[step - 1],
                                             dtype="float32")(x))
    return outputs


def _check_head_args(deconv_filters, prediction_filters, raw=None, expected_raw=0):
    if len(deconv_filters) != 3 or len(prediction_filters) != 2:
        raise ValueError(f"the deconv head has 3 up-sampling steps and 2 predictions, got "
                         f"deconv_filters={tuple(deconv_filters)}, "
                         f"prediction_filters={tuple(prediction_filters)}")
    if raw is not None and len(raw) != expected_raw:
        raise ValueError(f"the fusion deconv head needs {expected_raw} raw backbone features "
                         f"(1/16, 1/8, 1/4, 1/2 of the input), got {len(raw)}")
