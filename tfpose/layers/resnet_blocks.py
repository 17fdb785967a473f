"""ResNet blocks and the ResNet backbone (He et al., "Deep Residual Learning for Image
Recognition", CVPR 2016), shared by SimpleBaseline and FasterPose.

Variant: ResNet "v1.5", the torchvision ResNet that SimpleBaseline's code builds on: a
down-sampling bottleneck puts its stride in the 3x3 conv, not in the first 1x1 conv as the
original paper ("v1", ``stride_in_1x1=True``) does. Parameters are identical; v1.5 costs more
MACs (the 3x3 conv runs at the higher resolution) and is the more accurate of the two.

Geometry: strided convolutions and the stem's max-pool pad explicitly and symmetrically by
``kernel // 2`` (PyTorch's convention, :func:`tfpose.layers.common.pad_like_torch`) instead of
TF ``"same"``, which pads stride-2 layers only at the bottom / right. The feature grids then
line up with torchvision's, so its ImageNet weights port one to one (SimpleBaseline's accuracy
depends on an ImageNet-initialised backbone). HRNet (:mod:`tfpose.layers.hrnet_blocks`) is
built from the same :func:`conv_bn` and :func:`bottleneck`.

Tensors are NHWC. :func:`resnet_backbone` returns the features of the four stages, ``c2`` ...
``c5`` at strides 4, 8, 16, 32 with 256, 512, 1024, 2048 channels.
"""

from __future__ import annotations

import tensorflow as tf

from tfpose.layers.binary import batch_norm
from tfpose.layers.common import pad_like_torch

layers = tf.keras.layers

# Bottleneck blocks per stage (conv2_x ... conv5_x) of each depth.
RESNET_BLOCKS: dict[int, tuple[int, int, int, int]] = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
STAGE_PLANES = (64, 128, 256, 512)  # bottleneck width of each stage; outputs are 4x wider


def check_depth(depth: int) -> int:
    if depth not in RESNET_BLOCKS:
        raise ValueError(f"ResNet depth must be one of {sorted(RESNET_BLOCKS)}, got {depth!r}")
    return depth


def conv_bn(x, filters: int, kernel_size: int = 1, strides: int = 1, relu: bool = True, *,
            name: str, padding: str = "torch"):
    """Conv (no bias) -> BatchNorm [-> ReLU]; strided convs pad symmetrically (see module doc).

    ``padding="same"``: TF's padding instead, for the float convs of models that LCE converts
    (:mod:`tfpose.layers.common` says why).
    """
    if padding == "torch":
        x, padding = pad_like_torch(x, kernel_size, strides, name=name)
    x = layers.Conv2D(filters, kernel_size, strides, padding=padding, use_bias=False,
                      name=f"{name}_conv")(x)
    x = batch_norm(f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def bottleneck(x, planes: int, strides: int = 1, expansion: int = 4,
               stride_in_1x1: bool = False, *, name: str):
    """1x1 (planes) -> 3x3 (planes) -> 1x1 (planes * expansion), + shortcut, ReLU.

    The shortcut is the identity, or a strided 1x1 conv + BatchNorm when the shape changes.
    ``stride_in_1x1`` moves the stride to the first 1x1 conv (ResNet v1).
    """
    out = planes * expansion
    stride_1, stride_3 = (strides, 1) if stride_in_1x1 else (1, strides)
    y = conv_bn(x, planes, 1, stride_1, name=f"{name}_1")
    y = conv_bn(y, planes, 3, stride_3, name=f"{name}_2")
    y = conv_bn(y, out, 1, relu=False, name=f"{name}_3")
    shortcut = x
    if x.shape[-1] != out or strides > 1:
        shortcut = conv_bn(x, out, 1, strides, relu=False, name=f"{name}_down")
    return layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_add")([y, shortcut]))


def resnet_stem(x, filters: int = 64, *, name: str = "stem"):
    """7x7 stride-2 conv + BN + ReLU, then 3x3 stride-2 max-pool: 1/4 resolution.

    Zero padding before the max-pool is exact: its input is non-negative (after ReLU).
    """
    x = conv_bn(x, filters, 7, 2, name=name)
    x = layers.ZeroPadding2D(1, name=f"{name}_pool_pad")(x)
    return layers.MaxPooling2D(3, 2, name=f"{name}_pool")(x)


def resnet_backbone(x, depth: int = 50, *, stride_in_1x1: bool = False) -> dict:
    """ResNet-``depth`` features of a normalised image tensor ``[B, H, W, 3]``.

    Returns:
      ``{"c2": [B, H/4, W/4, 256], "c3": [B, H/8, W/8, 512], "c4": [B, H/16, W/16, 1024],
      "c5": [B, H/32, W/32, 2048]}`` (H and W multiples of 32 keep every stride exact).
    """
    blocks = RESNET_BLOCKS[check_depth(depth)]
    x = resnet_stem(x)
    features = {}
    for stage, (num_blocks, planes) in enumerate(zip(blocks, STAGE_PLANES, strict=True), start=2):
        for b in range(num_blocks):
            strides = 2 if b == 0 and stage > 2 else 1  # stage 2 follows the stem's max-pool
            x = bottleneck(x, planes, strides, stride_in_1x1=stride_in_1x1,
                           name=f"res{stage}_b{b}")
        features[f"c{stage}"] = x
    return features
