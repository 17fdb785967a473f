"""SimpleBaseline for top-down pose estimation (Xiao, Wu & Wei, "Simple Baselines for Human Pose
Estimation and Tracking", ECCV 2018).

Structure: ResNet backbone (:func:`~tfpose.layers.resnet_blocks.resnet_backbone`, v1.5 as the
authors' torchvision-based code; stride 32) -> three transposed convs (256 filters, kernel 4,
stride 2, no bias, each followed by BatchNorm + ReLU; 1/32 -> 1/4) -> a 1x1 conv to K heatmaps.

Size and cost at 256x192, ResNet-50, 17 keypoints (published: 34.0M params, 8.9 "GFLOPs"):
33,999,697 trainable parameters. The published "GFLOPs" count a transposed conv as
``kernel size x output positions`` (the HRNet / SimpleBaseline code's model summary, divided by
1024^3): 9.654e9 = 8.99 in that convention (``convention_macs(model, "hrnet")`` of
:mod:`tfpose.models.summary`; ResNet v1 would give 8.78).
Counted as real multiply-accumulates (every *input* position scatters one kernel, as
:func:`tfpose.models.summary.model_summary` does), the deconvolutions cost a quarter of that:
5.426e9 MACs in all. ResNet-101 / 152: 53.0M / 68.6M params, 12.38 / 15.76 in the papers'
convention.

Input: ``[B, H, W, 3]`` RGB in [0, 255] (normalised in the graph), H and W multiples of 32;
output: ``[B, H/4, W/4, K]`` float32 raw heatmaps (decode with
:class:`~tfpose.codecs.heatmap.HeatmapCodec`, ``output="gaussian"``, ``heatmap_size=(H/4, W/4)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from tfpose.layers.binary import batch_norm
from tfpose.layers.common import check_input_size, image_input, model_builder
from tfpose.layers.resnet_blocks import check_depth, resnet_backbone

layers = tf.keras.layers


@dataclass(frozen=True)
class SimpleBaselineConfig:
    depth: int = 50  # ResNet-50 / 101 / 152
    deconv_filters: tuple[int, ...] = (256, 256, 256)  # each doubles the resolution
    deconv_kernel: int = 4  # the paper's choice (it also reports 2 and 3, slightly worse)
    stride_in_1x1: bool = False  # True: ResNet v1; False: v1.5, as the authors' code

    @property
    def output_stride(self) -> int:
        return 32 // 2 ** len(self.deconv_filters)


def _check(config: SimpleBaselineConfig) -> None:
    check_depth(config.depth)
    if not 1 <= len(config.deconv_filters) <= 5 or min(config.deconv_filters) < 1:
        raise ValueError("deconv_filters needs 1 to 5 positive widths (each layer doubles the "
                         f"resolution from 1/32), got {config.deconv_filters}")
    if config.deconv_kernel < 2:
        raise ValueError(f"deconv_kernel must be >= 2 (stride 2), got {config.deconv_kernel}")


def deconv_bn(x, filters: int, kernel_size: int = 4, *, name: str):
    """Stride-2 transposed conv (no bias) -> BatchNorm -> ReLU; doubles H and W.

    ``"same"`` padding at kernel 4 pads 1 on each side: PyTorch's ``padding=1``.
    """
    x = layers.Conv2DTranspose(filters, kernel_size, 2, padding="same", use_bias=False,
                               name=f"{name}_conv")(x)
    x = batch_norm(f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


@model_builder
def build_simple_baseline(config: SimpleBaselineConfig, *, input_size, num_keypoints: int,
                          name: str) -> tf.keras.Model:
    _check(config)
    input_size = check_input_size(input_size, 32, name)  # the backbone halves five times
    inputs, x = image_input(input_size)
    x = resnet_backbone(x, config.depth, stride_in_1x1=config.stride_in_1x1)["c5"]
    for i, filters in enumerate(config.deconv_filters):
        x = deconv_bn(x, filters, config.deconv_kernel, name=f"deconv{i}")
    heatmaps = layers.Conv2D(num_keypoints, 1, name="head", dtype="float32")(x)
    return tf.keras.Model(inputs, heatmaps, name=name)


def simple_baseline(*, depth: int = 50, input_size=(256, 192), num_keypoints: int = 17,
                    **overrides) -> tf.keras.Model:
    """SimpleBaseline with a ResNet-``depth`` backbone (50, 101 or 152).

    Args:
      depth: ResNet depth.
      input_size: ``(H, W)``, multiples of 32.
      num_keypoints: K, the number of heatmaps.
      **overrides: :class:`SimpleBaselineConfig` fields (``deconv_filters``, ``deconv_kernel``,
        ``stride_in_1x1``).

    Returns:
      An untrained ``tf.keras.Model`` mapping ``[B, H, W, 3]`` RGB in [0, 255] to
      ``[B, H/4, W/4, K]`` float32 heatmaps (``H/s`` for ``s = 32 / 2^len(deconv_filters)``).
    """
    config = SimpleBaselineConfig(depth=depth, **overrides)
    return build_simple_baseline(config, input_size=input_size, num_keypoints=num_keypoints,
                                 name=f"simplebaseline_r{depth}")
